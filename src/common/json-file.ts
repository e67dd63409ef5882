// Small JSON state files (sandbox.json, network.json): written to a temporary name and renamed, so a crash never
// leaves a torn file; read back with "absent" and "corrupt" told apart.
import { readFile, rename, writeFile } from "node:fs/promises";
import { Code, errnoCode, HakoError } from "./errors.js";

let tmpSeq = 0;

/** Writes `value` as JSON to `path` atomically, mode 0600. */
export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  // A temporary name per write: concurrent writers sharing one would truncate each other's file and then rename
  // a torn document into place, or fail with ENOENT.
  const tmp = `${path}.${process.pid}.${tmpSeq++}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * The parsed content of `path`, or undefined when it does not exist.
 * @throws HakoError DataLoss naming `what` and the path when the file is not JSON
 */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HakoError(Code.DataLoss, `${what} ${path} is not valid JSON`, { cause: err });
  }
}

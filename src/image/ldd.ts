// The shared libraries a host binary needs (as `ldd` resolves them, dynamic loader included), so node and crun can
// be copied into the guest with exactly what they load.
import { Code, HakoError } from "../common/errors.js";
import { run } from "./exec.js";

/** Parses `ldd` output into absolute library paths (vdso and unresolved entries have no file to copy). */
export function parseLdd(output: string, binary: string): string[] {
  const paths: string[] = [];
  for (const raw of output.split("\n")) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith("linux-vdso") || line.includes("statically linked")) continue;
    if (line.includes("=> not found")) {
      throw new HakoError(Code.FailedPrecondition, `${binary} needs ${line.split(/\s/)[0]}, which the host lacks`);
    }
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^(\/\S+)/.exec(line);
    if (m?.[1]) paths.push(m[1]);
  }
  return paths;
}

/** Libraries of `binary`; an empty list for a static binary. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  try {
    const { stdout } = await run("ldd", [binary], { code: Code.FailedPrecondition });
    return parseLdd(stdout.toString("utf8"), binary);
  } catch (err) {
    if (err instanceof HakoError && err.message.includes("not a dynamic executable")) return [];
    throw err;
  }
}

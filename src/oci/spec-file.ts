// Reading a bundle's OCI spec (`config.json`, OCI runtime-spec "Configuration"): one reader for the shim and the
// runc-compatible CLI, so a bad file gets the same error from both.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Code, HakoError, invalidArgument } from "../common/errors.js";
import type { OciSpec } from "./spec.js";

/** The bundle's OCI spec. InvalidArgument naming the path if it is unreadable or not JSON. */
export async function readSpec(bundle: string): Promise<OciSpec> {
  const path = resolve(bundle, "config.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new HakoError(Code.InvalidArgument, `cannot read the OCI spec ${path}`, { cause: err });
  }
  try {
    return JSON.parse(text) as OciSpec;
  } catch (err) {
    throw invalidArgument(`the OCI spec ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

// Where a pod's shim listens. Every container of one pod computes the same path (from containerd's address, the
// namespace and the pod's sandbox id), which is how a CRI `container` finds its pod's running shim.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_ID } from "../oci/cri-annotations.js";
import type { OciSpec } from "../oci/spec.js";
import { runDir } from "../runtime/layout.js";

export function shimSocketPath(containerdAddress: string, namespace: string, podId: string): string {
  const hash = createHash("sha256").update(`${containerdAddress}\0${namespace}\0${podId}`).digest("hex");
  // Short: sun_path holds 108 bytes.
  return join(runDir(), "s", hash.slice(0, 32));
}

/** The pod a container belongs to: its CRI sandbox id, or itself (a sandbox container, or plain `ctr run`). */
export async function podIdOf(bundle: string, id: string): Promise<string> {
  const spec = JSON.parse(await readFile(join(bundle, "config.json"), "utf8").catch(() => "{}")) as OciSpec;
  const annotations = spec.annotations ?? {};
  if (annotations[CRI_CONTAINER_TYPE] === "container" && annotations[CRI_SANDBOX_ID])
    return annotations[CRI_SANDBOX_ID];
  return id;
}

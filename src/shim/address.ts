// Where a pod's shim listens. Every container of one pod computes the same path (from containerd's address, the
// namespace and the pod's sandbox id), which is how a CRI `container` finds its pod's running shim.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_ID } from "../oci/cri-annotations.js";
import { readSpec } from "../oci/spec-file.js";
import { runDir } from "../runtime/layout.js";

export function shimSocketPath(containerdAddress: string, namespace: string, podId: string): string {
  const hash = createHash("sha256").update(`${containerdAddress}\0${namespace}\0${podId}`).digest("hex");
  // Short: sun_path holds 108 bytes.
  return join(runDir(), "s", hash.slice(0, 32));
}

/**
 * The pod a container belongs to: its CRI sandbox id, or itself (a sandbox container, or plain `ctr run`). The
 * bundle's config.json decides; one that cannot be read or parsed is InvalidArgument naming it, never taken for "no
 * annotations" (a CRI container would then get a shim and a VM of its own).
 */
export async function podIdOf(bundle: string, id: string): Promise<string> {
  const spec = await readSpec(bundle);
  const annotations = spec.annotations ?? {};
  if (annotations[CRI_CONTAINER_TYPE] === "container" && annotations[CRI_SANDBOX_ID])
    return annotations[CRI_SANDBOX_ID];
  return id;
}

// Which VM a container runs in. One VM per container, unless the spec's annotations say the container joins a pod
// (containerd CRI's `io.kubernetes.cri.*`, cri-o's `io.kubernetes.cri-o.*`): then it runs in the VM of the pod's
// sandbox container. Where that pod's daemon listens follows from the state root and the pod id alone.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_ID, CRIO_CONTAINER_TYPE, CRIO_SANDBOX_ID } from "../oci/cri-annotations.js";
import { runDir } from "../runtime/layout.js";

/** The pod id: the sandbox named by the annotations for a pod's (non-sandbox) container, else the container's id. */
export function podIdOf(id: string, annotations: Record<string, string> | undefined): string {
  const a = annotations ?? {};
  if (a[CRI_CONTAINER_TYPE] === "container" && a[CRI_SANDBOX_ID]) return a[CRI_SANDBOX_ID];
  if (a[CRIO_CONTAINER_TYPE] === "container" && a[CRIO_SANDBOX_ID]) return a[CRIO_SANDBOX_ID];
  return id;
}

/**
 * The pod daemon's ttrpc socket: short (sun_path holds 108 bytes, `--root` can be long), in hako's run directory
 * beside the shims' sockets, distinct per state root so two callers with their own roots never share a daemon.
 */
export function daemonSocketPath(root: string, podId: string): string {
  const hash = createHash("sha256").update(`hako-runtime\0${root}\0${podId}`).digest("hex");
  return join(runDir(), "s", `r${hash.slice(0, 31)}`);
}

// Whether the shim's `delete` has anything to clean up, decided from a few file checks so that its bundle
// (delete-main.ts) can answer alone in the usual case: a shim that stopped cleanly.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { sandboxPaths } from "../runtime/layout.js";
import { podIdOf, shimSocketPath } from "./address.js";
import type { ShimArgs } from "./args.js";

/**
 * True when nothing of this container's pod is left: no shim socket (so no live shim to ask), and none of the files
 * a sandbox, its VM, its host cgroups, network or port forwarding leave while they exist (runtime/layout.ts; for a
 * container of a CRI pod, its directory in the pod's share). False when the bundle's spec cannot be read: the full
 * `delete` decides then.
 */
export async function nothingLeft(args: ShimArgs): Promise<boolean> {
  const podId = await podIdOf(args.bundle, args.id).catch(() => undefined);
  if (podId === undefined) return false;
  const paths = sandboxPaths(podId);
  const files =
    podId === args.id
      ? [paths.stateDir, paths.sharedDir, paths.networkRecord, paths.cgroupsRecord, paths.portForwardRecord]
      : [join(paths.sharedDir, args.id)];
  return ![shimSocketPath(args.address, args.namespace, podId), ...files].some((f) => existsSync(f));
}

// The resources `crun update` is given, read with runc's update semantics: what engines send to mean "unchanged"
// must not reach crun as a value. runc (libcontainer's update and cgroups/fs2) leaves a limit as it is when its value
// is 0 or "", and ignores kernel memory since 1.1; crun 1.8 writes a 0 memory limit as memory.max 0 (the container is
// OOM-killed at once) and refuses any kernel memory value on cgroup v2 ("cannot set kernel memory with cgroupv2").
// docker 20.10's `docker update --cpus` sends such zeros, and so does the agent protocol, whose proto3 numbers carry
// no presence.
import type { OciLinuxResources } from "../../oci/spec.js";

/** Keys of a resources section whose 0 (or "") means "leave as it is", per runc's update. */
const UNCHANGED_WHEN_ZERO = {
  memory: ["limit", "reservation", "swap", "swappiness"],
  cpu: ["shares", "quota", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems"],
  pids: ["limit"],
  blockIO: ["weight", "leafWeight"],
} as const;

/** Keys of a resources section never passed: cgroup v1 only, which runc 1.1 and later ignore (the guest is v2). */
const IGNORED: Readonly<Record<string, readonly string[]>> = { memory: ["kernel", "kernelTCP"] };

/**
 * A copy of `resources` without the values that mean "unchanged" (0, "") and without kernel memory; a section left
 * empty is dropped. Everything else (-1 for "no limit", devices, unified, hugepage limits) is passed as it is.
 */
export function updateResources(resources: OciLinuxResources): OciLinuxResources {
  const out: OciLinuxResources = { ...resources };
  for (const [section, keys] of Object.entries(UNCHANGED_WHEN_ZERO)) {
    const given = out[section];
    if (given === undefined || given === null || typeof given !== "object") continue;
    const kept: Record<string, unknown> = { ...given };
    for (const key of keys) if (kept[key] === 0 || kept[key] === "") delete kept[key];
    for (const key of IGNORED[section] ?? []) delete kept[key];
    if (Object.keys(kept).length === 0) delete out[section];
    else out[section] = kept;
  }
  return out;
}

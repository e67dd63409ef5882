// The end of a run that owns a private containerd under a base directory of its own (the benchmark's
// /run/hako-bench, the demo's /run/hako-demo): what the run started goes, and the base directory with it, so that a
// finished or interrupted run leaves nothing under /run.
import { constants } from "node:os";
import { removeIfEmpty } from "../src/factory/interrupted.js";
import { type Containerd, cleanupStaleInstances } from "../test/helpers/containerd.js";

/**
 * Stops `containerd` (its shims, VMs and instance directory with it) or, when the run has none (yet), removes what
 * a start in progress left under `baseDir` (and stale sandboxes of `namespace`); then removes `baseDir` if that left
 * it empty (something else in it stays, for the next run's cleanupStaleInstances). Returns the leftovers
 * Containerd.stop had to clean up (sandboxes, mounts), for the run to report.
 */
export async function tearDownRun(
  baseDir: string,
  namespace: string,
  containerd: Pick<Containerd, "stop"> | undefined,
): Promise<string[]> {
  let leaked: string[] = [];
  if (containerd) leaked = (await containerd.stop()).leaked;
  else await cleanupStaleInstances(baseDir, namespace);
  removeIfEmpty(baseDir);
  return leaked;
}

/** The status a shell gives a command that a signal ended: 128 + its number (SIGINT 130, SIGTERM 143, SIGHUP 129). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

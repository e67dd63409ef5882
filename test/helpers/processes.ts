// Host processes as the e2e tests see them through /proc: what runs now, and whether a sandbox's QEMU or
// virtiofsd is still there after its teardown.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { processExists } from "../../src/agent/server/reaper.js";

export interface HostProcess {
  pid: number;
  /** The command line with every NUL turned into a space, so each argument (the last one too) ends in a space. */
  cmd: string;
  /** The command line split at NUL, as /proc gives it. */
  argv: string[];
}

/** Every process /proc lists now; one that exits while it is being read is left out. */
export function hostProcesses(): HostProcess[] {
  const found: HostProcess[] = [];
  for (const name of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let raw: string;
    try {
      raw = readFileSync(`/proc/${name}/cmdline`, "utf8");
    } catch {
      continue;
    }
    found.push({ pid: Number(name), cmd: raw.replaceAll("\0", " "), argv: raw.split("\0") });
  }
  return found;
}

/** One sandbox's processes: its QEMU (named sandbox-<id>) and its virtiofsd (serving <runRoot>/shared/<id>). */
export function sandboxProcesses(runRoot: string, id: string): { pid: number; cmd: string }[] {
  const share = join(runRoot, "shared", id);
  return hostProcesses()
    .filter(
      ({ cmd }) =>
        (cmd.includes("qemu-system") && cmd.includes(`sandbox-${id} `)) ||
        (cmd.includes("virtiofsd") && cmd.includes(share)),
    )
    .map(({ pid, cmd }) => ({ pid, cmd }));
}

/** Gone, or a zombie no one has reaped yet (its owner was killed): either way it runs nothing. */
export function isGone(pid: number): boolean {
  return !processExists(pid);
}

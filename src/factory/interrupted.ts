// What a `hako factory init` leaves while it runs, and leaves behind if it is killed (SIGKILL, a crash): its work
// directory `<key>.tmp-<pid>` (the template's RAM file as it is written) and, under `.run/`, the template VM's state
// directory `template-<key>-<pid>` (QMP and agent sockets, console log, qemu.pid) with that QEMU still running.
// Found here by name only; a QEMU is killed only when /proc shows it is that template VM (`-name sandbox-<id>`), and
// only when the init that started it is gone, so that a running init (in another shell) is never disturbed.
import { readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { killAndWait, processArgv } from "../common/watched-process.js";
import { readPid } from "../hypervisor/qemu/stale.js";
import { vmName, vmPaths } from "../hypervisor/qemu/state-dir.js";

/** Where init runs its template VM (QMP, agent socket, console log): beside the templates, removed after. */
export const RUN_DIR = ".run";
const WORK_DIR = /^([0-9a-f]{16})\.tmp-(\d+)$/;
/** `template-<key>-<pid>`; hako before the pid was part of it wrote `template-<key>`. */
const RUN_VM = /^template-([0-9a-f]{16})(?:-(\d+))?$/;

/** The template VM's id (its `-name` is `sandbox-<id>`, its state directory `.run/<id>`) for init process `pid`. */
export const templateVmId = (key: string, pid: number) => `template-${key}-${pid}`;
/** init's work directory for template `key` (renamed to the template directory once saved). */
export const workDirName = (key: string, pid: number) => `${key}.tmp-${pid}`;

export interface InterruptedBuild {
  key: string;
  /** The init process, when the names carry it. */
  pid: number | undefined;
  /** The init process still runs: its files are in use, not left behind. */
  running: boolean;
  /** `<key>.tmp-<pid>`, when there is one. */
  workDir?: string;
  /** `.run/template-<key>-<pid>`, when there is one. */
  vmId?: string;
}

/** True while `pid` exists (EPERM: it exists, as another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === "EPERM";
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return [];
    throw err;
  }
}

/** init's work directories and template VM state directories under `root`, grouped by init (key and pid). */
export function interruptedBuilds(root: string): InterruptedBuild[] {
  const builds = new Map<string, InterruptedBuild>();
  const get = (key: string, pidText: string | undefined): InterruptedBuild => {
    const pid = pidText === undefined ? undefined : Number(pidText);
    const id = `${key}/${pid ?? ""}`;
    let b = builds.get(id);
    if (!b) {
      b = { key, pid, running: pid !== undefined && processAlive(pid) };
      builds.set(id, b);
    }
    return b;
  };
  for (const name of entries(root)) {
    const m = WORK_DIR.exec(name);
    if (m?.[1]) get(m[1], m[2]).workDir = name;
  }
  for (const name of entries(join(root, RUN_DIR))) {
    const m = RUN_VM.exec(name);
    if (m?.[1]) get(m[1], m[2]).vmId = name;
  }
  return [...builds.values()];
}

/** True when `pid` runs QEMU with `-name sandbox-<id>` exactly (QEMU may append `,debug-threads=on`). */
export function isTemplateQemu(pid: number, id: string): boolean {
  const argv = processArgv(pid) ?? [];
  const i = argv.indexOf("-name");
  const name = i >= 0 ? argv[i + 1] : undefined;
  return name !== undefined && (name === vmName(id) || name.startsWith(`${vmName(id)},`));
}

/**
 * The pid of template VM `id` under `root`/.run while it runs: its pid file (written right after QEMU is spawned)
 * names a process that /proc shows is that VM; else undefined.
 */
export function templateVmPid(root: string, id: string): number | undefined {
  const pid = readPid(vmPaths(id, join(root, RUN_DIR)).qemuPid);
  return pid !== undefined && isTemplateQemu(pid, id) ? pid : undefined;
}

/**
 * Kills the template VM `id` under `root`/.run if it runs (templateVmPid), and removes its state directory; returns
 * the pid killed. `saying` is the line logged when there is one to kill (by default, an earlier init's).
 */
export async function stopTemplateVm(
  root: string,
  id: string,
  log: Logger,
  saying = "killing the template VM of an interrupted hako factory init",
): Promise<number | undefined> {
  const runRoot = join(root, RUN_DIR);
  const paths = vmPaths(id, runRoot);
  const pid = templateVmPid(root, id);
  let killed: number | undefined;
  if (pid !== undefined) {
    log.info(saying, { pid, id });
    await killAndWait(pid, 5000);
    killed = pid;
  }
  rmSync(paths.dir, { recursive: true, force: true });
  removeIfEmpty(runRoot);
  return killed;
}

/** Removes `dir` if it exists and is empty (another init may be using it otherwise). */
export function removeIfEmpty(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT" || code === "ENOTEMPTY" || code === "EEXIST") return false;
    throw err;
  }
}

export interface CleanedBuilds {
  /** Names removed: `<key>.tmp-<pid>` and `.run/template-<key>-<pid>`. */
  removed: string[];
  /** QEMU pids killed. */
  killed: number[];
  /** Work directories of inits that are still running, left alone. */
  running: string[];
}

/** Kills the QEMU and removes the files of every init under `root` that is gone; running inits are left alone. */
export async function cleanInterruptedBuilds(root: string, log: Logger): Promise<CleanedBuilds> {
  const out: CleanedBuilds = { removed: [], killed: [], running: [] };
  for (const b of interruptedBuilds(root)) {
    if (b.running) {
      out.running.push(b.workDir ?? join(RUN_DIR, b.vmId ?? ""));
      continue;
    }
    if (b.vmId) {
      const pid = await stopTemplateVm(root, b.vmId, log);
      if (pid !== undefined) out.killed.push(pid);
      out.removed.push(join(RUN_DIR, b.vmId));
    }
    if (b.workDir) {
      rmSync(join(root, b.workDir), { recursive: true, force: true });
      out.removed.push(b.workDir);
    }
  }
  return out;
}

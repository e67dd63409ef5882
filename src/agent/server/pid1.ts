// PID 1 duties before the agent serves: the kernel's filesystems, cgroup2 with its controllers delegated, tmpfs
// where the agent writes (the root is read-only), a writable /etc, and power-off on anything fatal.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import type { Logger } from "../../common/log.js";
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RELATIME, mount } from "../../sys/mount.js";
import { powerOff } from "../../sys/process.js";
import { GUEST_SANDBOX_SHM, GUEST_SHARED_DIR } from "../api/guest-contract.js";
import { CGROUP_ROOT } from "./cgroup.js";
import { GUEST_CGROUP_PARENT } from "./guest-spec.js";

interface FsMount {
  source: string;
  target: string;
  fstype: string;
  flags: number;
  data?: string;
}

const kernelMounts: FsMount[] = [
  { source: "proc", target: "/proc", fstype: "proc", flags: MS_NOSUID | MS_NODEV | MS_NOEXEC },
  { source: "sysfs", target: "/sys", fstype: "sysfs", flags: MS_NOSUID | MS_NODEV | MS_NOEXEC },
  { source: "devtmpfs", target: "/dev", fstype: "devtmpfs", flags: MS_NOSUID, data: "mode=0755" },
  {
    source: "devpts",
    target: "/dev/pts",
    fstype: "devpts",
    flags: MS_NOSUID | MS_NOEXEC,
    data: "newinstance,ptmxmode=0666,mode=0620",
  },
  { source: "shm", target: "/dev/shm", fstype: "tmpfs", flags: MS_NOSUID | MS_NODEV, data: "mode=1777" },
  { source: "cgroup2", target: CGROUP_ROOT, fstype: "cgroup2", flags: MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME },
  { source: "tmpfs", target: "/run", fstype: "tmpfs", flags: MS_NOSUID | MS_NODEV, data: "mode=0755" },
  { source: "tmpfs", target: "/tmp", fstype: "tmpfs", flags: MS_NOSUID | MS_NODEV, data: "mode=1777" },
];
/** The sandbox's shared /dev/shm, on /run (mounted above), so made after it. */
const sandboxShm: FsMount = {
  source: "shm",
  target: GUEST_SANDBOX_SHM,
  fstype: "tmpfs",
  flags: MS_NOSUID | MS_NODEV,
  data: "mode=1777",
};

/**
 * The mount points in /proc/self/mounts. The initrd moves /proc, /sys and /dev into the root it hands over, so the
 * table is there from the start; empty while /proc is not mounted.
 */
function mountedTargets(): Set<string> {
  try {
    return new Set(
      readFileSync("/proc/self/mounts", "utf8")
        .split("\n")
        .map((l) => l.split(" ")[1] ?? ""),
    );
  } catch {
    return new Set();
  }
}

export function mountKernelFilesystems(log: Logger): void {
  let mounted = mountedTargets();
  for (const m of [...kernelMounts, sandboxShm]) {
    if (mounted.has(m.target)) continue;
    try {
      mkdirSync(m.target, { recursive: true });
    } catch {
      // Read-only root: the directory has to exist in the image already.
    }
    try {
      mount(m.source, m.target, m.fstype, m.flags, m.data ?? "");
    } catch (err) {
      log.warn("mount failed", { target: m.target, err });
    }
    // Mounted here: the table was unreadable until now.
    if (m.target === "/proc") mounted = mountedTargets();
  }
  // /dev/ptmx must reach the devpts instance crun's terminals are allocated from.
  if (existsSync("/dev/pts/ptmx")) {
    try {
      mount("/dev/pts/ptmx", "/dev/ptmx", "", MS_BIND);
    } catch (err) {
      log.debug("ptmx bind failed", { err });
    }
  }
  mkdirSync(GUEST_SHARED_DIR, { recursive: true });
}

/** Copies /etc onto tmpfs and binds it back: resolv.conf and hostname become writable on a read-only root. */
export function writableEtc(log: Logger): void {
  const copy = "/run/hako/etc";
  try {
    copyTree("/etc", copy);
    mount(copy, "/etc", "", MS_BIND);
  } catch (err) {
    log.warn("writable /etc failed", { err });
  }
}

/**
 * Copies a small directory tree: files with their modes, symlinks as they are, nothing else. Not cpSync: under
 * TCG its module alone takes ~30 ms to compile on every boot, for the handful of files in the guest's /etc.
 */
export function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  chmodSync(to, statSync(from).mode & 0o7777);
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const src = `${from}/${e.name}`;
    const dest = `${to}/${e.name}`;
    if (e.isDirectory()) copyTree(src, dest);
    else if (e.isSymbolicLink()) symlinkSync(readlinkSync(src), dest);
    else if (e.isFile()) copyFileSync(src, dest);
  }
}

/** Enables every available controller for the containers' cgroups (cgroup v2 delegates through subtree_control). */
export function enableCgroupControllers(log: Logger): void {
  try {
    const controllers = readFileSync(`${CGROUP_ROOT}/cgroup.controllers`, "utf8").trim().split(/\s+/).filter(Boolean);
    const enable = controllers.map((c) => `+${c}`).join(" ");
    writeFileSync(`${CGROUP_ROOT}/cgroup.subtree_control`, enable);
    const parent = `${CGROUP_ROOT}${GUEST_CGROUP_PARENT}`;
    mkdirSync(parent, { recursive: true });
    writeFileSync(`${parent}/cgroup.subtree_control`, enable);
    log.debug("cgroup controllers enabled", { controllers });
  } catch (err) {
    log.warn("cgroup controllers not enabled", { err });
  }
}

/** The last resort of PID 1: say why, then take the VM down so the host sees it die instead of a silent agent. */
export function fatal(log: Logger, what: string, err: unknown): never {
  log.error(`fatal: ${what}`, { err });
  if (process.pid === 1) {
    try {
      powerOff();
    } catch {
      // Nothing left to try.
    }
    // reboot() returned: keep PID 1 alive forever (its exit panics the kernel with less information).
    for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  }
  process.exit(1);
}

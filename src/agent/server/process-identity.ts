// What runc gives a container process beyond what crun does: HOME when the spec sets none (from the container's
// /etc/passwd, else "/"), and stdio its user can reopen (runc's fixStdioPermissions: a pipe or terminal owned by
// root cannot be opened again through /proc/self/fd/N or /dev/pts/N by an unprivileged user).
import { closeSync, constants, fchownSync, fstatSync, lstatSync, openSync, readSync, realpathSync } from "node:fs";
import type { OciProcess } from "../../oci/spec.js";
import { openPtyPeer } from "../../sys/tty.js";

/** The home directory of uid in an /etc/passwd text (name:pw:uid:gid:gecos:home:shell), if listed. */
export function passwdHome(passwd: string, uid: number): string | undefined {
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f.length >= 7 && Number(f[2]) === uid && f[2] !== "" && f[5]) return f[5];
  }
  return undefined;
}

/** The process with HOME set as runc sets it when its env has none: the user's passwd entry in rootfs, else "/". */
export function withHome(proc: OciProcess, rootfs: string): OciProcess {
  const env = proc.env ?? [];
  if (env.some((e) => e.startsWith("HOME="))) return proc;
  const home = passwdHome(readImageFile(rootfs, "etc/passwd"), proc.user?.uid ?? 0) ?? "/";
  return { ...proc, env: [...env, `HOME=${home}`] };
}

/** Makes uid the owner of the stdio fds it gets (pipes), keeping their group; root needs nothing. */
export function giveStdioTo(fds: number[], uid: number): void {
  if (uid === 0) return;
  for (const fd of fds) if (fd >= 0) fchownSync(fd, uid, -1);
}

/** Makes uid the owner of a pty master's terminal, keeping its group (tty), as runc does for a console. */
export function giveTerminalTo(master: number, uid: number): void {
  if (uid === 0) return;
  const slave = openPtyPeer(master);
  try {
    fchownSync(slave, uid, -1);
  } finally {
    closeSync(slave);
  }
}

/** Most bytes of an image file read here; a passwd file is far smaller. */
const MAX_IMAGE_FILE = 1024 * 1024;

/**
 * A small regular file of the container's image, read from the agent (outside the container): "" when it is
 * missing, not a regular file (a fifo would block, a device could do anything on open), or resolves outside rootfs
 * (a symlink into the guest's own files).
 */
function readImageFile(rootfs: string, relative: string): string {
  let fd: number | undefined;
  try {
    const root = realpathSync(rootfs);
    const path = realpathSync(`${root}/${relative}`);
    if (!path.startsWith(`${root}/`) || !lstatSync(path).isFile()) return "";
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return "";
    const buf = Buffer.alloc(MAX_IMAGE_FILE);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString("utf8");
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// Guest storages: the virtio-fs share, 9p, block devices, local (emptyDir) and ephemeral tmpfs directories, mounted
// at the mount point the host asked for. Mount options are split into flags and fs data once, here.
import { mkdirSync } from "node:fs";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import {
  MS_BIND,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_RELATIME,
  MS_REMOUNT,
  mount,
  umount,
} from "../../sys/mount.js";
import type { GuestStorage } from "../api/agent-api.js";

const flagOptions: Record<string, [set: number, clear: number]> = {
  ro: [MS_RDONLY, 0],
  rw: [0, MS_RDONLY],
  nosuid: [MS_NOSUID, 0],
  suid: [0, MS_NOSUID],
  nodev: [MS_NODEV, 0],
  dev: [0, MS_NODEV],
  noexec: [MS_NOEXEC, 0],
  exec: [0, MS_NOEXEC],
  relatime: [MS_RELATIME, 0],
  bind: [MS_BIND, 0],
  rbind: [MS_BIND | MS_REC, 0],
  remount: [MS_REMOUNT, 0],
  private: [MS_PRIVATE, 0],
  defaults: [0, 0],
};

export function parseMountOptions(options: string[]): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const opt of options) {
    const f = flagOptions[opt];
    if (f) flags = (flags | f[0]) & ~f[1];
    else if (opt) data.push(opt);
  }
  return { flags, data: data.join(",") };
}

export function mountStorage(s: GuestStorage): void {
  if (!s.mountPoint.startsWith("/")) {
    throw new HakoError(Code.InvalidArgument, `storage mount point must be absolute: "${s.mountPoint}"`);
  }
  mkdirSync(s.mountPoint, { recursive: true });
  const { flags, data } = parseMountOptions(s.options);
  switch (s.driver) {
    case "virtio-fs":
      mount(s.source, s.mountPoint, "virtiofs", flags, data);
      return;
    case "9p":
      mount(s.source, s.mountPoint, "9p", flags, data || "trans=virtio,version=9p2000.L");
      return;
    case "blk":
    case "virtio-blk":
    case "scsi":
      mount(s.source, s.mountPoint, s.fstype || "ext4", flags, data);
      return;
    case "ephemeral":
      mount("tmpfs", s.mountPoint, "tmpfs", flags, data);
      return;
    case "local":
      // An emptyDir backed by the guest's own tmpfs: the directory is all it needs.
      return;
    case "bind":
      mount(s.source, s.mountPoint, "", flags | MS_BIND, "");
      return;
    default:
      throw new HakoError(Code.InvalidArgument, `unknown storage driver "${s.driver}" for ${s.mountPoint}`);
  }
}

/**
 * Detaches a storage's mount (lazily: whatever still uses it keeps it until done). A mount already gone (ENOENT, or
 * EINVAL: not a mount point) is what a teardown expects; any other failure leaves the mount behind and is logged.
 */
export function unmountStorage(s: GuestStorage, log: Logger): void {
  if (s.driver === "local") return;
  try {
    umount(s.mountPoint, true);
  } catch (err) {
    if (err instanceof HakoError && (err.code === Code.NotFound || err.code === Code.InvalidArgument)) return;
    log.warn("storage unmount failed; the mount stays", { mountPoint: s.mountPoint, err });
  }
}

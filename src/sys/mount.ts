// mount(2) and umount2(2), with the mount flags hako uses (values from linux/mount.h).
import { fail, load } from "./libc.js";

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MS_RELATIME = 0x200000;

/** Mounts `source` on `target`; an empty fstype is a bind or remount. Throws a HakoError coded from the errno. */
export function mount(source: string, target: string, fstype: string, flags: number, data = ""): void {
  if ((load().mount(source, target, fstype || null, flags, data || null) as number) !== 0) {
    throw fail("mount", `${fstype || "bind"} ${source} on ${target}`);
  }
}

/** Unmounts `target`; `lazy` detaches it now and frees it when no longer busy (MNT_DETACH). */
export function umount(target: string, lazy = false): void {
  if ((load().umount2(target, lazy ? 2 : 0) as number) !== 0) throw fail("umount", target);
}

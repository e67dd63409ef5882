// Host mounts the runtime makes: container rootfs from containerd's mount list, bind mounts into the share. The
// runtime uses them through the HostMounts interface (fake-host-mounts.ts stands in for unit tests, which then run
// without root). Node has no mount(2); util-linux's mount/umount do the work and their stderr becomes the error.
import { execFile } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { Code, HakoError } from "../common/errors.js";

const run = promisify(execFile);

export interface MountSpec {
  type: string;
  source: string;
  options: string[];
}

/** The host mount operations the runtime needs; every path is absolute. */
export interface HostMounts {
  /** Mounts containerd's rootfs mount list onto target, creating target. */
  mountRootfs(mounts: MountSpec[], target: string): Promise<void>;
  /** Bind-mounts source at target (made as a file or directory to match). Source missing: InvalidArgument. */
  bindMount(source: string, target: string, readonly: boolean): Promise<void>;
  /** Makes dir a mount point of its own with shared propagation. */
  makeSharedMountPoint(dir: string): Promise<void>;
  /** Unmounts target and everything below it, children first; a target that is not mounted is fine. */
  unmountAll(target: string): Promise<void>;
  /** Mount points at or below prefix, parents first. */
  mountPointsUnder(prefix: string): Promise<string[]>;
}

async function mountCmd(args: string[], what: string): Promise<void> {
  try {
    await run("mount", args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new HakoError(Code.Internal, `${what}: ${stderr || (err as Error).message}`, { cause: err });
  }
}

/** Mounts containerd's rootfs mount list onto target (an overlay or a bind, usually exactly one entry). */
export async function mountRootfs(mounts: MountSpec[], target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  for (const m of mounts) {
    const args = ["-t", m.type, m.source, target];
    if (m.options.length > 0) args.push("-o", m.options.join(","));
    await mountCmd(args, `mounting rootfs (${m.type}) at ${target}`);
  }
}

/** Creates target as a file or directory to match source, for a bind mount. Source missing: InvalidArgument. */
export async function makeBindTarget(source: string, target: string): Promise<void> {
  const st = await stat(source).catch((err) => {
    throw new HakoError(Code.InvalidArgument, `bind mount source ${source} is not accessible`, { cause: err });
  });
  if (st.isDirectory()) await mkdir(target, { recursive: true });
  else {
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, "", { flag: "a" });
  }
}

/** Bind-mounts source at target, creating target as a file or directory to match the source. */
export async function bindMount(source: string, target: string, readonly: boolean): Promise<void> {
  await makeBindTarget(source, target);
  await mountCmd(["--bind", source, target], `bind-mounting ${source} at ${target}`);
  if (readonly) await mountCmd(["-o", "remount,bind,ro", target], `making ${target} read-only`);
}

/** Makes dir a mount point of its own with shared propagation, so later mounts beneath it reach virtiofsd. */
export async function makeSharedMountPoint(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (!(await isMountPoint(dir))) await mountCmd(["--bind", dir, dir], `bind-mounting ${dir} onto itself`);
  await mountCmd(["--make-rshared", dir], `making ${dir} shared`);
}

/**
 * Unmounts target and everything below it; a target that is not mounted is fine. Lazy as a last resort. Every
 * mount point is tried; if any stays mounted, throws Internal naming each with umount's message (EBUSY, EPERM, …).
 */
export async function unmountAll(target: string): Promise<void> {
  const failed: string[] = [];
  let cause: unknown;
  for (const mp of (await mountPointsUnder(target)).reverse()) {
    try {
      await run("umount", [mp]);
    } catch {
      try {
        await run("umount", ["-l", mp]);
      } catch (err) {
        failed.push(`${mp}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
        cause ??= err;
      }
    }
  }
  if (failed.length > 0) throw new HakoError(Code.Internal, `cannot unmount ${failed.join("; ")}`, { cause });
}

/** Mount points at or below prefix, in mount order (parents first). */
export async function mountPointsUnder(prefix: string): Promise<string[]> {
  return mountPointsIn(await readFile("/proc/self/mountinfo", "utf8"), prefix);
}

/** Mount points at or below prefix in a /proc/self/mountinfo text, in its order; octal escapes (\040) decoded. */
export function mountPointsIn(mountinfo: string, prefix: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const mp = line.split(" ")[4];
    if (mp === undefined) continue;
    const path = mp.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (path === prefix || path.startsWith(`${prefix}/`)) out.push(path);
  }
  return out;
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPointsUnder(path)).includes(path);
}

/** The host's own mount table, through util-linux. */
export const systemHostMounts: HostMounts = {
  mountRootfs,
  bindMount,
  makeSharedMountPoint,
  unmountAll,
  mountPointsUnder,
};

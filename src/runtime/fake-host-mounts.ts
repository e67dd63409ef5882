// A HostMounts that mounts nothing: for runtime unit tests, which then run without root. It keeps a mount table in
// memory (what is mounted where, from which source, read-only or not) and makes the mount-point files and
// directories as the real mounts do, so tests can check what the runtime asked for and that it released it all.
import { mkdir } from "node:fs/promises";
import { Code, HakoError } from "../common/errors.js";
import { type HostMounts, type MountSpec, makeBindTarget } from "./host-mounts.js";

export interface FakeMount {
  target: string;
  /** The bind source, or the rootfs mount's source (an overlay's is the word "overlay"). */
  source: string;
  type: string;
  readonly: boolean;
  options: string[];
}

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

export class FakeHostMounts implements HostMounts {
  /** In mount order. */
  readonly table: FakeMount[] = [];
  /** Targets whose unmount fails (EBUSY), to exercise failure paths. */
  readonly busy = new Set<string>();

  async mountRootfs(mounts: MountSpec[], target: string): Promise<void> {
    await mkdir(target, { recursive: true });
    for (const m of mounts) {
      const ro = m.options.includes("ro");
      this.table.push({ target, source: m.source, type: m.type, readonly: ro, options: [...m.options] });
    }
  }

  async bindMount(source: string, target: string, readonly: boolean): Promise<void> {
    await makeBindTarget(source, target);
    this.table.push({ target, source, type: "bind", readonly, options: readonly ? ["bind", "ro"] : ["bind"] });
  }

  async makeSharedMountPoint(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    if (!this.table.some((m) => m.target === dir)) {
      this.table.push({ target: dir, source: dir, type: "bind", readonly: false, options: ["rshared"] });
    }
  }

  /**
   * As the real one: every mount point is tried, children first, then the ones that stay are named in one Internal
   * error. A busy mount stays, and so does every mount above it (its parent cannot go while it is there).
   */
  async unmountAll(target: string): Promise<void> {
    const failed: string[] = [];
    const stuck: string[] = [];
    for (let i = this.table.length - 1; i >= 0; i--) {
      const m = this.table[i] as FakeMount;
      if (!under(m.target, target)) continue;
      if (this.busy.has(m.target) || stuck.some((s) => under(s, m.target))) {
        failed.push(`${m.target}: target is busy`);
        stuck.push(m.target);
      } else this.table.splice(i, 1);
    }
    if (failed.length > 0) throw new HakoError(Code.Internal, `cannot unmount ${failed.join("; ")}`);
  }

  async mountPointsUnder(prefix: string): Promise<string[]> {
    return this.table.filter((m) => under(m.target, prefix)).map((m) => m.target);
  }

  /** The mount at target (the last one made there), if any. */
  at(target: string): FakeMount | undefined {
    return this.table.findLast((m) => m.target === target);
  }
}

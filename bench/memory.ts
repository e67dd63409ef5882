// Host memory per sandbox (PSS of shim + QEMU + virtiofsd and any of their children), for one sandbox and for
// several running at once, where shared pages (kernel and rootfs in the page cache, Node's code) spread out. The
// same detached sandboxes give hako's own start-up phases, read from their persisted state.

import { sandboxPaths } from "../src/runtime/layout.js";
import { readSandboxState } from "../src/runtime/sandbox-state.js";
import { HAKO_RUNTIME, RUNC_RUNTIME } from "../test/helpers/containerd.js";
import type { BenchContext, Section } from "./context.js";
import { notAvailable } from "./context.js";
import { memoryOf, parentPid, processTrees, tcgCacheKiB, unmappedFileKiB } from "./proc-memory.js";
import { median, medianPhases, round } from "./stats.js";

export interface SandboxMemory {
  id: string;
  totalMiB: number;
  /** Of totalMiB: QEMU's TCG translation cache (0 under KVM, which has none). */
  tcgMiB: number;
  /** Of totalMiB: the shim's own process (what one daemon per node would share out). */
  shimMiB: number;
  processes: { pid: number; command: string; pssMiB: number }[];
}

/** Host memory with `pods` idle sandboxes running at once. */
export interface PodCountMemory {
  pods: number;
  perPodMiB: number;
  totalMiB: number;
  /** Of perPodMiB: QEMU's TCG translation cache, per pod (0 under KVM). */
  tcgPerPodMiB?: number;
  /** Of perPodMiB: the shim process, per pod. */
  shimPerPodMiB?: number;
  /** Median wall time (ms) of `ctr run -d` for the pods started to reach this count, with the others running. */
  startMs?: number;
}

/** Per pod less QEMU's TCG translation cache (MiB, one decimal): what bears on a KVM host; undefined if unmeasured. */
export function lessTcgCacheMiB(c: PodCountMemory): number | undefined {
  return c.tcgPerPodMiB === undefined ? undefined : Math.round((c.perPodMiB - c.tcgPerPodMiB) * 10) / 10;
}

export interface MemoryResult {
  single: { hakoMiB: number; runcMiB: number | null; detail: SandboxMemory };
  /** Per pod with 1, 3, 10, … idle pods: booted (cold) and restored from the template (null without one). */
  byCount: { cold: PodCountMemory[]; template: PodCountMemory[] | null; templateNote?: string };
  /** Median of each start-up phase over every sandbox started here (ms since the shim began creating it). */
  phasesMs: Record<string, number> | null;
  /** Median wall time of `ctr run -d` for the same sandboxes: the phases plus containerd's and the shim's start. */
  ctrRunDetachedMs: number | null;
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

async function hakoSandboxMemory(id: string): Promise<{ mem: SandboxMemory; phases: Record<string, number> } | string> {
  const state = await readSandboxState(sandboxPaths(id).stateFile).catch((e: Error) => e.message);
  if (typeof state === "string" || state === undefined)
    return `no readable state for sandbox ${id}: ${state ?? "absent"}`;
  // virtiofsd is the shim's child; the container's own processes live in the guest: on the host everything belongs
  // to the shim's and the VM's trees.
  const roots = [state.ownerPid, ...(state.vm ? [state.vm.pid] : [])];
  const procs = memoryOf(processTrees(roots));
  // A template clone's RAM is a deleted tmpfs file: pages the guest has not touched since the restore are in it
  // but in no page table, so PSS misses them; they are the clone's all the same.
  const total = procs.reduce((s, p) => s + p.pssKiB, 0) + (state.vm ? unmappedFileKiB(state.vm.pid) : 0);
  return {
    mem: {
      id,
      totalMiB: mib(total),
      tcgMiB: mib(state.vm ? tcgCacheKiB(state.vm.pid) : 0),
      shimMiB: mib(procs.find((p) => p.pid === state.ownerPid)?.pssKiB ?? 0),
      processes: procs.map((p) => ({ pid: p.pid, command: p.command, pssMiB: mib(p.pssKiB) })),
    },
    phases: state.phases,
  };
}

/** runc's cost for the same container: its shim and the container's process tree. */
async function runcMemory(ctx: BenchContext): Promise<number | null> {
  const id = `${ctx.tag}-mem-runc`;
  const r = await ctx.containerd.runDetached(RUNC_RUNTIME, ctx.image, id, ["sleep", "600"], { timeoutMs: 60_000 });
  if (r.code !== 0) return null;
  try {
    const tasks = await ctx.containerd.ctr(["tasks", "list"]);
    const line = tasks.stdout.split("\n").find((l) => l.startsWith(`${id} `));
    const pid = Number(line?.split(/\s+/)[1]);
    const shim = parentPid(pid);
    if (!pid || shim === null) return null;
    return mib(memoryOf(processTrees([shim])).reduce((s, p) => s + p.pssKiB, 0));
  } finally {
    await removeContainer(ctx, id);
  }
}

async function removeContainer(ctx: BenchContext, id: string): Promise<void> {
  await ctx.containerd.ctr(["tasks", "kill", "-s", "SIGKILL", id], { timeoutMs: 30_000 });
  await ctx.containerd.ctr(["tasks", "delete", "-f", id], { timeoutMs: 60_000 });
  await ctx.containerd.ctr(["containers", "delete", id], { timeoutMs: 60_000 });
}

const settle = () => new Promise((r) => setTimeout(r, 2_000));

/**
 * Starts idle pods up to each of ctx.podCounts, measuring the host memory of all of them at each count; the first
 * pod alone also gives the single-sandbox detail. `extra` goes to every `ctr run` (the template config).
 */
async function podsByCount(
  ctx: BenchContext,
  label: string,
  extra: string[],
  ids: string[],
  onFirst: (m: { mem: SandboxMemory; phases: Record<string, number> }, ms: number) => void,
  allPhases: Record<string, number>[],
): Promise<PodCountMemory[] | string> {
  const out: PodCountMemory[] = [];
  const counts = ctx.podCounts;
  for (const count of counts) {
    const startMs: number[] = [];
    while (ids.length < count) {
      const id = `${ctx.tag}-mem-${label}-${ids.length}`;
      ctx.log(`memory (${label}): starting idle pod ${ids.length + 1}/${count}`);
      const r = await ctx.containerd.runDetached(HAKO_RUNTIME, ctx.image, id, ["sleep", "600"], {
        timeoutMs: 180_000,
        extra,
      });
      if (r.code !== 0) return `hako could not start a detached sandbox: ${r.stderr.trim()}`;
      ids.push(id);
      startMs.push(r.ms);
      if (ids.length === 1) {
        await settle();
        const m = await hakoSandboxMemory(id);
        if (typeof m === "string") return m;
        onFirst(m, r.ms);
      }
    }
    await settle();
    let total = 0;
    let tcg = 0;
    let shim = 0;
    for (const id of ids) {
      const m = await hakoSandboxMemory(id);
      if (typeof m === "string") return m;
      total += m.mem.totalMiB;
      tcg += m.mem.tcgMiB;
      shim += m.mem.shimMiB;
      if (count === counts[counts.length - 1]) allPhases.push(m.phases);
    }
    const started = round(median(startMs), 0);
    out.push({
      pods: count,
      perPodMiB: round(total / count, 1) ?? 0,
      totalMiB: round(total, 1) ?? 0,
      tcgPerPodMiB: round(tcg / count, 1) ?? 0,
      shimPerPodMiB: round(shim / count, 1) ?? 0,
      ...(started !== null ? { startMs: started } : {}),
    });
  }
  return out;
}

export async function measureMemory(ctx: BenchContext): Promise<Section<MemoryResult>> {
  const allPhases: Record<string, number>[] = [];
  const detachedMs: number[] = [];
  let single: SandboxMemory | undefined;
  const coldIds: string[] = [];
  const tplIds: string[] = [];
  try {
    const runcMiB = await runcMemory(ctx);
    const cold = await podsByCount(
      ctx,
      "cold",
      [],
      coldIds,
      (m, ms) => {
        single = m.mem;
        detachedMs.push(ms);
      },
      allPhases,
    );
    if (typeof cold === "string") return notAvailable(cold);
    for (const id of coldIds.splice(0)) await removeContainer(ctx, id);
    let template: PodCountMemory[] | null = null;
    let templateNote = ctx.templateError;
    if (ctx.templateConfig) {
      const t = await podsByCount(ctx, "tpl", ["--runtime-config-path", ctx.templateConfig], tplIds, () => {}, []);
      if (typeof t === "string") templateNote = t;
      else template = t;
    }
    if (!single) return notAvailable("no sandbox was measured");
    return {
      available: true,
      value: {
        single: { hakoMiB: single.totalMiB, runcMiB, detail: single },
        byCount: { cold, template, ...(templateNote ? { templateNote } : {}) },
        phasesMs: medianPhases(allPhases),
        ctrRunDetachedMs: round(median(detachedMs), 0),
      },
    };
  } finally {
    for (const id of [...coldIds, ...tplIds]) await removeContainer(ctx, id);
  }
}

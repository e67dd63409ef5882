// Host memory per sandbox (PSS of shim + QEMU + virtiofsd and any of their children), for one sandbox and for
// several running at once, where shared pages (kernel and rootfs in the page cache, Node's code) spread out. The
// same detached sandboxes give hako's own start-up phases, read from their persisted state.

import { sandboxPaths } from "../src/runtime/layout.js";
import { readSandboxState } from "../src/runtime/sandbox-state.js";
import { HAKO_RUNTIME, RUNC_RUNTIME } from "../test/helpers/containerd.js";
import type { BenchContext, Section } from "./context.js";
import { notAvailable } from "./context.js";
import { memoryOf, parentPid, processTrees } from "./proc-memory.js";
import { median, medianPhases, round } from "./stats.js";

export interface SandboxMemory {
  id: string;
  totalMiB: number;
  processes: { pid: number; command: string; pssMiB: number }[];
}

export interface MemoryResult {
  single: { hakoMiB: number; runcMiB: number | null; detail: SandboxMemory };
  concurrent: { count: number; perSandboxMiB: number; totalMiB: number };
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
  const total = procs.reduce((s, p) => s + p.pssKiB, 0);
  return {
    mem: {
      id,
      totalMiB: mib(total),
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

export async function measureMemory(ctx: BenchContext): Promise<Section<MemoryResult>> {
  const ids: string[] = [];
  const allPhases: Record<string, number>[] = [];
  const detachedMs: number[] = [];
  let single: SandboxMemory | undefined;
  try {
    const runcMiB = await runcMemory(ctx);
    for (let i = 0; i < ctx.concurrency; i++) {
      const id = `${ctx.tag}-mem-${i}`;
      ctx.log(`memory: starting detached sandbox ${i + 1}/${ctx.concurrency}`);
      const r = await ctx.containerd.runDetached(HAKO_RUNTIME, ctx.image, id, ["sleep", "600"], { timeoutMs: 180_000 });
      if (r.code !== 0) return notAvailable(`hako could not start a detached sandbox: ${r.stderr.trim()}`);
      ids.push(id);
      detachedMs.push(r.ms);
      if (i === 0) await settle();
      const m = await hakoSandboxMemory(id);
      if (typeof m === "string") return notAvailable(m);
      allPhases.push(m.phases);
      // The first one is measured before the others start: the cost of a sandbox alone.
      if (i === 0) single = m.mem;
    }
    if (!single) return notAvailable("no sandbox was measured");
    await settle();
    let total = 0;
    for (const id of ids) {
      const m = await hakoSandboxMemory(id);
      if (typeof m === "string") return notAvailable(m);
      total += m.mem.totalMiB;
    }
    return {
      available: true,
      value: {
        single: { hakoMiB: single.totalMiB, runcMiB, detail: single },
        concurrent: {
          count: ids.length,
          perSandboxMiB: round(total / ids.length, 1) ?? 0,
          totalMiB: round(total, 1) ?? 0,
        },
        phasesMs: medianPhases(allPhases),
        ctrRunDetachedMs: round(median(detachedMs), 0),
      },
    };
  } finally {
    for (const id of ids) await removeContainer(ctx, id);
  }
}

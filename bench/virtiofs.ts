// virtio-fs throughput: dd in a hako container on a bind mount (reached through virtiofsd) against the same dd on
// the host directory itself. The write is fsync'ed; the read runs in a fresh container so the guest's cache is cold
// while the host's page cache is warm on both sides, which makes the ratio the cost of the virtio-fs path.
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { HAKO_RUNTIME, runCommand } from "../test/helpers/containerd.js";
import type { BenchContext, Section } from "./context.js";
import { notAvailable } from "./context.js";
import { ddScript, mbPerSecond, parseTimes } from "./dd.js";
import { round } from "./stats.js";

export interface Throughput {
  fileMiB: number;
  guest: { writeMBps: number | null; readMBps: number | null };
  host: { writeMBps: number | null; readMBps: number | null };
  ratios: { write: number | null; read: number | null };
}

const rel = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : round(a / b));

export async function measureVirtiofs(ctx: BenchContext): Promise<Section<Throughput>> {
  // On the root disk, not /run: tmpfs would flatter the host side.
  const dir = await mkdtemp("/var/tmp/hako-bench-fs-");
  try {
    const mount = ["--mount", `type=bind,src=${dir},dst=/data,options=rbind:rw`];
    const inGuest = async (step: "write" | "read", n: string) => {
      const r = await ctx.containerd.run(
        HAKO_RUNTIME,
        ctx.image,
        `${ctx.tag}-fs-${n}`,
        ["sh", "-c", ddScript("/data/f", ctx.fileMiB, step)],
        {
          timeoutMs: 300_000,
          extra: mount,
        },
      );
      if (r.code !== 0) throw new Error(`hako dd ${step} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
      return parseTimes(r.stdout)[0];
    };
    ctx.log("virtio-fs: dd in a hako container");
    let guestWrite: number | undefined;
    let guestRead: number | undefined;
    try {
      guestWrite = await inGuest("write", "w");
      guestRead = await inGuest("read", "r");
    } catch (err) {
      return notAvailable((err as Error).message);
    }
    await rm(join(dir, "f"), { force: true });
    ctx.log("virtio-fs: the same dd on the host");
    // Timed from here: a page-cache read on the host can take less than `time`'s 10 ms resolution.
    const hostStep = async (step: "write" | "read") => {
      const r = await runCommand("/bin/busybox", ["sh", "-c", ddScript(join(dir, "f"), ctx.fileMiB, step)]);
      return r.code === 0 ? r.ms / 1000 : undefined;
    };
    const hostWrite = await hostStep("write");
    const hostRead = await hostStep("read");
    const g = {
      writeMBps: round(mbPerSecond(ctx.fileMiB, guestWrite), 0),
      readMBps: round(mbPerSecond(ctx.fileMiB, guestRead), 0),
    };
    const h = {
      writeMBps: round(mbPerSecond(ctx.fileMiB, hostWrite), 0),
      readMBps: round(mbPerSecond(ctx.fileMiB, hostRead), 0),
    };
    return {
      available: true,
      value: {
        fileMiB: ctx.fileMiB,
        guest: g,
        host: h,
        ratios: { write: rel(g.writeMBps, h.writeMBps), read: rel(g.readMBps, h.readMBps) },
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

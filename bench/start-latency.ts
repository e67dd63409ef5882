// Start latency of `ctr run --rm IMG true`: hako vs runc vs the raw VM floor, in interleaved rounds so that drift
// in the host's load hits all three alike.
import { HAKO_RUNTIME, RUNC_RUNTIME } from "../test/helpers/containerd.js";
import type { BenchContext, Section } from "./context.js";
import { notAvailable } from "./context.js";
import { rawBoot } from "./raw-boot.js";
import { median, medianPhases, min, ratio, round } from "./stats.js";

export interface Samples {
  samplesMs: number[];
  medianMs: number | null;
  minMs: number | null;
  failures: string[];
}

export interface StartLatency {
  hako: Samples;
  runc: Samples;
  rawVm: Samples;
  ratios: { hakoOverRawVm: number | null; hakoOverRunc: number | null; rawVmOverRunc: number | null };
  /** Median of each phase hako's shim logged for these runs ("sandbox ready"), ms since it began creating the VM. */
  phasesMs: Record<string, number> | null;
}

function samples(ms: number[], failures: string[]): Samples {
  return {
    samplesMs: ms.map((v) => Math.round(v)),
    medianMs: round(median(ms), 0),
    minMs: round(min(ms), 0),
    failures,
  };
}

export async function measureStartLatency(ctx: BenchContext): Promise<Section<StartLatency>> {
  const hako: number[] = [];
  const runc: number[] = [];
  const raw: number[] = [];
  const phases: Record<string, number>[] = [];
  const fails = { hako: [] as string[], runc: [] as string[], raw: [] as string[] };
  for (let round = 0; round < ctx.runs; round++) {
    ctx.log(`start latency: round ${round + 1}/${ctx.runs}`);
    const r = await ctx.containerd.run(RUNC_RUNTIME, ctx.image, `${ctx.tag}-runc-${round}`, ["true"], {
      timeoutMs: 60_000,
    });
    if (r.code === 0) runc.push(r.ms);
    else fails.runc.push(r.stderr.trim().split("\n").pop() ?? `exit ${r.code}`);
    // After the first failure, hako is not retried: a broken shim fails the same way each time.
    if (fails.hako.length === 0) {
      const id = `${ctx.tag}-hako-${round}`;
      const h = await ctx.containerd.run(HAKO_RUNTIME, ctx.image, id, ["true"], { timeoutMs: 180_000 });
      const p = await ctx.containerd.sandboxPhases(id);
      if (p) phases.push(p);
      if (h.code === 0) hako.push(h.ms);
      else fails.hako.push(h.stderr.trim().split("\n").pop() ?? `exit ${h.code}`);
    }
    try {
      raw.push(
        await rawBoot({
          qemu: ctx.qemu,
          kernel: ctx.kernel,
          accelerator: ctx.accelerator,
          tcgTbSizeMiB: ctx.tcgTbSizeMiB,
          memoryMiB: ctx.memoryMiB,
          timeoutMs: 120_000,
        }),
      );
    } catch (err) {
      fails.raw.push((err as Error).message.split("\n")[0] ?? "raw boot failed");
    }
  }
  if (runc.length === 0 && hako.length === 0 && raw.length === 0) {
    return notAvailable(`every start failed: runc: ${fails.runc[0]}; hako: ${fails.hako[0]}; raw: ${fails.raw[0]}`);
  }
  const h = median(hako);
  const c = median(runc);
  const v = median(raw);
  return {
    available: true,
    value: {
      hako: samples(hako, fails.hako),
      runc: samples(runc, fails.runc),
      rawVm: samples(raw, fails.raw),
      ratios: {
        hakoOverRawVm: round(ratio(h, v)),
        hakoOverRunc: round(ratio(h, c), 1),
        rawVmOverRunc: round(ratio(v, c), 1),
      },
      phasesMs: medianPhases(phases),
    },
  };
}

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
  /** hako booting its VM (no template). */
  hako: Samples;
  /** hako restoring its VM from the template (`[factory] enable_template`); null when no template could be made. */
  hakoTemplate: Samples | null;
  runc: Samples;
  /** Raw boot of the configured guest kernel (hako's own unless the assets hold Debian's). */
  rawVm: Samples;
  /** Raw boot of Debian's cloud kernel with the same tiny init: the floor the targets are stated against. */
  rawVmDebian: Samples;
  ratios: {
    hakoOverRawVm: number | null;
    hakoOverRunc: number | null;
    rawVmOverRunc: number | null;
    hakoOverRawDebian: number | null;
    templateOverRawDebian: number | null;
    rawVmOverRawDebian: number | null;
  };
  /** Median of each phase hako's shim logged for these runs ("sandbox ready"), ms since it began creating the VM. */
  phasesMs: Record<string, number> | null;
  /** The same for the starts from the template. */
  templatePhasesMs: Record<string, number> | null;
  /** Why the template runs are missing, if they are. */
  templateNote?: string;
}

function samples(ms: number[], failures: string[]): Samples {
  return {
    samplesMs: ms.map((v) => Math.round(v)),
    medianMs: round(median(ms), 0),
    minMs: round(min(ms), 0),
    failures,
  };
}

/** One `ctr run --rm … true` of hako; pushes the time and the shim's phases, or the failure. */
async function hakoRun(
  ctx: BenchContext,
  id: string,
  extra: string[],
  out: { ms: number[]; phases: Record<string, number>[]; failures: string[] },
): Promise<void> {
  // After the first failure, this kind of start is not retried: a broken shim fails the same way each time.
  if (out.failures.length > 0) return;
  const h = await ctx.containerd.run(HAKO_RUNTIME, ctx.image, id, ["true"], { timeoutMs: 180_000, extra });
  const p = await ctx.containerd.sandboxPhases(id);
  if (p) out.phases.push(p);
  if (h.code === 0) out.ms.push(h.ms);
  else out.failures.push(h.stderr.trim().split("\n").pop() ?? `exit ${h.code}`);
}

async function rawRun(ctx: BenchContext, kernel: string, out: { ms: number[]; failures: string[] }): Promise<void> {
  try {
    out.ms.push(
      await rawBoot({
        qemu: ctx.qemu,
        kernel,
        accelerator: ctx.accelerator,
        tcgTbSizeMiB: ctx.tcgTbSizeMiB,
        memoryMiB: ctx.memoryMiB,
        timeoutMs: 120_000,
      }),
    );
  } catch (err) {
    out.failures.push((err as Error).message.split("\n")[0] ?? "raw boot failed");
  }
}

const series = () => ({ ms: [] as number[], phases: [] as Record<string, number>[], failures: [] as string[] });

export async function measureStartLatency(ctx: BenchContext): Promise<Section<StartLatency>> {
  const cold = series();
  const tpl = series();
  const runc = series();
  const raw = series();
  const rawDebian = series();
  const tplExtra = ctx.templateConfig ? ["--runtime-config-path", ctx.templateConfig] : undefined;
  for (let round = 0; round < ctx.runs; round++) {
    ctx.log(`start latency: round ${round + 1}/${ctx.runs}`);
    const r = await ctx.containerd.run(RUNC_RUNTIME, ctx.image, `${ctx.tag}-runc-${round}`, ["true"], {
      timeoutMs: 60_000,
    });
    if (r.code === 0) runc.ms.push(r.ms);
    else runc.failures.push(r.stderr.trim().split("\n").pop() ?? `exit ${r.code}`);
    await hakoRun(ctx, `${ctx.tag}-hako-${round}`, [], cold);
    if (tplExtra) await hakoRun(ctx, `${ctx.tag}-tpl-${round}`, tplExtra, tpl);
    await rawRun(ctx, ctx.kernel, raw);
    await rawRun(ctx, ctx.debianKernel, rawDebian);
  }
  if (runc.ms.length === 0 && cold.ms.length === 0 && raw.ms.length === 0) {
    return notAvailable(
      `every start failed: runc: ${runc.failures[0]}; hako: ${cold.failures[0]}; raw: ${raw.failures[0]}`,
    );
  }
  const h = median(cold.ms);
  const t = median(tpl.ms);
  const c = median(runc.ms);
  const v = median(raw.ms);
  const d = median(rawDebian.ms);
  return {
    available: true,
    value: {
      hako: samples(cold.ms, cold.failures),
      hakoTemplate: tplExtra ? samples(tpl.ms, tpl.failures) : null,
      runc: samples(runc.ms, runc.failures),
      rawVm: samples(raw.ms, raw.failures),
      rawVmDebian: samples(rawDebian.ms, rawDebian.failures),
      ratios: {
        hakoOverRawVm: round(ratio(h, v)),
        hakoOverRunc: round(ratio(h, c), 1),
        rawVmOverRunc: round(ratio(v, c), 1),
        hakoOverRawDebian: round(ratio(h, d)),
        templateOverRawDebian: round(ratio(t, d)),
        rawVmOverRawDebian: round(ratio(v, d)),
      },
      phasesMs: medianPhases(cold.phases),
      templatePhasesMs: medianPhases(tpl.phases),
      ...(ctx.templateError ? { templateNote: ctx.templateError } : {}),
    },
  };
}

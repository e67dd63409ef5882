// Renders a benchmark result as a markdown report: one table per section, ratios first, "not available" with the
// reason where a section could not run.
import type { BenchResult } from "./main.js";

const ms = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${(v / 1000).toFixed(2)} s`);
const x = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${v}×`);
const n = (v: number | null | undefined, unit: string) => (v === null || v === undefined ? "–" : `${v} ${unit}`);

export function renderMarkdown(r: BenchResult): string {
  const out: string[] = [];
  out.push(`# hako benchmark — ${r.startedAt}`, "");
  out.push(
    `Host: ${r.host.kernel}, ${r.host.cpus} CPUs; accelerator **${r.host.accelerator}** (${r.host.accelReason}); ` +
      `guest kernel ${r.host.guestKernel}; ${r.runs} interleaved runs.`,
    "",
  );

  out.push("## Start latency (`ctr run --rm IMG true`)", "");
  if (!r.startLatency.available) out.push(`not available: ${r.startLatency.reason}`, "");
  else {
    const s = r.startLatency.value;
    out.push("| | median | best | runs ok |", "|---|---|---|---|");
    out.push(`| hako | ${ms(s.hako.medianMs)} | ${ms(s.hako.minMs)} | ${s.hako.samplesMs.length}/${r.runs} |`);
    out.push(`| runc | ${ms(s.runc.medianMs)} | ${ms(s.runc.minMs)} | ${s.runc.samplesMs.length}/${r.runs} |`);
    out.push(
      `| raw VM boot (same kernel, tiny initrd) | ${ms(s.rawVm.medianMs)} | ${ms(s.rawVm.minMs)} | ${s.rawVm.samplesMs.length}/${r.runs} |`,
    );
    out.push("");
    out.push(
      `hako / raw VM: **${x(s.ratios.hakoOverRawVm)}** (target ≤ 1.25×) · hako / runc: ${x(s.ratios.hakoOverRunc)} · raw VM / runc: ${x(s.ratios.rawVmOverRunc)}`,
      "",
    );
    for (const [who, f] of [
      ["hako", s.hako.failures],
      ["runc", s.runc.failures],
      ["raw VM", s.rawVm.failures],
    ] as const) {
      if (f.length > 0) out.push(`${who} failures: ${f.join("; ")}`, "");
    }
  }

  out.push("## Phases of a hako start (from the sandbox's persisted state, median)", "");
  const phases = r.memory.available ? r.memory.value.phasesMs : null;
  if (!phases)
    out.push(`not available: ${r.memory.available ? "the runtime recorded no phases" : r.memory.reason}`, "");
  else {
    out.push("| phase | ms since the shim began creating the sandbox |", "|---|---|");
    for (const [k, v] of Object.entries(phases).sort((a, b) => a[1] - b[1])) out.push(`| ${k} | ${v} |`);
    if (r.memory.available && r.memory.value.ctrRunDetachedMs !== null) {
      out.push(
        `| (\`ctr run -d\` returned, wall time incl. containerd and shim start) | ${r.memory.value.ctrRunDetachedMs} |`,
      );
    }
    out.push("");
  }

  out.push("## Host memory per sandbox (PSS of shim + QEMU + virtiofsd)", "");
  if (!r.memory.available) out.push(`not available: ${r.memory.reason}`, "");
  else {
    const m = r.memory.value;
    out.push("| | PSS |", "|---|---|");
    out.push(`| hako, one sandbox alone | ${n(m.single.hakoMiB, "MiB")} |`);
    out.push(`| hako, per sandbox with ${m.concurrent.count} running | ${n(m.concurrent.perSandboxMiB, "MiB")} |`);
    out.push(`| runc (shim + container) | ${n(m.single.runcMiB, "MiB")} |`);
    out.push("", "Target ≤ 100 MB per pod (Kata publishes ~123 MB).", "");
    out.push(`One sandbox: ${m.single.detail.processes.map((p) => `${p.command} ${p.pssMiB} MiB`).join(", ")}`, "");
  }

  out.push("## virtio-fs throughput (dd, guest container on a bind mount vs the host)", "");
  if (!r.virtiofs.available) out.push(`not available: ${r.virtiofs.reason}`, "");
  else {
    const v = r.virtiofs.value;
    out.push(`| ${v.fileMiB} MiB | guest | host | guest / host |`, "|---|---|---|---|");
    out.push(
      `| write (fsync) | ${n(v.guest.writeMBps, "MB/s")} | ${n(v.host.writeMBps, "MB/s")} | ${x(v.ratios.write)} |`,
    );
    out.push(`| read | ${n(v.guest.readMBps, "MB/s")} | ${n(v.host.readMBps, "MB/s")} | ${x(v.ratios.read)} |`);
    out.push("");
  }
  return out.join("\n");
}

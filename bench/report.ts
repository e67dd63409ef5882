// Renders a benchmark result as a markdown report: one table per section, ratios first, "not available" with the
// reason where a section could not run.
import type { Section } from "./context.js";
import type { BenchResult } from "./main.js";
import type { NetworkResult } from "./network.js";

const ms = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${(v / 1000).toFixed(2)} s`);
const x = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${v}×`);
const n = (v: number | null | undefined, unit: string) => (v === null || v === undefined ? "–" : `${v} ${unit}`);

/** A markdown table with padded columns, as the repository's formatter prints it. */
export function table(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(3, ...all.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

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
    const row = (name: string, v: { medianMs: number | null; minMs: number | null; samplesMs: number[] }) => [
      name,
      ms(v.medianMs),
      ms(v.minMs),
      `${v.samplesMs.length}/${r.runs}`,
    ];
    out.push(
      ...table(
        ["", "median", "best", "runs ok"],
        [row("hako", s.hako), row("runc", s.runc), row("raw VM boot (same kernel, tiny initrd)", s.rawVm)],
      ),
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

  out.push("## Phases of a hako start (hako's own timestamps, median, ms since the shim began creating the VM)", "");
  const fromLog = r.startLatency.available ? r.startLatency.value.phasesMs : null;
  const fromState = r.memory.available ? r.memory.value.phasesMs : null;
  if (!fromLog && !fromState) out.push("not available: no hako start recorded its phases", "");
  else {
    const names = [...new Set([...Object.keys(fromLog ?? {}), ...Object.keys(fromState ?? {})])].sort(
      (a, b) => (fromLog?.[a] ?? fromState?.[a] ?? 0) - (fromLog?.[b] ?? fromState?.[b] ?? 0),
    );
    const cell = (v: number | undefined) => (v === undefined ? "–" : String(v));
    const rows = names.map((k) => [k, cell(fromLog?.[k]), cell(fromState?.[k])]);
    if (r.memory.available && r.memory.value.ctrRunDetachedMs !== null) {
      rows.push([
        "(`ctr run -d` returned: containerd and shim start included)",
        "–",
        String(r.memory.value.ctrRunDetachedMs),
      ]);
    }
    out.push(...table(["phase", "`ctr run --rm` (shim log)", "`ctr run -d` (sandbox state)"], rows), "");
  }

  section(out, "## Host memory per sandbox (PSS of shim + QEMU + virtiofsd)", r.memory, (m) => [
    ...table(
      ["", "PSS"],
      [
        ["hako, one sandbox alone", n(m.single.hakoMiB, "MiB")],
        [`hako, per sandbox with ${m.concurrent.count} running`, n(m.concurrent.perSandboxMiB, "MiB")],
        ["runc (shim + container)", n(m.single.runcMiB, "MiB")],
      ],
    ),
    "",
    "Target ≤ 100 MB per pod (Kata publishes ~123 MB).",
    "",
    `One sandbox: ${m.single.detail.processes.map((p) => `${p.command} ${p.pssMiB} MiB`).join(", ")}`,
  ]);
  section(out, "## virtio-fs throughput (dd, guest container on a bind mount vs the host)", r.virtiofs, (v) =>
    table(
      [`${v.fileMiB} MiB`, "guest", "host", "guest / host"],
      [
        ["write (fsync)", n(v.guest.writeMBps, "MB/s"), n(v.host.writeMBps, "MB/s"), x(v.ratios.write)],
        ["read", n(v.guest.readMBps, "MB/s"), n(v.host.readMBps, "MB/s"), x(v.ratios.read)],
      ],
    ),
  );
  section(
    out,
    "## Pod networking (CNI bridge in a bench-made namespace; hako and runc in the same pod netns)",
    r.network,
    networkTables,
  );
  return `${out.join("\n").trimEnd()}\n`;
}

/** A section's heading, then its body or why it could not run. */
function section<T>(out: string[], title: string, s: Section<T>, body: (value: T) => string[]): void {
  out.push(title, "");
  if (!s.available) out.push(`not available: ${s.reason}`, "");
  else out.push(...body(s.value), "");
}

function networkTables(v: NetworkResult): string[] {
  const s = v.start;
  return [
    ...table(
      ["", "hako", "runc", "hako / runc"],
      [
        [
          `TCP, container → host (HTTP GETs of ${v.payloadMiB} MiB)`,
          n(v.hako.throughputMBps, "MB/s"),
          n(v.runc.throughputMBps, "MB/s"),
          x(v.ratios.throughputHakoOverRunc),
        ],
        ["round trip (ping avg)", n(v.hako.rttMs, "ms"), n(v.runc.rttMs, "ms"), x(v.ratios.rttHakoOverRunc)],
      ],
    ),
    "",
    ...table(
      ["`ctr run --rm … true` (hako, median)", "time"],
      [
        ["in a CNI pod netns (wired)", ms(s.withNetworkMs)],
        ["in a fresh empty netns (no NIC)", ms(s.withoutNetworkMs)],
        ["added by networking", n(s.addedMs, "ms")],
        ["of which: wiring before the VM starts (phase network-wired)", n(s.wireMs, "ms")],
        ["of which: guest configuration after CreateSandbox", n(s.guestConfigMs, "ms")],
      ],
    ),
  ];
}

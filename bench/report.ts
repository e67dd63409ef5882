// Renders a benchmark result as a markdown report: one table per section, ratios first, "not available" with the
// reason where a section could not run.
import type { Section } from "./context.js";
import type { BenchResult } from "./main.js";
import { lessTcgCacheMiB, type MemoryResult, type PodCountMemory } from "./memory.js";
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
      `guest kernel ${r.host.guestKernel}; ${r.runs} interleaved run${r.runs === 1 ? "" : "s"}.`,
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
    const rows = [row("hako, booting its VM (cold)", s.hako)];
    if (s.hakoTemplate) rows.push(row("hako, VM restored from the template", s.hakoTemplate));
    rows.push(
      row("runc", s.runc),
      row("raw VM boot: the assets' kernel, tiny initrd", s.rawVm),
      row("raw VM boot: Debian's cloud kernel, tiny initrd", s.rawVmDebian),
    );
    out.push(...table(["", "median", "best", "runs ok"], rows));
    out.push("");
    out.push(
      `Against the raw boot of Debian's cloud kernel: hako cold **${x(s.ratios.hakoOverRawDebian)}** (target ≤ 2.0×) · ` +
        `hako from the template **${x(s.ratios.templateOverRawDebian)}** (target ≤ 1.0×) · ` +
        `raw boot of the assets' kernel ${x(s.ratios.rawVmOverRawDebian)}`,
      "",
      `hako cold / raw VM (same kernel): ${x(s.ratios.hakoOverRawVm)} · hako / runc: ${x(s.ratios.hakoOverRunc)} · raw VM / runc: ${x(s.ratios.rawVmOverRunc)}`,
      "",
    );
    if (s.templateNote) out.push(`template: ${s.templateNote}`, "");
    for (const [who, f] of [
      ["hako", s.hako.failures],
      ["hako (template)", s.hakoTemplate?.failures ?? []],
      ["runc", s.runc.failures],
      ["raw VM", s.rawVm.failures],
      ["raw VM (Debian)", s.rawVmDebian.failures],
    ] as const) {
      if (f.length > 0) out.push(`${who} failures: ${f.join("; ")}`, "");
    }
  }

  out.push("## Phases of a hako start (hako's own timestamps, median, ms since the shim began creating the VM)", "");
  const fromLog = r.startLatency.available ? r.startLatency.value.phasesMs : null;
  const fromTemplate = r.startLatency.available ? r.startLatency.value.templatePhasesMs : null;
  const fromState = r.memory.available ? r.memory.value.phasesMs : null;
  if (!fromLog && !fromState && !fromTemplate) out.push("not available: no hako start recorded its phases", "");
  else {
    const all = [fromLog, fromTemplate, fromState];
    const names = [...new Set(all.flatMap((p) => Object.keys(p ?? {})))].sort(
      (a, b) => (fromLog?.[a] ?? fromState?.[a] ?? 0) - (fromLog?.[b] ?? fromState?.[b] ?? 0),
    );
    const cell = (v: number | undefined) => (v === undefined ? "–" : String(v));
    const rows = names.map((k) => [k, ...all.map((p) => cell(p?.[k]))]);
    if (r.memory.available && r.memory.value.ctrRunDetachedMs !== null) {
      rows.push([
        "(`ctr run -d` returned: containerd and shim start included)",
        "–",
        "–",
        String(r.memory.value.ctrRunDetachedMs),
      ]);
    }
    const header = [
      "phase",
      "cold, `ctr run --rm` (shim log)",
      "template, `ctr run --rm` (shim log)",
      "cold, `ctr run -d` (state)",
    ];
    // A column no section filled (its section skipped) is left out rather than shown as dashes.
    const keep = header.map((_, i) => i === 0 || rows.some((row) => row[i] !== "–"));
    const pick = (cells: string[]) => cells.filter((_, i) => keep[i]);
    out.push(...table(pick(header), rows.map(pick)), "");
  }

  section(out, "## Host memory per sandbox (PSS of shim + QEMU + virtiofsd)", r.memory, memoryTables);
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

/** The columns of the memory-per-pod table, in order. */
export const MEMORY_COLUMNS = [
  "idle pods",
  "per pod, cold",
  "of which TCG's translation cache",
  "cold, less that cache",
  "per pod, from the template",
  "of which TCG's translation cache",
  "template, less that cache",
  "all pods, cold",
  "all pods, template",
] as const;

/** The columns of the per-count table behind the per-node daemon decision: the shims' share and start time. */
export const DAEMON_COLUMNS = [
  "idle pods",
  "shim per pod, cold",
  "shim per pod, template",
  "`ctr run -d` (median of the pods added), cold",
  "the same, template",
] as const;

function memoryTables(m: MemoryResult): string[] {
  const tpl = new Map((m.byCount.template ?? []).map((c) => [c.pods, c]));
  /** One row per pod count of the booted pods, beside the template pods of the same count (if measured). */
  const perCount = (row: (cold: PodCountMemory, template: PodCountMemory | undefined) => string[]) =>
    m.byCount.cold.map((c) => row(c, tpl.get(c.pods)));
  return [
    ...table(
      ["", "PSS"],
      [
        ["hako, one sandbox alone", n(m.single.hakoMiB, "MiB")],
        ["runc (shim + container)", n(m.single.runcMiB, "MiB")],
      ],
    ),
    "",
    ...table(
      [...MEMORY_COLUMNS],
      perCount((c, t) => [
        String(c.pods),
        n(c.perPodMiB, "MiB"),
        n(c.tcgPerPodMiB, "MiB"),
        n(lessTcgCacheMiB(c), "MiB"),
        n(t?.perPodMiB, "MiB"),
        n(t?.tcgPerPodMiB, "MiB"),
        n(t && lessTcgCacheMiB(t), "MiB"),
        n(c.totalMiB, "MiB"),
        n(t?.totalMiB, "MiB"),
      ]),
    ),
    ...(m.byCount.templateNote ? ["", `template: ${m.byCount.templateNote}`] : []),
    "",
    ...table(
      [...DAEMON_COLUMNS],
      perCount((c, t) => [
        String(c.pods),
        n(c.shimPerPodMiB, "MiB"),
        n(t?.shimPerPodMiB, "MiB"),
        ms(c.startMs),
        ms(t?.startMs),
      ]),
    ),
    "",
    "The shim's share is what one hako process per node serving every pod would share out (docs/benchmarks.md: " +
      "the daemon decision); `ctr run -d` is timed for the pods started to reach the count, the others idle.",
    "",
    "Target ≤ 100 MB per pod at 10 pods (Kata publishes ~123 MB). A clone's RAM is a private copy of the " +
      "template's (virtio-fs needs it mapped shared): its pages not yet touched since the restore are counted too. " +
      "TCG's translation cache (QEMU's rwx anonymous mappings, `tcg_tb_size`) exists only when QEMU emulates the " +
      'CPU: the columns "less that cache" are what the same pods hold apart from it (the figure that bears on a KVM ' +
      "host), measured here, not on one. 100 MB is 95.4 MiB.",
    "",
    `One sandbox: ${m.single.detail.processes.map((p) => `${p.command} ${p.pssMiB} MiB`).join(", ")}`,
    "",
    "![start latency and memory per pod](latest.svg)",
  ];
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
        ...(s.templateRuns > 0
          ? [
              [
                `in a CNI pod netns, VM restored from the template (NIC hot-plugged; clones: ${s.templateClones} of ${s.templateRuns})`,
                ms(s.withNetworkTemplateMs),
              ],
            ]
          : []),
        ["in a fresh empty netns (no NIC)", ms(s.withoutNetworkMs)],
        ["added by networking", n(s.addedMs, "ms")],
        ["of which: wiring before the VM starts (phase network-wired)", n(s.wireMs, "ms")],
        ["of which: guest configuration after CreateSandbox", n(s.guestConfigMs, "ms")],
      ],
    ),
  ];
}

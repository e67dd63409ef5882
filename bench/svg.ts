// Draws the benchmark as one SVG next to latest.md: left, the start latency samples of each kind of start (one row
// of dots per kind, the median as a bar, a log time axis so that runc's milliseconds and a TCG boot's seconds both
// read); right, host memory per pod against the number of idle pods, booted and from the template, with the target.
import type { BenchResult } from "./main.js";
import { lessTcgCacheMiB, type PodCountMemory } from "./memory.js";

const W = 980;
const H = 360;
const FONT = 'font-family="sans-serif" font-size="12"';
const COLORS = ["#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd"];

const esc = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const text = (x: number, y: number, s: string, extra = "") =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} ${extra}>${esc(s)}</text>`;
const line = (x1: number, y1: number, x2: number, y2: number, stroke: string, extra = "") =>
  `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${stroke}" ${extra}/>`;

interface Series {
  name: string;
  samplesMs: number[];
  medianMs: number | null;
}

/** Start latency strips: x = log10(seconds) between the smallest and largest sample. */
function latencyPanel(series: Series[], x0: number, y0: number, w: number, h: number): string[] {
  const out = [text(x0, y0 - 12, "start latency (each dot one run, bar = median; log scale)", 'font-weight="bold"')];
  const all = series.flatMap((s) => s.samplesMs).filter((v) => v > 0);
  if (all.length === 0) return [...out, text(x0, y0 + 20, "no samples")];
  const lo = Math.log10(Math.min(...all) / 1.5);
  const hi = Math.log10(Math.max(...all) * 1.5);
  const labelW = 170;
  const px = (ms: number) => x0 + labelW + ((Math.log10(ms) - lo) / (hi - lo)) * (w - labelW);
  const rowH = (h - 30) / series.length;
  for (const [i, s] of series.entries()) {
    const cy = y0 + rowH * i + rowH / 2;
    const color = COLORS[i % COLORS.length] ?? "#000";
    out.push(text(x0, cy + 4, s.name));
    out.push(line(x0 + labelW, cy, x0 + w, cy, "#ddd"));
    for (const v of s.samplesMs) {
      out.push(`<circle cx="${px(v).toFixed(1)}" cy="${cy.toFixed(1)}" r="4" fill="${color}" fill-opacity="0.6"/>`);
    }
    if (s.medianMs !== null && s.medianMs > 0) {
      const mx = px(s.medianMs);
      out.push(line(mx, cy - 10, mx, cy + 10, color, 'stroke-width="3"'));
      out.push(text(mx + 5, cy - 8, `${(s.medianMs / 1000).toFixed(2)} s`, `fill="${color}"`));
    }
  }
  const axisY = y0 + h - 20;
  out.push(line(x0 + labelW, axisY, x0 + w, axisY, "#333"));
  for (const t of [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30]) {
    const ms = t * 1000;
    if (Math.log10(ms) < lo || Math.log10(ms) > hi) continue;
    out.push(line(px(ms), axisY, px(ms), axisY + 4, "#333"));
    out.push(text(px(ms) - 10, axisY + 16, `${t} s`));
  }
  return out;
}

interface Curve {
  name: string;
  points: { pods: number; perPodMiB: number }[];
  /** Drawn dashed: the same pods less TCG's translation cache. */
  dashed?: boolean;
}

/** The pods' memory less TCG's translation cache, or undefined when a count has no such figure (or it is 0: KVM). */
function lessTcgCache(kind: string, points: PodCountMemory[]): Curve | undefined {
  if (points.length === 0 || !points.every((p) => (p.tcgPerPodMiB ?? 0) > 0)) return undefined;
  const less = points.map((p) => ({ pods: p.pods, perPodMiB: lessTcgCacheMiB(p) ?? p.perPodMiB }));
  return { name: `${kind}, less TCG's cache`, points: less, dashed: true };
}

/** Memory per pod against pod count (linear axes), with the 100 MB target. */
function memoryPanel(curves: Curve[], x0: number, y0: number, w: number, h: number): string[] {
  const out = [text(x0, y0 - 12, "host memory per idle pod (PSS, MiB)", 'font-weight="bold"')];
  const pts = curves.flatMap((c) => c.points);
  if (pts.length === 0) return [...out, text(x0, y0 + 20, "no samples")];
  const maxPods = Math.max(...pts.map((p) => p.pods));
  const targetMiB = 100_000_000 / (1024 * 1024);
  const maxY = Math.max(targetMiB, ...pts.map((p) => p.perPodMiB)) * 1.15;
  const left = x0 + 40;
  const bottom = y0 + h - 20;
  const px = (pods: number) => left + ((pods - 1) / Math.max(1, maxPods - 1)) * (w - 60);
  const py = (mib: number) => bottom - (mib / maxY) * (h - 30);
  out.push(line(left, bottom, left + w - 50, bottom, "#333"), line(left, bottom, left, y0, "#333"));
  for (const pods of [...new Set(pts.map((p) => p.pods))]) out.push(text(px(pods) - 4, bottom + 16, String(pods)));
  out.push(text(left + w - 120, bottom + 16, "idle pods"));
  for (let v = 0; v <= maxY; v += 50)
    out.push(text(x0, py(v) + 4, String(v)), line(left - 3, py(v), left, py(v), "#333"));
  out.push(line(left, py(targetMiB), left + w - 50, py(targetMiB), "#888", 'stroke-dasharray="5,4"'));
  out.push(text(left + 4, py(targetMiB) - 4, "target 100 MB", 'fill="#666"'));
  for (const [i, c] of curves.entries()) {
    const color = COLORS[(i + 1) % COLORS.length] ?? "#000";
    const d = c.points.map((p, j) => `${j === 0 ? "M" : "L"}${px(p.pods).toFixed(1)},${py(p.perPodMiB).toFixed(1)}`);
    const dash = c.dashed ? ' stroke-dasharray="6,3"' : "";
    out.push(`<path d="${d.join(" ")}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    for (const p of c.points) {
      out.push(`<circle cx="${px(p.pods).toFixed(1)}" cy="${py(p.perPodMiB).toFixed(1)}" r="4" fill="${color}"/>`);
      out.push(text(px(p.pods) + 6, py(p.perPodMiB) - 6, p.perPodMiB.toFixed(0), `fill="${color}"`));
    }
    out.push(text(left + w - 230, y0 + 16 * (i + 1), `— ${c.name}`, `fill="${color}"`));
  }
  return out;
}

export function renderSvg(r: BenchResult): string {
  const series: Series[] = [];
  if (r.startLatency.available) {
    const s = r.startLatency.value;
    series.push({ name: "hako, cold boot", ...s.hako });
    if (s.hakoTemplate) series.push({ name: "hako, from the template", ...s.hakoTemplate });
    series.push(
      { name: "raw boot, Debian kernel", ...s.rawVmDebian },
      { name: "raw boot, assets' kernel", ...s.rawVm },
      { name: "runc", ...s.runc },
    );
  }
  const curves: Curve[] = [];
  if (r.memory.available) {
    const { cold, template } = r.memory.value.byCount;
    // [legend, short kind for the dashed curve's shorter legend, points]
    const kinds: [string, string, PodCountMemory[]][] = [["hako, cold boot", "cold", cold]];
    if (template) kinds.push(["hako, from the template", "template", template]);
    for (const [name, , points] of kinds) curves.push({ name, points });
    for (const [, kind, points] of kinds) {
      const less = lessTcgCache(kind, points);
      if (less) curves.push(less);
    }
  }
  const body = [
    ...latencyPanel(series, 20, 40, 560, H - 60),
    ...memoryPanel(curves, 620, 40, 340, H - 60),
    text(
      20,
      H - 4,
      `hako benchmark ${r.startedAt}, accelerator ${r.host.accelerator}, ${r.runs} interleaved runs`,
      'fill="#666"',
    ),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<title>hako start latency by kind of start, and host memory per idle pod against the pod count</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

// `hako check`'s text output: one line per item (ok / warn / FAIL, colored on a terminal), a `fix:` line under each
// item that is not ok, and a closing verdict.
import type { CheckReport } from "./item.js";

export function renderReport(report: CheckReport, color: boolean): string {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const mark = { ok: paint("32", "ok  "), warn: paint("33", "warn"), fail: paint("31", "FAIL") };
  const width = Math.max(...report.items.map((i) => i.title.length));
  const lines: string[] = [];
  for (const i of report.items) {
    lines.push(`${mark[i.status]}  ${i.title.padEnd(width)}  ${i.detail}`);
    if (i.fix && i.status !== "ok") lines.push(`      ${" ".repeat(width)}  fix: ${i.fix}`);
  }
  lines.push("");
  lines.push(
    report.ok
      ? `hako can run sandboxes here (accelerator: ${report.accelerator}).`
      : "hako cannot run sandboxes here until the FAIL items are fixed.",
  );
  return `${lines.join("\n")}\n`;
}

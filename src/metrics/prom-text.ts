// Prometheus text exposition, just enough to aggregate: add a label to every sample of one source, and merge
// several sources so that each metric family keeps a single HELP and TYPE line (a scraper rejects duplicates).

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** Index just past the `}` closing the label set that starts at `open`, honouring quoted values. */
function labelSetEnd(line: string, open: number): number {
  let inQuotes = false;
  for (let i = open + 1; i < line.length; i++) {
    const c = line[i];
    if (inQuotes) {
      if (c === "\\") i++;
      else if (c === '"') inQuotes = false;
    } else if (c === '"') inQuotes = true;
    else if (c === "}") return i + 1;
  }
  return -1;
}

/** Adds `name="value"` in front of every sample's labels. Comment and blank lines pass unchanged. */
export function addLabel(text: string, name: string, value: string): string {
  const label = `${name}="${escapeLabelValue(value)}"`;
  return text
    .split("\n")
    .map((line) => {
      if (line === "" || line.startsWith("#")) return line;
      const m = NAME.exec(line);
      if (!m) return line;
      const metric = m[0];
      const after = line.slice(metric.length);
      if (after.startsWith("{")) {
        const end = labelSetEnd(line, metric.length);
        if (end < 0) return line;
        const inner = line.slice(metric.length + 1, end - 1).trim();
        return `${metric}{${label}${inner ? `,${inner}` : ""}}${line.slice(end)}`;
      }
      return `${metric}{${label}}${after}`;
    })
    .join("\n");
}

interface Family {
  help?: string;
  type?: string;
  samples: string[];
}

const SUFFIXES = ["_bucket", "_sum", "_count", "_total", "_created", "_info"];

/** Merges expositions: one HELP/TYPE per family (the first seen), samples in source order. */
export function mergeExpositions(texts: string[]): string {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const text of texts) {
    let current: string | undefined;
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (meta) {
        const [, kind, name = ""] = meta;
        current = name;
        const f = family(name);
        if (kind === "HELP") f.help ??= line;
        else f.type ??= line;
        continue;
      }
      if (line.startsWith("#")) continue;
      const sample = NAME.exec(line)?.[0];
      if (!sample) continue;
      const belongs =
        current !== undefined && (sample === current || SUFFIXES.some((s) => sample === `${current}${s}`));
      family(belongs && current !== undefined ? current : sample).samples.push(line);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    if (f.samples.length === 0) continue;
    if (f.help) out.push(f.help);
    if (f.type) out.push(f.type);
    out.push(...f.samples);
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}

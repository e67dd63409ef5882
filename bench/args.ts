// The benchmark's command line (`npm run bench -- …`), parsed and checked before anything is set up: a bad argument
// is one line naming it, never a run that measures nothing or reports nonsense (e.g. `--runs 0`, `--skip foo`).
import { parseArgs } from "node:util";

/** The sections `--skip` names, in the order the benchmark runs them. */
export const SECTIONS = ["latency", "memory", "virtiofs", "network"] as const;
export type SectionName = (typeof SECTIONS)[number];

/** Pod counts measured by default (each a running total: 1, then 2 more, then 7 more); `--pods` sets others. */
export const POD_COUNTS: readonly number[] = [1, 3, 10];

export const USAGE = `usage: npm run bench -- [--runs N] [--concurrency N] [--file-mib N] [--skip ${SECTIONS.join(",")}] [--pods ${POD_COUNTS.join(",")}] [--config PATH]`;

export interface BenchArgs {
  /** Interleaved runs of each start measurement (default 5). */
  runs: number;
  /** Sandboxes started at once in the concurrent-start row (default 5). */
  concurrency: number;
  /** Size of the virtio-fs dd file, MiB (default 128). */
  fileMiB: number;
  skip: ReadonlySet<SectionName>;
  podCounts: number[];
  config?: string;
  help: boolean;
}

const options = {
  runs: { type: "string" },
  concurrency: { type: "string" },
  "file-mib": { type: "string" },
  skip: { type: "string" },
  pods: { type: "string" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** `text` as a whole number written in decimal digits only (no sign, point or exponent), else undefined. */
function wholeNumber(text: string): number | undefined {
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * `--pods`: comma-separated pod counts, each a positive integer above the one before it (e.g. "1,10,30").
 * Throws an Error naming the bad entry.
 */
export function parsePodCounts(text: string): number[] {
  const counts = text.split(",").map((t) => t.trim());
  let last = 0;
  return counts.map((t) => {
    const count = wholeNumber(t);
    if (count === undefined || count <= last) {
      throw new Error(`--pods ${text}: "${t}" is not a pod count above ${last} (e.g. --pods 1,10,30)`);
    }
    last = count;
    return count;
  });
}

function positiveInteger(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = wholeNumber(text.trim());
  if (n === undefined || n < 1) throw new Error(`${flag} ${JSON.stringify(text)}: not a positive integer`);
  return n;
}

function parseSkip(text: string | undefined): Set<SectionName> {
  const names = (text ?? "")
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  const known = new Set<string>(SECTIONS);
  for (const name of names) {
    if (!known.has(name)) throw new Error(`--skip ${text}: no section "${name}" (sections: ${SECTIONS.join(", ")})`);
  }
  const skip = new Set(names as SectionName[]);
  if (skip.size === SECTIONS.length) throw new Error(`--skip ${text}: skips every section, nothing would run`);
  return skip;
}

/**
 * argv (without node and the script) → the benchmark's settings. Throws an Error whose message is one line naming
 * the argument at fault: an unknown option, a positional argument, an option without its value, a count that is not
 * a positive integer, a section `--skip` does not know.
 */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  // Not strict: node's own errors for an unknown option or a missing value are a paragraph each; these are one line.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const values = new Map<string, string | undefined>();
  for (const token of tokens) {
    if (token.kind === "positional") throw new Error(`unexpected argument ${JSON.stringify(token.value)}`);
    if (token.kind !== "option") continue;
    const option = Object.hasOwn(options, token.name) ? options[token.name as keyof typeof options] : undefined;
    if (!option) throw new Error(`unknown option ${token.rawName}`);
    // `--runs --skip x` would take "--skip" as the count: say what is missing rather than what it took.
    const missing = token.value === undefined || (!token.inlineValue && token.value.startsWith("--"));
    if (option.type === "string" && missing) throw new Error(`${token.rawName} needs a value`);
    if (option.type === "boolean" && token.value !== undefined) throw new Error(`${token.rawName} takes no value`);
    values.set(token.name, token.value);
  }
  const config = values.get("config");
  if (config === "") throw new Error("--config needs a path");
  return {
    runs: positiveInteger("--runs", values.get("runs"), 5),
    concurrency: positiveInteger("--concurrency", values.get("concurrency"), 5),
    fileMiB: positiveInteger("--file-mib", values.get("file-mib"), 128),
    skip: parseSkip(values.get("skip")),
    podCounts: parsePodCounts(values.get("pods") ?? POD_COUNTS.join(",")),
    ...(config !== undefined ? { config } : {}),
    help: values.has("help"),
  };
}

// Small statistics for the benchmark: medians and ratios, computed from samples taken in the same run.

export function median(samples: number[]): number | null {
  if (samples.length === 0) return null;
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? null) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function min(samples: number[]): number | null {
  return samples.length === 0 ? null : Math.min(...samples);
}

export function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : a / b;
}

export const round = (v: number | null, digits = 2): number | null =>
  v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits;

/** Median of each named phase over several starts; phases missing from some starts use the ones that have them. */
export function medianPhases(all: Record<string, number>[]): Record<string, number> | null {
  if (all.length === 0) return null;
  const names = [...new Set(all.flatMap((p) => Object.keys(p)))];
  const out: Record<string, number> = {};
  for (const n of names) {
    const m = median(all.map((p) => p[n]).filter((v): v is number => v !== undefined));
    if (m !== null) out[n] = Math.round(m);
  }
  return Object.keys(out).length > 0 ? out : null;
}

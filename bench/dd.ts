// Throughput with the same tool on both sides: busybox's `time dd …` run in the guest (in a container) and on the
// host. Debian's busybox dd prints no byte/second summary, so the shell's `time` (10 ms resolution) does the timing;
// sizes are large enough for that resolution to matter little.

/** A shell script that writes then reads `file` (`sizeMiB`), printing one `real` line per step. */
export function ddScript(file: string, sizeMiB: number, step: "write" | "read" | "both"): string {
  const write = `time dd if=/dev/zero of=${file} bs=1M count=${sizeMiB} conv=fsync 2>/dev/null`;
  const read = `time dd if=${file} of=/dev/null bs=1M 2>/dev/null`;
  const steps = step === "both" ? [write, read] : step === "write" ? [write] : [read];
  return steps.map((s) => `${s} 2>&1`).join("; ");
}

/** Seconds from each `real 0m 1.23s` line (busybox) or `real 0m1.230s` (bash) in order. */
export function parseTimes(output: string): number[] {
  return [...output.matchAll(/real\s+(?:(\d+)h\s*)?(\d+)m\s*([\d.]+)s/g)].map(
    (m) => Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]),
  );
}

export const mbPerSecond = (sizeMiB: number, seconds: number | undefined): number | null =>
  seconds === undefined || seconds <= 0 ? null : (sizeMiB * 1048576) / seconds / 1e6;

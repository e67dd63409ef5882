// Start-up timing of one sandbox: named phases in milliseconds since its creation began, kept in its state file.

export class PhaseClock {
  readonly phases: Record<string, number> = {};
  /** performance.now() when creation began; phases are measured from it. */
  private readonly t0 = performance.now();

  mark(phase: string): void {
    this.phases[phase] = Math.round(performance.now() - this.t0);
  }

  /** Wall-clock time when creation began. */
  startedAt(): Date {
    return new Date(Date.now() - (performance.now() - this.t0));
  }
}

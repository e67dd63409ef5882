// Start-up timing of one sandbox: named phases in milliseconds since its creation began, kept in its state file.

export class PhaseClock {
  readonly phases: Record<string, number> = {};
  /** performance.now() when creation began; phases are measured from it. */
  private readonly t0: number = performance.now();

  /** A clock that goes on from a persisted one: creation began at startedAt, these phases already passed. */
  static resumed(startedAt: Date, phases: Record<string, number>): PhaseClock {
    const clock = new PhaseClock(performance.now() - (Date.now() - startedAt.getTime()));
    Object.assign(clock.phases, phases);
    return clock;
  }

  constructor(t0?: number) {
    if (t0 !== undefined) this.t0 = t0;
  }

  mark(phase: string): void {
    this.phases[phase] = Math.round(performance.now() - this.t0);
  }

  /** Wall-clock time when creation began. */
  startedAt(): Date {
    return new Date(Date.now() - (performance.now() - this.t0));
  }
}

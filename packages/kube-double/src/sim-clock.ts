import type { Clock } from '@dreamscape/core';

/**
 * Simulated time for the controllers: a delay of `ms` simulated milliseconds fires after
 * `ms / timeScale` real ones, so minutes of rollout (readiness delays, progress deadlines,
 * minReadySeconds) pass in seconds. Timestamps written into objects stay real.
 */
export class SimClock {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    /** Real time, for timestamps. */
    readonly real: Clock,
    /** Simulated milliseconds per real millisecond (1 = real time, 60 = a minute a second). */
    readonly timeScale: number,
  ) {
    if (!(timeScale > 0)) throw new Error(`time scale must be a positive number, got ${timeScale}`);
  }

  /** Real milliseconds for a simulated duration. */
  toReal(simulatedMs: number): number {
    return simulatedMs / this.timeScale;
  }

  /** Simulated milliseconds elapsed since a real instant. */
  simulatedSince(realMs: number): number {
    return (this.real.now() - realMs) * this.timeScale;
  }

  /** Runs `fn` after a simulated delay; cancelled by {@link close}. */
  after(simulatedMs: number, fn: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        fn();
      },
      Math.max(0, this.toReal(simulatedMs)),
    );
    this.timers.add(timer);
  }

  /** Cancels every pending timer; later calls to {@link after} do nothing. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

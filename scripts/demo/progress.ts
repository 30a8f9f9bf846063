/** One timed step of the story, for the timings table. */
export interface StepTiming {
  readonly step: string;
  /** What came of it, in a few words (`7 images`, `promoted, revision 2`). */
  readonly outcome: string;
  readonly durationMs: number;
}

/**
 * The demo's progress lines (`[ 12.3s] ...`, time since the start) and the timings of its steps.
 * Writes through `write`, so a test can capture it.
 */
export class Progress {
  private readonly started = Date.now();
  private readonly timings: StepTiming[] = [];

  constructor(private readonly write: (text: string) => void = (t) => process.stdout.write(t)) {}

  /** A line stamped with the time since the start. */
  line(text: string): void {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1).padStart(6);
    this.write(`[${seconds}s] ${text}\n`);
  }

  /** A line as it is, without a time stamp (headers, tables). */
  plain(text = ''): void {
    this.write(`${text}\n`);
  }

  /**
   * Runs one step: prints `▶ title`, then `✓ title: outcome (Ns)` with the outcome `fn` returns,
   * or `✗ title` and rethrows. The timing is recorded either way.
   */
  async step(title: string, fn: () => Promise<string>): Promise<void> {
    this.line(`▶ ${title}`);
    const t0 = Date.now();
    try {
      const outcome = await fn();
      const ms = Date.now() - t0;
      this.timings.push({ step: title, outcome, durationMs: ms });
      this.line(`✓ ${title}: ${outcome} (${seconds(ms)})`);
    } catch (error) {
      const ms = Date.now() - t0;
      this.timings.push({ step: title, outcome: 'FAILED', durationMs: ms });
      this.line(`✗ ${title} failed after ${seconds(ms)}`);
      throw error;
    }
  }

  /** Every step so far, in order. */
  steps(): readonly StepTiming[] {
    return this.timings;
  }

  /** Time since the start. */
  elapsedMs(): number {
    return Date.now() - this.started;
  }
}

/** `12.3s`. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** The timings as a Markdown table, with a total line. */
export function timingsTable(steps: readonly StepTiming[], totalMs: number): string {
  const rows = steps.map(
    (s) => `| ${s.step} | ${s.outcome.replace(/\|/g, '\\|')} | ${seconds(s.durationMs)} |`,
  );
  return [
    '| Step | Outcome | Time |',
    '|---|---|---:|',
    ...rows,
    `| **total** | | **${seconds(totalMs)}** |`,
  ].join('\n');
}

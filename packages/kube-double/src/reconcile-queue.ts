/**
 * A de-duplicating work queue, as controllers use: keys added while a sync is pending run once, on a
 * later turn of the event loop, so a burst of changes costs one sync per key.
 */
export class ReconcileQueue {
  private readonly pending = new Set<string>();
  private scheduled = false;
  private closed = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly sync: (key: string) => void,
    private readonly onError: (key: string, error: unknown) => void,
  ) {}

  /** Queues a key. */
  add(key: string): void {
    if (this.closed) return;
    this.pending.add(key);
    if (this.scheduled) return;
    this.scheduled = true;
    this.running = new Promise((resolve) => {
      setImmediate(() => {
        this.drain();
        resolve();
      });
    });
  }

  /** Resolves when nothing is queued. */
  async idle(): Promise<void> {
    while (this.scheduled) await this.running;
  }

  /** Stops taking work. */
  close(): void {
    this.closed = true;
    this.pending.clear();
  }

  private drain(): void {
    this.scheduled = false;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) {
      if (this.closed) return;
      try {
        this.sync(key);
      } catch (error) {
        this.onError(key, error);
      }
    }
  }
}

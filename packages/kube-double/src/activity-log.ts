/** One request the double answered. */
export interface RequestRecord {
  /** ISO 8601 with milliseconds. */
  readonly time: string;
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly contentType: string;
  readonly status: number;
  readonly userAgent: string;
  readonly durationMs: number;
}

/** One write a client made (controllers' own writes are not recorded). */
export interface WriteRecord {
  readonly time: string;
  /** create, update, patch, apply, delete, deletecollection. */
  readonly verb: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly subresource?: string;
  readonly fieldManager: string;
  readonly dryRun: boolean;
  /** The PATCH content type, when it is a patch. */
  readonly patchType?: string;
  readonly status: number;
  /**
   * Whether the write stored a new version of the object: false for a dry run, a refused write, and
   * a write that changed nothing (`unchanged`, `patched (no change)`, a repeated apply).
   */
  readonly changed: boolean;
}

/** Bounded logs of requests and writes, oldest dropped first. */
export class ActivityLog {
  private readonly requestLog: RequestRecord[] = [];
  private readonly writeLog: WriteRecord[] = [];

  constructor(private readonly limit = 20_000) {}

  /** Records a request. */
  request(record: RequestRecord): void {
    this.requestLog.push(record);
    if (this.requestLog.length > this.limit) this.requestLog.shift();
  }

  /** Records a write. */
  write(record: WriteRecord): void {
    this.writeLog.push(record);
    if (this.writeLog.length > this.limit) this.writeLog.shift();
  }

  /** Copies of the requests recorded. */
  requests(): RequestRecord[] {
    return [...this.requestLog];
  }

  /** Copies of the writes recorded. */
  writes(): WriteRecord[] {
    return [...this.writeLog];
  }

  /** Forgets both logs. */
  clear(): void {
    this.requestLog.length = 0;
    this.writeLog.length = 0;
  }
}

import { Agent, request } from 'node:http';

/** Options of {@link startLoad}. */
export interface LoadOptions {
  /** `http://127.0.0.1:PORT`, for example a double's `gateway.url`. */
  readonly url: string;
  /** Request path (default `/`). */
  readonly path?: string;
  /** The Host header to send (node:http may set it; fetch may not). */
  readonly host?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Requests per second, in (0, 20000]. */
  readonly rps: number;
  /** Stop after this many requests. At least one of maxRequests and maxDurationMs is required. */
  readonly maxRequests?: number;
  /** Stop sending after this long. */
  readonly maxDurationMs?: number;
  /** Give up on one request after this long (a transport error). Default 10 s. */
  readonly timeoutMs?: number;
  /** A request due while this many are in flight is skipped, not queued. Default 256. */
  readonly maxInFlight?: number;
}

/** What the client saw. */
export interface LoadReport {
  /** Requests sent: answered + transportErrors. */
  readonly sent: number;
  readonly answered: number;
  readonly transportErrors: number;
  /** Requests not sent because too many were in flight when they were due. */
  readonly skipped: number;
  readonly byStatus: Readonly<Record<string, number>>;
  /** By the `X-Kube-Double-Service` answer header (`(none)` without one). */
  readonly byService: Readonly<Record<string, number>>;
  /** By `X-Kube-Double-Color`. */
  readonly byColor: Readonly<Record<string, number>>;
  /** By `X-Kube-Double-Pod`. */
  readonly byPod: Readonly<Record<string, number>>;
  /** Answers with a 5xx status. */
  readonly errors5xx: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly max: number };
  readonly startedAt: number;
  readonly endedAt: number;
}

/** A running load. */
export interface LoadRun {
  /** Resolves when the bounds are reached and every request has ended. */
  readonly done: Promise<LoadReport>;
  /** Stops sending, waits for the requests in flight, and reports. */
  stop(): Promise<LoadReport>;
  /** What has been seen so far. */
  snapshot(): LoadReport;
}

const NONE = '(none)';

/**
 * Sends a steady rate of GETs: request i is due at start + i/rps (deadlines, so a late timer does
 * not slow the rate down), over keep-alive connections, until `maxRequests` or `maxDurationMs`.
 * Counts what the client saw by status and by the Service, color and pod the data plane named.
 */
export function startLoad(options: LoadOptions): LoadRun {
  if (!(options.rps > 0 && options.rps <= 20_000))
    throw new Error(`startLoad: rps must be above 0 and at most 20000, got ${String(options.rps)}`);
  if (options.maxRequests === undefined && options.maxDurationMs === undefined)
    throw new Error('startLoad: give maxRequests or maxDurationMs (or both): a load must be bounded');
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxInFlight ?? 256 });
  const maxInFlight = options.maxInFlight ?? 256;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const headers = {
    ...(options.headers ?? {}),
    ...(options.host === undefined ? {} : { host: options.host }),
  };
  const startedAt = Date.now();
  const counts = {
    answered: 0,
    transportErrors: 0,
    skipped: 0,
    errors5xx: 0,
    byStatus: {} as Record<string, number>,
    byService: {} as Record<string, number>,
    byColor: {} as Record<string, number>,
    byPod: {} as Record<string, number>,
  };
  const latencies: number[] = [];
  let due = 0;
  let inFlight = 0;
  let stopped = false;
  let endedAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let settle: (() => void) | undefined;
  const idle = new Promise<void>((resolve) => (settle = resolve));

  const bump = (map: Record<string, number>, key: string): void => {
    map[key] = (map[key] ?? 0) + 1;
  };
  const header = (value: string | string[] | undefined): string =>
    value === undefined ? NONE : Array.isArray(value) ? value.join(',') : value;
  const finishIfIdle = (): void => {
    if (stopped && inFlight === 0) {
      endedAt ??= Date.now();
      agent.destroy();
      settle?.();
    }
  };
  const sendOne = (): void => {
    inFlight++;
    const sentAt = performance.now();
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      inFlight--;
      finishIfIdle();
    };
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: options.path ?? '/',
        method: 'GET',
        headers,
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          counts.answered++;
          const status = res.statusCode ?? 0;
          bump(counts.byStatus, String(status));
          if (status >= 500) counts.errors5xx++;
          bump(counts.byService, header(res.headers['x-kube-double-service']));
          bump(counts.byColor, header(res.headers['x-kube-double-color']));
          bump(counts.byPod, header(res.headers['x-kube-double-pod']));
          latencies.push(performance.now() - sentAt);
          end();
        });
        res.on('error', () => {
          counts.transportErrors++;
          end();
        });
      },
    );
    req.on('timeout', () => {
      req.destroy(new Error('timeout'));
    });
    req.on('error', () => {
      counts.transportErrors++;
      end();
    });
    req.end();
  };
  const stopSending = (): void => {
    if (stopped) return;
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    finishIfIdle();
  };
  const tick = (): void => {
    if (stopped) return;
    const now = Date.now();
    const elapsed = now - startedAt;
    const limitByTime = options.maxDurationMs === undefined ? Infinity : options.maxDurationMs;
    const dueNow = Math.floor((Math.min(elapsed, limitByTime) * options.rps) / 1000) + 1;
    const limit = Math.min(dueNow, options.maxRequests ?? Infinity);
    while (due < limit) {
      due++;
      if (inFlight >= maxInFlight) counts.skipped++;
      else sendOne();
    }
    if (due >= (options.maxRequests ?? Infinity) || elapsed >= limitByTime) {
      stopSending();
      return;
    }
    // Wake at the next deadline (at least 1 ms, at most 50 ms away).
    const nextAt = startedAt + (due * 1000) / options.rps;
    timer = setTimeout(tick, Math.min(50, Math.max(1, nextAt - Date.now())));
  };

  const snapshot = (): LoadReport => {
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return {
      sent: counts.answered + counts.transportErrors,
      answered: counts.answered,
      transportErrors: counts.transportErrors,
      skipped: counts.skipped,
      byStatus: { ...counts.byStatus },
      byService: { ...counts.byService },
      byColor: { ...counts.byColor },
      byPod: { ...counts.byPod },
      errors5xx: counts.errors5xx,
      latencyMs: { p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] ?? 0 },
      startedAt,
      endedAt: endedAt ?? Date.now(),
    };
  };
  tick();
  const done = idle.then(snapshot);
  return {
    done,
    stop: () => {
      stopSending();
      return done;
    },
    snapshot,
  };
}

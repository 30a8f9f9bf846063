import { Agent, request, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Options for {@link startLoad}. `maxRequests`, `maxDurationMs` or both must bound the run. */
export interface LoadOptions {
  /** `http://127.0.0.1:PORT` (or `http://localhost:PORT`), optionally with a path. */
  readonly url: string;
  /** The request path (and query). Default: the URL's path. */
  readonly path?: string;
  /** The Host header to send, to pick an Ingress or HTTPRoute host. Default: the URL's host. */
  readonly host?: string;
  /** More request headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Requests per second, in (0, 20000]. */
  readonly rps: number;
  /** How many requests are scheduled (each is sent, or skipped when too many are in flight). */
  readonly maxRequests?: number;
  /** No request is scheduled at or after `start + maxDurationMs`. */
  readonly maxDurationMs?: number;
  /** A request not answered (body included) within this is aborted and counted as a transport error. Default 5000. */
  readonly timeoutMs?: number;
  /** Requests allowed in flight at once; a request due beyond that is skipped, not queued. Default 256. */
  readonly maxInFlight?: number;
}

/** What a load run did. `sent = answered + transportErrors` once the run is over. */
export interface LoadReport {
  /** Requests put on the wire. */
  readonly sent: number;
  /** Requests that got a whole response, whatever its status. */
  readonly answered: number;
  /** Requests that got no response: refused, reset, or timed out. */
  readonly transportErrors: number;
  /** Transport errors by kind: `timeout` or the error code (`ECONNREFUSED`, `ECONNRESET`...). */
  readonly byTransportError: Readonly<Record<string, number>>;
  /** Requests that were due while `maxInFlight` were already in flight: never sent. */
  readonly skipped: number;
  /** Answered requests by HTTP status (`"200"`, `"503"`). */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Answered requests by `x-kube-double-service`; `(none)` when the header is absent. */
  readonly byService: Readonly<Record<string, number>>;
  /** Answered requests by `x-kube-double-color`; `(none)` when the header is absent. */
  readonly byColor: Readonly<Record<string, number>>;
  /** Answered requests by `x-kube-double-pod`; `(none)` when the header is absent. */
  readonly byPod: Readonly<Record<string, number>>;
  /** Answered requests with a status of 500 or more. */
  readonly errors5xx: number;
  /** Of answered requests, from sending to the end of the body (nearest rank); 0 when none was answered. */
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly max: number };
  /** Epoch milliseconds when the run started. */
  readonly startedAt: number;
  /** Epoch milliseconds when the last request finished; in a snapshot of a running run, the snapshot's time. */
  readonly endedAt: number;
}

/** A load run in progress. */
export interface LoadRun {
  /** Resolves when the run's bound is reached and every request in flight has finished. Never rejects. */
  readonly done: Promise<LoadReport>;
  /** Stops sending, waits for the requests in flight, and answers the final report. Safe to call twice. */
  stop(): Promise<LoadReport>;
  /** The counts so far. */
  snapshot(): LoadReport;
}

/** The header absent: a request no pod answered. */
const NONE = '(none)';
const MAX_RPS = 20_000;

/**
 * Sends HTTP requests at a steady rate to a server on the loopback (the kube-double's gateway, or
 * any server) and counts the answers by status and by the `x-kube-double-*` headers. Request `i` is
 * due at `start + i / rps` (deadlines, so a late timer catches up instead of drifting); a request
 * due while `maxInFlight` are in flight is skipped. Uses node:http with a keep-alive agent, because
 * fetch does not let a caller set the Host header.
 */
export function startLoad(options: LoadOptions): LoadRun {
  const target = checkedTarget(options);
  const { rps } = options;
  const maxRequests = options.maxRequests ?? Number.POSITIVE_INFINITY;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxInFlight = options.maxInFlight ?? 256;
  checkPositive('timeoutMs', timeoutMs);
  checkPositive('maxInFlight', maxInFlight, true);

  // As many sockets as requests in flight: the agent never queues, so latency is the server's.
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  const headers: Record<string, string> = { ...options.headers };
  if (options.host !== undefined) headers.host = options.host;

  const counts = {
    sent: 0,
    answered: 0,
    transportErrors: 0,
    skipped: 0,
    errors5xx: 0,
    byTransportError: {} as Record<string, number>,
    byStatus: {} as Record<string, number>,
    byService: {} as Record<string, number>,
    byColor: {} as Record<string, number>,
    byPod: {} as Record<string, number>,
  };
  const latencies: number[] = [];
  const startedAt = Date.now();
  const start = performance.now();
  const intervalMs = 1000 / rps;
  const endAt =
    options.maxDurationMs === undefined ? Number.POSITIVE_INFINITY : start + options.maxDurationMs;
  let next = 0;
  let inFlight = 0;
  let scheduling = true;
  let timer: NodeJS.Timeout | undefined;
  let endedAt: number | undefined;
  let finish: (report: LoadReport) => void = () => undefined;
  const done = new Promise<LoadReport>((resolve) => {
    finish = resolve;
  });

  const snapshot = (): LoadReport => ({
    sent: counts.sent,
    answered: counts.answered,
    transportErrors: counts.transportErrors,
    byTransportError: { ...counts.byTransportError },
    skipped: counts.skipped,
    byStatus: { ...counts.byStatus },
    byService: { ...counts.byService },
    byColor: { ...counts.byColor },
    byPod: { ...counts.byPod },
    errors5xx: counts.errors5xx,
    latencyMs: percentiles(latencies),
    startedAt,
    endedAt: endedAt ?? Date.now(),
  });

  const finishIfIdle = (): void => {
    if (scheduling || inFlight > 0 || endedAt !== undefined) return;
    endedAt = Date.now();
    agent.destroy();
    finish(snapshot());
  };

  const send = (): void => {
    counts.sent++;
    inFlight++;
    const sentAt = performance.now();
    let settled = false;
    const settle = (outcome: { response: IncomingMessage } | { error: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      inFlight--;
      if ('error' in outcome) {
        counts.transportErrors++;
        bump(counts.byTransportError, outcome.error);
      } else {
        const { response } = outcome;
        const status = response.statusCode ?? 0;
        counts.answered++;
        latencies.push(performance.now() - sentAt);
        bump(counts.byStatus, String(status));
        if (status >= 500) counts.errors5xx++;
        bump(counts.byService, header(response, 'x-kube-double-service'));
        bump(counts.byColor, header(response, 'x-kube-double-color'));
        bump(counts.byPod, header(response, 'x-kube-double-pod'));
      }
      finishIfIdle();
    };
    const req = request({
      agent,
      host: target.hostname,
      port: target.port,
      path: target.path,
      method: 'GET',
      headers,
    });
    // One deadline for the whole exchange: a server that trickles its body still times out.
    const deadline = setTimeout(() => {
      settle({ error: 'timeout' });
      req.destroy();
    }, timeoutMs);
    req.on('response', (response) => {
      response.on('error', (error: NodeJS.ErrnoException) => {
        settle({ error: error.code ?? error.message });
      });
      response.on('end', () => {
        settle({ response });
      });
      // Read and drop the body so the socket goes back to the agent.
      response.resume();
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      settle({ error: error.code ?? error.message });
    });
    req.end();
  };

  const tick = (): void => {
    timer = undefined;
    if (!scheduling) return;
    const now = performance.now();
    while (next < maxRequests) {
      const due = start + next * intervalMs;
      if (due >= endAt || due > now) break;
      next++;
      if (inFlight >= maxInFlight) counts.skipped++;
      else send();
    }
    const nextDue = start + next * intervalMs;
    if (next >= maxRequests || nextDue >= endAt) {
      scheduling = false;
      finishIfIdle();
      return;
    }
    timer = setTimeout(tick, Math.max(0, nextDue - performance.now()));
  };
  timer = setTimeout(tick, 0);

  return {
    done,
    snapshot,
    stop: () => {
      if (scheduling) {
        scheduling = false;
        clearTimeout(timer);
        finishIfIdle();
      }
      return done;
    },
  };
}

interface Target {
  readonly hostname: string;
  readonly port: number;
  readonly path: string;
}

/** Validates the options, naming the option, the value and what is accepted. */
function checkedTarget(options: LoadOptions): Target {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch (error) {
    throw new Error(`startLoad: url '${options.url}' is not a URL; give http://127.0.0.1:PORT.`, {
      cause: error,
    });
  }
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost'].includes(url.hostname))
    throw new Error(
      `startLoad: url '${options.url}' is not http://127.0.0.1:PORT (only the loopback is loaded).`,
    );
  if (!(options.rps > 0 && options.rps <= MAX_RPS))
    throw new Error(`startLoad: rps ${options.rps} is out of range; give a rate in (0, ${MAX_RPS}].`);
  if (options.maxRequests === undefined && options.maxDurationMs === undefined)
    throw new Error('startLoad: give maxRequests or maxDurationMs (or both); an unbounded load is refused.');
  if (options.maxRequests !== undefined) checkPositive('maxRequests', options.maxRequests, true);
  if (options.maxDurationMs !== undefined) checkPositive('maxDurationMs', options.maxDurationMs);
  const path = options.path ?? `${url.pathname}${url.search}`;
  if (!path.startsWith('/')) throw new Error(`startLoad: path '${path}' must start with '/'.`);
  return { hostname: url.hostname, port: Number(url.port === '' ? 80 : url.port), path };
}

function checkPositive(name: string, value: number, integer = false): void {
  if (!(value > 0 && Number.isFinite(value)) || (integer && !Number.isInteger(value)))
    throw new Error(`startLoad: ${name} ${value} is not a positive ${integer ? 'integer' : 'number'}.`);
}

function header(response: IncomingMessage, name: string): string {
  const value = response.headers[name];
  if (value === undefined) return NONE;
  return Array.isArray(value) ? value.join(',') : value;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function percentiles(latencies: readonly number[]): LoadReport['latencyMs'] {
  if (latencies.length === 0) return { p50: 0, p95: 0, max: 0 };
  const sorted = [...latencies].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
  return { p50: rank(0.5), p95: rank(0.95), max: sorted[sorted.length - 1] ?? 0 };
}

import {
  formatDuration,
  HttpTransportError,
  startHeartbeat,
  type Clock,
  type HttpClient,
  type Logger,
} from '@dreamscape/core';
import type { ServicePort } from '@dreamscape/kube';
import { previewName } from './colors.js';
import type { HealthCheck, Phase, PrometheusCheck } from './health-checks.js';

/** Where probes go. */
export interface ProbeContext {
  readonly http: HttpClient;
  /** `http://127.0.0.1:PORT` of a running `kubectl proxy`: Service checks go through the API server's service proxy. */
  readonly proxyBaseUrl: string | undefined;
  readonly namespace: string;
  /** Each Service's ports, to resolve a check's port (name, number, or the first port). */
  readonly servicePorts: ReadonlyMap<string, readonly ServicePort[]>;
}

/** One probe's outcome. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
  readonly latencyMs: number;
  /** The HTTP status, when an answer came back. */
  readonly status?: number;
  /** The first {@link BODY_EXCERPT_BYTES} bytes of the answer's body, when one came back. */
  readonly body?: string;
  /**
   * Neither a pass nor a failure: the query has no data yet (NaN, as a ratio or a quantile over a
   * window without requests is). While a check's window is open it waits for data; once the window
   * has closed, or without one, it is a failure.
   */
  readonly inconclusive?: true;
}

/** How a check fared in one phase. */
export interface GateResult {
  readonly check: string;
  readonly phase: Phase;
  readonly target: string;
  readonly passed: boolean;
  /** Not failed by its own probes: stopped because another check failed first (or cancelled). */
  readonly stopped: boolean;
  readonly attempts: number;
  readonly successes: number;
  readonly failures: number;
  readonly durationMs: number;
  readonly lastDetail: string;
  /**
   * A failed check's last answers (at most {@link KEPT_ANSWERS}, oldest first), for the report of
   * why it failed. Absent when the check passed or was stopped.
   */
  readonly answers?: readonly GateAnswer[];
}

/** One answer a check got, as a failure report shows it. The body is the service's text: untrusted. */
export interface GateAnswer {
  /** When it was asked (ISO 8601). */
  readonly at: string;
  readonly ok: boolean;
  /** Absent when no answer came back (a timeout, a refused connection: see `detail`). */
  readonly status?: number;
  readonly latencyMs: number;
  /** The first {@link BODY_EXCERPT_BYTES} bytes of the body (`…` when there was more). */
  readonly body?: string;
  readonly detail: string;
}

/** How many of a failed check's last answers are kept. */
export const KEPT_ANSWERS = 3;
/** How much of an answer's body is kept. */
export const BODY_EXCERPT_BYTES = 200;

/** The first `max` bytes of a text (never a split character), with `…` when it was longer. */
export function bodyExcerpt(text: string, max = BODY_EXCERPT_BYTES): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return text;
  // A character cut in half decodes to U+FFFD: dropped.
  return `${bytes
    .subarray(0, max)
    .toString('utf8')
    .replace(/\uFFFD$/, '')}…`;
}

/** Options of {@link runGate}. */
export interface GateOptions {
  readonly phase: Phase;
  readonly logger: Logger;
  readonly clock: Clock;
  /**
   * Post-switch: keep probing for this long (every check still needs its successes). Pre-switch:
   * unset, each check runs until it passes or fails.
   */
  readonly windowMs?: number;
  /** Gives up (fails the checks still running) when this aborts. */
  readonly signal?: AbortSignal;
  /** Called once, the moment any check fails, before the others are stopped. */
  readonly onFailure?: (result: GateResult) => void;
}

/** The URL a check probes in a phase. */
export function probeTarget(check: HealthCheck, phase: Phase, ctx: ProbeContext): string {
  if (check.kind === 'url') return check.url;
  if (check.kind === 'service') {
    const name = phase === 'pre-switch' ? previewName(check.service) : check.service;
    return serviceProxyUrl(ctx, name, servicePort(ctx, check.service, check.port), check.path);
  }
  return prometheusQueryUrl(check, ctx);
}

/** Probes once. Never throws: a failure is a result. */
export async function probe(
  check: HealthCheck,
  phase: Phase,
  ctx: ProbeContext,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const started = Date.now();
  const url = probeTarget(check, phase, ctx);
  try {
    const res = await ctx.http.request({
      method: 'GET',
      url,
      headers: { Accept: check.kind === 'prometheus' ? 'application/json' : '*/*' },
      timeoutMs: check.timeoutMs,
      ...(signal === undefined ? {} : { signal }),
    });
    const latencyMs = Date.now() - started;
    const body = res.text();
    const answer = { latencyMs, status: res.status, body: bodyExcerpt(body) };
    if (check.kind === 'prometheus') return { ...prometheusVerdict(check, res.status, body), ...answer };
    if (!check.expectStatus.matches(res.status))
      return {
        ok: false,
        ...answer,
        detail: `HTTP ${res.status}, expected ${check.expectStatus.text}: ${snippet(body)}`,
      };
    if (check.expectBody !== undefined && !check.expectBody.matches(body))
      return {
        ok: false,
        ...answer,
        detail: `HTTP ${res.status}, body does not match ${check.expectBody.text}: ${snippet(body)}`,
      };
    return { ok: true, ...answer, detail: `HTTP ${res.status} in ${latencyMs}ms` };
  } catch (error) {
    const latencyMs = Date.now() - started;
    const reason =
      error instanceof HttpTransportError && error.code === 'ETIMEDOUT'
        ? `no answer within ${formatDuration(check.timeoutMs)}`
        : error instanceof Error
          ? error.message
          : String(error);
    return { ok: false, latencyMs, detail: reason };
  }
}

/**
 * Runs checks concurrently. Pre-switch, each check probes every `interval` until it has `successes`
 * consecutive successes (passed) or more than `failures` failures (failed). Post-switch, each keeps
 * probing for the whole window and must also reach its successes. The first failure stops every
 * other check at once, so a rollback is not delayed by checks still in progress.
 */
export async function runGate(
  checks: readonly HealthCheck[],
  ctx: ProbeContext,
  options: GateOptions,
): Promise<GateResult[]> {
  if (checks.length === 0) return [];
  const stop = new AbortController();
  const onOuterAbort = (): void => {
    stop.abort(options.signal?.reason);
  };
  // An abort event has already fired for a signal aborted before the gate: it is not sent again.
  if (options.signal?.aborted === true) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let failed = false;
  const started = options.clock.now();
  // A long window still says, at least every 30 s, what it is checking and how long is left.
  const heartbeat = startHeartbeat(options.logger, () => {
    const elapsed = options.clock.now() - started;
    const left =
      options.windowMs === undefined
        ? ''
        : `, ${formatDuration(Math.max(0, options.windowMs - elapsed))} left`;
    return `Health checks ${options.phase}: ${checks.map((c) => c.name).join(', ')} running for ${formatDuration(elapsed)}${left}.`;
  });
  try {
    return await Promise.all(
      checks.map(async (check) => {
        const result = await runCheck(check, ctx, options, stop.signal);
        if (!result.passed && !result.stopped && !failed) {
          failed = true;
          options.onFailure?.(result);
          stop.abort(new Error(`check '${result.check}' failed`));
        }
        return result;
      }),
    );
  } finally {
    heartbeat.stop();
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

async function runCheck(
  check: HealthCheck,
  ctx: ProbeContext,
  options: GateOptions,
  signal: AbortSignal,
): Promise<GateResult> {
  const { clock, logger, phase } = options;
  const started = clock.now();
  const target = describeTarget(check, phase, ctx);
  const windowEnd = options.windowMs === undefined ? undefined : started + options.windowMs;
  let attempts = 0;
  let successes = 0;
  let streak = 0;
  let failures = 0;
  let lastDetail = 'not probed';
  let stopped = false;
  let waitingSaid = false;
  const answers: GateAnswer[] = [];
  const result = (passed: boolean): GateResult => ({
    check: check.name,
    phase,
    target,
    passed,
    stopped,
    attempts,
    successes,
    failures,
    durationMs: clock.now() - started,
    lastDetail,
    ...(passed || stopped ? {} : { answers: [...answers] }),
  });
  for (;;) {
    if (signal.aborted) {
      lastDetail = `stopped: ${signal.reason instanceof Error ? signal.reason.message : 'cancelled'}`;
      stopped = true;
      return result(false);
    }
    attempts++;
    const at = new Date(clock.now()).toISOString();
    const r = await probe(check, phase, ctx, signal);
    if (isAborted(signal) && !r.ok) {
      lastDetail = `stopped: ${signal.reason instanceof Error ? signal.reason.message : 'cancelled'}`;
      stopped = true;
      return result(false);
    }
    lastDetail = r.detail;
    answers.push({
      at,
      ok: r.ok,
      ...(r.status === undefined ? {} : { status: r.status }),
      latencyMs: r.latencyMs,
      ...(r.body === undefined ? {} : { body: r.body }),
      detail: r.detail,
    });
    if (answers.length > KEPT_ANSWERS) answers.shift();
    const waiting = r.inconclusive === true && windowEnd !== undefined && clock.now() < windowEnd;
    if (waiting) {
      // No data yet (a canary step just started): not judged, and no success either.
      if (!waitingSaid) logger.info(`  ${check.name} (${phase}) … ${r.detail}: waiting for data`);
      waitingSaid = true;
      streak = 0;
    } else if (r.ok) {
      successes++;
      streak++;
    } else {
      failures++;
      streak = 0;
      logger.info(
        `  ${check.name} (${phase}) ✗ ${r.detail} — failure ${failures} of ${check.failures} allowed`,
      );
      if (failures > check.failures) {
        logger.warning(`Health check '${check.name}' failed ${phase} against ${target}: ${r.detail}`);
        return result(false);
      }
    }
    const windowOpen = windowEnd !== undefined && clock.now() < windowEnd;
    if (streak >= check.successes && !windowOpen) {
      logger.info(`  ${check.name} (${phase}) ✓ ${streak} consecutive successes (${r.detail})`);
      return result(true);
    }
    try {
      await clock.sleep(check.intervalMs, signal);
    } catch {
      // aborted: reported at the top of the loop
    }
  }
}

/** Read through a call so the compiler does not assume the flag cannot change across an await. */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function describeTarget(check: HealthCheck, phase: Phase, ctx: ProbeContext): string {
  if (check.kind === 'url') return check.url;
  if (check.kind === 'service') {
    const name = phase === 'pre-switch' ? previewName(check.service) : check.service;
    return `service ${name}:${servicePort(ctx, check.service, check.port)}${check.path}`;
  }
  return `prometheus ${'url' in check.source ? check.source.url : check.source.service}: ${check.query}`;
}

function servicePort(ctx: ProbeContext, service: string, port: string | number | undefined): string | number {
  if (port !== undefined) return port;
  const ports = ctx.servicePorts.get(service) ?? [];
  const first = ports[0];
  return first?.name ?? first?.port ?? 80;
}

function serviceProxyUrl(ctx: ProbeContext, service: string, port: string | number, path: string): string {
  if (ctx.proxyBaseUrl === undefined)
    throw new Error('service checks need the kubectl proxy, which is not running');
  return `${ctx.proxyBaseUrl}/api/v1/namespaces/${encodeURIComponent(ctx.namespace)}/services/${encodeURIComponent(service)}:${encodeURIComponent(String(port))}/proxy${path}`;
}

function prometheusQueryUrl(check: PrometheusCheck, ctx: ProbeContext): string {
  const query = `/api/v1/query?query=${encodeURIComponent(check.query)}`;
  if ('url' in check.source) return `${check.source.url.replace(/\/$/, '')}${query}`;
  return serviceProxyUrl(
    ctx,
    check.source.service,
    servicePort(ctx, check.source.service, check.source.port),
    query,
  );
}

/** Judges a Prometheus `/api/v1/query` answer. An empty vector counts as 0 (no matching series). */
export function prometheusVerdict(
  check: PrometheusCheck,
  status: number,
  body: string,
): { ok: boolean; detail: string; inconclusive?: true } {
  if (status !== 200) return { ok: false, detail: `Prometheus answered HTTP ${status}: ${snippet(body)}` };
  let value: number;
  try {
    const doc = JSON.parse(body) as { status?: string; data?: { resultType?: string; result?: unknown } };
    if (doc.status !== 'success') return { ok: false, detail: `Prometheus query failed: ${snippet(body)}` };
    const result = doc.data?.result;
    const type = doc.data?.resultType;
    // A range vector (or a string) has no `value`: read as a vector it would count as 0 and pass.
    if (type === 'matrix' || type === 'string')
      return {
        ok: false,
        detail: `the query returned a ${type}; it must return one number (an instant vector or a scalar)`,
      };
    if (type === 'scalar' && Array.isArray(result)) value = Number(result[1]);
    else if (Array.isArray(result)) {
      const first = result[0] as { value?: [number, string] } | undefined;
      value = first?.value === undefined ? 0 : Number(first.value[1]);
      if (result.length > 1)
        return {
          ok: false,
          detail: `the query returned ${result.length} series; aggregate it to one (e.g. sum(...))`,
        };
    } else return { ok: false, detail: `unexpected Prometheus answer: ${snippet(body)}` };
  } catch {
    return { ok: false, detail: `Prometheus answered something that is not JSON: ${snippet(body)}` };
  }
  if (Number.isNaN(value))
    return { ok: false, inconclusive: true, detail: 'the query value is NaN (no data in its window)' };
  if (check.max !== undefined && value > check.max)
    return { ok: false, detail: `value ${value} is above max ${check.max}` };
  if (check.min !== undefined && value < check.min)
    return { ok: false, detail: `value ${value} is below min ${check.min}` };
  return { ok: true, detail: `value ${value} within bounds` };
}

function snippet(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 120 ? `${one.slice(0, 120)}…` : one === '' ? '(empty body)' : one;
}

import { describe, expect, it } from '@jest/globals';
import {
  HttpTransportError,
  MemoryLogger,
  type Clock,
  type HttpClient,
  type HttpRequest,
  type HttpResponse,
} from '@dreamscape/core';
import {
  parseHealthChecks,
  probe,
  probeTarget,
  prometheusVerdict,
  runGate,
  type GateResult,
  type HealthCheck,
  type ProbeContext,
  type PrometheusCheck,
} from '../src/index.js';

/**
 * Virtual time: a sleep ends at once (after other pending work has had its turn) and moves `now` to
 * when it would have woken, so concurrent sleeps overlap as they would in real time.
 */
class VirtualClock implements Clock {
  private t = Date.UTC(2030, 0, 1);
  readonly start = this.t;

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const wake = this.t + ms;
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(new Error('aborted'));
        return;
      }
      setImmediate(() => {
        if (signal?.aborted === true) {
          reject(new Error('aborted'));
          return;
        }
        this.t = Math.max(this.t, wake);
        resolve();
      });
    });
  }
}

type Answer = { status: number; body?: string } | Error;

/** Answers each URL from a script (the last answer repeats), recording every request. */
class ScriptedHttp implements HttpClient {
  readonly requests: HttpRequest[] = [];
  private readonly scripts = new Map<string, Answer[]>();

  answer(urlPart: string, ...answers: Answer[]): this {
    this.scripts.set(urlPart, answers);
    return this;
  }

  count(urlPart: string): number {
    return this.requests.filter((r) => r.url.includes(urlPart)).length;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    this.requests.push(req);
    await Promise.resolve();
    const entry = [...this.scripts.entries()].find(([part]) => req.url.includes(part));
    if (entry === undefined) throw new Error(`no answer scripted for ${req.url}`);
    const answers = entry[1];
    const next = (answers.length > 1 ? answers.shift() : answers[0]) as Answer;
    if (next instanceof Error) throw next;
    const body = new TextEncoder().encode(next.body ?? '');
    return { status: next.status, headers: {}, body, text: () => next.body ?? '' };
  }
}

const PROXY = 'http://127.0.0.1:8001';

function context(http: HttpClient): ProbeContext {
  return {
    http,
    proxyBaseUrl: PROXY,
    namespace: 'shop',
    servicePorts: new Map([
      [
        'web',
        [
          { name: 'http', port: 80 },
          { name: 'admin', port: 9090 },
        ],
      ],
      ['api', [{ port: 8080 }]],
      ['prometheus', [{ name: 'web', port: 9090 }]],
    ]),
  };
}

function checks(list: Record<string, unknown>[]): HealthCheck[] {
  return parseHealthChecks(list, []);
}

function check(fields: Record<string, unknown>): HealthCheck {
  return checks([{ name: 'c', ...fields }])[0]!;
}

/** A Prometheus answer: an instant vector of one series with `value`. */
function oneSeries(value: string): string {
  return JSON.stringify({
    status: 'success',
    data: { resultType: 'vector', result: [{ metric: {}, value: [1, value] }] },
  });
}

function prom(fields: Record<string, unknown>): PrometheusCheck {
  return check({ prometheus: 'http://prom.test', query: 'up', ...fields }) as PrometheusCheck;
}

describe('probeTarget', () => {
  const ctx = context(new ScriptedHttp());

  it('goes to <service>-preview before the switch and to the Service after it, through the service proxy', () => {
    const c = check({ service: 'web', port: 'admin', path: '/health?deep=1' });
    expect(probeTarget(c, 'pre-switch', ctx)).toBe(
      `${PROXY}/api/v1/namespaces/shop/services/web-preview:admin/proxy/health?deep=1`,
    );
    expect(probeTarget(c, 'post-switch', ctx)).toBe(
      `${PROXY}/api/v1/namespaces/shop/services/web:admin/proxy/health?deep=1`,
    );
  });

  it("uses a numbered port as given, else the Service's first port (by name, else number), else 80", () => {
    expect(probeTarget(check({ service: 'web', port: 9090 }), 'post-switch', ctx)).toBe(
      `${PROXY}/api/v1/namespaces/shop/services/web:9090/proxy/`,
    );
    expect(probeTarget(check({ service: 'web' }), 'post-switch', ctx)).toBe(
      `${PROXY}/api/v1/namespaces/shop/services/web:http/proxy/`,
    );
    expect(probeTarget(check({ service: 'api' }), 'post-switch', ctx)).toBe(
      `${PROXY}/api/v1/namespaces/shop/services/api:8080/proxy/`,
    );
    expect(probeTarget(check({ service: 'db' }), 'post-switch', ctx)).toBe(
      `${PROXY}/api/v1/namespaces/shop/services/db:80/proxy/`,
    );
  });

  it('encodes the namespace and Service in the proxy path', () => {
    const odd = { ...ctx, namespace: 'a/b' };
    expect(probeTarget(check({ service: 'web' }), 'post-switch', odd)).toBe(
      `${PROXY}/api/v1/namespaces/a%2Fb/services/web:http/proxy/`,
    );
  });

  it('probes a url check at its URL in both phases', () => {
    const c = check({ url: 'https://shop.test/health' });
    expect(probeTarget(c, 'pre-switch', ctx)).toBe('https://shop.test/health');
    expect(probeTarget(c, 'post-switch', ctx)).toBe('https://shop.test/health');
  });

  it('sends a prometheus query, encoded, to its URL or through the proxy to its Service', () => {
    const query = 'sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))';
    const encoded = encodeURIComponent(query);
    expect(encoded).not.toBe(query);
    expect(
      probeTarget(prom({ prometheus: 'http://prom.test:9090/', query, max: 1 }), 'pre-switch', ctx),
    ).toBe(`http://prom.test:9090/api/v1/query?query=${encoded}`);
    expect(probeTarget(prom({ prometheus: 'prometheus', query, max: 1 }), 'pre-switch', ctx)).toBe(
      `${PROXY}/api/v1/namespaces/shop/services/prometheus:web/proxy/api/v1/query?query=${encoded}`,
    );
    expect(
      probeTarget(
        prom({ prometheus: { service: 'prometheus', port: 9091 }, query, max: 1 }),
        'pre-switch',
        ctx,
      ),
    ).toBe(`${PROXY}/api/v1/namespaces/shop/services/prometheus:9091/proxy/api/v1/query?query=${encoded}`);
  });

  it('says a service check needs the proxy when none runs', () => {
    expect(() =>
      probeTarget(check({ service: 'web' }), 'post-switch', { ...ctx, proxyBaseUrl: undefined }),
    ).toThrow('service checks need the kubectl proxy, which is not running');
  });
});

describe('prometheusVerdict', () => {
  const vector = (...values: string[]): string =>
    JSON.stringify({
      status: 'success',
      data: {
        resultType: 'vector',
        result: values.map((v, i) => ({ metric: { i: String(i) }, value: [1, v] })),
      },
    });
  const scalar = (v: string): string =>
    JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, v] } });

  it('reads a one-series vector and a scalar', () => {
    expect(prometheusVerdict(prom({ max: 0.05 }), 200, vector('0.01'))).toEqual({
      ok: true,
      detail: 'value 0.01 within bounds',
    });
    expect(prometheusVerdict(prom({ min: 1 }), 200, scalar('3'))).toEqual({
      ok: true,
      detail: 'value 3 within bounds',
    });
  });

  it('counts an empty vector as 0', () => {
    expect(prometheusVerdict(prom({ max: 0 }), 200, vector())).toEqual({
      ok: true,
      detail: 'value 0 within bounds',
    });
    expect(prometheusVerdict(prom({ min: 1 }), 200, vector())).toEqual({
      ok: false,
      detail: 'value 0 is below min 1',
    });
  });

  it('holds the value to max and min', () => {
    expect(prometheusVerdict(prom({ max: 0.05 }), 200, vector('0.2'))).toEqual({
      ok: false,
      detail: 'value 0.2 is above max 0.05',
    });
    expect(prometheusVerdict(prom({ min: 1, max: 3 }), 200, scalar('0.5'))).toEqual({
      ok: false,
      detail: 'value 0.5 is below min 1',
    });
    expect(prometheusVerdict(prom({ min: 1, max: 3 }), 200, scalar('3')).ok).toBe(true);
    expect(prometheusVerdict(prom({ min: 1, max: 3 }), 200, scalar('1')).ok).toBe(true);
  });

  it('refuses several series: the query must be aggregated', () => {
    expect(prometheusVerdict(prom({ max: 100 }), 200, vector('1', '2'))).toEqual({
      ok: false,
      detail: 'the query returned 2 series; aggregate it to one (e.g. sum(...))',
    });
  });

  it('never passes NaN (a ratio over no traffic): it is no data, judged by the window', () => {
    expect(prometheusVerdict(prom({ max: 0.05 }), 200, vector('NaN'))).toEqual({
      ok: false,
      inconclusive: true,
      detail: 'the query value is NaN (no data in its window)',
    });
    expect(prometheusVerdict(prom({ min: 0 }), 200, scalar('NaN')).ok).toBe(false);
  });

  it('refuses a range vector (matrix) rather than reading it as 0', () => {
    const matrix = JSON.stringify({
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [
          {
            metric: {},
            values: [
              [1, '9'],
              [2, '9'],
            ],
          },
        ],
      },
    });
    const verdict = prometheusVerdict(prom({ max: 1 }), 200, matrix);
    expect(verdict.ok).toBe(false);
    expect(verdict.detail).toMatch(/^the query returned a matrix; it must return one number/);
  });

  it('reports an error status, a non-200 answer and a body that is not JSON', () => {
    const error = JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' });
    expect(prometheusVerdict(prom({ max: 1 }), 200, error)).toEqual({
      ok: false,
      detail: `Prometheus query failed: ${error}`,
    });
    expect(prometheusVerdict(prom({ max: 1 }), 503, 'unavailable\n')).toEqual({
      ok: false,
      detail: 'Prometheus answered HTTP 503: unavailable',
    });
    expect(prometheusVerdict(prom({ max: 1 }), 200, '<html>login</html>')).toEqual({
      ok: false,
      detail: 'Prometheus answered something that is not JSON: <html>login</html>',
    });
    expect(prometheusVerdict(prom({ max: 1 }), 200, '{"status":"success","data":{}}')).toEqual({
      ok: false,
      detail: 'unexpected Prometheus answer: {"status":"success","data":{}}',
    });
  });
});

describe('probe', () => {
  it('reports a wrong status and a body that does not match, with a one-line snippet of the body', async () => {
    const long = `${'x'.repeat(100)}\n${'y'.repeat(100)}`;
    const http = new ScriptedHttp()
      .answer('/status', { status: 500, body: 'boom\n  at line 1' })
      .answer('/body', { status: 200, body: 'starting' })
      .answer('/empty', { status: 404 })
      .answer('/long', { status: 502, body: long });
    const ctx = context(http);
    const run = (fields: Record<string, unknown>) =>
      probe(check({ service: 'web', ...fields }), 'post-switch', ctx);

    expect((await run({ path: '/status' })).detail).toBe('HTTP 500, expected 2xx: boom at line 1');
    expect(await run({ path: '/body', 'expect-body': 'ready' })).toMatchObject({
      ok: false,
      detail: 'HTTP 200, body does not match "ready": starting',
    });
    expect((await run({ path: '/empty', 'expect-status': [200, 204] })).detail).toBe(
      'HTTP 404, expected 200, 204: (empty body)',
    );
    expect((await run({ path: '/long' })).detail).toBe(
      `HTTP 502, expected 2xx: ${'x'.repeat(100)} ${'y'.repeat(19)}…`,
    );
  });

  it('passes a matching answer, asking with the check timeout', async () => {
    const http = new ScriptedHttp().answer('/health', { status: 200, body: 'ok' });
    const result = await probe(
      check({ service: 'web', path: '/health', timeout: '1500ms' }),
      'pre-switch',
      context(http),
    );
    expect(result.ok).toBe(true);
    expect(result.detail).toMatch(/^HTTP 200 in \d+ms$/);
    expect(http.requests[0]).toMatchObject({ method: 'GET', timeoutMs: 1500, headers: { Accept: '*/*' } });
  });

  it('asks Prometheus for JSON', async () => {
    const http = new ScriptedHttp().answer('prom.test', {
      status: 200,
      body: '{"status":"success","data":{"resultType":"vector","result":[]}}',
    });
    expect((await probe(prom({ max: 0 }), 'post-switch', context(http))).ok).toBe(true);
    expect(http.requests[0]?.headers).toEqual({ Accept: 'application/json' });
  });
});

describe('runGate', () => {
  const gate = async (
    list: HealthCheck[],
    http: ScriptedHttp,
    options: { phase?: 'pre-switch' | 'post-switch'; windowMs?: number; signal?: AbortSignal } = {},
  ) => {
    const logger = new MemoryLogger();
    const clock = new VirtualClock();
    const failures: GateResult[] = [];
    const results = await runGate(list, context(http), {
      phase: options.phase ?? 'pre-switch',
      logger,
      clock,
      ...(options.windowMs === undefined ? {} : { windowMs: options.windowMs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onFailure: (r) => failures.push(r),
    });
    return { results, logger, clock, failures };
  };

  it('returns nothing for no checks', async () => {
    expect((await gate([], new ScriptedHttp())).results).toEqual([]);
  });

  it("keeps a failed check's last 3 answers, status and the first 200 bytes of the body; none for a check that passed", async () => {
    const http = new ScriptedHttp()
      .answer('/proxy/health', { status: 500, body: 'db down' }, new Error('connect ECONNREFUSED'), {
        status: 503,
        body: `${'é'.repeat(150)} and more`,
      })
      .answer('/proxy/ready', { status: 200 });
    const { results } = await gate(
      checks([
        { name: 'web', service: 'web', path: '/health', failures: 3, interval: '1s' },
        { name: 'ready', service: 'api', path: '/ready', interval: '1s', successes: 1 },
      ]),
      http,
    );
    const [web, ready] = results;
    expect(web?.passed).toBe(false);
    expect(web?.attempts).toBe(4);
    // The first answer has gone: three are kept, oldest first.
    expect(web?.answers?.map((a) => [a.status, a.body, a.ok])).toEqual([
      [undefined, undefined, false],
      [503, `${'é'.repeat(100)}…`, false],
      [503, `${'é'.repeat(100)}…`, false],
    ]);
    expect(web?.answers?.[0]?.detail).toBe('connect ECONNREFUSED');
    expect(web?.answers?.[1]?.at).toMatch(/^2030-01-01T00:00:0\d\.000Z$/);
    expect(ready?.passed).toBe(true);
    expect(ready?.answers).toBeUndefined();
  });

  it('passes after the consecutive successes needed, a failure resetting the streak', async () => {
    const http = new ScriptedHttp().answer(
      '/health',
      { status: 200 },
      { status: 200 },
      { status: 503, body: 'warming up' },
      { status: 200 },
      { status: 200 },
      { status: 200 },
      { status: 500 },
    );
    const { results, logger, clock, failures } = await gate(
      checks([{ name: 'web', service: 'web', path: '/health', interval: '1s', successes: 3, failures: 1 }]),
      http,
    );
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      check: 'web',
      phase: 'pre-switch',
      target: 'service web-preview:http/health',
      passed: true,
      stopped: false,
      attempts: 6,
      successes: 5,
      failures: 1,
      durationMs: 5000,
    });
    expect(results[0]?.lastDetail).toMatch(/^HTTP 200 in \d+ms$/);
    expect(clock.now() - clock.start).toBe(5000);
    expect(failures).toEqual([]);
    expect(logger.text()).toContain(
      'web (pre-switch) ✗ HTTP 503, expected 2xx: warming up — failure 1 of 1 allowed',
    );
    expect(logger.text()).toContain('web (pre-switch) ✓ 3 consecutive successes');
  });

  it('tolerates the failures allowed and fails on one more, saying where and why', async () => {
    const http = new ScriptedHttp().answer('/health', { status: 503, body: 'down' });
    const { results, logger, failures } = await gate(
      checks([{ name: 'web', service: 'web', path: '/health', failures: 2 }]),
      http,
    );
    expect(results[0]).toMatchObject({
      passed: false,
      stopped: false,
      attempts: 3,
      successes: 0,
      failures: 3,
      lastDetail: 'HTTP 503, expected 2xx: down',
    });
    expect(http.count('/health')).toBe(3);
    expect(failures).toEqual(results);
    expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
      "Health check 'web' failed pre-switch against service web-preview:http/health: HTTP 503, expected 2xx: down",
    ]);
  });

  it('stops the other checks at the first failure: they are stopped, not failed', async () => {
    const http = new ScriptedHttp()
      .answer('/services/web-preview', { status: 500, body: 'broken' })
      .answer('/services/api-preview', { status: 200 });
    const { results, failures } = await gate(
      checks([
        { name: 'api', service: 'api', successes: 50 },
        { name: 'web', service: 'web' },
      ]),
      http,
    );
    const [api, web] = results;
    expect(web).toMatchObject({
      check: 'web',
      passed: false,
      stopped: false,
      lastDetail: 'HTTP 500, expected 2xx: broken',
    });
    expect(api).toMatchObject({
      check: 'api',
      passed: false,
      stopped: true,
      lastDetail: "stopped: check 'web' failed",
    });
    expect(api!.attempts).toBeLessThan(50);
    expect(failures.map((f) => f.check)).toEqual(['web']);
  });

  it('after the switch, keeps probing until the window ends', async () => {
    const http = new ScriptedHttp().answer('/services/web:', { status: 200 });
    const { results } = await gate(
      checks([{ name: 'web', service: 'web', interval: '1s', successes: 2 }]),
      http,
      {
        phase: 'post-switch',
        windowMs: 10_000,
      },
    );
    expect(results[0]).toMatchObject({
      phase: 'post-switch',
      target: 'service web:http/',
      passed: true,
      attempts: 11,
      durationMs: 10_000,
    });
  });

  it('a Prometheus check with no data yet waits while its window is open, then judges the data', async () => {
    const nan = { status: 200, body: oneSeries('NaN') };
    const slow = new ScriptedHttp().answer('prom.test', nan, nan, { status: 200, body: oneSeries('0.12') });
    const failed = await gate([prom({ max: 0.07 })], slow, { phase: 'post-switch', windowMs: 20_000 });
    expect(failed.results[0]).toMatchObject({
      passed: false,
      attempts: 3,
      failures: 1,
      lastDetail: 'value 0.12 is above max 0.07',
    });
    expect(failed.logger.entries.filter((e) => e.message.includes('waiting for data'))).toHaveLength(1);
    const fine = new ScriptedHttp().answer('prom.test', nan, { status: 200, body: oneSeries('0.03') });
    const passed = await gate([prom({ max: 0.07 })], fine, { phase: 'post-switch', windowMs: 5_000 });
    expect(passed.results[0]).toMatchObject({ passed: true, failures: 0 });
  });

  it('no data through the whole window is a failure; without a window, at once', async () => {
    const nan = { status: 200, body: oneSeries('NaN') };
    const windowed = await gate([prom({ max: 0.07 })], new ScriptedHttp().answer('prom.test', nan), {
      phase: 'post-switch',
      windowMs: 5_000,
    });
    expect(windowed.results[0]).toMatchObject({
      passed: false,
      failures: 1,
      lastDetail: 'the query value is NaN (no data in its window)',
    });
    expect(windowed.results[0]?.durationMs).toBeGreaterThanOrEqual(5_000);
    const at = await gate([prom({ max: 0.07 })], new ScriptedHttp().answer('prom.test', nan));
    expect(at.results[0]).toMatchObject({ passed: false, attempts: 1, failures: 1 });
  });

  it('fails a check whose failure comes late in the window, after it had its successes', async () => {
    const answers = [
      ...Array.from({ length: 7 }, () => ({ status: 200 })),
      { status: 502, body: 'bad gateway' },
    ];
    const http = new ScriptedHttp().answer('/services/web:', ...answers);
    const { results, failures } = await gate(
      checks([{ name: 'web', service: 'web', interval: '1s', successes: 2 }]),
      http,
      { phase: 'post-switch', windowMs: 60_000 },
    );
    expect(results[0]).toMatchObject({
      passed: false,
      stopped: false,
      attempts: 8,
      successes: 7,
      failures: 1,
    });
    expect(failures).toHaveLength(1);
  });

  it('counts a timeout as a failure, saying how long it waited', async () => {
    const http = new ScriptedHttp().answer(
      'shop.test',
      new HttpTransportError(
        'https://shop.test/health',
        'ETIMEDOUT',
        'GET https://shop.test/health failed: timeout',
      ),
    );
    const { results } = await gate(
      checks([{ name: 'site', url: 'https://shop.test/health', timeout: '1500ms' }]),
      http,
    );
    expect(results[0]).toMatchObject({ passed: false, failures: 1, lastDetail: 'no answer within 1.5s' });
    expect(http.requests[0]?.timeoutMs).toBe(1500);
  });

  it('reports any other transport failure with its message', async () => {
    const http = new ScriptedHttp().answer(
      'shop.test',
      new HttpTransportError(
        'https://shop.test/',
        'ECONNREFUSED',
        'GET https://shop.test/ failed: connect ECONNREFUSED',
      ),
    );
    const { results } = await gate(checks([{ name: 'site', url: 'https://shop.test/' }]), http);
    expect(results[0]?.lastDetail).toBe('GET https://shop.test/ failed: connect ECONNREFUSED');
  });

  it('stops every check when the caller cancels, without calling it a failure', async () => {
    const controller = new AbortController();
    const http = new ScriptedHttp().answer('/services/', { status: 200 });
    const pending = gate(checks([{ name: 'web', service: 'web', interval: '1s', successes: 2 }]), http, {
      phase: 'post-switch',
      windowMs: 3_600_000,
      signal: controller.signal,
    });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('the job was cancelled'));
    const { results, failures } = await pending;
    expect(results[0]).toMatchObject({
      passed: false,
      stopped: true,
      lastDetail: 'stopped: the job was cancelled',
    });
    expect(failures).toEqual([]);
  });

  it('does not start probing when the caller has already cancelled', async () => {
    const controller = new AbortController();
    controller.abort(new Error('the job was cancelled'));
    const http = new ScriptedHttp().answer('/services/', { status: 200 });
    const { results } = await gate(checks([{ name: 'web', service: 'web' }]), http, {
      signal: controller.signal,
    });
    expect(results[0]).toMatchObject({ passed: false, stopped: true, attempts: 0 });
    expect(http.requests).toEqual([]);
  });
});

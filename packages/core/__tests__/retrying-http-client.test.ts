import { describe, expect, it } from '@jest/globals';
import {
  HttpTransportError,
  RetryingHttpClient,
  type Clock,
  type HttpClient,
  type HttpRequest,
  type HttpResponse,
  type RetryingHttpClientOptions,
} from '../src/index.js';

/** A clock that records its sleeps and returns at once; `now` is fixed. */
function fakeClock(now = Date.parse('2026-01-01T00:00:00Z')): Clock & { slept: number[] } {
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: (ms, signal) => {
      slept.push(ms);
      return signal?.aborted === true ? Promise.reject(signal.reason as Error) : Promise.resolve();
    },
  };
}

type Step = number | { status: number; headers?: Record<string, string> } | HttpTransportError | Error;

/** An HttpClient answering from a script, one step per request, recording what it was sent. */
function scripted(steps: Step[]): HttpClient & { sent: HttpRequest[] } {
  const sent: HttpRequest[] = [];
  return {
    sent,
    request: (request) => {
      sent.push(request);
      const step = steps.shift();
      if (step === undefined) throw new Error('the script ran out');
      if (step instanceof Error) return Promise.reject(step);
      const { status, headers = {} } = typeof step === 'number' ? { status: step } : step;
      const body = new TextEncoder().encode(`body ${status}`);
      return Promise.resolve({ status, headers, body, text: () => `body ${status}` });
    },
  };
}

const refused = (): HttpTransportError =>
  new HttpTransportError('http://api/x', 'ECONNREFUSED', 'GET http://api/x failed: connect ECONNREFUSED');

const get: HttpRequest = { method: 'GET', url: 'http://api/x' };
const post: HttpRequest = { method: 'POST', url: 'http://api/x', body: '{}' };

function client(
  http: HttpClient,
  overrides: Partial<RetryingHttpClientOptions> = {},
): { client: RetryingHttpClient; clock: ReturnType<typeof fakeClock> } {
  const clock = fakeClock();
  return {
    clock,
    client: new RetryingHttpClient({
      http,
      policy: { attempts: 4, initialDelayMs: 100, maxDelayMs: 1000 },
      retryableStatus: (r: HttpResponse) => r.status === 429 || r.status >= 500,
      clock,
      ...overrides,
    }),
  };
}

describe('RetryingHttpClient', () => {
  it('repeats a retryable answer with exponential backoff until one is not', async () => {
    const http = scripted([503, 429, 502, 200]);
    const { client: c, clock } = client(http);
    await expect(c.send(get)).resolves.toMatchObject({ kind: 'response', attempts: 4, gaveUp: false });
    expect(http.sent).toHaveLength(4);
    expect(clock.slept).toEqual([100, 200, 400]);
  });

  it('returns an answer that is not retryable at once', async () => {
    const http = scripted([404, 200]);
    const { client: c, clock } = client(http);
    const response = await c.request(get);
    expect(response.status).toBe(404);
    expect(http.sent).toHaveLength(1);
    expect(clock.slept).toEqual([]);
  });

  it('gives up after the last attempt and hands back the last answer', async () => {
    const http = scripted([503, 503, 500]);
    const { client: c, clock } = client(http, { policy: { attempts: 3, initialDelayMs: 100 } });
    const exchange = await c.send(get);
    expect(exchange).toMatchObject({ kind: 'response', attempts: 3, gaveUp: true });
    expect(exchange.kind === 'response' ? exchange.response.status : 0).toBe(500);
    expect(clock.slept).toEqual([100, 200]);
  });

  it('caps the backoff at the policy maximum', async () => {
    const http = scripted([503, 503, 503, 503, 200]);
    const { client: c, clock } = client(http, {
      policy: { attempts: 5, initialDelayMs: 300, maxDelayMs: 1000 },
    });
    await c.request(get);
    expect(clock.slept).toEqual([300, 600, 1000, 1000]);
  });

  it('repeats transport failures, and throws the last one as it was', async () => {
    const last = refused();
    const http = scripted([refused(), refused(), last]);
    const { client: c } = client(http, { policy: { attempts: 3, initialDelayMs: 1 } });
    await expect(c.request(get)).rejects.toBe(last);
    expect(http.sent).toHaveLength(3);
  });

  it('says how many attempts a transport failure took', async () => {
    const http = scripted([refused(), refused()]);
    const { client: c } = client(http, { policy: { attempts: 2, initialDelayMs: 1 } });
    await expect(c.send(get)).resolves.toMatchObject({ kind: 'transport', attempts: 2 });
  });

  it('does not repeat a transport failure the options call permanent', async () => {
    const http = scripted([new HttpTransportError('http://api/x', 'ENOTFOUND', 'no such host'), 200]);
    const { client: c } = client(http, { retryableTransport: (e) => e.code !== 'ENOTFOUND' });
    await expect(c.send(get)).resolves.toMatchObject({ kind: 'transport', attempts: 1 });
    expect(http.sent).toHaveLength(1);
  });

  it('lets any other error through without retrying', async () => {
    const http = scripted([new TypeError('bad header'), 200]);
    const { client: c } = client(http);
    await expect(c.request(get)).rejects.toThrow('bad header');
    expect(http.sent).toHaveLength(1);
  });

  describe('requests that are not idempotent', () => {
    const idempotent = (r: HttpRequest): boolean => r.method !== 'POST';

    it('are never repeated after a 5xx or a transport failure', async () => {
      const http = scripted([503, refused()]);
      const { client: c } = client(http, { idempotent });
      await expect(c.send(post)).resolves.toMatchObject({ kind: 'response', attempts: 1, gaveUp: false });
      await expect(c.send(post)).resolves.toMatchObject({ kind: 'transport', attempts: 1 });
      expect(http.sent).toHaveLength(2);
    });

    it('are not repeated after a 429 by default', async () => {
      const http = scripted([429, 200]);
      const { client: c } = client(http, { idempotent });
      expect((await c.request(post)).status).toBe(429);
      expect(http.sent).toHaveLength(1);
    });

    it('are repeated after a 429 with repeatUnprocessed, the server having turned them away', async () => {
      const http = scripted([429, 503, 200]);
      const { client: c } = client(http, { idempotent, repeatUnprocessed: true });
      expect((await c.request(post)).status).toBe(503);
      expect(http.sent).toHaveLength(2);
    });

    it('follow the per-request flag over the client rule', async () => {
      const http = scripted([503, 200, 503]);
      const { client: c } = client(http, { idempotent });
      expect((await c.send(post, { idempotent: true })).attempts).toBe(2);
      expect((await c.send(get, { idempotent: false })).attempts).toBe(1);
    });
  });

  describe('Retry-After', () => {
    const retryAfter = { maxMs: 60_000 };

    it('waits as many seconds as it says, the backoff included', async () => {
      const http = scripted([{ status: 429, headers: { 'retry-after': '3' } }, 200]);
      const { client: c, clock } = client(http, { retryAfter });
      await c.request(get);
      expect(clock.slept).toEqual([2900, 100]);
    });

    it('waits until the HTTP date it names, by the injected clock', async () => {
      const clock = fakeClock(Date.parse('2026-01-01T00:00:00Z'));
      const http = scripted([
        { status: 503, headers: { 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' } },
        200,
      ]);
      const { client: c } = client(http, { retryAfter, clock });
      await c.request(get);
      expect(clock.slept).toEqual([4900, 100]);
    });

    it('waits no longer than the cap', async () => {
      const http = scripted([{ status: 429, headers: { 'retry-after': '3600' } }, 200]);
      const { client: c, clock } = client(http, { retryAfter });
      await c.request(get);
      expect(clock.slept).toEqual([59_900, 100]);
    });

    it('adds nothing when the backoff is longer, the date is past or the value is not understood', async () => {
      const http = scripted([
        { status: 429, headers: { 'retry-after': '0' } },
        { status: 429, headers: { 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' } },
        { status: 429, headers: { 'retry-after': 'soon' } },
        200,
      ]);
      const { client: c, clock } = client(http, { retryAfter });
      await c.request(get);
      expect(clock.slept).toEqual([100, 200, 400]);
    });

    it('is not waited for when no attempt follows', async () => {
      const http = scripted([{ status: 429, headers: { 'retry-after': '30' } }]);
      const { client: c, clock } = client(http, { retryAfter, policy: { attempts: 1 } });
      expect((await c.request(get)).status).toBe(429);
      expect(clock.slept).toEqual([]);
    });

    it('is ignored unless asked for', async () => {
      const http = scripted([{ status: 429, headers: { 'retry-after': '3' } }, 200]);
      const { client: c, clock } = client(http);
      await c.request(get);
      expect(clock.slept).toEqual([100]);
    });
  });

  describe('cancellation', () => {
    it('sends the signal with each request that has none', async () => {
      const controller = new AbortController();
      const own = new AbortController();
      const http = scripted([200, 200]);
      const { client: c } = client(http, { signal: controller.signal });
      await c.request(get);
      await c.request({ ...get, signal: own.signal });
      expect(http.sent.map((r) => r.signal)).toEqual([controller.signal, own.signal]);
    });

    it('stops before another attempt once the signal aborted, handing back the last answer', async () => {
      const controller = new AbortController();
      const http: HttpClient & { sent: HttpRequest[] } = scripted([]);
      http.request = (request) => {
        http.sent.push(request);
        controller.abort(new Error('cancelled'));
        return Promise.resolve({ status: 503, headers: {}, body: new Uint8Array(), text: () => '' });
      };
      const { client: c, clock } = client(http, { signal: controller.signal });
      await expect(c.send(get)).resolves.toMatchObject({ kind: 'response', attempts: 1, gaveUp: true });
      expect(http.sent).toHaveLength(1);
      expect(clock.slept).toEqual([]);
    });

    it('rejects with the signal’s reason when it aborts a Retry-After wait', async () => {
      const controller = new AbortController();
      const http = scripted([{ status: 429, headers: { 'retry-after': '30' } }, 200]);
      const clock = fakeClock();
      clock.sleep = (ms, signal) => {
        clock.slept.push(ms);
        controller.abort(new Error('cancelled'));
        return signal?.aborted === true ? Promise.reject(signal.reason as Error) : Promise.resolve();
      };
      const { client: c } = client(http, { signal: controller.signal, clock, retryAfter: { maxMs: 60_000 } });
      await expect(c.request(get)).rejects.toThrow('cancelled');
      expect(http.sent).toHaveLength(1);
    });
  });

  describe('what it reports', () => {
    it('shows every answer and, before each wait, what failed and for how long it waits', async () => {
      const seen: string[] = [];
      const http = scripted([503, refused(), 201]);
      const { client: c } = client(http, {
        onResponse: (r, res) => seen.push(`${r.method} ${res.status}`),
        onRetry: (r, cause, attempt, delay) =>
          seen.push(
            `${r.method} ${cause.kind === 'status' ? cause.response.status : cause.error.code} #${attempt} ${delay}ms`,
          ),
      });
      await c.request(get);
      expect(seen).toEqual(['GET 503', 'GET 503 #1 100ms', 'GET ECONNREFUSED #2 200ms', 'GET 201']);
    });

    it('reports retries to the per-request listener instead of the client’s', async () => {
      const client_: string[] = [];
      const own: number[] = [];
      const http = scripted([503, 200]);
      const { client: c } = client(http, { onRetry: () => client_.push('client') });
      await c.send(get, { onRetry: (_r, _c, attempt) => own.push(attempt) });
      expect(own).toEqual([1]);
      expect(client_).toEqual([]);
    });
  });
});

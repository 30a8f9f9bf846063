import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { startLoad, type LoadReport } from '../src/load-generator.js';

/**
 * A stand-in for the gateway: `/shop` alternates two services (every 10th request answers 500),
 * `/nobody` answers 502 with no pod headers, `/hang` never answers, `/held` answers when released.
 */
let server: Server;
let url: string;
let seen: { path: string; host: string | undefined }[] = [];
let held: ServerResponse[] = [];

beforeAll(async () => {
  let shopRequests = 0;
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', host: req.headers.host });
    if (req.url === '/shop') {
      shopRequests++;
      const service = shopRequests % 2 === 0 ? 'cart' : 'checkout';
      const color = service === 'cart' ? 'blue' : 'green';
      res.writeHead(shopRequests % 10 === 0 ? 500 : 200, {
        'x-kube-double-pod': `${service}-${color}-0`,
        'x-kube-double-service': service,
        'x-kube-double-color': color,
      });
      res.end('ok');
    } else if (req.url === '/nobody') {
      res.writeHead(502).end('no endpoints');
    } else if (req.url === '/held') {
      held.push(res);
    } else if (req.url !== '/hang') {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});

beforeEach(() => {
  seen = [];
  held = [];
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
});

function expectConsistent(report: LoadReport): void {
  expect(report.sent).toBe(report.answered + report.transportErrors);
  const total = (counts: Readonly<Record<string, number>>): number =>
    Object.values(counts).reduce((a, b) => a + b, 0);
  expect(total(report.byStatus)).toBe(report.answered);
  expect(total(report.byService)).toBe(report.answered);
  expect(total(report.byColor)).toBe(report.answered);
  expect(total(report.byPod)).toBe(report.answered);
  expect(total(report.byTransportError)).toBe(report.transportErrors);
}

describe('startLoad', () => {
  it('sends exactly maxRequests, with the Host header asked for, and counts answers by status and headers', async () => {
    const report = await startLoad({
      url,
      path: '/shop',
      host: 'shop.example.test',
      headers: { 'x-run': 'one' },
      rps: 2000,
      maxRequests: 100,
    }).done;
    expectConsistent(report);
    expect(report).toMatchObject({
      sent: 100,
      answered: 100,
      transportErrors: 0,
      skipped: 0,
      errors5xx: 10,
      byStatus: { '200': 90, '500': 10 },
      byService: { cart: 50, checkout: 50 },
      byColor: { blue: 50, green: 50 },
      byPod: { 'cart-blue-0': 50, 'checkout-green-0': 50 },
    });
    expect(seen).toHaveLength(100);
    expect(new Set(seen.map((s) => s.host))).toEqual(new Set(['shop.example.test']));
    expect(report.latencyMs.p50).toBeGreaterThan(0);
    expect(report.latencyMs.p50).toBeLessThanOrEqual(report.latencyMs.p95);
    expect(report.latencyMs.p95).toBeLessThanOrEqual(report.latencyMs.max);
    expect(report.endedAt).toBeGreaterThanOrEqual(report.startedAt);
  });

  it("counts answers no pod gave under '(none)'", async () => {
    const report = await startLoad({ url, path: '/nobody', rps: 1000, maxRequests: 7 }).done;
    expectConsistent(report);
    expect(report).toMatchObject({
      answered: 7,
      errors5xx: 7,
      byStatus: { '502': 7 },
      byService: { '(none)': 7 },
      byColor: { '(none)': 7 },
      byPod: { '(none)': 7 },
    });
    expect(new Set(seen.map((s) => s.host))).toEqual(new Set([url.replace('http://', '')]));
  });

  it('schedules by deadline: maxDurationMs bounds the run to the requests due before it', async () => {
    // Due at 0, 20, 40, 60 and 80 ms: five, however late the timers fire.
    const report = await startLoad({ url, path: '/shop', rps: 50, maxDurationMs: 100 }).done;
    expectConsistent(report);
    expect(report.sent + report.skipped).toBe(5);
    expect(seen).toHaveLength(report.sent);
  });

  it('counts a request not answered in time as a transport error', async () => {
    const report = await startLoad({ url, path: '/hang', rps: 1000, maxRequests: 3, timeoutMs: 200 }).done;
    expectConsistent(report);
    expect(report).toMatchObject({
      sent: 3,
      answered: 0,
      transportErrors: 3,
      byTransportError: { timeout: 3 },
      byStatus: {},
      latencyMs: { p50: 0, p95: 0, max: 0 },
    });
  });

  it('counts a refused connection as a transport error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const address = closed.address();
    await new Promise<void>((resolve) =>
      closed.close(() => {
        resolve();
      }),
    );
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const report = await startLoad({ url: `http://127.0.0.1:${port}`, rps: 1000, maxRequests: 4 }).done;
    expectConsistent(report);
    expect(report).toMatchObject({ sent: 4, transportErrors: 4, byTransportError: { ECONNREFUSED: 4 } });
  });

  it('skips, rather than queues, a request due while maxInFlight are waiting', async () => {
    const run = startLoad({
      url,
      path: '/held',
      rps: 1000,
      maxRequests: 10,
      maxInFlight: 2,
      timeoutMs: 30_000,
    });
    // Hold the two answers until every request has been due.
    await waitUntil(() => run.snapshot().sent + run.snapshot().skipped === 10 && held.length === 2);
    for (const res of held) res.writeHead(204).end();
    const report = await run.done;
    expectConsistent(report);
    expect(report).toMatchObject({ sent: 2, answered: 2, skipped: 8, byStatus: { '204': 2 } });
  });

  it('stop() ends sending and waits for the requests in flight', async () => {
    const run = startLoad({ url, path: '/shop', rps: 200, maxDurationMs: 60_000 });
    await waitUntil(() => run.snapshot().answered >= 5);
    const report = await run.stop();
    expectConsistent(report);
    expect(report.sent).toBeGreaterThanOrEqual(5);
    expect(await run.stop()).toEqual(report);
    expect(await run.done).toEqual(report);
    // Nothing was sent after stop() resolved.
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(report.sent);
  });

  it('refuses an unbounded run, a rate out of range and a target beyond the loopback', () => {
    expect(() => startLoad({ url, rps: 10 })).toThrow(
      'startLoad: give maxRequests or maxDurationMs (or both); an unbounded load is refused.',
    );
    expect(() => startLoad({ url, rps: 0, maxRequests: 1 })).toThrow(
      'rps 0 is out of range; give a rate in (0, 20000]',
    );
    expect(() => startLoad({ url, rps: 20_001, maxRequests: 1 })).toThrow('rps 20001 is out of range');
    expect(() => startLoad({ url, rps: 10, maxRequests: 1.5 })).toThrow(
      'maxRequests 1.5 is not a positive integer',
    );
    expect(() => startLoad({ url: 'http://10.1.2.3:80', rps: 10, maxRequests: 1 })).toThrow(
      "url 'http://10.1.2.3:80' is not http://127.0.0.1:PORT",
    );
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

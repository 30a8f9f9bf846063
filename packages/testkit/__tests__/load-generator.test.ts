import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startLoad } from '../src/load-generator.js';

let server: Server;
let url: string;
let served = 0;
const hosts = new Set<string>();

beforeAll(async () => {
  // Alternates two Services; every 10th request is a 500; `/slow` never answers.
  server = createServer((req, res) => {
    if (req.url === '/slow') return;
    served++;
    hosts.add(req.headers.host ?? '');
    const service = served % 2 === 0 ? 'web-green' : 'web-blue';
    res.writeHead(served % 10 === 0 ? 500 : 200, {
      'X-Kube-Double-Service': service,
      'X-Kube-Double-Color': service.slice(4),
      'X-Kube-Double-Pod': `${service}-pod`,
    });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
});

describe('startLoad', () => {
  it('sends exactly maxRequests and counts what came back by status, Service, color and pod', async () => {
    served = 0;
    const report = await startLoad({ url, host: 'shop.example.com', rps: 500, maxRequests: 200 }).done;
    expect(report).toMatchObject({ sent: 200, answered: 200, transportErrors: 0, skipped: 0, errors5xx: 20 });
    expect(report.byStatus).toEqual({ '200': 180, '500': 20 });
    expect(report.byService).toEqual({ 'web-blue': 100, 'web-green': 100 });
    expect(report.byColor).toEqual({ blue: 100, green: 100 });
    expect(report.byPod).toEqual({ 'web-blue-pod': 100, 'web-green-pod': 100 });
    expect(served).toBe(200);
    expect([...hosts]).toEqual(['shop.example.com']);
    expect(report.latencyMs.max).toBeGreaterThanOrEqual(report.latencyMs.p95);
  });

  it('stops when asked and waits for what is in flight', async () => {
    const run = startLoad({ url, rps: 200, maxDurationMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    const report = await run.stop();
    expect(report.sent).toBeGreaterThan(0);
    expect(report.sent).toBe(report.answered + report.transportErrors);
    expect(run.snapshot().sent).toBe(report.sent);
  });

  it('counts a request that gets no answer in time as a transport error, and skips what is due while too many are in flight', async () => {
    const report = await startLoad({
      url,
      path: '/slow',
      rps: 1000,
      maxRequests: 5,
      timeoutMs: 300,
      maxInFlight: 2,
    }).done;
    expect(report.sent + report.skipped).toBe(5);
    expect(report.transportErrors).toBe(report.sent);
    expect(report.answered).toBe(0);
    expect(report.skipped).toBeGreaterThan(0);
  });

  it('refuses a load without bounds or with an impossible rate', () => {
    expect(() => startLoad({ url, rps: 10 })).toThrow('give maxRequests or maxDurationMs');
    expect(() => startLoad({ url, rps: 0, maxRequests: 1 })).toThrow(
      'rps must be above 0 and at most 20000, got 0',
    );
    expect(() => startLoad({ url, rps: 50_000, maxRequests: 1 })).toThrow('got 50000');
  });
});

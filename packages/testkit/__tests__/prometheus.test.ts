import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startPrometheus, type RunningPrometheus } from '../src/prometheus.js';
import { requireTool } from '../src/tools.js';

let exporter: Server;
let target: string;
let counter = 0;
let prometheus: RunningPrometheus;

beforeAll(async () => {
  // A tiny exporter: a counter that grows by 10 on every scrape, and a histogram.
  exporter = createServer((req, res) => {
    counter += 10;
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(
      [
        '# TYPE demo_requests_total counter',
        `demo_requests_total{code="200"} ${String(counter)}`,
        '# TYPE demo_seconds histogram',
        `demo_seconds_bucket{le="0.1"} ${String(counter / 2)}`,
        `demo_seconds_bucket{le="1"} ${String(counter)}`,
        `demo_seconds_bucket{le="+Inf"} ${String(counter)}`,
        `demo_seconds_sum ${String(counter * 0.2)}`,
        `demo_seconds_count ${String(counter)}`,
        '',
      ].join('\n'),
    );
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  target = `127.0.0.1:${String((exporter.address() as AddressInfo).port)}`;
  prometheus = await startPrometheus({ targets: [target] });
}, 60_000);

afterAll(async () => {
  await prometheus.stop();
  exporter.closeAllConnections();
  await new Promise<void>((resolve) =>
    exporter.close(() => {
      resolve();
    }),
  );
});

describe('startPrometheus', () => {
  it('is the real prometheus, and it has scraped the target once it resolves', async () => {
    expect(requireTool('prometheus')).toMatch(/prometheus$/);
    const up = await prometheus.query('up');
    expect(up).toEqual([{ metric: { __name__: 'up', instance: target, job: 'kube-double' }, value: 1 }]);
    expect(await prometheus.scalar('sum(demo_requests_total)')).toBeGreaterThanOrEqual(10);
  });

  it('answers rate() and histogram_quantile() over its own scrapes', async () => {
    // Three scrapes at least, a second apart: rate() has two points in a 5 s window.
    const [rate] = await prometheus.waitForSamples(
      'rate(demo_requests_total[5s])',
      (s) => s.length === 1,
      15_000,
    );
    expect(rate?.value).toBeGreaterThan(0);
    const p95 = await prometheus.waitForSamples(
      'histogram_quantile(0.95, sum by (le) (rate(demo_seconds_bucket[5s])))',
      (s) => s.length === 1 && !Number.isNaN(s[0]?.value),
      15_000,
    );
    // Half of the observations are under 0.1 s and all under 1 s: the 95th percentile is in (0.1, 1].
    expect(p95[0]?.value).toBeGreaterThan(0.1);
    expect(p95[0]?.value).toBeLessThanOrEqual(1);
    expect(await prometheus.scalar('sum(demo_requests_total{code="500"})')).toBeUndefined();
  }, 40_000);

  it('refuses a query it cannot parse with its own error', async () => {
    await expect(prometheus.query('sum(')).rejects.toThrow(/prometheus refused sum\(: .*parse error/);
  });

  it('leaves no process behind when stopped', async () => {
    const second = await startPrometheus({ targets: [target] });
    const pid = second.pid;
    expect(() => process.kill(pid, 0)).not.toThrow();
    await second.stop();
    await second.stop();
    expect(() => process.kill(pid, 0)).toThrow();
  }, 60_000);
});

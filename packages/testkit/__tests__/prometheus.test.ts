import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrometheus, type RunningPrometheus } from '../src/prometheus.js';
import { requireTool } from '../src/tools.js';

/** What the exposition endpoint serves: counters the test sets, and a histogram fed on every scrape. */
const exposed = { cart: 30, checkout: 12 };
const BUCKETS = [0.1, 0.25, 0.5, 1] as const;
const histogram = { buckets: [0, 0, 0, 0], count: 0, sum: 0 };

/** Each scrape observes 8 fast requests (50 ms) and 2 slow ones (700 ms): the 95th percentile lies in (0.5, 1]. */
function observeScrape(): void {
  for (const seconds of [...Array<number>(8).fill(0.05), 0.7, 0.7]) {
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) histogram.buckets[i] = (histogram.buckets[i] ?? 0) + 1;
    });
    histogram.count++;
    histogram.sum += seconds;
  }
}

function exposition(): string {
  return [
    '# HELP demo_requests_total Requests served.',
    '# TYPE demo_requests_total counter',
    `demo_requests_total{service="cart"} ${exposed.cart}`,
    `demo_requests_total{service="checkout"} ${exposed.checkout}`,
    '# HELP demo_request_duration_seconds Request latency.',
    '# TYPE demo_request_duration_seconds histogram',
    ...BUCKETS.map(
      (le, i) => `demo_request_duration_seconds_bucket{le="${le}"} ${histogram.buckets[i] ?? 0}`,
    ),
    `demo_request_duration_seconds_bucket{le="+Inf"} ${histogram.count}`,
    `demo_request_duration_seconds_sum ${histogram.sum}`,
    `demo_request_duration_seconds_count ${histogram.count}`,
    '',
  ].join('\n');
}

let server: Server;
let target: string;
let prometheus: RunningPrometheus;
const scrapedPaths: string[] = [];

beforeAll(async () => {
  requireTool('prometheus');
  server = createServer((req, res) => {
    scrapedPaths.push(req.url ?? '');
    if (req.url !== '/stats') {
      res.writeHead(404).end();
      return;
    }
    observeScrape();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  target = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  prometheus = await startPrometheus({ targets: [target], metricsPath: '/stats', job: 'shop' });
}, 40_000);

afterAll(async () => {
  await prometheus.stop();
  server.closeAllConnections();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
});

describe('startPrometheus', () => {
  it('answers only once the target has been scraped, on the configured path and job', async () => {
    expect(prometheus.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(scrapedPaths.length).toBeGreaterThan(0);
    expect(new Set(scrapedPaths)).toEqual(new Set(['/stats']));
    // No waiting here: startPrometheus has already waited for the first scrape.
    const up = await prometheus.query('up');
    expect(up).toEqual([{ metric: { __name__: 'up', instance: target, job: 'shop' }, value: 1 }]);
  });

  it('sums the counters the endpoint exposes, and follows them when they grow', async () => {
    await prometheus.waitForSamples('sum(demo_requests_total)', (s) => s[0]?.value === 42, 10_000);
    expect(await prometheus.scalar('sum(demo_requests_total)')).toBe(42);
    const byService = await prometheus.query('sum by (service) (demo_requests_total)');
    expect(Object.fromEntries(byService.map((s) => [s.metric.service, s.value]))).toEqual({
      cart: 30,
      checkout: 12,
    });

    exposed.checkout += 8;
    await prometheus.waitForSamples('sum(demo_requests_total)', (s) => s[0]?.value === 50, 10_000);
    expect(await prometheus.scalar('sum(demo_requests_total{service="checkout"})')).toBe(20);
  });

  it('answers a rate and a histogram quantile as numbers', async () => {
    const rate = await prometheus.waitForSamples(
      'sum(rate(demo_request_duration_seconds_count[5s]))',
      (s) => (s[0]?.value ?? 0) > 0,
      10_000,
    );
    expect(Number.isFinite(rate[0]?.value)).toBe(true);
    const p95 = await prometheus.scalar(
      'histogram_quantile(0.95, sum by (le) (rate(demo_request_duration_seconds_bucket[5s])))',
    );
    expect(p95).toBeGreaterThan(0.5);
    expect(p95).toBeLessThanOrEqual(1);
  });

  it('answers undefined for an empty vector, and refuses to make one number of several series', async () => {
    expect(await prometheus.scalar('demo_requests_total{service="nobody"}')).toBeUndefined();
    expect(await prometheus.scalar('scalar(sum(demo_requests_total))')).toBe(50);
    await expect(prometheus.scalar('demo_requests_total')).rejects.toThrow(
      /answers 2 series, not one number/,
    );
    await expect(prometheus.query('sum(')).rejects.toThrow(/prometheus rejected 'sum\(': bad_data/);
  });

  it('stops: the process is gone, and a second stop is harmless', async () => {
    const other = await startPrometheus({ targets: [target], metricsPath: '/stats', timeoutMs: 15_000 });
    expect(isRunning(other.pid)).toBe(true);
    expect(existsSync(other.dir)).toBe(true);
    await other.stop();
    expect(isRunning(other.pid)).toBe(false);
    expect(existsSync(other.dir)).toBe(false);
    await other.stop();
    await expect(fetch(`${other.url}/-/ready`)).rejects.toThrow();
  }, 30_000);

  it('fails, naming prometheus and how to install it, when prometheus is not on PATH', async () => {
    // In a child process with a PATH holding only sh (jest's process.env does not reach
    // child_process), so `command -v prometheus` finds nothing.
    const bin = mkdtempSync(join(tmpdir(), 'ds-no-prometheus-'));
    symlinkSync(requireTool('sh'), join(bin, 'sh'));
    try {
      const run = await runTs(`await startPrometheus({ targets: ['${target}'] });`, { PATH: bin });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(
        "This test needs 'prometheus', which is not on PATH. Install it: apt-get install -y prometheus",
      );
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('leaves no prometheus and no directory behind when the process that started it is killed', async () => {
    const run = await runTs(
      [
        `const p = await startPrometheus({ targets: ['${target}'], metricsPath: '/stats', timeoutMs: 15_000 });`,
        'console.log(JSON.stringify({ pid: p.pid, dir: p.dir }));',
        "process.kill(process.pid, 'SIGKILL');",
      ].join('\n'),
      {},
    );
    expect(run.signal).toBe('SIGKILL');
    const started = JSON.parse(run.stdout) as { pid: number; dir: string };
    expect(started.pid).toBeGreaterThan(0);
    await waitUntil(() => !isRunning(started.pid) && !existsSync(started.dir), 10_000);
    expect(isRunning(started.pid)).toBe(false);
    expect(existsSync(started.dir)).toBe(false);
  }, 30_000);

  it('refuses targets beyond the loopback', async () => {
    await expect(startPrometheus({ targets: ['10.0.0.1:9100'] })).rejects.toThrow(
      "target '10.0.0.1:9100' is not 127.0.0.1:PORT",
    );
  });
});

/** Runs `body` as an ES module in a fresh node process, with `startPrometheus` imported. */
async function runTs(body: string, env: Record<string, string>): Promise<ChildRun> {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const source = `import { startPrometheus } from ${JSON.stringify(join(root, 'packages/testkit/src/prometheus.js'))};\n${body}`;
  // Not spawnSync: the exposition endpoint lives in this process and must go on answering.
  const child = spawn(
    process.execPath,
    ['--import', join(root, 'scripts/ts-register.mjs'), '--input-type=module', '-e', source],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.on('close', (code, sig) => {
      resolve([code, sig]);
    });
  });
  clearTimeout(timer);
  return { status, signal, stdout, stderr };
}

interface ChildRun {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

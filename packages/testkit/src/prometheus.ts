import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { requireTool } from './tools.js';

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  /** `host:port` endpoints on 127.0.0.1 to scrape, for example a double's `gateway.metricsTarget`. */
  readonly targets: readonly string[];
  /** Default `/metrics`. */
  readonly metricsPath?: string;
  /** Default `1s`. */
  readonly scrapeInterval?: string;
  /** The scrape job's name. Default `kube-double`. */
  readonly job?: string;
  /** How long to wait for Prometheus to be ready and to have scraped every target once. Default 30 s. */
  readonly timeoutMs?: number;
}

/** One series of an instant query's answer. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A Prometheus started by {@link startPrometheus}. */
export interface RunningPrometheus {
  /** `http://127.0.0.1:PORT`: what a `prometheus:` health check names. */
  readonly url: string;
  readonly pid: number;
  /** An instant query (at `time`, default now): every series with its value. */
  query(promql: string, time?: Date): Promise<PromSample[]>;
  /** An instant query that answers one number: undefined when it answers no series. */
  scalar(promql: string): Promise<number | undefined>;
  /** Polls a query until `accept` holds (default: at least one series), then returns its answer. */
  waitForSamples(
    promql: string,
    accept?: (samples: PromSample[]) => boolean,
    timeoutMs?: number,
  ): Promise<PromSample[]>;
  /** Stops Prometheus (SIGTERM, SIGKILL after 5 s) and removes its data. Safe to call twice. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Starts Debian's `prometheus` on a free loopback port with a generated config that scrapes
 * `targets`, and resolves once it is ready and has scraped every target at least once. Fails (never
 * skips) when prometheus is not installed.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const binary = requireTool('prometheus');
  if (options.targets.length === 0) throw new Error('startPrometheus: give at least one target to scrape');
  const dir = mkdtempSync(join(tmpdir(), 'ds-prometheus-'));
  const job = options.job ?? 'kube-double';
  const interval = options.scrapeInterval ?? '1s';
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    `  - job_name: ${JSON.stringify(job)}`,
    `    metrics_path: ${JSON.stringify(options.metricsPath ?? '/metrics')}`,
    `    scrape_interval: ${interval}`,
    '    static_configs:',
    `      - targets: [${options.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const child of running) child.kill('SIGKILL');
    });
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${String(port)}`;
    const child = spawn(
      binary,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${String(port)}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    running.add(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        running.delete(child);
        resolve();
      });
    });
    const handle = controlOf(url, child, exited, dir);
    try {
      await waitUntil(
        async () => {
          if (child.exitCode !== null) throw new Error('exited');
          const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).catch(
            () => undefined,
          );
          return res?.ok === true;
        },
        timeoutMs,
        'to be ready',
      );
      await waitUntil(
        async () => {
          const res = await fetch(`${url}/api/v1/targets?state=active`, {
            signal: AbortSignal.timeout(2000),
          });
          const body = (await res.json()) as {
            data?: { activeTargets?: { health?: string; lastScrape?: string }[] };
          };
          const active = body.data?.activeTargets ?? [];
          return (
            active.length === options.targets.length &&
            active.every((t) => t.health === 'up' && !(t.lastScrape ?? '').startsWith('0001-'))
          );
        },
        timeoutMs,
        `to scrape ${options.targets.join(', ')}`,
      );
      return handle;
    } catch (error) {
      await handle.stop(false);
      lastError = `${(error as Error).message}\n${stderr.trim().split('\n').slice(-10).join('\n')}`;
      // A port taken between freePort and the bind: try another; anything else is reported.
      if (!/address already in use/.test(stderr)) break;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`prometheus did not start: ${lastError}`);
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await check();
    } catch (error) {
      if ((error as Error).message === 'exited')
        throw new Error('prometheus exited before it was ready', { cause: error });
    }
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`prometheus did not get ${what} within ${String(timeoutMs)} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function controlOf(
  url: string,
  child: ChildProcess,
  exited: Promise<void>,
  dir: string,
): RunningPrometheus & { stop(removeData?: boolean): Promise<void> } {
  let stopping: Promise<void> | undefined;
  const query = async (promql: string, time?: Date): Promise<PromSample[]> => {
    const params = new URLSearchParams({ query: promql });
    if (time !== undefined) params.set('time', String(time.getTime() / 1000));
    const res = await fetch(`${url}/api/v1/query?${params.toString()}`, {
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (body.status !== 'success')
      throw new Error(`prometheus refused ${promql}: ${body.error ?? res.status}`);
    const result = body.data?.result;
    if (body.data?.resultType === 'scalar' && Array.isArray(result))
      return [{ metric: {}, value: Number(result[1]) }];
    if (!Array.isArray(result))
      throw new Error(`prometheus answered a ${String(body.data?.resultType)} for ${promql}`);
    return (result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
      metric: r.metric,
      value: Number(r.value[1]),
    }));
  };
  return {
    url,
    pid: child.pid ?? 0,
    query,
    scalar: async (promql) => {
      const samples = await query(promql);
      if (samples.length > 1) throw new Error(`${promql} answered ${String(samples.length)} series, not one`);
      return samples[0]?.value;
    },
    waitForSamples: async (promql, accept = (s) => s.length > 0, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const last = await query(promql);
        if (accept(last)) return last;
        if (Date.now() > deadline)
          throw new Error(
            `${promql} did not answer as expected within ${String(timeoutMs)} ms; last: ${JSON.stringify(last)}`,
          );
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    stop: (removeData = true) => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(kill);
        if (removeData) rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { requireTool } from './tools.js';

/** Options for {@link startPrometheus}. */
export interface PrometheusOptions {
  /** What to scrape: `127.0.0.1:PORT` each (nothing beyond the loopback). */
  readonly targets: readonly string[];
  /** The path scraped on every target. Default `/metrics`. */
  readonly metricsPath?: string;
  /** A Prometheus duration (`1s`, `500ms`, `1m30s`). Default `1s`; also the scrape timeout. */
  readonly scrapeInterval?: string;
  /** The `job` label of the scraped series. Default `testkit`. */
  readonly job?: string;
  /** How long to wait for Prometheus to be ready and to have scraped every target. Default 30 s. */
  readonly timeoutMs?: number;
}

/** One series of an instant query's answer. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  /** The sample value; `NaN`, `Infinity` and `-Infinity` as Prometheus writes them. */
  readonly value: number;
}

/** A real Prometheus on 127.0.0.1 that has scraped each of its targets at least once. */
export interface RunningPrometheus {
  /** `http://127.0.0.1:PORT`: the UI and the HTTP API. */
  readonly url: string;
  /** The Prometheus process id (gone once {@link stop} has resolved). */
  readonly pid: number;
  /** Its temporary directory (configuration and storage), removed by {@link stop}. */
  readonly dir: string;
  /** The `job` label its series carry. */
  readonly job: string;
  /**
   * An instant query at `time` (default now). A scalar answers one sample with no labels; a range
   * vector (`foo[5s]` alone) or an error from Prometheus rejects with the query in the message.
   */
  query(promql: string, time?: Date): Promise<PromSample[]>;
  /**
   * The one number a query answers: a scalar or a single-series vector; `undefined` when the vector
   * is empty. Rejects when the query answers several series (aggregate them first, e.g. `sum(...)`).
   */
  scalar(promql: string): Promise<number | undefined>;
  /**
   * Queries until the answer is non-empty and `predicate` (when given) accepts it, and returns that
   * answer; rejects with the last answer after `timeoutMs` (default 15 s).
   */
  waitForSamples(
    promql: string,
    predicate?: (samples: readonly PromSample[]) => boolean,
    timeoutMs?: number,
  ): Promise<PromSample[]>;
  /** The last lines Prometheus wrote to stderr (it runs with `--log.level=warn`). */
  log(): string;
  /** SIGTERM, SIGKILL after 5 s, then removes its temporary directory. Safe to call twice. */
  stop(): Promise<void>;
}

const STDERR_LINES = 30;
const PORT_ATTEMPTS = 4;
const KILL_AFTER_MS = 5_000;

/** Prometheus processes still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHandlerInstalled = false;

/**
 * Starts Debian's `prometheus` (2.42) scraping `targets`, with a generated configuration and its
 * storage in a fresh temporary directory, and resolves once every target has been scraped at least
 * once. Expect about 6 s: Prometheus hands discovered targets to its scrapers at most every 5 s.
 * Fails (never skips) when `prometheus` is not installed.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const bin = requireTool('prometheus');
  const targets = [...new Set(options.targets)];
  if (targets.length === 0)
    throw new Error('startPrometheus: targets is empty; give at least one 127.0.0.1:PORT.');
  for (const target of targets) {
    if (!/^127\.0\.0\.1:\d{1,5}$/.test(target))
      throw new Error(
        `startPrometheus: target '${target}' is not 127.0.0.1:PORT (only the loopback is scraped).`,
      );
  }
  const metricsPath = options.metricsPath ?? '/metrics';
  if (!metricsPath.startsWith('/'))
    throw new Error(`startPrometheus: metricsPath '${metricsPath}' must start with '/'.`);
  const scrapeInterval = options.scrapeInterval ?? '1s';
  if (!/^(\d+(ms|s|m|h))+$/.test(scrapeInterval))
    throw new Error(
      `startPrometheus: scrapeInterval '${scrapeInterval}' is not a Prometheus duration like 1s or 500ms.`,
    );
  const job = options.job ?? 'testkit';
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;

  const dir = mkdtempSync(join(tmpdir(), 'ds-prometheus-'));
  // JSON strings are YAML scalars: no quoting rules of our own.
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      `  scrape_interval: ${scrapeInterval}`,
      `  scrape_timeout: ${scrapeInterval}`,
      `  evaluation_interval: ${scrapeInterval}`,
      'scrape_configs:',
      `  - job_name: ${JSON.stringify(job)}`,
      `    metrics_path: ${JSON.stringify(metricsPath)}`,
      '    static_configs:',
      `      - targets: ${JSON.stringify(targets)}`,
      '',
    ].join('\n'),
  );

  let failures: string[] = [];
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const proc = launch(bin, dir, port);
    const url = `http://127.0.0.1:${port}`;
    const outcome = await waitUntilReady(proc, url, deadline);
    if (outcome === 'ready') {
      const instance = makeInstance(proc, url, job, dir);
      try {
        await waitForFirstScrapes(instance, url, targets, deadline);
      } catch (error) {
        const stderr = proc.stderrTail();
        await instance.stop();
        throw new Error(`${errorMessage(error)}\nprometheus stderr:\n${stderr}`, { cause: error });
      }
      return instance;
    }
    const exitedEarly = proc.exited();
    failures = [`attempt ${attempt} on port ${port}: ${outcome.reason}`, proc.stderrTail()];
    await proc.terminate();
    // Another process took the port between freePort() and the bind: try another one.
    if (!exitedEarly || !/address already in use/.test(failures[1] ?? '')) break;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(
    `prometheus did not start (${failures[0] ?? ''}); its last stderr lines:\n${failures[1] ?? ''}`,
  );
}

interface PrometheusProcess {
  readonly child: ChildProcess;
  exited(): boolean;
  /** `exited with code 1`, `killed by SIGKILL`, or why it could not be started. */
  exitDescription(): string;
  stderrTail(): string;
  /** SIGTERM, SIGKILL after {@link KILL_AFTER_MS}; resolves once it has exited. */
  terminate(): Promise<void>;
}

function launch(bin: string, dir: string, port: number): PrometheusProcess {
  const child = spawn(
    bin,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Neither the process nor its pipe keeps the test process alive: the watchdog and the exit
  // handler below kill it when the test process ends.
  child.unref();
  if (child.stderr instanceof Socket) child.stderr.unref();
  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid, dir);
  let tail: string[] = [];
  let partial = '';
  child.stderr.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    tail = [...tail, ...lines].slice(-STDERR_LINES);
  });
  let exited = false;
  let exitDescription = '';
  const ended = (description: string): void => {
    exited = true;
    exitDescription = description;
    running.delete(child);
    // Its work is done, and it must not kill whatever process gets this pid next.
    watchdog?.kill('SIGKILL');
  };
  const exit = new Promise<void>((resolve) => {
    // 'close', not 'exit': its last stderr lines (the reason it stopped) have been read by then.
    child.once('close', (code, signal) => {
      ended(signal === null ? `exited with code ${code ?? '?'}` : `killed by ${signal}`);
      resolve();
    });
    child.once('error', (error) => {
      ended(`could not be run: ${error.message}`);
      resolve();
    });
  });
  running.add(child);
  installExitHandler();
  return {
    child,
    exited: () => exited,
    exitDescription: () => exitDescription,
    stderrTail: () => [...tail, ...(partial === '' ? [] : [partial])].join('\n'),
    terminate: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      await exit;
      clearTimeout(killer);
    },
  };
}

/**
 * What the watchdog runs: when its stdin closes, which happens however the test process ends (even
 * SIGKILL), it kills Prometheus and removes its directory.
 */
const WATCHDOG = `
const [pid, dir] = process.argv.slice(1);
process.stdin.resume();
process.stdin.on('close', () => {
  try { process.kill(Number(pid), 'SIGKILL'); } catch {}
  const until = Date.now() + 5000;
  const gone = () => {
    try { process.kill(Number(pid), 0); if (Date.now() < until) return void setTimeout(gone, 50); } catch {}
    require('node:fs').rmSync(dir, { recursive: true, force: true });
  };
  gone();
});
`;

/**
 * A node process holding a pipe from this one. A process 'exit' handler alone is not enough: jest
 * gives each test file its own `process` object, whose 'exit' listeners never run, and nothing runs
 * in a process that is killed.
 */
function startWatchdog(pid: number, dir: string): ChildProcess {
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, String(pid), dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.unref();
  if (watchdog.stdin instanceof Socket) watchdog.stdin.unref();
  // A watchdog that could not start leaves only the exit handler: not worth failing the test for.
  watchdog.on('error', () => undefined);
  return watchdog;
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

type ReadyOutcome = 'ready' | { readonly reason: string };

/**
 * Polls `/-/ready` until Prometheus says so. An exit first is a failed start (a taken port shows
 * up this way); the body is checked because another server could hold the port we asked for.
 */
async function waitUntilReady(proc: PrometheusProcess, url: string, deadline: number): Promise<ReadyOutcome> {
  for (;;) {
    if (proc.exited()) return { reason: proc.exitDescription() };
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      const body = await response.text();
      if (response.ok && body.includes('Prometheus') && !proc.exited()) return 'ready';
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) return { reason: `not ready at ${url}/-/ready in time` };
    await sleep(100);
  }
}

interface ActiveTarget {
  readonly scrapeUrl?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly health?: string;
  readonly lastError?: string;
  readonly lastScrape?: string;
}

/** Waits until each target is up, has been scraped, and its `up` sample can be queried. */
async function waitForFirstScrapes(
  prometheus: RunningPrometheus,
  url: string,
  targets: readonly string[],
  deadline: number,
): Promise<void> {
  let seen: ActiveTarget[] = [];
  for (;;) {
    try {
      const response = await fetch(`${url}/api/v1/targets?state=active`, {
        signal: AbortSignal.timeout(2000),
      });
      const body = (await response.json()) as { data?: { activeTargets?: ActiveTarget[] } };
      seen = body.data?.activeTargets ?? [];
      const allUp = targets.every((target) =>
        seen.some(
          (t) =>
            t.labels?.instance === target &&
            t.health === 'up' &&
            t.lastScrape !== undefined &&
            !t.lastScrape.startsWith('0001-'),
        ),
      );
      if (allUp) {
        const up = await prometheus.query(`up{job=${JSON.stringify(prometheus.job)}} == 1`);
        if (targets.every((target) => up.some((s) => s.metric.instance === target))) return;
      }
    } catch {
      // a slow answer: ask again until the deadline
    }
    if (Date.now() > deadline) {
      const states = targets.map((target) => {
        const t = seen.find((s) => s.labels?.instance === target);
        if (t === undefined) return `${target}: not yet handed to the scraper`;
        return `${target}: ${t.health ?? '?'}${t.lastError ? ` (${t.lastError})` : ''}`;
      });
      throw new Error(`prometheus did not scrape every target in time: ${states.join('; ')}`);
    }
    await sleep(200);
  }
}

function makeInstance(proc: PrometheusProcess, url: string, job: string, dir: string): RunningPrometheus {
  let stopping: Promise<void> | undefined;
  const query = async (promql: string, time?: Date): Promise<PromSample[]> => {
    const params = new URLSearchParams({ query: promql });
    if (time !== undefined) params.set('time', (time.getTime() / 1000).toFixed(3));
    const response = await fetch(`${url}/api/v1/query`, {
      method: 'POST',
      body: params,
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json()) as {
      status?: string;
      error?: string;
      errorType?: string;
      data?: { resultType?: string; result?: unknown };
    };
    if (body.status !== 'success')
      throw new Error(
        `prometheus rejected '${promql}': ${body.errorType ?? 'error'}: ${body.error ?? response.statusText}`,
      );
    const type = body.data?.resultType;
    const result = body.data?.result;
    if (type === 'scalar') return [{ metric: {}, value: sampleValue((result as [number, string])[1]) }];
    if (type === 'vector')
      return (result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({
        metric: s.metric,
        value: sampleValue(s.value[1]),
      }));
    throw new Error(
      `'${promql}' answers a ${type ?? 'missing'} result; query() takes instant vectors and scalars.`,
    );
  };
  return {
    url,
    pid: proc.child.pid ?? 0,
    dir,
    job,
    query,
    scalar: async (promql) => {
      const samples = await query(promql);
      if (samples.length > 1)
        throw new Error(
          `'${promql}' answers ${samples.length} series, not one number: aggregate them (sum, max...).`,
        );
      return samples[0]?.value;
    },
    waitForSamples: async (promql, predicate, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      let last: PromSample[] = [];
      let lastError: unknown;
      for (;;) {
        try {
          last = await query(promql);
          lastError = undefined;
          if (last.length > 0 && (predicate === undefined || predicate(last))) return last;
        } catch (error) {
          // a rejected query will not start passing: fail now with Prometheus' own words
          if (error instanceof Error && error.message.startsWith('prometheus rejected')) throw error;
          lastError = error;
        }
        if (Date.now() > deadline) {
          const seen = lastError === undefined ? JSON.stringify(last) : errorMessage(lastError);
          throw new Error(`'${promql}' had no accepted answer within ${timeoutMs}ms; last: ${seen}`);
        }
        await sleep(200);
      }
    },
    log: () => proc.stderrTail(),
    stop: () => {
      stopping ??= proc.terminate().then(() => {
        rmSync(dir, { recursive: true, force: true });
      });
      return stopping;
    },
  };
}

/** Prometheus writes sample values as strings, with `NaN`, `+Inf` and `-Inf` spelled its own way. */
function sampleValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

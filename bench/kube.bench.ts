// Benchmark of the production API path against the in-process API double: the median time of one
// GET and one server-side apply through `ProxyApi` over one `kubectl proxy`, and how many requests
// per second the double serves to plain HTTP (the baseline that shows what the proxy adds).
//
//   npm run bench:kube            (BENCH_N=20 by default; BENCH_HTTP_REQUESTS=2000)
//
// The last line is machine-readable: `kube: proxy_get_ms=<median> apply_ms=<median> rps=<n>`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ConsoleLogger, FetchHttpClient, ProcessCommandRunner } from '@dreamscape/core';
import { Kubectl, ProxyApi, type Deployment } from '@dreamscape/kube';
import { startKubeDouble } from '@dreamscape/kube-double';
import { resolveKubectl } from '@dreamscape/testkit';

const N = Math.max(3, Number(process.env['BENCH_N'] ?? 20));
const HTTP_REQUESTS = Math.max(100, Number(process.env['BENCH_HTTP_REQUESTS'] ?? 2000));
const HTTP_CONCURRENCY = 16;
/** Every loop below stops at this, whatever N says. */
const PHASE_LIMIT_MS = 60_000;

/** Sends `total` GETs, `concurrency` at a time, within `limitMs`; posts back how many succeeded. */
const LOAD_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, total, concurrency, limitMs } = workerData;
let sent = 0, served = 0;
const started = performance.now();
const deadline = Date.now() + limitMs;
async function lane() {
  while (sent < total && Date.now() < deadline) {
    sent++;
    try { const r = await fetch(url); await r.text(); if (r.ok) served++; } catch {}
  }
}
Promise.all(Array.from({ length: concurrency }, lane)).then(() =>
  parentPort.postMessage({ sent, served, ms: performance.now() - started }));
`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function timed(count: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  const deadline = Date.now() + PHASE_LIMIT_MS;
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  return times;
}

function deployment(i: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'bench', annotations: { 'bench/iteration': String(i) } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: `registry.local/bench/web@sha256:${'a'.repeat(64)}` }] },
      },
    },
  };
}

// Everything on stdout, in order, so that the result line is the last line printed.
const logger = new ConsoleLogger({
  prefix: '[bench:kube] ',
  write: (line) => {
    process.stdout.write(`${line}\n`);
  },
});
const kubectlPath = await resolveKubectl();
const double = await startKubeDouble({ namespaces: ['bench'], behaviours: [{ image: '*', ready: '100ms' }] });
const cacheDir = mkdtempSync(join(tmpdir(), 'bench-kube-'));
try {
  const kubectl = new Kubectl({
    runner: new ProcessCommandRunner({ logger }),
    logger,
    kubectlPath,
    kubeconfig: double.kubeconfigPath,
    cacheDir,
  });
  // One proxy for the whole run, as a deploy starts it.
  const proxy = await kubectl.startProxy();
  const api = new ProxyApi({ baseUrl: proxy.baseUrl, http: new FetchHttpClient(), logger });
  let gets: number[];
  let applies: number[];
  try {
    // Warm up: the proxy's connection to the API server is open, as it is after the first call of a run.
    await api.applyServerSide([deployment(-1)]);
    await api.get({ kind: 'Deployment', name: 'web', namespace: 'bench' });

    gets = await timed(N, () => api.get({ kind: 'Deployment', name: 'web', namespace: 'bench' }));
    applies = await timed(N, (i) => api.applyServerSide([deployment(i)]));
  } finally {
    await proxy.close();
  }

  // Baseline: the same GET as plain HTTP, one at a time, then as many as the double serves in parallel.
  const path = `${double.url}/apis/apps/v1/namespaces/bench/deployments/web`;
  const httpGets = await timed(N, async () => (await fetch(path)).text());
  // The load runs in a worker thread so that the client does not share the double's event loop.
  const load = await new Promise<{ sent: number; served: number; ms: number }>((resolve, reject) => {
    const worker = new Worker(LOAD_SCRIPT, {
      eval: true,
      workerData: { url: path, total: HTTP_REQUESTS, concurrency: HTTP_CONCURRENCY, limitMs: PHASE_LIMIT_MS },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const { sent, served } = load;
  const rps = served / (load.ms / 1000);

  const getMs = median(gets);
  const applyMs = median(applies);
  const httpMs = median(httpGets);
  logger.info(
    `${gets.length} GET through kubectl proxy: median ${getMs.toFixed(1)} ms (plain HTTP GET ${httpMs.toFixed(2)} ms, ×${(getMs / httpMs).toFixed(0)})`,
  );
  logger.info(
    `${applies.length} server-side apply: median ${applyMs.toFixed(1)} ms (×${(applyMs / getMs).toFixed(2)} a get)`,
  );
  logger.info(
    `${served} of ${sent} HTTP GETs at concurrency ${HTTP_CONCURRENCY}: ${rps.toFixed(0)} requests/s`,
  );
  logger.info(
    `kubectl processes started: ${kubectl.calls}; API requests sent: ${api.requests}; requests the double logged: ${double.requests().length}`,
  );
  process.stdout.write(
    `kube: proxy_get_ms=${getMs.toFixed(1)} apply_ms=${applyMs.toFixed(1)} rps=${rps.toFixed(0)}\n`,
  );
} finally {
  await double.close();
  rmSync(cacheDir, { recursive: true, force: true });
}

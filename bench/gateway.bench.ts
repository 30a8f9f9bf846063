/**
 * kube-double data plane benchmark: requests per second through the double's gateway (Ingress
 * `gateway` of the example's dev overlay, to Service `gateway`, to its Ready pods, whose image
 * behaviour answers `/` with 200 `ok`) while action-deploy's bundle deploys v2, v3, v4... in a loop
 * against the same double, so the data plane is measured while its API server and controllers work.
 *
 * - baseline: a bare Node HTTP proxy in the same process, node:http forwarding every request through
 *   a keep-alive Agent to a node:http backend that answers 200 `ok` (one proxy hop to something that
 *   answers, the same job with nothing else to do);
 * - ours: `double.gateway.url`, with `Host: dev.dreamscape.example.com`.
 *
 * The client, in the same process too, keeps CONCURRENCY requests in flight on keep-alive
 * connections for ROUND_MS per round; rounds alternate baseline/ours so both see the same load.
 * Only 200 answers count; any other answer from ours is an error and fails the run.
 *
 * Last line: `gateway: rps=<ours median> ratio=<ours/baseline> bare_rps=<baseline median> deploys=<n>`.
 */
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  buildRecords,
  deploy,
  healthChecks,
  startCluster,
  type ActionRunResult,
  type ExampleCluster,
} from '@dreamscape/testkit';

const HOST = 'dev.dreamscape.example.com';
const CONCURRENCY = 32;
const ROUND_MS = 5_000;
const WARMUP_MS = 1_000;
const ROUNDS_PER_SIDE = 3;
const MIN_RPS = 2_000;

type Side = 'bare' | 'ours';

interface RoundResult {
  readonly side: Side;
  readonly rps: number;
  readonly ok: number;
  /** Answers other than 200, by status; `error` counts requests that got no answer. */
  readonly failures: Readonly<Record<string, number>>;
  /** 200 answers by the pod color the gateway reports (`X-Kube-Double-Color`), so a switch shows. */
  readonly colors: Readonly<Record<string, number>>;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** One GET through a keep-alive agent; resolves with the status (or 'error') and color once the body is read. */
function get(url: URL, agent: Agent): Promise<{ status: string; color: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: '/',
        method: 'GET',
        agent,
        headers: { host: HOST },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const color = res.headers['x-kube-double-color'];
          resolve({ status: String(res.statusCode ?? 0), color: typeof color === 'string' ? color : '' });
        });
        res.on('error', () => {
          resolve({ status: 'error', color: '' });
        });
      },
    );
    req.on('error', () => {
      resolve({ status: 'error', color: '' });
    });
    req.end();
  });
}

/** A closed loop of CONCURRENCY clients against `target` for `ms`. */
async function round(side: Side, target: string, ms: number): Promise<RoundResult> {
  const url = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let ok = 0;
  const colors: Record<string, number> = {};
  const failures: Record<string, number> = {};
  const startedAt = Date.now();
  const until = startedAt + ms;
  const client = async (): Promise<void> => {
    while (Date.now() < until) {
      const { status, color } = await get(url, agent);
      if (status === '200') {
        ok++;
        if (color !== '') colors[color] = (colors[color] ?? 0) + 1;
      } else failures[status] = (failures[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  const endedAt = Date.now();
  agent.destroy();
  return { side, rps: (ok * 1000) / (endedAt - startedAt), ok, failures, colors, startedAt, endedAt };
}

async function listen(server: Server): Promise<string> {
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  return `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
}

/** The baseline: a proxy that forwards each request to a backend answering 200 `ok`. */
async function startBareProxy(): Promise<{ url: string; close: () => void }> {
  const backend = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
  });
  const backendUrl = new URL(await listen(backend));
  const upstream = new Agent({ keepAlive: true });
  const proxy = createServer((req, res) => {
    const forward = request(
      {
        host: backendUrl.hostname,
        port: backendUrl.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
        agent: upstream,
      },
      (answer: IncomingMessage) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  const url = await listen(proxy);
  return {
    url,
    close: () => {
      upstream.destroy();
      for (const server of [proxy, backend]) {
        server.close();
        server.closeAllConnections();
      }
    },
  };
}

/** Deploys v2, v3, ... one after the other until stopped; each one's run and its real time span. */
function deployLoop(cluster: ExampleCluster): {
  readonly runs: readonly { version: string; startedAt: number; endedAt: number; result: string }[];
  readonly stop: () => Promise<void>;
} {
  const runs: { version: string; startedAt: number; endedAt: number; result: string }[] = [];
  let stopping = false;
  const loop = async (): Promise<void> => {
    for (let n = 2; !stopping; n++) {
      const version = `v${String(n)}`;
      const startedAt = Date.now();
      const run: ActionRunResult = await deploy(cluster, {
        images: buildRecords(version),
        'health-checks': healthChecks(),
      });
      const result = run.outputs.result ?? `exit ${String(run.exitCode)}`;
      runs.push({ version, startedAt, endedAt: Date.now(), result });
      console.log(`  deploy ${version}: ${result} in ${(run.durationMs / 1000).toFixed(1)} s`);
      if (result !== 'promoted') console.error(run.stdout.split('\n').slice(-30).join('\n'));
    }
  };
  const running = loop();
  return {
    runs,
    stop: async () => {
      stopping = true;
      await running;
    },
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const cluster = await startCluster([{ image: '*', ready: '1s', http: { '/': { status: 200, body: 'ok' } } }]);
const bare = await startBareProxy();
const problems: string[] = [];
const results: RoundResult[] = [];
let deploysDuring: number;
try {
  const v1 = await deploy(cluster, { images: buildRecords('v1'), 'health-checks': healthChecks() });
  if (v1.outputs.result !== 'promoted') throw new Error(`v1 did not deploy:\n${v1.stdout}`);
  const ours = cluster.double.gateway.url;
  const check = await round('ours', ours, 200);
  if (check.ok === 0)
    throw new Error(`the gateway answered no 200 after v1: ${JSON.stringify(check.failures)}`);

  const deploys = deployLoop(cluster);
  try {
    // Warm both sides up (and let the first deploy get going) before anything is counted.
    await round('bare', bare.url, WARMUP_MS);
    await round('ours', ours, WARMUP_MS);
    for (let i = 0; i < ROUNDS_PER_SIDE; i++)
      for (const side of ['bare', 'ours'] as const) {
        const r = await round(side, side === 'bare' ? bare.url : ours, ROUND_MS);
        results.push(r);
        const failed = Object.entries(r.failures)
          .map(([status, n]) => `${status}×${String(n)}`)
          .join(' ');
        const colors = Object.entries(r.colors)
          .map(([color, n]) => `${color}×${String(n)}`)
          .join(' ');
        console.log(
          `round ${String(i + 1)} ${side}: rps=${r.rps.toFixed(0)}${colors === '' ? '' : ` colors: ${colors}`}${failed === '' ? '' : ` non-200: ${failed}`}`,
        );
      }
  } finally {
    await deploys.stop();
  }
  const deployRuns = deploys.runs;

  const first = results[0]?.startedAt ?? 0;
  const last = results.at(-1)?.endedAt ?? 0;
  deploysDuring = deployRuns.filter((d) => d.startedAt < last && d.endedAt > first).length;
  results.forEach((r, i) => {
    if (!deployRuns.some((d) => d.startedAt < r.endedAt && d.endedAt > r.startedAt))
      problems.push(`no deploy overlapped measured round ${String(Math.floor(i / 2) + 1)} ${r.side}`);
    const failed = Object.values(r.failures).reduce((a, n) => a + n, 0);
    if (failed > 0)
      problems.push(
        `round ${String(Math.floor(i / 2) + 1)} ${r.side} answered ${String(failed)} request(s) with something other than 200: ${JSON.stringify(r.failures)}`,
      );
  });
  for (const d of deployRuns)
    if (d.result !== 'promoted') problems.push(`deploy ${d.version} ended ${d.result}, not promoted`);
  const traffic = cluster.double.gateway.traffic();
  console.log(
    `deploys during the measurement: ${String(deploysDuring)} (${deployRuns.map((d) => `${d.version} ${((d.endedAt - d.startedAt) / 1000).toFixed(1)}s`).join(', ')}); gateway traffic: ${JSON.stringify(traffic)}`,
  );
} finally {
  bare.close();
  await cluster.double.close();
}

const oursRps = median(results.filter((r) => r.side === 'ours').map((r) => r.rps));
const bareRps = median(results.filter((r) => r.side === 'bare').map((r) => r.rps));
if (oursRps < MIN_RPS)
  problems.push(`the gateway sustained ${oursRps.toFixed(0)} requests per second, below ${String(MIN_RPS)}`);
for (const p of problems) console.error(`gateway bench: ${p}`);
console.log(
  `gateway: rps=${oursRps.toFixed(0)} ratio=${(oursRps / bareRps).toFixed(2)} bare_rps=${bareRps.toFixed(0)} deploys=${String(deploysDuring)}`,
);
if (problems.length > 0) process.exitCode = 1;

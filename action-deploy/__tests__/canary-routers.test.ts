import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { BehaviourEntry } from '@dreamscape/kube-double';
import {
  buildRecords,
  deploy,
  digest,
  healthChecks,
  releaseRecords,
  replicasOf,
  rollback,
  runKubectl,
  serviceColors,
  startCluster,
  startLoad,
  startPrometheus,
  type ActionRunResult,
  type ExampleCluster,
  type LoadReport,
  type LoadRun,
  type RunningPrometheus,
} from '@dreamscape/testkit';

// Two services of the example, four replicas each, no HPA; the gateway is reached through an
// HTTPRoute attached to the platform's Gateway, as users would reach it.
const OVERLAY = 'action-deploy/__tests__/fixtures/canary-routers-overlay';
const SERVICES = ['gateway', 'auth'] as const;
const HOST = 'routes.dreamscape.example.com';
const NS = 'dreamscape-dev';
/** What a platform team installs once: the Gateway API CRDs (and the ingress and priority classes). */
const CLUSTER_DIR = fileURLToPath(new URL('../../examples/storefront/cluster', import.meta.url));
const GATEWAY = `apiVersion: v1
kind: Namespace
metadata: {name: gateway-system}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: gateway-system}
spec:
  gatewayClassName: public
  listeners: [{name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}]
`;

const OK = { status: 200, body: 'ok', latency: { median: '20ms', p99: '60ms' } };
/** Every version answers `/` in about 20 ms, but the `errors` versions answer 8 % with 500 and the `slow` ones take twice as long. */
const errors = ['errors-gateway-api', 'errors-service'];
const slow = ['slow-gateway-api', 'slow-service'];
const BEHAVIOURS: BehaviourEntry[] = [
  ...errors.map((v) => ({
    image: `*@${digest('gateway', v)}`,
    ready: '1s',
    http: { '/': { ...OK, errors: { rate: 0.08 } } },
  })),
  ...slow.map((v) => ({
    image: `*@${digest('gateway', v)}`,
    ready: '1s',
    http: { '/': { ...OK, latency: { median: '40ms', p99: '120ms' } } },
  })),
  { image: '*', ready: '1s', http: { '/': OK } },
];

/** The canary's 5xx ratio over the last 10 s, from the real Prometheus. */
const errorRatio = (url: string): string => `
  - name: canary-errors
    prometheus: ${url}
    query: sum(rate(http_requests_total{{{ canary }},code=~"5.."}[10s])) / sum(rate(http_requests_total{{{ canary }}}[10s]))
    max: 0.02
    interval: 1s
    successes: 1`;

/**
 * The canary's p95 latency over the last 10 s. The stable pods' p95 is about 45 ms (Prometheus
 * interpolates it at or below the 50 ms bucket); a canary twice as slow is about 95 ms.
 */
const latencyP95 = (url: string): string => `
  - name: canary-p95
    prometheus: ${url}
    query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{ canary }}}[10s])))
    max: 0.07
    interval: 1s
    successes: 1`;

/** The load generator's counts by color, sampled every 100 ms while a release runs. */
interface Sample {
  readonly t: number;
  readonly byColor: LoadReport['byColor'];
}

let cluster: ExampleCluster;
let prometheus: RunningPrometheus;
let load: LoadRun;
const samples: Sample[] = [];
let sampling: NodeJS.Timeout | undefined;

/**
 * The share of `color` among the answers the load generator got between two moments (the first
 * sample at or after `from`, the last at or before `to`), and how many answers that was.
 */
function shareBetween(from: number, to: number, color: string): { share: number; answers: number } {
  const first = samples.find((s) => s.t >= from);
  const last = samples.findLast((s) => s.t <= to);
  if (first === undefined || last === undefined || last.t <= first.t) return { share: NaN, answers: 0 };
  const counted = (s: Sample): number => Object.values(s.byColor).reduce((a, b) => a + b, 0);
  const answers = counted(last) - counted(first);
  return { share: ((last.byColor[color] ?? 0) - (first.byColor[color] ?? 0)) / answers, answers };
}

/** Answers from `color` after a moment, up to now. */
function answersAfter(at: number, color: string): number {
  const first = samples.find((s) => s.t >= at);
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined) return NaN;
  return (last.byColor[color] ?? 0) - (first.byColor[color] ?? 0);
}

/** When the newest release journaled a step (epoch ms). */
function journaled(step: string): number {
  const entry = releaseRecords(cluster.double)[0]?.journal.find((j) => j.step === step) as
    { at?: string } | undefined;
  return Date.parse(entry?.at ?? '');
}

/**
 * Waits until Prometheus has no answer from `color` in its last 10 s: the analysis queries judge
 * a color over that window, and the color a canary runs in may have answered for the previous
 * canary moments ago. Each release is judged on its own answers, however slow the machine.
 */
async function quietOn(color: string): Promise<void> {
  const query = `sum(rate(http_requests_total{namespace="${NS}",color="${color}"}[10s]))`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rate = await prometheus.scalar(query);
    if (rate === undefined || rate === 0) return;
    if (Date.now() > deadline) throw new Error(`${color} still answers (${String(rate)}/s): ${query}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const canaryDeploy = async (version: string, canary: string): Promise<ActionRunResult> => {
  await quietOn(serviceColors(cluster.double).gateway === 'blue' ? 'green' : 'blue');
  return deploy(cluster, {
    overlay: OVERLAY,
    images: buildRecords(version, SERVICES),
    'health-checks': healthChecks(SERVICES),
    strategy: 'canary',
    canary,
  });
};

beforeAll(async () => {
  cluster = await startCluster(BEHAVIOURS);
  const kubeconfig = cluster.double.kubeconfigPath;
  // What the cluster's admin installs before any release: the CRDs, then the shared Gateway.
  const crds = await runKubectl(['apply', '--server-side', '-k', CLUSTER_DIR], { kubeconfig });
  expect(crds.stderr).toBe('');
  const gateway = await runKubectl(['apply', '--server-side', '-f', '-'], { kubeconfig, stdin: GATEWAY });
  expect(gateway.stderr).toBe('');
  const v1 = await deploy(cluster, {
    overlay: OVERLAY,
    images: buildRecords('v1', SERVICES),
    'health-checks': healthChecks(SERVICES),
  });
  expect(v1.errors).toEqual([]);
  expect(v1.outputs.result).toBe('promoted');
  prometheus = await startPrometheus({ targets: [cluster.double.gateway.metricsTarget] });
  // Steady traffic through the HTTPRoute for the whole file, as users would send it.
  load = startLoad({
    url: cluster.double.gateway.url,
    host: HOST,
    path: '/',
    rps: 50,
    maxDurationMs: 600_000,
  });
  sampling = setInterval(() => {
    samples.push({ t: Date.now(), byColor: { ...load.snapshot().byColor } });
  }, 100);
}, 120_000);

afterAll(async () => {
  clearInterval(sampling);
  await load.stop();
  await prometheus.stop();
  await cluster.double.close();
});

beforeEach(() => {
  cluster.double.clearLogs();
});

describe.each([
  // Each router's releases alternate colors: the first promotes, the two aborted ones leave it live.
  { router: 'gateway-api', promoted: 'green', other: 'blue' },
  { router: 'service', promoted: 'blue', other: 'green' },
] as const)('strategy canary with the $router router, on real traffic', ({ router, promoted, other }) => {
  it('promotes a healthy canary step by step, each step sending the canary its weight of the traffic', async () => {
    const r = await canaryDeploy(`healthy-${router}`, `router: ${router}\nsteps: [25, 50, 100]\npause: 4s`);
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({ result: 'promoted', 'active-color': promoted });
    expect(serviceColors(cluster.double).gateway).toBe(promoted);
    const record = releaseRecords(cluster.double)[0];
    expect(record).toMatchObject({ result: 'promoted', strategy: 'canary' });
    const steps = record?.journal.map((j) => j.step) ?? [];
    for (const w of [25, 50, 100]) {
      expect(steps).toContain(`weight-${String(w)}`);
      expect(steps).toContain(`analysed-${String(w)}`);
    }
    expect(steps.indexOf('analysed-100')).toBeLessThan(steps.indexOf('switched'));
    expect(steps).toContain('canary-removed');
    expect(r.summary).toMatch(/\| 25 % \| .* \| ➡️ next step \|/);
    expect(r.summary).toMatch(/\| 50 % \| .* \| ➡️ next step \|/);
    expect(r.summary).toMatch(/\| 100 % \| .* \| ✅ promote \|/);
    // What the load generator saw during each step's analysis (the step's first half second left
    // out: answers already in flight when the weight was written).
    for (const w of [25, 50, 100]) {
      const seen = shareBetween(
        journaled(`weight-${String(w)}`) + 500,
        journaled(`analysed-${String(w)}`),
        promoted,
      );
      expect({ weight: w, answers: seen.answers > 80, share: Math.abs(seen.share - w / 100) <= 0.1 }).toEqual(
        {
          weight: w,
          answers: true,
          share: true,
        },
      );
    }
    expect(cluster.double.violations()).toEqual([]);
    if (router === 'gateway-api') {
      // The HTTPRoute is as the overlay wrote it again: one backend, no weight.
      const httpRoute = cluster.double.objects('httproutes', NS)[0] as {
        spec: { rules: { backendRefs: unknown[] }[] };
      };
      expect(httpRoute.spec.rules[0]?.backendRefs).toHaveLength(1);
      expect(httpRoute.spec.rules[0]?.backendRefs[0]).toMatchObject({ name: 'gateway', port: 80 });
    } else {
      expect(r.stdout).toMatch(
        // The runner's command encoding writes % as %25.
        /::notice::The service router shares by Ready replicas: auth, gateway: 4 replicas, weights in steps of 25 %25 \(25, 50, 100\)/,
      );
      // Both Services select the promoted as a switch leaves them; the previous color is kept warm.
      expect(serviceColors(cluster.double)).toMatchObject({ gateway: promoted, auth: promoted });
      expect(replicasOf(cluster.double, `gateway-${other}`)).toBe(4);
      expect(replicasOf(cluster.double, `auth-${other}`)).toBe(4);
    }
  }, 120_000);

  const aborted = async (r: ActionRunResult, check: RegExp, name: string): Promise<void> => {
    expect(r.outputs).toMatchObject({ result: 'rolled-back', 'active-color': promoted });
    expect(r.errors.join('\n')).toMatch(check);
    expect(serviceColors(cluster.double)).toMatchObject({ gateway: promoted, auth: promoted });
    const record = releaseRecords(cluster.double)[0];
    expect(record).toMatchObject({ result: 'rolled-back', strategy: 'canary' });
    const steps = record?.journal.map((j) => j.step) ?? [];
    expect(steps).toContain('weight-25');
    expect(steps).not.toContain('analysed-25');
    expect(steps).not.toContain('weight-100');
    expect(r.summary).toMatch(new RegExp(`\\| 25 % \\| .*${name}.* \\| ↩️ abort \\|`));
    // The canary (`other`, the color not serving) got traffic during the step...
    const started = journaled('weight-25');
    expect(answersAfter(started, other)).toBeGreaterThan(0);
    // ...and none from one scrape interval after the write that set its weight to 0 (the
    // HTTPRoute's weights, or the Services' selector back on the live color).
    const zero = cluster.double
      .writes()
      .filter((w) => !w.dryRun && w.name === 'gateway' && (w.kind === 'HTTPRoute' || w.kind === 'Service'))
      .map((w) => Date.parse(w.time))
      .find((t) => t > started);
    expect(zero).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(answersAfter((zero ?? 0) + 1000, other)).toBe(0);
    expect(cluster.double.violations()).toEqual([]);
  };

  it('aborts at its first step a canary whose pods answer 8 % 500s, and sends it nothing more', async () => {
    const r = await canaryDeploy(
      `errors-${router}`,
      `router: ${router}\nsteps: [25, 100]\npause: 20s\nanalysis:${errorRatio(prometheus.url)}`,
    );
    await aborted(
      r,
      /canary analysis failed at 25 %: canary-errors .*value 0\.\d+ is above max 0\.02/,
      'canary-errors',
    );
  }, 120_000);

  it('aborts at its first step a canary whose p95 latency doubled', async () => {
    const r = await canaryDeploy(
      `slow-${router}`,
      `router: ${router}\nsteps: [25, 100]\npause: 20s\nanalysis:${latencyP95(prometheus.url)}`,
    );
    await aborted(
      r,
      /canary analysis failed at 25 %: canary-p95 .*value 0\.\d+ is above max 0\.07/,
      'canary-p95',
    );
  }, 120_000);
});

describe.each(['gateway-api', 'service'] as const)('a %s canary paused for approval', (router) => {
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  /** A canary that waits for approval at 50 %; each run is a workflow run of its own. */
  const pausing = (version: string, runId: string, extra: Record<string, string> = {}) =>
    deploy(
      cluster,
      {
        overlay: OVERLAY,
        images: buildRecords(version, SERVICES),
        'health-checks': healthChecks(SERVICES),
        strategy: 'canary',
        canary: `router: ${router}\nsteps: [{weight: 50, pause: approval}, 100]\npause: 3s`,
        ...extra,
      },
      { runId },
    );
  const paused = async (version: string): Promise<{ revision: number; candidate: string }> => {
    const r = await pausing(version, `pause-${version}`);
    expect(r.errors).toEqual([]);
    expect(r.outputs.result).toBe('paused');
    const record = releaseRecords(cluster.double)[0];
    expect(record?.journal.at(-1)?.step).toBe('paused-50');
    return { revision: Number(r.outputs.revision), candidate: record?.color ?? '' };
  };
  const httpRouteBackends = (): unknown[] =>
    (cluster.double.objects('httproutes', NS)[0] as { spec: { rules: { backendRefs: unknown[] }[] } }).spec
      .rules[0]?.backendRefs ?? [];

  it('is promoted by a second run, stopped by mode: abort, and aborted by action-rollback', async () => {
    // 1. Paused at 50 %: the canary keeps its share of the traffic while it waits.
    const first = await paused(`paused-${router}-1`);
    const waited = Date.now();
    await sleep(2500);
    const seen = shareBetween(waited, Date.now(), first.candidate);
    expect({ answers: seen.answers > 60, share: Math.abs(seen.share - 0.5) <= 0.1 }).toEqual({
      answers: true,
      share: true,
    });
    const promoted = await pausing(`paused-${router}-1`, `approve-${router}-1`, { mode: 'promote' });
    expect(promoted.errors).toEqual([]);
    expect(promoted.outputs).toMatchObject({ result: 'promoted', revision: String(first.revision) });
    expect(serviceColors(cluster.double)).toMatchObject({ gateway: first.candidate, auth: first.candidate });
    if (router === 'gateway-api') expect(httpRouteBackends()).toHaveLength(1);
    expect(cluster.double.violations()).toEqual([]);
    const live = first.candidate;

    // 2. Paused, then stopped by mode: abort: no traffic to it from a scrape interval after.
    const second = await paused(`paused-${router}-2`);
    const aborted = await pausing(`paused-${router}-2`, `abort-${router}-2`, { mode: 'abort' });
    expect(aborted.errors).toEqual([]);
    expect(aborted.outputs).toMatchObject({ result: 'rolled-back', 'active-color': live });
    const stopped = Date.now();
    expect(serviceColors(cluster.double)).toMatchObject({ gateway: live, auth: live });
    expect(replicasOf(cluster.double, `gateway-${second.candidate}`)).toBe(0);
    await sleep(2000);
    expect(answersAfter(stopped + 1000, second.candidate)).toBe(0);
    expect(cluster.double.violations()).toEqual([]);

    // 3. Paused, then action-rollback: the canary is aborted, the live release stays live.
    const third = await paused(`paused-${router}-3`);
    const back = await rollback(cluster, {}, { runId: `rollback-${router}-3` });
    expect(back.errors).toEqual([]);
    expect(back.outputs).toMatchObject({ result: 'rolled-back', 'active-color': live });
    expect(releaseRecords(cluster.double).find((x) => x.revision === third.revision)).toMatchObject({
      result: 'rolled-back',
    });
    expect(serviceColors(cluster.double)).toMatchObject({ gateway: live, auth: live });
    expect(replicasOf(cluster.double, `gateway-${third.candidate}`)).toBe(0);
    if (router === 'gateway-api') expect(httpRouteBackends()).toHaveLength(1);
    // The next release applies the route again without a conflict over its rules.
    const next = await deploy(cluster, {
      overlay: OVERLAY,
      images: buildRecords(`after-${router}`, SERVICES),
      'health-checks': healthChecks(SERVICES),
    });
    expect(next.errors).toEqual([]);
    expect(next.outputs.result).toBe('promoted');
    expect(cluster.double.violations()).toEqual([]);
  }, 300_000);
});

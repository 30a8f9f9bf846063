import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BehaviourEntry } from '@dreamscape/kube-double';
import {
  buildRecords,
  deploy,
  digest,
  healthChecks,
  releaseRecords,
  serviceColors,
  startCluster,
  startLoad,
  startPrometheus,
  type ExampleCluster,
  type LoadRun,
  type RunningPrometheus,
} from '@dreamscape/testkit';

// The example's gateway is reached through its Ingress (`gateway`, this host in the dev overlay).
const HOST = 'dev.dreamscape.example.com';
const NS = 'dreamscape-dev';

/** Every image answers `/` in about 20 ms; v3's gateway answers 8 % of its requests with 500. */
const BEHAVIOURS: BehaviourEntry[] = [
  {
    image: `*@${digest('gateway', 'v3')}`,
    ready: '1s',
    http: {
      '/': { status: 200, body: 'ok', latency: { median: '20ms', p99: '60ms' }, errors: { rate: 0.08 } },
    },
  },
  {
    image: '*',
    ready: '1s',
    http: { '/': { status: 200, body: 'ok', latency: { median: '20ms', p99: '60ms' } } },
  },
];

/** The canary's 5xx ratio, read from the real Prometheus; `{{ canary }}` is the candidate color. */
function errorRatio(prometheusUrl: string): string {
  return `
  - name: canary-errors
    prometheus: ${prometheusUrl}
    query: sum(rate(http_requests_total{{{ canary }},code=~"5.."}[30s])) / sum(rate(http_requests_total{{{ canary }}}[30s]))
    max: 0.02
    interval: 1s
    successes: 1`;
}

const canaryIngresses = (cluster: ExampleCluster): string[] =>
  cluster.double
    .objects('ingresses', NS)
    .map((o) => (o.metadata as { name: string }).name)
    .filter((name) => name.endsWith('-canary'));

describe('strategy canary with the nginx router, on real traffic', () => {
  let cluster: ExampleCluster;
  let prometheus: RunningPrometheus;
  let load: LoadRun;

  beforeAll(async () => {
    cluster = await startCluster(BEHAVIOURS);
    const v1 = await deploy(cluster, { images: buildRecords('v1'), 'health-checks': healthChecks() });
    expect(v1.outputs.result).toBe('promoted');
    prometheus = await startPrometheus({ targets: [cluster.double.gateway.metricsTarget] });
    // Steady traffic through the Ingress for the whole test, as users would send it.
    load = startLoad({
      url: cluster.double.gateway.url,
      host: HOST,
      path: '/',
      rps: 50,
      maxDurationMs: 400_000,
    });
    cluster.double.clearLogs();
  }, 120_000);

  afterAll(async () => {
    await load.stop();
    await prometheus.stop();
    await cluster.double.close();
  });

  it('promotes a healthy canary step by step, then removes its Ingress', async () => {
    const before = load.snapshot().byColor;
    const r = await deploy(cluster, {
      images: buildRecords('v2'),
      'health-checks': healthChecks(),
      strategy: 'canary',
      canary: 'router: nginx\nsteps: [20, 50, 100]\npause: 3s',
    });
    expect(r.outputs.result).toBe('promoted');
    expect(serviceColors(cluster.double).gateway).toBe('green');
    const record = releaseRecords(cluster.double)[0];
    expect(record).toMatchObject({ revision: 2, result: 'promoted', strategy: 'canary' });
    const steps = record?.journal.map((j) => j.step) ?? [];
    for (const step of ['canary-prepared', 'weight-20', 'analysed-20', 'weight-50', 'weight-100', 'switched'])
      expect(steps).toContain(step);
    expect(steps.indexOf('analysed-100')).toBeLessThan(steps.indexOf('switching'));
    expect(canaryIngresses(cluster)).toEqual([]);
    // The traffic that flowed through every step: no request to an unready pod, no routing 503,
    // each weight's share as written.
    expect(cluster.double.violations()).toEqual([]);
    const after = load.snapshot().byColor;
    expect((after.green ?? 0) - (before.green ?? 0)).toBeGreaterThan(0);
    expect((after.blue ?? 0) - (before.blue ?? 0)).toBeGreaterThan(0);
    expect(r.summary).toMatch(/\| 20 % \| .* \| ➡️ next step \|/);
    expect(r.summary).toMatch(/\| 100 % \| .* \| ✅ promote \|/);
  }, 240_000);

  it('aborts at the first step a canary whose pods answer 8 % 500s, and sends it no more traffic', async () => {
    const r = await deploy(cluster, {
      images: buildRecords('v3'),
      'health-checks': healthChecks(),
      strategy: 'canary',
      canary: `router: nginx\nsteps: [20, 100]\npause: 40s\nanalysis:${errorRatio(prometheus.url)}`,
    });
    expect(r.outputs).toMatchObject({ result: 'rolled-back', 'active-color': 'green' });
    expect(r.errors.join('\n')).toMatch(
      /canary analysis failed at 20 %: canary-errors .*value 0\.\d+ is above max 0\.02/,
    );
    expect(serviceColors(cluster.double).gateway).toBe('green');
    const record = releaseRecords(cluster.double)[0];
    expect(record).toMatchObject({ revision: 3, result: 'rolled-back', strategy: 'canary' });
    const steps = record?.journal.map((j) => j.step) ?? [];
    expect(steps).toContain('weight-20');
    expect(steps).not.toContain('analysed-20');
    expect(steps).not.toContain('weight-100');
    expect(canaryIngresses(cluster)).toEqual([]);
    expect(r.summary).toMatch(/\| 20 % \| .*canary-errors.* \| ↩️ abort \|/);
    // The canary (blue) received traffic during the step, and none once the abort is done.
    const atEnd = load.snapshot().byColor.blue ?? 0;
    expect(atEnd).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(load.snapshot().byColor.blue ?? 0).toBe(atEnd);
    expect(cluster.double.violations()).toEqual([]);
  }, 240_000);

  describe('a run killed during the steps', () => {
    const reached = (revision: number, step: string): boolean =>
      releaseRecords(cluster.double)
        .find((r) => r.revision === revision)
        ?.journal.some((j) => j.step === step) === true;
    const canaryInputs = (version: string): Record<string, string> => ({
      images: buildRecords(version),
      'health-checks': healthChecks(),
      strategy: 'canary',
      canary: 'router: nginx\nsteps: [50, 100]\npause: 5s',
    });

    it('the same manifest run again starts the steps over from weight 0 and promotes', async () => {
      const revision = releaseRecords(cluster.double)[0]!.revision + 1;
      const killed = await deploy(cluster, canaryInputs('k1'), {
        runId: `kill-${String(revision)}`,
        killWhen: { signal: 'SIGKILL', when: () => reached(revision, 'weight-50') },
      });
      expect(killed.signal).toBe('SIGKILL');
      expect(canaryIngresses(cluster)).toEqual(['gateway-canary']);
      const again = await deploy(cluster, canaryInputs('k1'), { runId: `kill-${String(revision)}` });
      expect(again.errors).toEqual([]);
      expect(again.outputs).toMatchObject({ result: 'promoted', revision: String(revision) });
      const steps = releaseRecords(cluster.double)[0]?.journal.map((j) => j.step) ?? [];
      expect(steps.filter((s) => s === 'canary-prepared')).toHaveLength(2);
      expect(steps.filter((s) => s === 'weight-50')).toHaveLength(2);
      expect(canaryIngresses(cluster)).toEqual([]);
      expect(cluster.double.violations()).toEqual([]);
    }, 240_000);

    it('another manifest removes the canary Ingress before reverting', async () => {
      const live = serviceColors(cluster.double).gateway;
      const revision = releaseRecords(cluster.double)[0]!.revision + 1;
      const killed = await deploy(cluster, canaryInputs('k2'), {
        runId: `kill-${String(revision)}`,
        killWhen: { signal: 'SIGKILL', when: () => reached(revision, 'weight-50') },
      });
      expect(killed.signal).toBe('SIGKILL');
      expect(canaryIngresses(cluster)).toEqual(['gateway-canary']);
      // A blue-green run of another release: it has no router of its own, yet the canary's goes.
      const other = await deploy(
        cluster,
        { images: buildRecords('k3'), 'health-checks': healthChecks() },
        { runId: `kill-${String(revision)}` },
      );
      expect(other.stdout).toMatch(/Removed 1 canary Ingress/);
      expect(other.outputs.result).toBe('promoted');
      expect(releaseRecords(cluster.double).find((r) => r.revision === revision)).toMatchObject({
        result: 'failed',
      });
      expect(canaryIngresses(cluster)).toEqual([]);
      expect(serviceColors(cluster.double).gateway).not.toBe(live);
      expect(cluster.double.violations()).toEqual([]);
    }, 240_000);

    it('the same manifest run again first takes away the weight the dead run left, and leaves no canary Ingress when it fails before its steps', async () => {
      const live = serviceColors(cluster.double).gateway;
      const revision = releaseRecords(cluster.double)[0]!.revision + 1;
      const killed = await deploy(cluster, canaryInputs('k4'), {
        runId: `kill-${String(revision)}`,
        killWhen: { signal: 'SIGKILL', when: () => reached(revision, 'weight-50') },
      });
      expect(killed.signal).toBe('SIGKILL');
      expect(canaryIngresses(cluster)).toEqual(['gateway-canary']);
      // Run again, its gateway now fails the pre-switch gate: it never reaches its own steps.
      cluster.double.setBehaviours([
        {
          image: `*@${digest('gateway', 'k4')}`,
          ready: '1s',
          http: { '/health': { status: 500, body: 'down' } },
        },
        ...BEHAVIOURS,
      ]);
      try {
        const again = await deploy(cluster, canaryInputs('k4'), { runId: `kill-${String(revision)}` });
        expect(again.outputs).toMatchObject({ result: 'failed', revision: String(revision) });
        expect(again.errors.join('\n')).toMatch(/pre-switch health gates failed: gateway/);
        // Before anything else: no traffic share is left to a candidate no analysis watches.
        expect(again.stdout).toMatch(/Removed 1 canary Ingress/);
        expect(again.stdout.indexOf('Removed 1 canary Ingress')).toBeLessThan(
          again.stdout.indexOf('Pre-switch health gates'),
        );
      } finally {
        cluster.double.setBehaviours(BEHAVIOURS);
      }
      expect(canaryIngresses(cluster)).toEqual([]);
      expect(serviceColors(cluster.double).gateway).toBe(live);
      expect(cluster.double.violations()).toEqual([]);
    }, 240_000);
  });

  describe('refusals before any write', () => {
    it.each([
      [
        'weights that do not increase',
        'router: nginx\nsteps: [50, 20, 100]',
        /Input 'canary'.*step 2: weight 20 does not increase/s,
      ],
      [
        'the gateway-api router with no HTTPRoute in the overlay',
        'router: gateway-api\nsteps: [50, 100]',
        /Input 'canary'.*HTTPRoute of the overlay, and it has none/s,
      ],
      [
        'a pause for approval (not available yet)',
        'router: nginx\nsteps: [{weight: 10, pause: approval}, 100]',
        /Input 'canary'.*pause: approval.*not available yet in this version/s,
      ],
      [
        'the service router (not available yet)',
        'router: service\nsteps: [50, 100]',
        /Input 'canary'.*`service` router is not available yet in this version/s,
      ],
    ])(
      '%s',
      async (_name, canary, expected) => {
        cluster.double.clearLogs();
        const r = await deploy(cluster, {
          images: buildRecords('v2'),
          'health-checks': healthChecks(),
          strategy: 'canary',
          canary,
        });
        expect(r.exitCode).toBe(1);
        expect(r.errors.join('\n')).toMatch(expected);
        expect(cluster.double.writes()).toEqual([]);
      },
      60_000,
    );

    it('credentials that may not write the canary Ingress: refused in preflight, naming the permission', async () => {
      cluster.double.clearLogs();
      cluster.double.setAccess([
        {
          verbs: ['create', 'delete'],
          resources: ['ingresses'],
          groups: ['networking.k8s.io'],
          allowed: false,
        },
      ]);
      try {
        const r = await deploy(cluster, {
          images: buildRecords('v2'),
          'health-checks': healthChecks(),
          strategy: 'canary',
          canary: 'router: nginx\nsteps: [50, 100]',
        });
        expect(r.exitCode).toBe(1);
        const message = r.errors.join('\n');
        expect(message).toContain('create ingresses.networking.k8s.io');
        expect(message).toContain('delete ingresses.networking.k8s.io');
        expect(cluster.double.writes()).toEqual([]);
      } finally {
        cluster.double.setAccess([]);
      }
    }, 60_000);

    it.each([
      ['strategy canary without the canary input', { strategy: 'canary' }, /strategy canary needs/],
      [
        'the canary input with another strategy',
        { canary: 'router: nginx\nsteps: [100]' },
        /read only with strategy canary, and strategy is blue-green/,
      ],
    ])(
      '%s',
      async (_name, inputs, expected) => {
        cluster.double.clearLogs();
        const r = await deploy(cluster, {
          images: buildRecords('v2'),
          'health-checks': healthChecks(),
          ...inputs,
        });
        expect(r.exitCode).toBe(1);
        expect(r.errors.join('\n')).toMatch(expected);
        expect(cluster.double.writes()).toEqual([]);
      },
      60_000,
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BehaviourEntry } from '@dreamscape/kube-double';
import {
  buildRecords,
  deploy,
  digest,
  healthChecks,
  releaseRecords,
  replicasOf,
  rollback,
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

/**
 * Every image answers `/` in about 20 ms (p99 60 ms); v3's gateway answers 8 % of its requests with
 * 500; v6's gateway is twice as slow.
 */
const BEHAVIOURS: BehaviourEntry[] = [
  {
    image: `*@${digest('gateway', 'v6')}`,
    ready: '1s',
    http: { '/': { status: 200, body: 'ok', latency: { median: '40ms', p99: '120ms' } } },
  },
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

/** The canary's p95 latency over 10 s, read from the real Prometheus. */
function p95(prometheusUrl: string): string {
  return `
  - name: canary-p95
    prometheus: ${prometheusUrl}
    query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{ canary }}}[10s])))
    max: 0.06
    interval: 1s
    successes: 1`;
}

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

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The deploy lock's holder, as the Lease says. */
const lockHolder = (cluster: ExampleCluster): string =>
  (
    cluster.double
      .objects('leases', NS)
      .find((o) => (o.metadata as { name: string }).name === 'dreamscape-lock-dreamscape-dev') as
      { spec?: { holderIdentity?: string } } | undefined
  )?.spec?.holderIdentity ?? '';

/** The weight the canary Ingress sends to the candidate, when there is one. */
const canaryWeight = (cluster: ExampleCluster): string | undefined =>
  (
    cluster.double
      .objects('ingresses', NS)
      .find((o) => (o.metadata as { name: string }).name === 'gateway-canary') as
      { metadata: { annotations?: Record<string, string> } } | undefined
  )?.metadata.annotations?.['nginx.ingress.kubernetes.io/canary-weight'];

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
    // The answers the canary's color (blue) got, sampled every 100 ms.
    const samples: { t: number; blue: number }[] = [];
    const sampler = setInterval(() => {
      samples.push({ t: Date.now(), blue: load.snapshot().byColor.blue ?? 0 });
    }, 100);
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
    // The canary (blue) received traffic during the step, and none from one scrape interval after
    // the write that set its weight to 0 (the first write of its Ingress after the step's weight).
    const step = Date.parse(record?.journal.find((j) => j.step === 'weight-20')?.at ?? '');
    const zero = cluster.double
      .writes()
      .filter((w) => !w.dryRun && w.kind === 'Ingress' && w.name === 'gateway-canary')
      .map((w) => Date.parse(w.time))
      .find((t) => t > step);
    expect(zero).toBeDefined();
    await sleep(2000);
    clearInterval(sampler);
    const during = samples.filter((x) => x.t >= step && x.t <= (zero ?? 0));
    expect((during.at(-1)?.blue ?? 0) - (during[0]?.blue ?? 0)).toBeGreaterThan(0);
    const after = samples.find((x) => x.t >= (zero ?? 0) + 1000);
    expect((samples.at(-1)?.blue ?? 0) - (after?.blue ?? NaN)).toBe(0);
    expect(cluster.double.violations()).toEqual([]);
  }, 240_000);

  it('aborts a canary whose p95 latency doubled, read from the real Prometheus', async () => {
    const live = serviceColors(cluster.double).gateway;
    const r = await deploy(cluster, {
      images: buildRecords('v6'),
      'health-checks': healthChecks(),
      strategy: 'canary',
      canary: `router: nginx\nsteps: [30, 100]\npause: 20s\nanalysis:${p95(prometheus.url)}`,
    });
    expect(r.outputs).toMatchObject({ result: 'rolled-back', 'active-color': live });
    expect(r.errors.join('\n')).toMatch(
      /canary analysis failed at 30 %: canary-p95 .*value 0\.(0[6-9]|1)\d* is above max 0\.06/,
    );
    const steps = releaseRecords(cluster.double)[0]?.journal.map((j) => j.step) ?? [];
    expect(steps).toContain('weight-30');
    expect(steps).not.toContain('weight-100');
    expect(canaryIngresses(cluster)).toEqual([]);
    expect(serviceColors(cluster.double).gateway).toBe(live);
    // The summary charts each side's p95 as read at the end of the step.
    expect(r.summary).toMatch(/```mermaid\nxychart-beta\n {2}title "canary-p95 at the end of each step/);
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

  describe('a canary paused for approval, aborted, or rolled back', () => {
    /** A canary that waits for approval at 30 %; each run is a workflow run of its own. */
    const pausing = (version: string, runId: string, extra: Record<string, string> = {}) =>
      deploy(
        cluster,
        {
          images: buildRecords(version),
          'health-checks': healthChecks(),
          strategy: 'canary',
          canary: 'router: nginx\nsteps: [{weight: 30, pause: approval}, 100]\npause: 2s',
          ...extra,
        },
        { runId },
      );

    it('ends its run paused at 30 % holding the lock; a deploy is refused unwritten; promote goes on to 100', async () => {
      const live = serviceColors(cluster.double).gateway;
      const r = await pausing('p1', 'pause-p1');
      expect(r.errors).toEqual([]);
      expect(r.exitCode).toBe(0);
      expect(r.outputs.result).toBe('paused');
      const revision = Number(r.outputs.revision);
      const record = releaseRecords(cluster.double)[0];
      expect(record).toMatchObject({ revision, result: 'in-progress', strategy: 'canary' });
      expect(record?.journal.at(-1)?.step).toBe('paused-30');
      const candidate = record?.color ?? '';
      expect(candidate).not.toBe(live);
      expect(canaryWeight(cluster)).toBe('30');
      expect(lockHolder(cluster)).toBe(`paused-canary/revision-${String(revision)}`);
      expect(serviceColors(cluster.double).gateway).toBe(live);
      expect(r.summary).toMatch(/\| 30 % \| .* \| ⏸️ wait for approval \|/);
      // The canary keeps its share of the traffic while it waits.
      const waiting = load.snapshot().byColor[candidate] ?? 0;
      await sleep(1500);
      expect(load.snapshot().byColor[candidate] ?? 0).toBeGreaterThan(waiting);

      // Any other release is refused before it writes anything: by preflight, by the lock.
      cluster.double.clearLogs();
      const other = await deploy(
        cluster,
        { images: buildRecords('p2'), 'health-checks': healthChecks() },
        { runId: 'other-p2' },
      );
      expect(other.exitCode).toBe(1);
      expect(other.errors.join('\n')).toMatch(
        new RegExp(
          `Revision ${String(revision)} of dreamscape in dev is a canary paused for approval at 30 %`,
        ),
      );
      expect(cluster.double.writes()).toEqual([]);
      // A promotion must release what paused.
      const wrong = await pausing('p2', 'approve-p2', { mode: 'promote' });
      expect(wrong.exitCode).toBe(1);
      expect(wrong.errors.join('\n')).toMatch(
        /mode: promote must release exactly what revision \d+ paused with/,
      );
      expect(cluster.double.writes()).toEqual([]);

      const promoted = await pausing('p1', 'approve-p1', { mode: 'promote' });
      expect(promoted.errors).toEqual([]);
      expect(promoted.outputs).toMatchObject({ result: 'promoted', revision: String(revision) });
      const steps = releaseRecords(cluster.double)[0]?.journal.map((j) => j.step) ?? [];
      // Prepared once, by the run that paused; the promotion goes on from 30 %.
      expect(steps.filter((x) => x === 'canary-prepared')).toHaveLength(1);
      expect(steps.filter((x) => x === 'weight-30')).toHaveLength(2);
      for (const step of [
        'paused-30',
        'approved-30',
        'weight-100',
        'analysed-100',
        'switched',
        'canary-removed',
      ])
        expect(steps).toContain(step);
      expect(steps.indexOf('approved-30')).toBeGreaterThan(steps.indexOf('paused-30'));
      expect(serviceColors(cluster.double).gateway).toBe(candidate);
      expect(canaryIngresses(cluster)).toEqual([]);
      expect(lockHolder(cluster)).toBe('');
      expect(promoted.summary).toMatch(/\| 100 % \| .* \| ✅ promote \|/);
      expect(cluster.double.violations()).toEqual([]);
    }, 240_000);

    it('mode: abort sends a paused canary no more traffic, scales it down and records it rolled back', async () => {
      const live = serviceColors(cluster.double).gateway;
      const r = await pausing('p3', 'pause-p3');
      expect(r.outputs.result).toBe('paused');
      const candidate = releaseRecords(cluster.double)[0]?.color ?? '';
      const aborted = await pausing('p3', 'abort-p3', { mode: 'abort' });
      expect(aborted.errors).toEqual([]);
      expect(aborted.outputs).toMatchObject({ result: 'rolled-back', 'active-color': live });
      expect(releaseRecords(cluster.double)[0]).toMatchObject({
        revision: Number(r.outputs.revision),
        result: 'rolled-back',
      });
      expect(canaryIngresses(cluster)).toEqual([]);
      expect(replicasOf(cluster.double, `gateway-${candidate}`)).toBe(0);
      expect(serviceColors(cluster.double).gateway).toBe(live);
      expect(lockHolder(cluster)).toBe('');
      const atEnd = load.snapshot().byColor[candidate] ?? 0;
      await sleep(1500);
      expect(load.snapshot().byColor[candidate] ?? 0).toBe(atEnd);
      expect(cluster.double.violations()).toEqual([]);
    }, 240_000);

    it('action-rollback on a paused canary aborts it; the live release stays live', async () => {
      const live = serviceColors(cluster.double).gateway;
      const liveRevision = releaseRecords(cluster.double).find((x) => x.result === 'promoted')?.revision;
      const r = await pausing('p4', 'pause-p4');
      expect(r.outputs.result).toBe('paused');
      const candidate = releaseRecords(cluster.double)[0]?.color ?? '';
      const back = await rollback(cluster, {}, { runId: 'rollback-p4' });
      expect(back.errors).toEqual([]);
      // (`%` is `%25` in a workflow command.)
      expect(back.stdout).toMatch(/is a canary paused for approval at 30 %25: the rollback aborts it/);
      expect(back.outputs).toMatchObject({
        result: 'rolled-back',
        'to-revision': String(liveRevision),
        'active-color': live,
      });
      expect(
        releaseRecords(cluster.double).find((x) => x.revision === Number(r.outputs.revision)),
      ).toMatchObject({
        result: 'rolled-back',
      });
      expect(canaryIngresses(cluster)).toEqual([]);
      expect(replicasOf(cluster.double, `gateway-${candidate}`)).toBe(0);
      expect(serviceColors(cluster.double).gateway).toBe(live);
      expect(lockHolder(cluster)).toBe('');
      expect(cluster.double.violations()).toEqual([]);
    }, 240_000);

    it('action-rollback during a running canary asks it to abort, and it stops at once', async () => {
      const live = serviceColors(cluster.double).gateway;
      const revision = releaseRecords(cluster.double)[0]!.revision + 1;
      const running = deploy(
        cluster,
        {
          images: buildRecords('p5'),
          'health-checks': healthChecks(),
          strategy: 'canary',
          canary: 'router: nginx\nsteps: [40, 100]\npause: 60s',
        },
        { runId: 'running-p5' },
      );
      const deadline = Date.now() + 120_000;
      while (
        !releaseRecords(cluster.double)
          .find((x) => x.revision === revision)
          ?.journal.some((j) => j.step === 'weight-40')
      ) {
        if (Date.now() > deadline) throw new Error('the canary never reached 40 %');
        await sleep(100);
      }
      const back = await rollback(cluster, { 'lock-timeout': '60s' }, { runId: 'rollback-p5' });
      const r = await running;
      expect(back.errors).toEqual([]);
      expect(back.stdout).toMatch(/Asked the release holding the lock .* to abort its canary/);
      expect(back.outputs).toMatchObject({ result: 'rolled-back', 'active-color': live });
      expect(r.outputs).toMatchObject({ result: 'rolled-back', 'active-color': live });
      expect(r.errors.join('\n')).toMatch(
        /canary aborted at 40 % at the request of https:\/\/github.com\/dreamscape\/platform\/actions\/runs\/rollback-p5/,
      );
      const record = releaseRecords(cluster.double).find((x) => x.revision === revision);
      expect(record).toMatchObject({ result: 'rolled-back' });
      expect(record?.journal.map((j) => j.step)).not.toContain('weight-100');
      expect(canaryIngresses(cluster)).toEqual([]);
      expect(serviceColors(cluster.double).gateway).toBe(live);
      expect(lockHolder(cluster)).toBe('');
      expect(cluster.double.violations()).toEqual([]);
    }, 240_000);

    it.each([
      [
        'promote',
        /mode: promote continues a canary paused for approval, but the newest release .* is rolled-back/,
      ],
      ['abort', /mode: abort stops a release in progress, but the newest release .* is rolled-back/],
    ])(
      'mode: %s with nothing paused is refused without a write',
      async (mode, expected) => {
        cluster.double.clearLogs();
        const r = await pausing('p1', `nothing-${mode}`, { mode });
        expect(r.exitCode).toBe(1);
        expect(r.errors.join('\n')).toMatch(expected);
        expect(cluster.double.writes()).toEqual([]);
      },
      60_000,
    );
  });

  describe('refusals before any write', () => {
    it.each([
      [
        'weights that do not increase',
        'router: nginx\nsteps: [50, 20, 100]',
        /Input 'canary'.*step 2: weight 20 does not increase/s,
      ],
      [
        'a weight above 100',
        'router: nginx\nsteps: [50, 150]',
        /Input 'canary'.*weight is 150; expected a whole number from 1 to 100/s,
      ],
      [
        'a Prometheus analysis query without the canary placeholder',
        'router: nginx\nsteps: [100]\nanalysis:\n  - name: errors\n    prometheus: http://127.0.0.1:9\n    query: sum(rate(http_requests_total[1m]))\n    max: 1',
        /Input 'canary'.*\{\{ canary \}\}/s,
      ],
      [
        'the gateway-api router with no HTTPRoute in the overlay',
        'router: gateway-api\nsteps: [50, 100]',
        /Input 'canary'.*HTTPRoute of the overlay, and it has none/s,
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

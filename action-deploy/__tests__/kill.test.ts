import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeDouble } from '@dreamscape/kube-double';
import {
  buildRecords,
  deploy,
  digest,
  healthChecks,
  releaseRecords,
  rollback,
  serviceColors,
  SERVICES,
  startCluster,
} from '@dreamscape/testkit';

/** A glob part that every image of a version carries: the gateway's digest differs per version. */
function digestOf(version: string): string {
  return digest('gateway', version).slice('sha256:'.length, 'sha256:'.length + 20);
}

const STEPS = [
  'started',
  'applied',
  'ready',
  'preview-switched',
  'gates-passed',
  'switching',
  'switched',
  'verified',
  'finished',
] as const;

let cluster: { double: KubeDouble; path: string };
beforeAll(async () => {
  cluster = await startCluster();
  expect(
    (await deploy(cluster, { images: buildRecords('v0'), 'health-checks': healthChecks() })).outputs.result,
  ).toBe('promoted');
});
afterAll(async () => {
  await cluster.double.close();
});

/** Whether the release has journaled `step` (a poll may see it a few steps late, never early). */
function reached(revision: number, step: string): boolean {
  const record = releaseRecords(cluster.double).find((r) => r.revision === revision);
  return record?.journal.some((j) => j.step === step) === true;
}

function assertConverged(expectedColor: string): void {
  const colors = serviceColors(cluster.double);
  for (const s of SERVICES) expect([s, colors[s]]).toEqual([s, expectedColor]);
  const records = releaseRecords(cluster.double);
  const revisions = records.map((r) => r.revision);
  expect(new Set(revisions).size).toBe(revisions.length);
  expect(records.filter((r) => r.result === 'in-progress')).toEqual([]);
  expect(cluster.double.violations()).toEqual([]);
}

describe('action-deploy killed with SIGKILL after each journaled step, then run again', () => {
  let revision = 1;
  let color = 'blue';

  it.each(STEPS)(
    'killed after "%s": the same deploy run again converges',
    async (step) => {
      revision++;
      const version = `k${revision}`;
      const inputs = {
        images: buildRecords(version),
        'health-checks': healthChecks(),
        'verify-window': '1s',
      };
      const killed = await deploy(cluster, inputs, {
        runId: `kill-${revision}`,
        killWhen: { signal: 'SIGKILL', when: () => reached(revision, step) },
      });
      expect(killed.signal === 'SIGKILL' || killed.exitCode === 0).toBe(true);
      const again = await deploy(cluster, inputs, { runId: `kill-${revision}` });
      expect(again.errors).toEqual([]);
      expect(again.outputs.result).toBe('promoted');
      // The killed release is the one completed (resumed), or was already complete: never a second record.
      expect(again.outputs.revision).toBe(String(revision));
      color = again.outputs['active-color'] ?? '';
      assertConverged(color);
      expect(releaseRecords(cluster.double)[0]).toMatchObject({ revision, result: 'promoted' });
    },
    180_000,
  );

  it('killed mid-switch, then a different release: the half-done switch is reverted first', async () => {
    revision++;
    const killedRevision = revision;
    // The switch's patch of one Service hangs (its dry run, apply and provenance apply, the first
    // three PATCHes of it, go through), so the run is certainly caught with the switch half done.
    cluster.double.setFaults([
      { verbs: ['patch'], resources: ['services'], names: ['user'], after: 3, hang: true },
    ]);
    const killed = await deploy(
      cluster,
      { images: buildRecords(`x${revision}`), 'health-checks': healthChecks(), 'lock-ttl': '3s' },
      {
        runId: `kill-${revision}`,
        killWhen: {
          signal: 'SIGKILL',
          when: () => {
            const colors = serviceColors(cluster.double);
            return reached(killedRevision, 'switching') && SERVICES.some((s) => colors[s] !== color);
          },
        },
      },
    );
    cluster.double.setFaults([]);
    expect(killed.signal).toBe('SIGKILL');
    const half = serviceColors(cluster.double);
    expect(SERVICES.filter((s) => half[s] !== color).length).toBeGreaterThan(0);
    expect(half.user).toBe(color);
    revision++;
    const next = await deploy(
      cluster,
      { images: buildRecords(`y${revision}`), 'health-checks': healthChecks() },
      { runId: `next-${revision}` },
    );
    expect(next.errors).toEqual([]);
    expect(next.stdout).toMatch(
      new RegExp(`Revision ${killedRevision} was left at step .* reverting it first`),
    );
    expect(next.outputs).toMatchObject({
      result: 'promoted',
      revision: String(revision),
      'previous-color': color,
    });
    expect(releaseRecords(cluster.double).find((r) => r.revision === killedRevision)).toMatchObject({
      result: 'failed',
    });
    assertConverged(next.outputs['active-color'] ?? '');
  }, 180_000);
});

describe('killed after the switch, then run again while a check fails', () => {
  // The re-run used to read the Services (all on the candidate after the switch) as "before": its
  // switch back found nothing to switch, and it scaled the candidate, which every Service
  // selected, to zero. Every Service lost its endpoints.
  let c: { double: KubeDouble; path: string };
  let version = 0;
  const smoke = `\n- name: smoke\n  service: gateway\n  port: http\n  path: /smoke\n  when: post-switch\n  interval: 100ms\n  successes: 1`;
  const checks = healthChecks(SERVICES, smoke);
  const healthy = { image: '*', ready: '1s', http: { '/smoke': { status: 200, body: 'ok' } } };

  beforeAll(async () => {
    c = await startCluster([healthy]);
    expect((await deploy(c, { images: buildRecords('s0'), 'health-checks': checks })).outputs.result).toBe(
      'promoted',
    );
  });
  afterAll(async () => {
    await c.double.close();
  });

  function atStep(revision: number, step: string): () => boolean {
    return () => {
      const record = releaseRecords(c.double).find((r) => r.revision === revision);
      return record?.journal.some((j) => j.step === step) === true;
    };
  }

  /** Live color, every Service on it with Ready pods, nothing half done, no outage recorded. */
  function expectBackOn(color: string): void {
    const colors = serviceColors(c.double);
    for (const s of SERVICES) expect([s, colors[s]]).toEqual([s, color]);
    expect(releaseRecords(c.double).filter((r) => r.result === 'in-progress')).toEqual([]);
    expect(c.double.violations()).toEqual([]);
  }

  it.each([
    ['the post-switch check fails', { '/smoke': { status: 500, body: 'broken' } }, 'rolled-back'],
    ['a pre-switch gate fails', { '/health': { status: 500, body: 'down' } }, 'failed'],
  ])(
    'a deploy: %s on the re-run',
    async (_what, http, result) => {
      version++;
      const live = serviceColors(c.double).gateway ?? '';
      const revision = (releaseRecords(c.double)[0]?.revision ?? 0) + 1;
      const images = buildRecords(`s${version}`);
      const killed = await deploy(
        c,
        // A long verification window: the kill lands after the switch, not after the end.
        { images, 'health-checks': checks, 'lock-ttl': '3s', 'verify-window': '60s' },
        { runId: `killed-${version}`, killWhen: { signal: 'SIGKILL', when: atStep(revision, 'switched') } },
      );
      expect(killed.signal).toBe('SIGKILL');
      expect(serviceColors(c.double).gateway).not.toBe(live);
      c.double.setBehaviours([{ image: `*${digestOf(`s${version}`)}*`, ready: '1s', http }, healthy]);
      const again = await deploy(c, { images, 'health-checks': checks }, { runId: `again-${version}` });
      c.double.setBehaviours([healthy]);
      expect(again.outputs).toMatchObject({ result, revision: String(revision) });
      expectBackOn(live);
    },
    240_000,
  );

  it('a rollback: the post-switch check fails on the re-run', async () => {
    version++;
    expect(
      (await deploy(c, { images: buildRecords(`s${version}`), 'health-checks': checks })).outputs.result,
    ).toBe('promoted');
    const live = serviceColors(c.double).gateway ?? '';
    const revision = (releaseRecords(c.double)[0]?.revision ?? 0) + 1;
    const killed = await rollback(
      c,
      { 'health-checks': checks, 'lock-ttl': '3s', 'verify-window': '60s' },
      { runId: `rb-killed-${version}`, killWhen: { signal: 'SIGKILL', when: atStep(revision, 'switched') } },
    );
    expect(killed.signal).toBe('SIGKILL');
    // Whatever release the rollback returns to now fails its smoke test.
    c.double.setBehaviours([
      { image: '*', ready: '1s', http: { '/smoke': { status: 500, body: 'broken' } } },
    ]);
    const again = await rollback(c, { 'health-checks': checks }, { runId: `rb-again-${version}` });
    c.double.setBehaviours([healthy]);
    expect(again.outputs.result).toBe('failed');
    expectBackOn(live);
  }, 300_000);
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeDouble } from '@dreamscape/kube-double';
import {
  buildRecords,
  deploy,
  healthChecks,
  releaseRecords,
  serviceColors,
  SERVICES,
  startCluster,
} from '@dreamscape/testkit';

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
    // The switch's patch of one Service hangs (its dry run and apply, the first two PATCHes of it,
    // go through), so the run is certainly caught with the switch half done.
    cluster.double.setFaults([
      { verbs: ['patch'], resources: ['services'], names: ['user'], after: 2, hang: true },
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

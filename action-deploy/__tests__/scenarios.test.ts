import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { KubeDouble } from '@dreamscape/kube-double';
import { runKubectl } from '@dreamscape/testkit';
import {
  buildRecords,
  deploy,
  digest,
  holdLock,
  healthChecks,
  releaseRecords,
  replicasOf,
  serviceColors,
  SERVICES,
  startCluster,
} from '@dreamscape/testkit';

let cluster: { double: KubeDouble; path: string };
beforeEach(async () => {
  cluster = await startCluster();
  const v1 = await deploy(cluster, { images: buildRecords('v1'), 'health-checks': healthChecks() });
  expect(v1.outputs.result).toBe('promoted');
});
afterEach(async () => {
  expect(cluster.double.violations()).toEqual([]);
  await cluster.double.close();
});

/** Who holds the deploy lock of dreamscape-dev, as the double has it. */
function leaseHolder(): string | undefined {
  const lease = cluster.double
    .objects('leases', 'dreamscape-dev')
    .find((l) => (l.metadata as { name: string }).name === 'dreamscape-lock-dreamscape-dev') as
    { spec?: { holderIdentity?: string } } | undefined;
  return lease?.spec?.holderIdentity;
}

/** Waits until `done()` holds, polling; fails naming `what` after 60 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (done()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function allOn(color: string): void {
  const colors = serviceColors(cluster.double);
  for (const s of SERVICES) expect([s, colors[s]]).toEqual([s, color]);
}

describe('action-deploy when the candidate is not good', () => {
  it('a candidate that never becomes Ready: no switch, live untouched, candidate scaled down', async () => {
    cluster.double.setBehaviours([
      { image: `*@${digest('voyage', 'v2')}`, ready: 'never' },
      { image: '*', ready: '1s' },
    ]);
    const r = await deploy(cluster, {
      images: buildRecords('v2'),
      'health-checks': healthChecks(),
      'rollout-timeout': '4s',
    });
    expect(r.exitCode).toBe(1);
    expect(r.outputs.result).toBe('failed');
    expect(r.outputs['active-color']).toBe('blue');
    expect(r.errors.join('\n')).toMatch(/voyage-green timeout/);
    allOn('blue');
    expect(replicasOf(cluster.double, 'voyage-green')).toBe(0);
    expect(replicasOf(cluster.double, 'gateway-green')).toBe(0);
    expect(replicasOf(cluster.double, 'voyage-blue')).toBe(1);
    expect(releaseRecords(cluster.double)[0]).toMatchObject({ revision: 2, result: 'failed' });
  }, 120_000);

  it('a candidate past its progress deadline fails fast, without waiting for the rollout timeout', async () => {
    cluster.double.setBehaviours([
      { image: `*@${digest('payment', 'v2')}`, ready: 'deadline' },
      { image: '*', ready: '1s' },
    ]);
    const r = await deploy(cluster, {
      images: buildRecords('v2'),
      'health-checks': healthChecks(),
      'rollout-timeout': '5m',
    });
    expect(r.outputs.result).toBe('failed');
    expect(r.errors.join('\n')).toMatch(/payment-green failed \(ProgressDeadlineExceeded/);
    // The wait ended on the deadline, well inside the 5 m rollout timeout (the action's own phase
    // time against its own limit, so a slow machine cannot fail it).
    const release = JSON.parse(r.outputs.release ?? '{}') as { timings: { wait?: number } };
    expect(release.timings.wait).toBeLessThan(5 * 60_000);
    allOn('blue');
    expect(replicasOf(cluster.double, 'payment-green')).toBe(0);
  }, 180_000);

  it('a failing pre-switch gate: no switch', async () => {
    cluster.double.setBehaviours([
      {
        image: `*@${digest('auth', 'v2')}`,
        ready: '1s',
        http: { '/health': { status: 500, body: 'db down' } },
      },
      { image: '*', ready: '1s' },
    ]);
    const r = await deploy(cluster, { images: buildRecords('v2'), 'health-checks': healthChecks() });
    expect(r.outputs.result).toBe('failed');
    expect(r.errors.join('\n')).toMatch(
      /pre-switch health gates failed: auth \(service auth-preview:http\/health\): HTTP 500/,
    );
    allOn('blue');
    expect(r.summary).toContain('❌ failed');
  }, 120_000);

  it('a failing post-switch gate: every Service switched back by itself', async () => {
    cluster.double.setBehaviours([
      {
        image: `*@${digest('gateway', 'v2')}`,
        ready: '1s',
        http: { '/health': { status: 200 }, '/smoke': { status: 503, body: 'broken' } },
      },
      { image: '*', ready: '1s', http: { '/health': { status: 200 }, '/smoke': { status: 200 } } },
    ]);
    const smoke =
      '\n- name: smoke\n  service: gateway\n  port: http\n  path: /smoke\n  when: post-switch\n  interval: 200ms';
    const r = await deploy(cluster, {
      images: buildRecords('v2'),
      'health-checks': healthChecks(SERVICES, smoke),
      'verify-window': '3s',
    });
    expect(r.exitCode).toBe(1);
    expect(r.outputs).toMatchObject({ result: 'rolled-back', 'active-color': 'blue' });
    expect(r.errors.join('\n')).toMatch(/post-switch health gates failed: smoke/);
    allOn('blue');
    // The candidate is scaled down once traffic is back on the previous color.
    expect(replicasOf(cluster.double, 'gateway-green')).toBe(0);
    expect(releaseRecords(cluster.double)[0]).toMatchObject({ revision: 2, result: 'rolled-back' });
    const release = JSON.parse(r.outputs.release ?? '{}') as { timings: { rollback?: number } };
    expect(release.timings.rollback).toEqual(expect.any(Number));
    // The switch back starts at the first failed probe instead of at the end of the 3 s window:
    // counted, not timed, so a slow machine cannot fail it.
    const smokeProbes = cluster.double
      .requests()
      .filter((q) =>
        q.path.startsWith('/api/v1/namespaces/dreamscape-dev/services/gateway:http/proxy/smoke'),
      );
    expect(smokeProbes).toHaveLength(1);
  }, 120_000);

  it('the answer to the release record create is cut mid-body (the write landed): the release still promotes, the record stored once', async () => {
    cluster.double.clearLogs();
    cluster.double.setFaults([
      {
        verbs: ['create'],
        resources: ['secrets'],
        namespaces: ['dreamscape-dev'],
        dropAnswer: true,
        limit: 1,
      },
    ]);
    const r = await deploy(cluster, { images: buildRecords('v2'), 'health-checks': healthChecks() });
    const fired = cluster.double.faultCounts();
    cluster.double.setFaults([]);
    expect(r.errors).toEqual([]);
    expect(r.outputs.result).toBe('promoted');
    // The release record's create lost its answer.
    expect(fired).toEqual([1]);
    allOn('green');
    expect(releaseRecords(cluster.double).map((rec) => [rec.revision, rec.result])).toEqual([
      [2, 'promoted'],
      [1, 'promoted'],
    ]);
    const created = cluster.double.writes().filter((w) => w.verb === 'create' && w.kind === 'Secret');
    // Sent twice, stored once: the second create was refused as AlreadyExists and read back.
    expect(created.map((w) => w.status)).toEqual([201, 409]);
  }, 120_000);

  it('a fault on the third Service patch: the Services already switched are switched back', async () => {
    // The fault is armed the moment the pre-switch gates have passed, so it hits the switch itself
    // (the apply before it is a PATCH too): inside the write of that journal entry (the double's
    // store calls back before it answers), so no later request slips in first, however busy the machine.
    let armed = false;
    const stopArming = cluster.double.api.store.subscribe((change) => {
      if (armed || change.object.kind !== 'Secret') return;
      const last = releaseRecords(cluster.double)[0];
      if (last?.revision === 2 && last.journal.some((j) => j.step === 'gates-passed')) {
        armed = true;
        cluster.double.setFaults([
          { verbs: ['patch'], resources: ['services'], names: ['user'], error: 500 },
        ]);
      }
    });
    const r = await deploy(cluster, { images: buildRecords('v2'), 'health-checks': healthChecks() });
    stopArming();
    cluster.double.setFaults([]);
    expect(armed).toBe(true);
    expect(r.outputs.result).toBe('failed');
    expect(r.errors.join('\n')).toMatch(/switching Services to green failed \(user: .*500/);
    expect(r.errors.join('\n')).toMatch(/the 6 already switched were switched back/);
    allOn('blue');
    const forward = cluster.double
      .writes()
      .filter(
        (w) =>
          w.kind === 'Service' &&
          w.verb === 'patch' &&
          w.patchType?.includes('json-patch') === true &&
          w.status < 300,
      );
    // Six forward patches landed and six went back; every patch of user failed.
    expect(forward).toHaveLength(12);
    expect(forward.some((w) => w.name === 'user')).toBe(false);
  }, 120_000);
});

describe('action-deploy and the lock', () => {
  it('a concurrent deploy waits for the Lease and fails naming the run that holds it', async () => {
    // The first run's candidate pods are not Ready until the test lets them be: it holds the Lease
    // for as long as the second run needs, however slow the machine.
    cluster.double.setBehaviours([{ image: '*', ready: 'never' }]);
    const first = deploy(
      cluster,
      { images: buildRecords('v2'), 'health-checks': healthChecks(), 'rollout-timeout': '5m' },
      { runId: '200' },
    );
    await until(() => leaseHolder() === 'dreamscape/platform#200', 'run 200 to hold the lock');
    const second = await deploy(
      cluster,
      { images: buildRecords('v3'), 'health-checks': healthChecks(), 'lock-timeout': '1s' },
      { runId: '300' },
    );
    expect(second.exitCode).toBe(1);
    expect(second.errors.join('\n')).toMatch(
      /holds the lock .*dreamscape\/platform#200 \(https:\/\/github.com\/dreamscape\/platform\/actions\/runs\/200\)/,
    );
    // Now the first run's pods may start Ready: replaced, they take the new behaviour.
    cluster.double.setBehaviours([{ image: '*', ready: '1s' }]);
    const deleted = await runKubectl(
      ['delete', 'pods', '-n', 'dreamscape-dev', '-l', 'dreamscape.io/color=green', '--wait=false'],
      { kubeconfig: cluster.double.kubeconfigPath },
    );
    expect(deleted.exitCode).toBe(0);
    expect((await first).outputs.result).toBe('promoted');
  }, 180_000);

  it('a stale Lease is taken over once its TTL has passed', async () => {
    // A run that died holding the lock two minutes ago, with a 60 s lease.
    await holdLock(cluster.double, {
      holder: 'dreamscape/platform#1',
      ttlSeconds: 60,
      ageSeconds: 120,
      runUrl: 'https://github.com/dreamscape/platform/actions/runs/1',
    });
    const r = await deploy(cluster, { images: buildRecords('v2'), 'health-checks': healthChecks() });
    expect(r.outputs.result).toBe('promoted');
    expect(r.stdout).toMatch(/Took over the lock dreamscape-lock-dreamscape-dev from dreamscape\/platform#1/);
  }, 120_000);
});

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { gunzipSync } from 'node:zlib';
import { parseManifests } from '@dreamscape/kube';
import {
  buildRecords,
  deploy,
  digest,
  healthChecks,
  realWrites,
  releaseRecords,
  replicasOf,
  rollback,
  runKubectl,
  serviceColors,
  SERVICES,
  startCluster,
  holdLock,
  startGitHubApi,
  type ExampleCluster,
} from '@dreamscape/testkit';

let cluster: ExampleCluster;
beforeEach(async () => {
  cluster = await startCluster();
});
afterEach(async () => {
  expect(cluster.double.violations()).toEqual([]);
  await cluster.double.close();
});

function allOn(color: string): void {
  const colors = serviceColors(cluster.double);
  for (const s of SERVICES) expect([s, colors[s]]).toEqual([s, color]);
}

function liveImage(service: string): string | undefined {
  const color = serviceColors(cluster.double)[service] ?? '';
  const d = cluster.double
    .objects('deployments', 'dreamscape-dev')
    .find((o) => (o.metadata as { name: string }).name === `${service}-${color}`) as
    { spec: { template: { spec: { containers: { image: string }[] } } } } | undefined;
  return d?.spec.template.spec.containers[0]?.image;
}

async function deployVersion(version: string, extra: Record<string, string> = {}): Promise<void> {
  const r = await deploy(cluster, {
    images: buildRecords(version),
    'health-checks': healthChecks(),
    ...extra,
  });
  expect(r.errors).toEqual([]);
  expect(r.outputs.result).toBe('promoted');
}

describe('action-rollback, run as the runner runs it, against the double with the real kubectl', () => {
  it('deploy v1, v2, roll back: v1 live by the fast path; roll back again to revision 2: v2 live', async () => {
    await deployVersion('v1');
    await deployVersion('v2');
    allOn('green');
    const github = await startGitHubApi({ token: 'ghs_rollback_token_987654321' });
    const statuses: unknown[] = [];
    github.route('POST', '/repos/:owner/:repo/deployments', () => ({ status: 201, body: { id: 5 } }));
    github.route('POST', '/repos/:owner/:repo/deployments/:id/statuses', ({ request }) => {
      statuses.push(request.body);
      return { status: 201, body: { id: 1 } };
    });
    const back = await rollback(
      cluster,
      { reason: 'alert: error rate', 'github-token': github.token },
      { env: { GITHUB_API_URL: github.url } },
    );
    await github.close();
    expect(statuses).toEqual([
      expect.objectContaining({ state: 'in_progress' }),
      expect.objectContaining({ state: 'success', description: 'rolled-back: revision 1' }),
    ]);
    const shown = back.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    expect(shown + back.summary + JSON.stringify(back.outputs)).not.toContain(github.token);
    expect(back.errors).toEqual([]);
    expect(back.outputs).toMatchObject({
      result: 'rolled-back',
      'from-revision': '2',
      'to-revision': '1',
      'active-color': 'blue',
    });
    expect(back.stdout).toContain('Fast path: blue still runs this release');
    allOn('blue');
    expect(liveImage('gateway')).toBe(`ghcr.io/dreamscape/gateway@${digest('gateway', 'v1')}`);
    const release = JSON.parse(back.outputs.release ?? '{}') as {
      path: string;
      reason: string;
      kind: string;
    };
    expect(release).toMatchObject({ path: 'fast', reason: 'alert: error rate', kind: 'rollback' });
    expect(back.summary).toContain('alert: error rate');
    expect(releaseRecords(cluster.double)[0]).toMatchObject({ revision: 3, result: 'promoted' });

    const forward = await rollback(cluster, { to: '2' });
    expect(forward.errors).toEqual([]);
    expect(forward.outputs).toMatchObject({
      result: 'rolled-back',
      'from-revision': '3',
      'to-revision': '2',
      'active-color': 'green',
    });
    allOn('green');
    expect(liveImage('gateway')).toBe(`ghcr.io/dreamscape/gateway@${digest('gateway', 'v2')}`);
  }, 300_000);

  it('previous color scaled down: the warm-up path scales it up, waits and switches', async () => {
    await deployVersion('v1');
    await deployVersion('v2', { previous: 'scale-down' });
    expect(replicasOf(cluster.double, 'gateway-blue')).toBe(0);
    const back = await rollback(cluster, {});
    expect(back.errors).toEqual([]);
    expect(back.stdout).toContain('Warm-up path');
    expect(back.outputs).toMatchObject({ result: 'rolled-back', 'active-color': 'blue' });
    expect(replicasOf(cluster.double, 'gateway-blue')).toBe(1);
    allOn('blue');
  }, 300_000);

  it('a revision older than both colors: the recorded manifest is re-applied, and the live objects equal it', async () => {
    await deployVersion('v1');
    await deployVersion('v2');
    await deployVersion('v3');
    allOn('blue');
    const back = await rollback(cluster, { to: '1' });
    expect(back.errors).toEqual([]);
    expect(back.stdout).toContain('Re-apply path');
    expect(back.outputs).toMatchObject({
      result: 'rolled-back',
      'to-revision': '1',
      'active-color': 'green',
    });
    allOn('green');
    // The live green Deployments run exactly what revision 1 recorded.
    const secret = cluster.double
      .objects('secrets', 'dreamscape-dev')
      .find((s) => (s.metadata as { name: string }).name === 'dreamscape-release-dreamscape-dev-v1') as {
      data: Record<string, string>;
    };
    const record = JSON.parse(
      gunzipSync(Buffer.from(secret.data['release.json.gz'] ?? '', 'base64')).toString('utf8'),
    ) as {
      images: Record<string, string>;
      manifest: string;
    };
    for (const s of SERVICES) expect(liveImage(s)).toBe(record.images[`${s}/${s}`]);
    // Every container of every live green Deployment is the one in the recorded manifest (plus the
    // defaults the API server fills in).
    const recorded = parseManifests(
      gunzipSync(Buffer.from(record.manifest, 'base64')).toString('utf8'),
      'revision 1',
    );
    for (const d of recorded.filter((o) => o.kind === 'Deployment')) {
      const live = cluster.double
        .objects('deployments', 'dreamscape-dev')
        .find((o) => (o.metadata as { name: string }).name === `${d.metadata.name}-green`) as
        { spec: { template: { spec: { containers: unknown[] } } } } | undefined;
      expect(live?.spec.template.spec.containers).toMatchObject(
        (d as unknown as { spec: { template: { spec: { containers: unknown[] } } } }).spec.template.spec
          .containers,
      );
    }
  }, 300_000);

  it('a rolling release: the target revision`s recorded manifest applied again in place', async () => {
    await deployVersion('v1', { strategy: 'rolling' });
    await deployVersion('v2', { strategy: 'rolling' });
    const back = await rollback(cluster, {});
    expect(back.errors).toEqual([]);
    expect(back.outputs).toMatchObject({ result: 'rolled-back', 'to-revision': '1' });
    expect(back.stdout).toContain('Apply in place');
    expect(JSON.parse(back.outputs.release ?? '{}')).toMatchObject({
      kind: 'rollback',
      rollbackTo: 1,
      path: 're-apply',
    });
    const gateway = cluster.double
      .objects('deployments', 'dreamscape-dev')
      .find((o) => (o.metadata as { name: string }).name === 'gateway') as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(gateway.spec.template.spec.containers[0]?.image).toBe(
      `ghcr.io/dreamscape/gateway@${digest('gateway', 'v1')}`,
    );
  }, 300_000);

  it('ends its GitHub deployment with error when it stops on an error (the lock is held)', async () => {
    await deployVersion('v1');
    await deployVersion('v2');
    await holdLock(cluster.double, { holder: 'dreamscape/platform#999', ttlSeconds: 600 });
    const github = await startGitHubApi({ token: 'ghs_rollback_token_987654321' });
    const statuses: unknown[] = [];
    github.route('POST', '/repos/:owner/:repo/deployments', () => ({ status: 201, body: { id: 6 } }));
    github.route('POST', '/repos/:owner/:repo/deployments/:id/statuses', ({ request }) => {
      statuses.push(request.body);
      return { status: 201, body: { id: 1 } };
    });
    const back = await rollback(
      cluster,
      { 'github-token': github.token, 'lock-timeout': '1s' },
      { env: { GITHUB_API_URL: github.url } },
    );
    await github.close();
    expect(back.outputs.result).toBe('failed');
    expect(statuses).toEqual([
      expect.objectContaining({ state: 'in_progress' }),
      expect.objectContaining({
        state: 'error',
        description: expect.stringMatching(/^stopped: .*dreamscape\/platform#999/) as unknown,
      }),
    ]);
  }, 300_000);

  it('a re-run of a job whose rollback finished is that rollback, not a second one', async () => {
    await deployVersion('v1');
    await deployVersion('v2');
    await deployVersion('v3');
    const first = await rollback(cluster, {}, { runId: '4242' });
    expect(first.outputs.result).toBe('rolled-back');
    expect(liveImage('gateway')).toBe(`ghcr.io/dreamscape/gateway@${digest('gateway', 'v2')}`);
    // The runner died before the job reported; "Re-run jobs" starts the same run again.
    cluster.double.clearLogs();
    const again = await rollback(cluster, {}, { runId: '4242' });
    expect(again.errors).toEqual([]);
    expect(again.outputs.result).toBe('already-current');
    expect(again.stdout).toContain('An earlier attempt of this run already rolled back to revision 2');
    expect(realWrites(cluster.double)).toEqual([]);
    expect(releaseRecords(cluster.double).map((r) => r.revision)).toEqual([4, 3, 2, 1]);
    // Someone moves the Services back to the color that runs v3; the re-run returns to v2 again.
    const v3Color = serviceColors(cluster.double).gateway === 'blue' ? 'green' : 'blue';
    for (const s of SERVICES) {
      const moved = await runKubectl(
        [
          'patch',
          'service',
          s,
          '-n',
          'dreamscape-dev',
          '--type=merge',
          '-p',
          JSON.stringify({ spec: { selector: { 'dreamscape.io/color': v3Color } } }),
        ],
        { kubeconfig: cluster.double.kubeconfigPath },
      );
      expect(moved.stderr).toBe('');
    }
    const third = await rollback(cluster, {}, { runId: '4242' });
    expect(third.stdout).toContain(
      'An earlier attempt of this run rolled back to revision 2, but it no longer serves',
    );
    expect(third.outputs).toMatchObject({ result: 'rolled-back', 'to-revision': '2' });
    expect(liveImage('gateway')).toBe(`ghcr.io/dreamscape/gateway@${digest('gateway', 'v2')}`);
    // A new run asking for the previous release is a second rollback: further back, to v1.
    const second = await rollback(cluster, {}, { runId: '4243' });
    expect(second.outputs.result).toBe('rolled-back');
    expect(liveImage('gateway')).toBe(`ghcr.io/dreamscape/gateway@${digest('gateway', 'v1')}`);
  }, 300_000);

  it('rolling back to what is live answers already-current and writes nothing', async () => {
    await deployVersion('v1');
    await deployVersion('v2');
    cluster.double.clearLogs();
    const same = await rollback(cluster, { to: '2' });
    expect(same.errors).toEqual([]);
    expect(same.outputs.result).toBe('already-current');
    expect(realWrites(cluster.double)).toEqual([]);
  }, 300_000);
});

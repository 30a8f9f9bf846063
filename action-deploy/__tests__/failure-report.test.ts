import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JsonObject } from '@dreamscape/kube-double';
import {
  buildRecords,
  deploy,
  digest,
  healthChecks,
  realWrites,
  releaseRecords,
  runKubectl,
  replicasOf,
  serviceColors,
  SERVICES,
  startCluster,
  type ActionRunResult,
  type ExampleCluster,
} from '@dreamscape/testkit';

// When a release fails, the log and the job summary say why, as the cluster said it right after:
// the candidate's conditions, its pods' container states and the events (or a failed check's last
// answers). Every object the deploy writes names the run that put it there, with values a second
// identical deploy leaves as they are.

const NS = 'dreamscape-dev';
const RUN = { GITHUB_WORKFLOW_REF: 'dreamscape/platform/.github/workflows/deploy.yml@refs/heads/main' };
const RUN_URL = 'https://github.com/dreamscape/platform/actions/runs/100';

let cluster: ExampleCluster;
beforeAll(async () => {
  cluster = await startCluster([
    { image: `*@${digest('voyage', 'v2')}`, pull: 'fail' },
    {
      image: `*@${digest('payment', 'v3')}`,
      crash: { exitCode: 3, message: 'DATABASE_URL is not set', after: '300ms' },
    },
    {
      image: `*@${digest('auth', 'v4')}`,
      ready: '1s',
      http: { '/health': { status: 503, body: '{"status":"down","db":"connection refused"}' } },
    },
    { image: '*', ready: '1s' },
  ]);
  const v1 = await release('v1', { runId: '100' });
  expect(v1.outputs.result).toBe('promoted');
}, 180_000);
afterAll(async () => {
  expect(cluster.double.violations()).toEqual([]);
  await cluster.double.close();
});

function release(version: string, o: { runId: string; rolloutTimeout?: string }): Promise<ActionRunResult> {
  return deploy(
    cluster,
    {
      images: buildRecords(version),
      'health-checks': healthChecks(),
      'rollout-timeout': o.rolloutTimeout ?? '30s',
    },
    { runId: o.runId, env: RUN },
  );
}

const meta = (o: JsonObject): JsonObject => o.metadata as JsonObject;

function object(resource: string, name: string): JsonObject | undefined {
  return cluster.double.objects(resource, NS).find((o) => meta(o).name === name);
}

function annotations(o: JsonObject | undefined): Record<string, string> {
  return ((o === undefined ? undefined : meta(o).annotations) ?? {}) as Record<string, string>;
}

/** The lines of the log's "Why it failed" group. */
function whyGroup(r: ActionRunResult): string {
  const start = r.stdout.indexOf('::group::Why it failed');
  expect(start).toBeGreaterThan(-1);
  return r.stdout.slice(start, r.stdout.indexOf('::endgroup::', start));
}

/** The job summary's "Why it failed" section. */
function whySection(r: ActionRunResult): string {
  const start = r.summary.indexOf('#### Why it failed');
  expect(start).toBeGreaterThan(-1);
  return r.summary.slice(start);
}

function allOnBlueAtV1(): void {
  const colors = serviceColors(cluster.double);
  for (const s of SERVICES) expect([s, colors[s]]).toEqual([s, 'blue']);
  const image = (
    ((object('deployments', 'voyage-blue')?.spec as JsonObject).template as JsonObject).spec as JsonObject
  ).containers as JsonObject[];
  expect(image[0]?.image).toContain(digest('voyage', 'v1'));
  // The live color was not written: it still names the release that put it there.
  expect(annotations(object('deployments', 'voyage-blue'))['dreamscape.io/revision']).toBe('1');
}

describe('provenance', () => {
  it('every object the deploy applied names the repository, workflow, run, commit and revision; pods are not touched by it', () => {
    const applied = [
      'deployments',
      'services',
      'configmaps',
      'horizontalpodautoscalers',
      'poddisruptionbudgets',
    ]
      .flatMap((r) => cluster.double.objects(r, NS))
      .filter((o) =>
        ((meta(o).managedFields ?? []) as JsonObject[]).some(
          (f) => f.manager === 'dreamscape' && f.operation === 'Apply',
        ),
      );
    expect(applied.length).toBeGreaterThan(14);
    for (const o of applied) {
      const id = `${o.kind as string}/${meta(o).name as string}`;
      expect([id, annotations(o)]).toEqual([
        id,
        expect.objectContaining({
          'dreamscape.io/repository': 'dreamscape/platform',
          'dreamscape.io/workflow': '.github/workflows/deploy.yml',
          'dreamscape.io/run-url': RUN_URL,
          'dreamscape.io/commit': 'c0ffee0000000000000000000000000000000000',
          'dreamscape.io/revision': '1',
        }),
      ]);
    }
    const template = (object('deployments', 'gateway-blue')?.spec as JsonObject).template as JsonObject;
    expect(JSON.stringify(template)).not.toContain('dreamscape.io/run-url');
  });

  it("answers the README's kubectl commands for 'which run put this here'", async () => {
    const columns = await runKubectl(
      [
        '-n',
        NS,
        'get',
        'deploy',
        '-l',
        'dreamscape.io/app=dreamscape',
        '-o',
        'custom-columns=NAME:.metadata.name,REVISION:.metadata.annotations.dreamscape\\.io/revision,COMMIT:.metadata.annotations.dreamscape\\.io/commit,RUN:.metadata.annotations.dreamscape\\.io/run-url',
      ],
      { kubeconfig: cluster.double.kubeconfigPath },
    );
    expect(columns.stderr).toBe('');
    expect(columns.stdout).toMatch(
      new RegExp(`^gateway-blue\\s+1\\s+c0ffee0{34}\\s+${RUN_URL.replace(/[./]/g, '\\$&')}$`, 'm'),
    );
    const one = await runKubectl(
      [
        '-n',
        NS,
        'get',
        'svc',
        'gateway',
        '-o',
        'jsonpath={.metadata.annotations.dreamscape\\.io/run-url}{"\\n"}',
      ],
      { kubeconfig: cluster.double.kubeconfigPath },
    );
    expect(one.stdout).toBe(`${RUN_URL}\n`);
  });

  it("a plan's server-side diff shows what a release changes, not the annotations every release rewrites", async () => {
    const plan = await deploy(
      cluster,
      { images: buildRecords('v1'), 'health-checks': healthChecks(), mode: 'plan' },
      { runId: '105', env: RUN },
    );
    expect(plan.outputs.result).toBe('planned');
    expect(plan.outputs.plan).toMatch(/Server-side diff/);
    expect(plan.outputs.plan).toMatch(
      /diff v1 Service dreamscape-dev\/gateway|\(no changes\)|diff apps\/v1 Deployment/,
    );
    expect(plan.outputs.plan).not.toMatch(/dreamscape\.io\/(run-url|commit|repository|workflow)/);
  });

  it('a second identical deploy, from another run, writes nothing but its lock', async () => {
    cluster.double.clearLogs();
    const again = await release('v1', { runId: '101' });
    expect(again.outputs.result).toBe('promoted');
    const changed = realWrites(cluster.double).filter((w) => w.changed);
    expect(changed.map((w) => w.kind).filter((k) => k !== 'Lease')).toEqual([]);
    expect(annotations(object('deployments', 'gateway-blue'))['dreamscape.io/run-url']).toBe(RUN_URL);
  }, 180_000);
});

describe('a release that fails says why', () => {
  // The rollout waits 15 s of real time: the pull fails and the crash loop begins well under a
  // second after the pod starts, so a loaded machine still shows both states before the timeout.
  it('a candidate stuck in image pull: ImagePullBackOff and the kubelet events, live color untouched', async () => {
    const r = await release('v2', { runId: '102', rolloutTimeout: '15s' });
    expect(r.outputs.result).toBe('failed');
    expect(r.errors.join('\n')).toMatch(/voyage-green timeout/);
    const why = whySection(r);
    expect(why).toContain('**Deployment `voyage-green`**: 0 of 1 available');
    expect(why).toContain('**ImagePullBackOff**');
    expect(why).toContain(`Back-off pulling image "ghcr.io/dreamscape/voyage@${digest('voyage', 'v2')}"`);
    const group = whyGroup(r);
    expect(group).toMatch(
      /^::group::Why it failed: Deployment voyage-green: (ImagePullBackOff|ErrImagePull)/,
    );
    expect(group).toMatch(
      /Warning Failed Pod\/voyage-green-\S+ .*from kubelet: Failed to pull image "ghcr\.io\/dreamscape\/voyage@/,
    );
    expect(group).toMatch(/Normal BackOff Pod\/voyage-green-\S+ .*from kubelet: Back-off pulling image/);
    allOnBlueAtV1();
    expect(replicasOf(cluster.double, 'voyage-green')).toBe(0);
    // The candidate it wrote names this release.
    expect(annotations(object('deployments', 'voyage-green'))).toMatchObject({
      'dreamscape.io/revision': '2',
      'dreamscape.io/run-url': 'https://github.com/dreamscape/platform/actions/runs/102',
    });
  }, 180_000);

  it('a candidate in a crash loop: CrashLoopBackOff with its exit code and termination message', async () => {
    const r = await release('v3', { runId: '103', rolloutTimeout: '15s' });
    expect(r.outputs.result).toBe('failed');
    const why = whySection(r);
    expect(why).toContain('**Deployment `payment-green`**');
    expect(why).toContain('**CrashLoopBackOff**');
    expect(why).toMatch(/\| exit code 3 Error: DATABASE\\_URL is not set \|/);
    const group = whyGroup(r);
    expect(group).toContain('last exit: code 3 Error');
    expect(group).toContain('message: DATABASE_URL is not set');
    expect(group).toMatch(
      /Warning BackOff Pod\/payment-green-\S+ (\(x\d+\) )?from kubelet: Back-off restarting failed container payment/,
    );
    allOnBlueAtV1();
    expect(replicasOf(cluster.double, 'payment-green')).toBe(0);
  }, 180_000);

  it("a failing pre-switch gate: the check's last answers, status and body, and the candidate's events", async () => {
    const r = await release('v4', { runId: '104' });
    expect(r.outputs.result).toBe('failed');
    expect(r.errors.join('\n')).toMatch(/pre-switch health gates failed: auth/);
    const why = whySection(r);
    expect(why).toContain('**Health check `auth`** (pre-switch, service auth-preview:http/health)');
    expect(why).toMatch(
      /\| \d\d:\d\d:\d\d \| 503 \| \d+ ms \| \{"status":"down","db":"connection refused"\} \|/,
    );
    expect(why).toMatch(/\*\*Deployment `auth-green`\*\*: (\d+) of \1 available/);
    const group = whyGroup(r);
    expect(group).toMatch(/^::group::Why it failed: health check auth: HTTP 503/);
    expect(group).toMatch(/HTTP 503 in \d+ ms: \{"status":"down","db":"connection refused"\}/);
    expect(group).toMatch(
      /Normal ScalingReplicaSet Deployment\/auth-green .*from deployment-controller: Scaled up replica set auth-green-/,
    );
    allOnBlueAtV1();
    const record = releaseRecords(cluster.double)[0];
    expect(record).toMatchObject({ revision: 4, result: 'failed' });
  }, 180_000);
});

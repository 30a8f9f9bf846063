import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JsonObject } from '@dreamscape/kube-double';
import {
  deploy,
  digest,
  MIXED_NAMESPACE,
  mixedImages,
  releaseRecords,
  rollback,
  serviceColors,
  startCluster,
  type ActionRunResult,
  type ExampleCluster,
} from '@dreamscape/testkit';

// Pre-deploy Jobs (a database migration) run after the shared objects and before the candidate comes
// up; post-deploy Jobs after the release is verified. Marked in a kustomize overlay by our annotation.

const NS = MIXED_NAMESPACE;
const OVERLAY = 'action-deploy/__tests__/fixtures/hook-jobs-overlay';
const CHECKS =
  '- name: web\n  service: web\n  port: http\n  path: /health\n  interval: 100ms\n  successes: 2';

let cluster: ExampleCluster;
beforeAll(async () => {
  cluster = await startCluster([
    {
      image: `*@${digest('migrate', 'v-bad')}`,
      exitCode: 1,
      duration: '300ms',
      logs: [
        'connecting to postgres://db:5432/shop',
        'applying 0007_add_orders_index',
        'ERROR: relation "orders" does not exist',
      ],
    },
    { image: `*@${digest('smoke', 'v-bad')}`, exitCode: 2, duration: '200ms', logs: ['GET /checkout: 500'] },
    { image: `*@${digest('migrate', 'v-slow')}`, exitCode: 0, duration: '4s', logs: ['migrating slowly'] },
    {
      image: `*@${digest('migrate', 'v-slower')}`,
      exitCode: 0,
      duration: '10s',
      logs: ['migrating a big table'],
    },
    { image: '*migrate@*', exitCode: 0, duration: '300ms', logs: ['migrations applied'] },
    { image: '*', ready: '200ms', exitCode: 0, duration: '200ms' },
  ]);
});
afterAll(async () => {
  await cluster.double.close();
});

/** The `images` input: the application at `version`, the migration and the smoke test at theirs. */
function images(version: string, migrate = version, smoke = version): string {
  return [
    mixedImages(version),
    `ghcr.io/shop/migrate=ghcr.io/shop/migrate@${digest('migrate', migrate)}`,
    `ghcr.io/shop/smoke=ghcr.io/shop/smoke@${digest('smoke', smoke)}`,
  ].join('\n');
}

function release(imagesInput: string, extra: Record<string, string> = {}): Promise<ActionRunResult> {
  return deploy(cluster, {
    overlay: OVERLAY,
    app: 'shop',
    images: imagesInput,
    'health-checks': CHECKS,
    'verify-window': '300ms',
    ...extra,
  });
}

function jobs(): Map<string, JsonObject> {
  return new Map(
    cluster.double.objects('jobs', NS).map((j) => [(j.metadata as JsonObject).name as string, j]),
  );
}

function condition(job: JsonObject | undefined): string | undefined {
  const conditions = ((job?.status as JsonObject | undefined)?.conditions ?? []) as JsonObject[];
  return conditions.find((c) => c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed'))
    ?.type as string | undefined;
}

function webImage(color: string): string {
  const d = cluster.double
    .objects('deployments', NS)
    .find((x) => (x.metadata as JsonObject).name === `web-${color}`);
  const spec = ((d?.spec as JsonObject | undefined)?.template as JsonObject | undefined)?.spec as
    JsonObject | undefined;
  return ((spec?.containers as JsonObject[] | undefined)?.[0]?.image as string | undefined) ?? '';
}

describe('pre-deploy and post-deploy Jobs of an overlay', () => {
  it('v1: the migration runs to completion before the candidate, the smoke Job after the release', async () => {
    const r = await release(images('v1'));
    expect(r.errors).toEqual([]);
    expect(r.outputs.result).toBe('promoted');
    const all = jobs();
    expect(condition(all.get('migrate-r1'))).toBe('Complete');
    expect(condition(all.get('smoke-r1'))).toBe('Complete');
    // Never applied under its own name, never colored.
    expect(all.has('migrate')).toBe(false);
    expect(
      ((all.get('migrate-r1')?.metadata as JsonObject).labels as JsonObject)['dreamscape.io/color'],
    ).toBeUndefined();
    // The migration finished before the candidate existed.
    const log = r.stdout;
    expect(log.indexOf('Job migrate-r1 completed')).toBeGreaterThan(-1);
    expect(log.indexOf('Job migrate-r1 completed')).toBeLessThan(log.indexOf('Applied '));
    expect(r.summary).toMatch(/\| `migrate-r1` \| pre-deploy \| ✅ succeeded \|/);
    expect(r.summary).toMatch(/\| `smoke-r1` \| post-deploy \| ✅ succeeded \|/);
    const record = releaseRecords(cluster.double, NS).find((x) => x.revision === 1);
    expect(record?.jobs?.map((j) => `${j.job}:${j.result}`)).toEqual([
      'migrate-r1:succeeded',
      'smoke-r1:succeeded',
    ]);
  }, 180_000);

  it('v2 whose migration fails: the release fails before the candidate comes up, live untouched, the log tail shown', async () => {
    const r = await release(images('v2', 'v-bad'));
    expect(r.outputs.result).toBe('failed');
    expect(r.errors.join('\n')).toMatch(/pre-deploy Job migrate-r2 failed/);
    expect(serviceColors(cluster.double, NS)).toMatchObject({ web: 'blue', api: 'blue' });
    expect(webImage('blue')).toContain(digest('web', 'v1'));
    // The candidate was never brought up with v2.
    expect(webImage('green')).not.toContain(digest('web', 'v2'));
    expect(condition(jobs().get('migrate-r2'))).toBe('Failed');
    expect(jobs().has('smoke-r2')).toBe(false);
    // The pod's last lines, in the log (prefixed, never a workflow command) and the summary.
    expect(r.stdout).toContain('  | ERROR: relation "orders" does not exist');
    expect(r.summary).toContain('ERROR: relation "orders" does not exist');
    expect(r.summary).toMatch(/\| `migrate-r2` \| pre-deploy \| ❌ failed \|/);
  }, 180_000);

  it('v3: a migration that succeeds again releases to green; earlier revisions of the Job are removed', async () => {
    const r = await release(images('v3'));
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({ result: 'promoted', 'active-color': 'green' });
    const names = [...jobs().keys()].sort();
    expect(names).toEqual(['migrate-r3', 'smoke-r3']);
  }, 180_000);

  it('v4 whose post-deploy Job fails: reported by default, switched back when asked', async () => {
    const reported = await release(images('v4', 'v4', 'v-bad'));
    expect(reported.outputs).toMatchObject({ result: 'promoted', 'active-color': 'blue' });
    expect(reported.stdout).toMatch(/::warning::post-deploy Job smoke-r4 failed/);
    expect(reported.summary).toContain('GET /checkout: 500');

    const back = await release(images('v5', 'v5', 'v-bad'), { 'post-deploy-failure': 'switch-back' });
    expect(back.outputs.result).toBe('rolled-back');
    expect(back.errors.join('\n')).toMatch(/post-deploy Job smoke-r5 failed/);
    expect(serviceColors(cluster.double, NS)).toMatchObject({ web: 'blue', api: 'blue' });
    expect(webImage('blue')).toContain(digest('web', 'v4'));
  }, 240_000);

  it('a rollback re-applies the recorded manifest without running its Jobs', async () => {
    const before = jobs().size;
    const r = await rollback(cluster, { app: 'shop', 'health-checks': CHECKS });
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({ result: 'rolled-back', 'to-revision': '3', 'active-color': 'green' });
    expect(r.stdout).toMatch(/Jobs of this manifest \(migrate\) are not run by a rollback/);
    expect(jobs().size).toBe(before);
  }, 180_000);

  it('killed while its migration runs, the same deploy run again waits for the same Job: the migration runs once', async () => {
    const revision = Math.max(...releaseRecords(cluster.double, NS).map((r) => r.revision)) + 1;
    const job = `migrate-r${String(revision)}`;
    const inputs = {
      overlay: OVERLAY,
      app: 'shop',
      images: images('v7', 'v-slow'),
      'health-checks': CHECKS,
      'verify-window': '300ms',
    };
    const killed = await deploy(cluster, inputs, {
      runId: 'kill-migrate',
      killWhen: {
        signal: 'SIGKILL',
        when: () => jobs().has(job) && condition(jobs().get(job)) === undefined,
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    const again = await deploy(cluster, inputs, { runId: 'kill-migrate' });
    expect(again.errors).toEqual([]);
    expect(again.outputs.result).toBe('promoted');
    expect(again.stdout).toContain(`Resuming revision ${String(revision)}`);
    expect(condition(jobs().get(job))).toBe('Complete');
    expect(jobPods(job)).toBe(1);
  }, 180_000);
  it('a different release after a kill waits for the migration the killed run left running: never two at once', async () => {
    const revision = Math.max(...releaseRecords(cluster.double, NS).map((r) => r.revision)) + 1;
    const job = `migrate-r${String(revision)}`;
    const killed = await deploy(
      cluster,
      {
        overlay: OVERLAY,
        app: 'shop',
        images: images('v8', 'v-slower'),
        'health-checks': CHECKS,
        'verify-window': '300ms',
        // A lease the next run may take over soon after the kill.
        'lock-ttl': '3s',
      },
      {
        runId: 'kill-migrate-2',
        killWhen: {
          signal: 'SIGKILL',
          when: () => jobs().has(job) && condition(jobs().get(job)) === undefined,
        },
      },
    );
    expect(killed.signal).toBe('SIGKILL');
    const next = await release(images('v9'));
    expect(next.errors).toEqual([]);
    expect(next.outputs.result).toBe('promoted');
    const log = next.stdout;
    const waited = log.indexOf(
      `Job ${job}, started by an earlier run of revision ${String(revision)}, is still running`,
    );
    const ended = log.indexOf(`Job ${job} of an earlier run ended (completed)`);
    const created = log.indexOf(`pre-deploy Job migrate-r${String(revision + 1)} created`);
    expect(waited).toBeGreaterThan(-1);
    expect(ended).toBeGreaterThan(waited);
    expect(created).toBeGreaterThan(ended);
    // Removed only once it had ended, after this revision's migration succeeded.
    expect(jobs().has(job)).toBe(false);
    expect(condition(jobs().get(`migrate-r${String(revision + 1)}`))).toBe('Complete');
  }, 180_000);
});

function jobPods(job: string): number {
  return cluster.double
    .objects('pods', NS)
    .filter(
      (p) =>
        ((p.metadata as JsonObject).labels as JsonObject | undefined)?.['batch.kubernetes.io/job-name'] ===
        job,
    ).length;
}

describe('pre-deploy Jobs of a rolling release', () => {
  let rollingCluster: ExampleCluster;
  beforeAll(async () => {
    rollingCluster = await startCluster([
      {
        image: `*@${digest('migrate', 'v-bad')}`,
        exitCode: 1,
        duration: '300ms',
        logs: ['ERROR: lock timeout'],
      },
      { image: '*', ready: '200ms', exitCode: 0, duration: '200ms' },
    ]);
  });
  afterAll(async () => {
    await rollingCluster.double.close();
  });

  function rolling(version: string, migrate = version): Promise<ActionRunResult> {
    return deploy(rollingCluster, {
      overlay: OVERLAY,
      app: 'shop',
      strategy: 'rolling',
      images: images(version, migrate),
      'verify-window': '300ms',
    });
  }

  function deploymentImage(name: string): string {
    const d = rollingCluster.double
      .objects('deployments', NS)
      .find((x) => (x.metadata as JsonObject).name === name);
    const spec = ((d?.spec as JsonObject).template as JsonObject).spec as JsonObject;
    return ((spec.containers as JsonObject[])[0]?.image as string | undefined) ?? '';
  }

  it('a failed migration changes no workload, and the previous release gets its configuration back', async () => {
    const first = await rolling('v1');
    expect(first.errors).toEqual([]);
    expect(first.outputs.result).toBe('promoted');
    const failed = await rolling('v2', 'v-bad');
    expect(failed.outputs.result).toBe('failed');
    expect(failed.errors.join('\n')).toMatch(
      /pre-deploy Job migrate-r2 failed: .*; the configuration of revision 1 was applied again/,
    );
    expect(deploymentImage('web')).toContain(digest('web', 'v1'));
    expect(deploymentImage('worker')).toContain(digest('worker', 'v1'));
    expect(rollingCluster.double.violations()).toEqual([]);
  }, 180_000);
});

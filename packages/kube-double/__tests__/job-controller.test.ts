import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import { failed, kubectlFor, namespace, ok, yaml, type Kubectl } from './support/manifests.js';

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({
    timeScale: 20,
    namespaces: ['jobs'],
    behaviours: [
      { image: 'migrate:ok', duration: '2s' },
      { image: 'migrate:broken', exitCode: 3, duration: '1s' },
      { image: 'migrate:slow', duration: '10m' },
    ],
  });
  k = kubectlFor(double);
});

afterAll(async () => {
  expect(double.errors()).toEqual([]);
  await double.close();
});

const meta = (o: JsonObject): JsonObject => o.metadata as JsonObject;

function job(
  name: string,
  image: string,
  spec: Record<string, unknown> = {},
  restartPolicy = 'Never',
): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'jobs' },
    spec: {
      backoffLimit: 2,
      ...spec,
      template: { spec: { restartPolicy, containers: [{ name: 'migrate', image }] } },
    },
  };
}

async function apply(manifest: Record<string, unknown>): Promise<void> {
  ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(manifest) }));
}

async function jobJson(name: string): Promise<JsonObject> {
  return JSON.parse(ok(await k(['get', 'job', name, '-n', 'jobs', '-o', 'json']))) as JsonObject;
}

function podsOf(name: string): JsonObject[] {
  return double
    .objects('pods', 'jobs')
    .filter((p) => (meta(p).labels as JsonObject | undefined)?.['batch.kubernetes.io/job-name'] === name);
}

describe('Job', () => {
  it('runs to Complete: kubectl wait --for=condition=complete, generated selector, a Succeeded pod', async () => {
    await apply(job('migrate', 'migrate:ok'));
    expect(
      ok(await k(['wait', '--for=condition=complete', 'job/migrate', '-n', 'jobs', '--timeout=60s'])),
    ).toContain('job.batch/migrate condition met');
    const live = await jobJson('migrate');
    const spec = live.spec as JsonObject;
    const uid = meta(live).uid as string;
    expect(spec.selector).toEqual({ matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
    expect(((spec.template as JsonObject).metadata as JsonObject).labels).toEqual({
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': 'migrate',
      'controller-uid': uid,
      'job-name': 'migrate',
    });
    const status = live.status as JsonObject;
    expect(status.succeeded).toBe(1);
    expect(status.active).toBeUndefined();
    expect(typeof status.completionTime).toBe('string');
    expect((status.conditions as JsonObject[]).map((c) => [c.type, c.status, c.reason])).toEqual([
      ['SuccessCriteriaMet', 'True', 'CompletionsReached'],
      ['Complete', 'True', 'CompletionsReached'],
    ]);
    const [pod] = podsOf('migrate');
    expect((pod?.status as JsonObject).phase).toBe('Succeeded');
    const terminated = ((pod?.status as JsonObject).containerStatuses as JsonObject[])[0]
      ?.state as JsonObject;
    expect(terminated.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(ok(await k(['get', 'job', 'migrate', '-n', 'jobs', '--no-headers']))).toMatch(
      /^migrate\s+Complete\s+1\/1\s+/,
    );
    expect(ok(await k(['logs', 'job/migrate', '-n', 'jobs']))).toContain(
      'container migrate exited with code 0',
    );
  });

  it('fails after backoffLimit failed pods (restartPolicy Never), and says so', async () => {
    await apply(job('broken', 'migrate:broken'));
    expect(
      ok(await k(['wait', '--for=condition=failed', 'job/broken', '-n', 'jobs', '--timeout=60s'])),
    ).toContain('job.batch/broken condition met');
    const status = (await jobJson('broken')).status as JsonObject;
    expect(status.failed).toBe(3);
    expect(status.succeeded).toBeUndefined();
    expect((status.conditions as JsonObject[]).map((c) => [c.type, c.reason])).toEqual([
      ['FailureTarget', 'BackoffLimitExceeded'],
      ['Failed', 'BackoffLimitExceeded'],
    ]);
    expect(podsOf('broken').map((p) => (p.status as JsonObject).phase)).toEqual([
      'Failed',
      'Failed',
      'Failed',
    ]);
    const stuck = await k(['wait', '--for=condition=complete', 'job/broken', '-n', 'jobs', '--timeout=1s']);
    expect(stuck.exitCode).toBe(1);
    const events = ok(
      await k(['get', 'events', '-n', 'jobs', '--field-selector', 'involvedObject.name=broken']),
    );
    expect(events).toContain('Job has reached the specified backoff limit');
  });

  it('counts container restarts against backoffLimit under restartPolicy OnFailure', async () => {
    await apply(job('restarts', 'migrate:broken', {}, 'OnFailure'));
    ok(await k(['wait', '--for=condition=failed', 'job/restarts', '-n', 'jobs', '--timeout=60s']));
    const status = (await jobJson('restarts')).status as JsonObject;
    expect((status.conditions as JsonObject[]).at(-1)?.reason).toBe('BackoffLimitExceeded');
    // One pod, restarted in place; it is removed once the Job fails.
    expect(podsOf('restarts')).toEqual([]);
  });

  it('ends at activeDeadlineSeconds (simulated time) with DeadlineExceeded', async () => {
    await apply(job('deadline', 'migrate:slow', { activeDeadlineSeconds: 20 }));
    ok(await k(['wait', '--for=condition=failed', 'job/deadline', '-n', 'jobs', '--timeout=60s']));
    const status = (await jobJson('deadline')).status as JsonObject;
    expect((status.conditions as JsonObject[]).map((c) => [c.type, c.reason, c.message])).toContainEqual([
      'Failed',
      'DeadlineExceeded',
      'Job was active longer than specified deadline',
    ]);
    expect(podsOf('deadline')).toEqual([]);
  });

  it('is deleted ttlSecondsAfterFinished after it finished, with its pods', async () => {
    // The Job's whole life is read from the store's changes: a kubectl started after the apply may
    // come after the TTL on a loaded machine (20 s is one real second here).
    const life: string[] = [];
    const deleted = new Promise<void>((resolve) => {
      const stop = double.api.store.subscribe((change) => {
        const meta = change.object.metadata as JsonObject;
        if (change.resourceType.kind !== 'Job' || meta.name !== 'ephemeral') return;
        const conditions = ((change.object.status as JsonObject | undefined)?.conditions ??
          []) as JsonObject[];
        const complete = conditions.some((c) => c.type === 'Complete' && c.status === 'True');
        const state = change.type === 'DELETED' ? 'deleted' : complete ? 'complete' : 'running';
        if (life.at(-1) !== state) life.push(state);
        if (change.type === 'DELETED') {
          stop();
          resolve();
        }
      });
    });
    await apply(job('ephemeral', 'migrate:ok', { ttlSecondsAfterFinished: 20 }));
    await deleted;
    expect(life).toEqual(['running', 'complete', 'deleted']);
    await double.settle();
    expect(podsOf('ephemeral')).toEqual([]);
    expect(failed(await k(['get', 'job/ephemeral', '-n', 'jobs']))).toContain('NotFound');
  });

  it('runs completions with parallelism', async () => {
    await apply(job('batch', 'migrate:ok', { completions: 4, parallelism: 2 }));
    ok(await k(['wait', '--for=condition=complete', 'job/batch', '-n', 'jobs', '--timeout=60s']));
    expect(((await jobJson('batch')).status as JsonObject).succeeded).toBe(4);
    expect(podsOf('batch')).toHaveLength(4);
  });

  it('refuses what the real server refuses', async () => {
    expect(
      failed(
        await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(job('always', 'x', {}, 'Always')) }),
      ),
    ).toContain('spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"');
    const changed = job('migrate', 'migrate:other');
    expect(failed(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(changed) }))).toContain(
      'The Job "migrate" is invalid: spec.template: Invalid value:',
    );
  });
});

describe('CronJob', () => {
  it('is stored and never scheduled; a bad schedule is refused', async () => {
    await apply({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: 'jobs' },
      spec: {
        schedule: '* * * * *',
        jobTemplate: {
          spec: {
            template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'c:1' }] } },
          },
        },
      },
    });
    await double.settle();
    const live = JSON.parse(ok(await k(['get', 'cj', 'nightly', '-n', 'jobs', '-o', 'json']))) as JsonObject;
    expect((live.spec as JsonObject).concurrencyPolicy).toBe('Allow');
    expect(
      double.objects('jobs', 'jobs').filter((j) => (meta(j).name as string).startsWith('nightly')),
    ).toEqual([]);
    const bad = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'bad', namespace: 'jobs' },
      spec: {
        schedule: 'every day',
        jobTemplate: {
          spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'c:1' }] } } },
        },
      },
    };
    expect(failed(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(bad) }))).toContain(
      'The CronJob "bad" is invalid: spec.schedule: Invalid value: "every day": expected exactly 5 fields, found 2: [every day]',
    );
  });
});

describe('namespace', () => {
  it('lets a Job run in a namespace made by the same apply', async () => {
    const manifest = job('fresh', 'migrate:ok');
    (manifest.metadata as Record<string, unknown>).namespace = 'fresh-jobs';
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(namespace('fresh-jobs'), manifest) }));
    ok(await k(['wait', '--for=condition=complete', 'job/fresh', '-n', 'fresh-jobs', '--timeout=60s']));
  });
});

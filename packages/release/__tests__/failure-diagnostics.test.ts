import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '@dreamscape/core';
import type { KubeObject } from '@dreamscape/kube';
import {
  collectFailureReport,
  DEFAULT_DIAGNOSTICS_LIMITS,
  explainFailure,
  type ClusterApi,
  type FailureReport,
  workloadReasons,
  type WorkloadReport,
} from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// The report of why a step failed, read through the API client from a double whose images cannot
// be pulled, crash, or fail their Job: what a person on call would otherwise run kubectl for.

const NS = 'shop';
let cluster: TestCluster;

function deployment(name: string, image: string, replicas = 1): KubeObject {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels },
    spec: {
      replicas,
      progressDeadlineSeconds: 30,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

beforeAll(async () => {
  cluster = await startTestCluster({
    timeScale: 60,
    behaviours: [
      { image: 'shop/web:typo', pull: 'fail' },
      { image: 'shop/api:2', crash: { exitCode: 3, message: 'DATABASE_URL is not set', after: '2s' } },
      {
        image: 'shop/migrate:bad',
        exitCode: 2,
        duration: '1s',
        logs: ['ERROR: relation "orders" does not exist'],
      },
      { image: '*', ready: '1s' },
    ],
  });
  await cluster.api.applyServerSide([
    deployment('web', 'shop/web:typo', 5),
    deployment('api', 'shop/api:2'),
    deployment('cart', 'shop/cart:1'),
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate-r2', namespace: NS },
      spec: {
        backoffLimit: 0,
        template: {
          spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'shop/migrate:bad' }] },
        },
      },
    },
  ]);
  // Until every one is in the state a failed step would find it in.
  await until(async () => {
    const r = await report();
    return (
      workloadReasons(workload(r, 'web')).includes('ImagePullBackOff') &&
      workloadReasons(workload(r, 'api')).includes('CrashLoopBackOff') &&
      workload(r, 'migrate-r2').conditions.some((c) => c.type === 'Failed' && c.status === 'True')
    );
  });
});

afterAll(async () => {
  await cluster.close();
});

function report(limits = DEFAULT_DIAGNOSTICS_LIMITS): Promise<FailureReport> {
  return collectFailureReport(
    cluster.api,
    NS,
    {
      message: 'green did not become available',
      workloads: [
        { kind: 'Deployment', name: 'web' },
        { kind: 'Deployment', name: 'api' },
        { kind: 'Job', name: 'migrate-r2' },
        { kind: 'Deployment', name: 'gone' },
      ],
    },
    limits,
  );
}

function workload(r: FailureReport, name: string): WorkloadReport {
  const w = r.workloads.find((x) => x.name === name);
  if (w === undefined) throw new Error(`no ${name} in the report`);
  return w;
}

describe('collectFailureReport', () => {
  it('reads an image that cannot be pulled: container waiting reason, the kubelet events, at most 3 of its 5 pods', async () => {
    const web = workload(await report(), 'web');
    expect(web).toMatchObject({ kind: 'Deployment', found: true, podsNotReady: 5, podsTotal: 5 });
    expect(web.status).toMatch(/^0 of 5 available/);
    expect(web.pods).toHaveLength(3);
    const [pod] = web.pods;
    expect(pod?.phase).toBe('Pending');
    // The kubelet tries again on its back-off: the container waits in one reason or the other.
    expect(pod?.containers[0]).toMatchObject({
      name: 'app',
      state: 'waiting',
      restartCount: 0,
      ready: false,
    });
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(pod?.containers[0]?.reason);
    expect(pod?.containers[0]?.message).toContain('shop/web:typo');
    // In words a person would search for, the container's first.
    expect(workloadReasons(web)[0]).toMatch(/^(ErrImagePull|ImagePullBackOff)$/);
    expect(workloadReasons(web)).toEqual(
      expect.arrayContaining(['ImagePullBackOff', 'MinimumReplicasUnavailable']),
    );
    expect(pod?.events.map((e) => `${e.type} ${e.reason} ${e.source}`)).toEqual(
      expect.arrayContaining(['Normal Pulling kubelet', 'Warning Failed kubelet', 'Normal BackOff kubelet']),
    );
    expect(pod?.events.find((e) => e.message.startsWith('Failed to pull image'))?.object).toBe(
      `Pod/${pod?.name ?? ''}`,
    );
    // The Deployment's own events and its ReplicaSet's: scaled up, pods created.
    expect(web.events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['ScalingReplicaSet', 'SuccessfulCreate']),
    );
    expect(web.conditions.find((c) => c.type === 'Available')).toMatchObject({
      status: 'False',
      reason: 'MinimumReplicasUnavailable',
    });
  });

  it('reads a crash loop: the last exit code, reason and termination message, and the restarts', async () => {
    const api = workload(await report(), 'api');
    const container = api.pods[0]?.containers[0];
    // Waiting in CrashLoopBackOff, or running again for a moment; its last exit is there either way.
    expect(workloadReasons(api)).toContain('CrashLoopBackOff');
    expect(container?.restartCount).toBeGreaterThanOrEqual(1);
    expect(container?.lastTermination).toMatchObject({
      exitCode: 3,
      reason: 'Error',
      message: 'DATABASE_URL is not set',
    });
    expect(api.pods[0]?.events.some((e) => e.reason === 'BackOff' && e.type === 'Warning')).toBe(true);
  });

  it("reads a failed Job: its conditions, its events and its pod's exit", async () => {
    const job = workload(await report(), 'migrate-r2');
    expect(job.status).toBe('0 active, 0 succeeded, 1 failed');
    expect(job.conditions.find((c) => c.type === 'Failed')).toMatchObject({
      status: 'True',
      reason: 'BackoffLimitExceeded',
    });
    expect(job.events.map((e) => e.reason)).toContain('BackoffLimitExceeded');
    expect(job.pods[0]?.containers[0]).toMatchObject({ state: 'terminated', reason: 'Error' });
  });

  it('says a workload is not there rather than failing', async () => {
    expect(workload(await report(), 'gone')).toMatchObject({ found: false, status: 'not found', pods: [] });
  });

  it('keeps the last events of each object, messages cut', async () => {
    const r = await report({
      ...DEFAULT_DIAGNOSTICS_LIMITS,
      eventsPerObject: 2,
      messageChars: 20,
      podsPerWorkload: 1,
    });
    const web = workload(r, 'web');
    expect(web.pods).toHaveLength(1);
    expect(web.events.length).toBeLessThanOrEqual(2);
    expect(web.pods[0]?.events.length).toBeLessThanOrEqual(2);
    for (const e of [...web.events, ...(web.pods[0]?.events ?? [])])
      expect(e.message.length).toBeLessThanOrEqual(21);
    // The most recent ones, oldest first.
    const times = web.pods[0]?.events.map((e) => e.lastSeen) ?? [];
    expect([...times].sort()).toEqual(times);
  });

  it('leaves out workloads past the limit, and says how many', async () => {
    const r = await report({ ...DEFAULT_DIAGNOSTICS_LIMITS, workloads: 2 });
    expect(r.workloads.map((w) => w.name)).toEqual(['web', 'api']);
    expect(r.workloadsLeftOut).toBe(2);
  });
});

describe('collectFailureReport when the cluster does not answer', () => {
  it('notes each read that failed and reports the rest', async () => {
    const failing: Pick<ClusterApi, 'get' | 'list'> = {
      get: cluster.api.get.bind(cluster.api),
      list: (resource, options) =>
        resource === 'events'
          ? Promise.reject(new Error('events is forbidden: User "deployer" cannot list resource "events"'))
          : cluster.api.list(resource, options),
    };
    const r = await collectFailureReport(failing, NS, {
      message: 'm',
      workloads: [{ kind: 'Deployment', name: 'web' }],
    });
    // The pods were read: the container waits for its image, in one reason or the other (the kubelet
    // pulls again for a moment between back-offs).
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(workload(r, 'web').pods[0]?.containers[0]?.reason);
    expect(r.unread[0]).toMatch(/^events of Deployment\/web: events is forbidden/);
  });

  it('stops at its time limit with what it read', async () => {
    const hanging: Pick<ClusterApi, 'get' | 'list'> = {
      get: () => new Promise(() => undefined),
      list: () => new Promise(() => undefined),
    };
    const r = await collectFailureReport(
      hanging,
      NS,
      { message: 'm', workloads: [{ kind: 'Deployment', name: 'web' }] },
      { ...DEFAULT_DIAGNOSTICS_LIMITS, timeoutMs: 50 },
    );
    expect(r.workloads).toEqual([]);
    expect(r.unread).toEqual(['the cluster was read for 0.05 s; the rest was not read']);
  });
});

describe('explainFailure', () => {
  it('says why in a log group of its own', async () => {
    const logger = new MemoryLogger();
    const r = await explainFailure(
      { api: cluster.api, logger, namespace: NS },
      {
        message: 'green did not become available: web failed (ProgressDeadlineExceeded)',
        workloads: [{ kind: 'Deployment', name: 'web' }],
      },
    );
    expect(r?.workloads).toHaveLength(1);
    const group = logger.entries.find((e) => e.level === 'group');
    // The container's reason comes first; read while the kubelet pulls again it is ErrImagePull, and
    // the kubelet's BackOff events still name the back-off.
    expect(group?.message).toMatch(/^Why it failed: Deployment web: (ErrImagePull, )?ImagePullBackOff/);
    expect(logger.text()).toContain('Failed to pull image "shop/web:typo"');
  });

  it('never throws: a failure to report is one warning, and the step failure stands', async () => {
    const logger = new MemoryLogger();
    logger.group = () => Promise.reject(new Error('the runner went away'));
    const r = await explainFailure(
      { api: cluster.api, logger, namespace: NS },
      {
        message: 'm',
        workloads: [{ kind: 'Deployment', name: 'web' }],
      },
    );
    expect(r).toBeUndefined();
    expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
      'Could not read why it failed from the cluster: the runner went away',
    ]);
  });

  it('reads nothing when nothing is involved', async () => {
    const logger = new MemoryLogger();
    expect(
      await explainFailure({ api: cluster.api, logger, namespace: NS }, { message: 'm', workloads: [] }),
    ).toBe(undefined);
    expect(logger.entries).toEqual([]);
  });
});

/** Polls `done` every 100 ms for up to 60 s. */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (let waited = 0; waited < 60_000; waited += 100) {
    if (await done()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('timed out');
}

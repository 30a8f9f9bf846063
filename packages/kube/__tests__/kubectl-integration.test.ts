import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FetchHttpClient, MemoryLogger, ProcessCommandRunner } from '@dreamscape/core';
import { startKubeDouble, type BehaviourEntry, type KubeDouble } from '@dreamscape/kube-double';
import { requireTool, resolveKubectl } from '@dreamscape/testkit';
import {
  KubeApiError,
  Kubectl,
  ProxyApi,
  containerImages,
  isDeployment,
  renderOverlay,
  type ConfigMap,
  type DaemonSet,
  type Deployment,
  type KubeObject,
  type KubectlProxy,
  type Service,
  type StatefulSet,
} from '../src/index.js';
import { startAccessReviewFront } from './support/access-review-front.js';

// The real upstream kubectl 1.32 against the in-process API double. Objects are written and read as
// production does it: ProxyApi over one `kubectl proxy`; kubectl itself watches rollouts, undoes,
// diffs, renders and proxies.

const IMAGES = {
  ok: 'registry.local/shop/web@sha256:' + 'a'.repeat(64),
  okV2: 'registry.local/shop/web@sha256:' + 'b'.repeat(64),
  sick: 'registry.local/shop/sick@sha256:' + 'c'.repeat(64),
  never: 'registry.local/shop/never@sha256:' + 'd'.repeat(64),
  deadline: 'registry.local/shop/deadline@sha256:' + 'e'.repeat(64),
  slowReady: 'registry.local/shop/db@sha256:' + 'f'.repeat(64),
};

let double: KubeDouble;
let kubectlPath: string;
let logger: MemoryLogger;
let proxy: KubectlProxy;
let api: ProxyApi;

const currentBehaviours: BehaviourEntry[] = [
  { image: IMAGES.never, ready: 'never' },
  { image: IMAGES.deadline, ready: 'deadline' },
  { image: IMAGES.slowReady, ready: '300ms' },
  { image: IMAGES.sick, ready: '200ms', http: { '/health': { status: 500, body: 'down' } } },
  { image: '*', ready: '200ms', http: { '/health': { status: 200, body: 'ok' } } },
];

beforeAll(async () => {
  kubectlPath = await resolveKubectl();
  double = await startKubeDouble({
    namespaces: [
      'apply',
      'reads',
      'patch',
      'cas',
      'rollout',
      'rollout-b',
      'proxy',
      'diff',
      'undo',
      'perm',
      'dropped',
      'workloads',
      'sts-stuck',
    ],
    behaviours: currentBehaviours,
  });
  logger = new MemoryLogger();
  proxy = await driver().startProxy();
  api = new ProxyApi({ baseUrl: proxy.baseUrl, http: new FetchHttpClient(), logger });
});

afterAll(async () => {
  await proxy.close();
  await double.close();
});

function driver(kubeconfig = double.kubeconfigPath): Kubectl {
  return new Kubectl({
    runner: new ProcessCommandRunner({ logger }),
    logger,
    kubectlPath,
    kubeconfig,
    cacheDir: mkdtempSync(join(tmpdir(), 'kube-int-')),
  });
}

function deployment(namespace: string, name: string, image: string, replicas = 2): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name, tier: 'web' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image, ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
    },
  };
}

function statefulSet(namespace: string, name: string, image: string, replicas = 2): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      serviceName: name,
      podManagementPolicy: 'OrderedReady',
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image }] },
      },
    },
  };
}

function daemonSet(namespace: string, name: string, image: string): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image }] },
      },
    },
  };
}

/**
 * Records, in the order the double stores them, when each pod of `namespace` is created and when it
 * first turns Ready (`db-0 created`, `db-0 ready`, …).
 */
function recordPods(namespace: string): { readonly events: string[]; stop(): void } {
  const events: string[] = [];
  const stop = double.api.store.subscribe((change) => {
    if (change.resourceType.plural !== 'pods' || change.type === 'DELETED') return;
    const pod = change.object as unknown as {
      metadata: { name: string; namespace?: string };
      status?: { conditions?: { type: string; status: string }[] };
    };
    if (pod.metadata.namespace !== namespace) return;
    const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
    for (const event of [`${pod.metadata.name} created`, ...(ready ? [`${pod.metadata.name} ready`] : [])])
      if (!events.includes(event)) events.push(event);
  });
  return { events, stop };
}

function service(namespace: string, name: string, selector: Record<string, string>): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

/** Requests the double logged; watches are logged when they close, so wait for them a little. */
async function requestsMatching(pattern: RegExp, atLeast: number): Promise<string[]> {
  for (let i = 0; i < 50; i++) {
    const found = double
      .requests()
      .map((r) => `${r.method} ${r.path}`)
      .filter((p) => pattern.test(p));
    if (found.length >= atLeast) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  return double
    .requests()
    .map((r) => `${r.method} ${r.path}`)
    .filter((p) => pattern.test(p));
}

/** Waits until `done()` holds, polling; fails naming `what` after 20 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (done()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('Kubectl against the API double', () => {
  it('reports the client and server versions', async () => {
    const v = await driver().version();
    expect(v.client).toBe('v1.32.3');
    expect(v.server).toMatch(/^v1\.32\./);
  });

  it('server-side applies through the proxy; a dry run writes nothing; nothing to apply sends nothing', async () => {
    const objects = [deployment('apply', 'web', IMAGES.ok), service('apply', 'web', { app: 'web' })];
    double.clearLogs();
    const dry = await api.applyServerSide(objects, { dryRun: true });
    expect(dry.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Deployment/web', 'Service/web']);
    expect(double.objects('deployments', 'apply')).toEqual([]);
    expect(double.objects('services', 'apply')).toEqual([]);
    expect(double.writes().every((w) => w.dryRun)).toBe(true);
    expect(double.writes()).toHaveLength(2);

    const applied = await api.applyServerSide(objects);
    expect(applied.every((o) => typeof o.metadata.resourceVersion === 'string')).toBe(true);
    expect(double.objects('deployments', 'apply')).toHaveLength(1);
    const real = double.writes().filter((w) => !w.dryRun);
    // Several requests in flight: the double may store them in either order.
    expect(real.map((w) => [w.verb, w.kind, w.name, w.fieldManager]).sort()).toEqual([
      ['apply', 'Deployment', 'web', 'dreamscape'],
      ['apply', 'Service', 'web', 'dreamscape'],
    ]);

    const requestsBefore = api.requests;
    await expect(api.applyServerSide([])).resolves.toEqual([]);
    expect(api.requests).toBe(requestsBefore);
  });

  it('gets one object, undefined for a missing one, and lists with a selector and resourceVersion', async () => {
    await api.applyServerSide([
      deployment('reads', 'a', IMAGES.ok),
      deployment('reads', 'b', IMAGES.ok),
      {
        ...deployment('reads', 'c', IMAGES.ok),
        metadata: { name: 'c', namespace: 'reads', labels: { app: 'c', tier: 'db' } },
      },
    ]);
    const a = await api.get<Deployment>({ kind: 'Deployment', name: 'a', namespace: 'reads' });
    expect(a?.spec?.replicas).toBe(2);
    await expect(api.get({ kind: 'Deployment', name: 'nope', namespace: 'reads' })).resolves.toBeUndefined();
    const list = await api.list<Deployment>('Deployment', { namespace: 'reads', labelSelector: 'tier=web' });
    expect(list.items.map((d) => d.metadata.name).sort()).toEqual(['a', 'b']);
    expect(list.items.map((d) => [d.kind as string, d.apiVersion])).toEqual([
      ['Deployment', 'apps/v1'],
      ['Deployment', 'apps/v1'],
    ]);
    expect(Number(list.resourceVersion)).toBeGreaterThan(0);
  });

  it('a JSON patch with a test precondition switches the color only if it is still the expected one', async () => {
    await api.applyServerSide([service('patch', 'web', { app: 'web', 'dreamscape.io/color': 'blue' })]);
    const ref = { kind: 'Service', name: 'web', namespace: 'patch' };
    const path = '/spec/selector/dreamscape.io~1color';
    const switched = await api.patch<Service>(
      ref,
      [
        { op: 'test', path, value: 'blue' },
        { op: 'replace', path, value: 'green' },
      ],
      { type: 'json' },
    );
    expect(switched.spec?.selector?.['dreamscape.io/color']).toBe('green');

    const error = await api
      .patch(
        ref,
        [
          { op: 'test', path, value: 'blue' },
          { op: 'replace', path, value: 'blue' },
        ],
        { type: 'json' },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).reason).toBe('PreconditionFailed');
    const now = await api.get<Service>(ref);
    expect(now?.spec?.selector?.['dreamscape.io/color']).toBe('green');
  });

  it('replace with a stale resourceVersion is a Conflict (compare-and-swap); create of an existing object AlreadyExists', async () => {
    const cm: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'history', namespace: 'cas' },
      data: { rev: '1' },
    };
    const created = await api.create<ConfigMap>(cm);
    const rv = created.metadata.resourceVersion;
    const updated = await api.replace<ConfigMap>({ ...created, data: { rev: '2' } });
    expect(updated.metadata.resourceVersion).not.toBe(rv);
    const stale = await api
      .replace({ ...created, data: { rev: '3' } })
      .catch((e: unknown) => e as KubeApiError);
    expect(stale).toBeInstanceOf(KubeApiError);
    expect((stale as KubeApiError).reason).toBe('Conflict');
    expect((stale as KubeApiError).message).toContain('the object has been modified');
    await expect(api.create(cm)).rejects.toMatchObject({ reason: 'AlreadyExists' });
    await expect(api.delete({ kind: 'ConfigMap', name: 'history', namespace: 'cas' })).resolves.toBe(true);
    await expect(
      api.delete({ kind: 'ConfigMap', name: 'history', namespace: 'cas' }, { ignoreNotFound: true }),
    ).resolves.toBe(false);
    await expect(api.delete({ kind: 'ConfigMap', name: 'history', namespace: 'cas' })).rejects.toMatchObject({
      reason: 'NotFound',
    });
  });

  it('a create whose answer is cut mid-body is sent again and taken as landed; one that is not ours stays AlreadyExists', async () => {
    const cm: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'record-7', namespace: 'cas', labels: { app: 'shop' } },
      data: { record: 'r'.repeat(40_000) },
    };
    double.setFaults([
      { verbs: ['create'], resources: ['configmaps'], namespaces: ['cas'], dropAnswer: true, limit: 1 },
    ]);
    double.clearLogs();
    const created = await api.create<ConfigMap>(cm);
    expect(double.faultCounts()).toEqual([1]);
    expect(created.data).toEqual(cm.data);
    expect(created.metadata.labels).toEqual({ app: 'shop' });
    // Sent twice, stored once: the second POST was refused as AlreadyExists.
    const posts = double.requests().filter((r) => r.method === 'POST' && r.path.includes('/configmaps'));
    expect(posts.map((r) => r.status)).toEqual([201, 409]);

    // Another writer's object of that name, with other content: the lost answer is not taken as ours.
    await api.create<ConfigMap>({
      ...cm,
      metadata: { ...cm.metadata, name: 'record-8' },
      data: { record: 'theirs' },
    });
    double.setFaults([
      { verbs: ['create'], resources: ['configmaps'], namespaces: ['cas'], dropAnswer: true, limit: 1 },
    ]);
    await expect(
      api.create<ConfigMap>({ ...cm, metadata: { ...cm.metadata, name: 'record-8' } }),
    ).rejects.toMatchObject({ reason: 'AlreadyExists' });
    // Without a lost answer, nothing is sent twice.
    double.setFaults([]);
    double.clearLogs();
    await expect(api.create<ConfigMap>(cm)).rejects.toMatchObject({ reason: 'AlreadyExists' });
    expect(double.requests().filter((r) => r.method === 'POST').length).toBe(1);
    double.setFaults([]);
  });

  it('waits for several deployments in parallel with one watch per namespace', async () => {
    const k = driver();
    await api.applyServerSide([
      deployment('rollout', 'ok-1', IMAGES.ok),
      deployment('rollout', 'ok-2', IMAGES.ok, 3),
      deployment('rollout', 'never', IMAGES.never),
      deployment('rollout', 'deadline', IMAGES.deadline),
      deployment('rollout', 'bystander', IMAGES.ok),
    ]);
    await api.applyServerSide([deployment('rollout-b', 'ok-3', IMAGES.ok)]);
    double.clearLogs();
    const callsBefore = k.calls;
    const progress: string[] = [];
    const started = Date.now();
    const outcomes = await k.waitForRollouts(
      [
        { namespace: 'rollout', name: 'ok-1' },
        { namespace: 'rollout', name: 'ok-2' },
        { namespace: 'rollout', name: 'never' },
        { namespace: 'rollout', name: 'deadline' },
        { namespace: 'rollout-b', name: 'ok-3' },
      ],
      { timeoutMs: 4000, onProgress: (s) => progress.push(`${s.name}:${s.reason}`) },
    );
    const elapsed = Date.now() - started;
    expect(outcomes.map((o) => [o.name, o.state, o.reason])).toEqual([
      ['ok-1', 'complete', 'Complete'],
      ['ok-2', 'complete', 'Complete'],
      ['never', 'timeout', 'AvailableReplicas'],
      ['deadline', 'failed', 'ProgressDeadlineExceeded'],
      ['ok-3', 'complete', 'Complete'],
    ]);
    expect(outcomes[1]).toMatchObject({ replicas: 3, ready: 3, available: 3, updated: 3 });
    // The deadline failure ends that Deployment's wait when it is seen, before the timeout that
    // ends the never-ready one's (compared with each other, not with a wall-clock limit).
    expect(outcomes[3]!.elapsedMs).toBeLessThan(outcomes[2]!.elapsedMs);
    expect(elapsed).toBeGreaterThanOrEqual(3900);
    expect(progress).toContain('never:AvailableReplicas');
    // One kubectl process per namespace, and exactly one watch request each.
    expect(k.calls - callsBefore).toBe(2);
    const watches = await requestsMatching(/deployments\?.*watch=true/, 2);
    expect(watches).toHaveLength(2);
    expect(watches.filter((w) => w.includes('/namespaces/rollout/')).length).toBe(1);
    expect(watches.filter((w) => w.includes('/namespaces/rollout-b/'))[0]).toContain(
      'fieldSelector=metadata.name%3Dok-3',
    );
  });

  it('lists and watches again when the server drops the watch, and still sees the rollout finish', async () => {
    const k = driver();
    // The rollout is held (never Ready) until both watches have been dropped, and only then given
    // an image that becomes Ready: however slowly kubectl starts, the third watch sees it finish.
    await api.applyServerSide([
      deployment('dropped', 'a', IMAGES.never),
      deployment('dropped', 'b', IMAGES.never),
    ]);
    double.setFaults([
      {
        verbs: ['watch'],
        resources: ['deployments'],
        namespaces: ['dropped'],
        dropWatch: '300ms',
        limit: 2,
      },
    ]);
    try {
      double.clearLogs();
      const callsBefore = k.calls;
      const waiting = k.waitForRollouts(
        [
          { namespace: 'dropped', name: 'a' },
          { namespace: 'dropped', name: 'b' },
        ],
        { timeoutMs: 30_000, restartDelayMs: 100 },
      );
      await until(() => double.faultCounts()[0] === 2, 'both watches dropped');
      await api.applyServerSide([
        deployment('dropped', 'a', IMAGES.ok),
        deployment('dropped', 'b', IMAGES.ok),
      ]);
      const outcomes = await waiting;
      expect(outcomes.map((o) => o.state)).toEqual(['complete', 'complete']);
      expect(double.faultCounts()).toEqual([2]);
      // Each drop ends kubectl's watch; a new process lists afresh and watches again.
      expect(k.calls - callsBefore).toBe(3);
      expect(await requestsMatching(/namespaces\/dropped\/deployments\?.*watch=true/, 3)).toHaveLength(3);
      expect(logger.text()).toContain(
        'The watch of deployments in dropped ended; listing and watching again',
      );
    } finally {
      double.setFaults([]);
    }
  });

  it('waits for a StatefulSet and a DaemonSet together with a Deployment, one watch per kind', async () => {
    const k = driver();
    const pods = recordPods('workloads');
    try {
      await api.applyServerSide([
        deployment('workloads', 'web', IMAGES.ok),
        statefulSet('workloads', 'db', IMAGES.slowReady),
        daemonSet('workloads', 'agent', IMAGES.ok),
      ]);
      double.clearLogs();
      const callsBefore = k.calls;
      const targets = [
        { namespace: 'workloads', name: 'web' },
        { kind: 'StatefulSet', namespace: 'workloads', name: 'db' },
        { kind: 'DaemonSet', namespace: 'workloads', name: 'agent' },
      ] as const;
      const outcomes = await k.waitForRollouts(targets, { timeoutMs: 20_000 });
      const podsAtCompletion = [...pods.events];
      expect(outcomes.map((o) => [o.kind, o.name, o.state, o.message])).toEqual([
        ['Deployment', 'web', 'complete', 'deployment "web" successfully rolled out'],
        ['StatefulSet', 'db', 'complete', 'partitioned roll out complete: 2 new pods have been updated...'],
        ['DaemonSet', 'agent', 'complete', 'daemon set "agent" successfully rolled out'],
      ]);
      expect(outcomes[1]).toMatchObject({ replicas: 2, ready: 2, updated: 2 });
      // One pod on each of the double's three nodes.
      expect(outcomes[2]).toMatchObject({ replicas: 3, ready: 3, available: 3, updated: 3 });
      // The StatefulSet was done only once its pods had been started one after the other, each Ready.
      expect(podsAtCompletion.filter((e) => e.startsWith('db-'))).toEqual([
        'db-0 created',
        'db-0 ready',
        'db-1 created',
        'db-1 ready',
      ]);
      // One kubectl process per kind, each one watch request of its own resource.
      expect(k.calls - callsBefore).toBe(3);
      const watches = await requestsMatching(/namespaces\/workloads\/\w+\?.*watch=true/, 3);
      expect(watches.map((w) => /\/(\w+)\?/.exec(w)?.[1]).sort()).toEqual([
        'daemonsets',
        'deployments',
        'statefulsets',
      ]);
      expect(watches.find((w) => w.includes('/statefulsets?'))).toContain('fieldSelector=metadata.name%3Ddb');

      // A new template: the wait ends only when every pod runs it again.
      await api.applyServerSide([statefulSet('workloads', 'db', IMAGES.okV2)]);
      const [rolled] = await k.waitForRollouts([targets[1]], { timeoutMs: 20_000 });
      expect(rolled).toMatchObject({ state: 'complete', ready: 2, updated: 2 });
      const images = (double.objects('pods', 'workloads') as unknown as KubeObject[])
        .filter((p) => p.metadata.name.startsWith('db-'))
        .map((p) => containerImages(p));
      expect(images).toEqual([[IMAGES.okV2], [IMAGES.okV2]]);
    } finally {
      pods.stop();
    }
  });

  it('a StatefulSet whose first pod never turns Ready times out waiting for its pods', async () => {
    const k = driver();
    await api.applyServerSide([statefulSet('sts-stuck', 'db', IMAGES.never)]);
    // Settle first, so that the wait starts from the stuck state: db-0 running, never Ready.
    await until(() => {
      const [sts] = double.objects('statefulsets', 'sts-stuck') as unknown as StatefulSet[];
      return (sts?.status?.observedGeneration ?? 0) > 0 && double.objects('pods', 'sts-stuck').length > 0;
    }, 'the StatefulSet to start its first pod');
    const [outcome] = await k.waitForRollouts([{ kind: 'StatefulSet', namespace: 'sts-stuck', name: 'db' }], {
      timeoutMs: 3000,
    });
    expect(outcome).toMatchObject({
      kind: 'StatefulSet',
      state: 'timeout',
      reason: 'ReadyReplicas',
      message: 'Waiting for 2 pods to be ready...',
      replicas: 2,
      ready: 0,
    });
    // OrderedReady: the second pod waits for the first, so it was never created.
    expect(
      double.objects('pods', 'sts-stuck').map((p) => (p as unknown as KubeObject).metadata.name),
    ).toEqual(['db-0']);
    expect(logger.text()).toContain(
      'statefulset sts-stuck/db: timeout (ReadyReplicas): Waiting for 2 pods to be ready...',
    );
  });

  it('health checks through the API server service proxy: healthy, 500 behaviour, no ready pods', async () => {
    const k = driver();
    await api.applyServerSide([
      deployment('proxy', 'web', IMAGES.ok),
      deployment('proxy', 'sick', IMAGES.sick),
      deployment('proxy', 'never', IMAGES.never),
      service('proxy', 'web', { app: 'web' }),
      service('proxy', 'sick', { app: 'sick' }),
      service('proxy', 'never', { app: 'never' }),
    ]);
    await k.waitForRollouts(
      [
        { namespace: 'proxy', name: 'web' },
        { namespace: 'proxy', name: 'sick' },
      ],
      { timeoutMs: 5000 },
    );
    const path = (svc: string): string => `/api/v1/namespaces/proxy/services/${svc}:http/proxy/health`;

    await expect(k.getRaw(path('web'))).resolves.toEqual({ ok: true, status: 200, body: 'ok' });
    await expect(k.getRaw(path('sick'))).resolves.toEqual({
      ok: false,
      status: 500,
      body: 'down',
      reason: 'InternalError',
    });
    await expect(k.getRaw(path('never'))).resolves.toEqual({
      ok: false,
      status: 503,
      body: 'no endpoints available for service "never"',
      reason: 'ServiceUnavailable',
    });

    const proxy = await k.startProxy();
    try {
      expect(proxy.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const callsBefore = k.calls;
      const answers = await Promise.all(
        ['web', 'sick', 'never', 'web'].map(async (svc) => {
          const r = await fetch(`${proxy.baseUrl}${path(svc)}`);
          return [r.status, await r.text()] as const;
        }),
      );
      expect(answers[0]).toEqual([200, 'ok']);
      expect(answers[1]).toEqual([500, 'down']);
      expect(answers[2]?.[0]).toBe(503);
      expect(answers[2]?.[1]).toContain('no endpoints available for service');
      expect(answers[3]).toEqual([200, 'ok']);
      expect(k.calls).toBe(callsBefore);
    } finally {
      await proxy.close();
    }
    await expect(fetch(`${proxy.baseUrl}${path('web')}`)).rejects.toThrow();
  });

  it('getRaw gives up on a slow service after its own timeout', async () => {
    const k = driver();
    const slowHealth = 'registry.local/shop/slow-health@sha256:' + '9'.repeat(64);
    double.setBehaviours([
      {
        image: slowHealth,
        ready: '100ms',
        http: { '/health': { status: 200, body: 'late', latency: '3s' } },
      },
      ...currentBehaviours,
    ]);
    try {
      await api.applyServerSide([
        deployment('proxy', 'slow', slowHealth),
        service('proxy', 'slow', { app: 'slow' }),
      ]);
      await k.waitForRollouts([{ namespace: 'proxy', name: 'slow' }], { timeoutMs: 5000 });
      const callsBefore = k.calls;
      const r = await k.getRaw('/api/v1/namespaces/proxy/services/slow:http/proxy/health', {
        timeoutMs: 400,
      });
      // The answer takes 3 s: a Timeout means kubectl gave up at the call's own deadline, once.
      expect(r).toMatchObject({ ok: false, reason: 'Timeout' });
      expect(r.status).toBeUndefined();
      expect(k.calls - callsBefore).toBe(1);
    } finally {
      double.setBehaviours(currentBehaviours);
    }
  });

  it('diffServerSide tells changed from unchanged', async () => {
    requireTool('diff');
    const k = driver();
    const d = deployment('diff', 'web', IMAGES.ok);
    await api.applyServerSide([d]);
    // Settled first: while the rollout runs, the controller writes status between kubectl's read of
    // the live object and its dry run, and the diff would show that instead of the apply's change.
    await k.waitForRollouts([{ namespace: 'diff', name: 'web' }], { timeoutMs: 30_000 });
    await expect(k.diffServerSide([d])).resolves.toEqual({ changed: false, diff: '' });
    const scaled = { ...d, spec: { ...d.spec, replicas: 5 } };
    const result = await k.diffServerSide([scaled]);
    expect(result.changed).toBe(true);
    expect(result.diff).toMatch(/^-\s+replicas: 2$/m);
    expect(result.diff).toMatch(/^\+\s+replicas: 5$/m);
  });

  it('rollout history and undo go back to the previous template', async () => {
    const k = driver();
    const ref = { kind: 'Deployment', name: 'web', namespace: 'undo' };
    await api.applyServerSide([deployment('undo', 'web', IMAGES.ok)]);
    await k.waitForRollouts([{ namespace: 'undo', name: 'web' }], { timeoutMs: 5000 });
    await api.applyServerSide([deployment('undo', 'web', IMAGES.okV2)]);
    await k.waitForRollouts([{ namespace: 'undo', name: 'web' }], { timeoutMs: 5000 });
    const history = await k.rolloutHistory(ref);
    expect(history.map((r) => r.revision)).toEqual([1, 2]);
    await k.rolloutUndo(ref);
    const [outcome] = await k.waitForRollouts([{ namespace: 'undo', name: 'web' }], { timeoutMs: 5000 });
    expect(outcome?.state).toBe('complete');
    const now = await api.get<Deployment>(ref);
    expect(now?.spec?.template?.spec?.containers?.[0]?.image).toBe(IMAGES.ok);
  });

  it('scales through the scale subresource', async () => {
    const ref = { kind: 'Deployment', name: 'scaled', namespace: 'apply' };
    await api.applyServerSide([deployment('apply', 'scaled', IMAGES.ok)]);
    await api.patch(ref, { spec: { replicas: 4 } }, { type: 'merge', subresource: 'scale' });
    expect((await api.get<Deployment>(ref))?.spec?.replicas).toBe(4);
    await expect(
      api.patch(
        ref,
        { metadata: { resourceVersion: '1' }, spec: { replicas: 1 } },
        { type: 'merge', subresource: 'scale' },
      ),
    ).rejects.toMatchObject({ reason: 'Conflict' });
  });

  it('canI answers yes and no without treating no as an error', async () => {
    // The double has no authorizer: a pass-through front answers the access reviews.
    const front = await startAccessReviewFront(
      double.url,
      (a) =>
        !(a.verb === 'patch' && a.resource === 'services') &&
        !(a.resource === 'deployments' && a.subresource === 'scale'),
    );
    try {
      const k = driver(front.kubeconfigPath);
      await expect(k.canI('get', 'deployments.apps', { namespace: 'perm' })).resolves.toBe(true);
      await expect(k.canI('patch', 'services', { namespace: 'perm' })).resolves.toBe(false);
      const checks = [
        { verb: 'get', resource: 'services', namespace: 'perm' },
        { verb: 'patch', resource: 'services', namespace: 'perm' },
        { verb: 'update', resource: 'deployments.apps', namespace: 'perm', subresource: 'scale' },
        { verb: 'create', resource: 'leases.coordination.k8s.io', namespace: 'perm' },
      ];
      await expect(k.canIAll(checks)).resolves.toEqual([checks[1], checks[2]]);
      expect(front.reviews).toContainEqual({
        namespace: 'perm',
        verb: 'update',
        group: 'apps',
        resource: 'deployments',
        subresource: 'scale',
      });
      expect(front.reviews).toContainEqual({
        namespace: 'perm',
        verb: 'create',
        group: 'coordination.k8s.io',
        resource: 'leases',
      });
    } finally {
      await front.close();
    }
  });

  it('a missing resource type is NotFound, asking whether its CustomResourceDefinition is installed', async () => {
    const error = await api
      .get({ kind: 'Widget', apiVersion: 'example.com/v1', name: 'x', namespace: 'apply' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).reason).toBe('NotFound');
    expect((error as KubeApiError).message).toBe(
      'The cluster does not serve Widget in example.com/v1 (is its CustomResourceDefinition installed?).',
    );
  });
});

describe('the example overlays on the double', () => {
  const examples = fileURLToPath(new URL('../../../examples/dreamscape/k8s/overlays/', import.meta.url));
  const SERVICES = ['gateway', 'auth', 'user', 'voyage', 'payment', 'ai', 'panorama'];

  it.each(['dev', 'staging', 'prod'])(
    '%s renders, pins every image by digest, applies server-side and rolls out',
    async (env) => {
      const k = driver();
      const images = SERVICES.map((s) => ({
        name: `ghcr.io/dreamscape/${s}`,
        digest: `sha256:${createHash('sha256').update(`${env}-${s}`).digest('hex')}`,
      }));
      const rendered = await renderOverlay({ overlayDir: `${examples}${env}`, images, kubectl: k });
      expect(rendered.unpinned).toEqual([]);
      expect(rendered.images.every((i) => /@sha256:[a-f0-9]{64}$/.test(i))).toBe(true);

      // A server-side dry run cannot place objects in a namespace that does not exist yet (the real
      // API server answers NotFound too), so the overlay's Namespace goes first.
      const namespace = `dreamscape-${env}`;
      const dry = await api.applyServerSide(rendered.objects, { dryRun: true }).catch((e: unknown) => e);
      expect(dry).toBeInstanceOf(KubeApiError);
      const notFound = new RegExp(`^\\S+: NotFound: namespaces "${namespace}" not found$`);
      const failures = (dry as KubeApiError).message.split('\n').slice(1);
      expect(failures.length).toBeGreaterThan(0);
      expect(failures.every((line) => notFound.test(line))).toBe(true);
      await api.applyServerSide(rendered.objects.filter((o) => o.kind === 'Namespace'));
      await api.applyServerSide(rendered.objects, { dryRun: true });
      const applied: KubeObject[] = await api.applyServerSide(rendered.objects);
      expect(applied).toHaveLength(rendered.objects.length);
      const deployments = rendered.objects.filter(isDeployment);
      const outcomes = await k.waitForRollouts(
        deployments.map((d) => ({ namespace, name: d.metadata.name })),
        { timeoutMs: 20_000 },
      );
      expect(outcomes.map((o) => o.state)).toEqual(deployments.map(() => 'complete'));
      const live = await api.list<Deployment>('deployments', { namespace });
      expect(
        live.items.flatMap((d) => d.spec?.template?.spec?.containers?.map((c) => c.image) ?? []).sort(),
      ).toEqual(images.map((i) => `${i.name}@${i.digest}`).sort());
    },
  );
});

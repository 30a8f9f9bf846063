import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import { backoffMs, goDuration } from '../src/container-failures.js';
import { deployment, failed, kubectlFor, ok, yaml, type Kubectl } from './support/manifests.js';

// Images the kubelet cannot pull and containers that keep exiting, as the real kubectl reads them:
// container states, restart counts, the Deployment's conditions, and the kubelet's events.

const NS = 'failures';
const MISSING = 'registry.example/web:missing';
const CRASHING = 'registry.example/api:crashing';
const DENIED = 'registry.example/private:1';

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({
    // A simulated minute a real second: the 10 s, 20 s, 40 s back-offs pass in well under one.
    timeScale: 60,
    namespaces: [NS],
    behaviours: [
      { image: MISSING, pull: 'fail' },
      { image: DENIED, pull: { message: 'failed to authorize: 403 Forbidden' } },
      {
        image: CRASHING,
        crash: { exitCode: 3, message: 'DATABASE_URL is not set', after: '2s' },
        logs: ['starting api', 'FATAL: DATABASE_URL is not set'],
      },
      { image: 'migrate:crash', crash: { exitCode: 4, message: 'schema is newer than this binary' } },
      { image: '*', ready: '1s' },
    ],
  });
  k = kubectlFor(double);
  const deadline = { progressDeadlineSeconds: 30 };
  ok(
    await k(['apply', '--server-side', '-f', '-'], {
      stdin: yaml(
        deployment('web', MISSING, { namespace: NS, replicas: 1, spec: deadline }),
        deployment('private', DENIED, { namespace: NS, replicas: 1, spec: deadline }),
        deployment('api', CRASHING, { namespace: NS, replicas: 1, spec: deadline }),
      ),
    }),
  );
});

afterAll(async () => {
  expect(double.errors()).toEqual([]);
  await double.close();
});

const meta = (o: JsonObject): JsonObject => o.metadata as JsonObject;

function podOf(app: string): JsonObject | undefined {
  return double.objects('pods', NS).find((p) => (meta(p).labels as JsonObject).app === app);
}

function container(pod: JsonObject | undefined): JsonObject {
  return (((pod?.status as JsonObject | undefined)?.containerStatuses ?? []) as JsonObject[])[0] ?? {};
}

function waitingReason(pod: JsonObject | undefined): unknown {
  return ((container(pod).state as JsonObject | undefined)?.waiting as JsonObject | undefined)?.reason;
}

/** The events about one object, as kubectl lists them. */
async function eventsOf(name: string): Promise<JsonObject[]> {
  const list = JSON.parse(
    ok(await k(['get', 'events', '-n', NS, '--field-selector', `involvedObject.name=${name}`, '-o', 'json'])),
  ) as { items: JsonObject[] };
  return list.items;
}

function deploymentCondition(name: string, type: string): JsonObject | undefined {
  const d = double.objects('deployments', NS).find((x) => meta(x).name === name);
  return (((d?.status as JsonObject | undefined)?.conditions ?? []) as JsonObject[]).find(
    (c) => c.type === type,
  );
}

describe('an image the kubelet cannot pull', () => {
  it('waits in ErrImagePull then ImagePullBackOff, Pending, with no container ever created', async () => {
    await until(() => waitingReason(podOf('web')) === 'ImagePullBackOff');
    const pod = podOf('web') as JsonObject;
    expect((pod.status as JsonObject).phase).toBe('Pending');
    const c = container(pod);
    expect(c).toMatchObject({ name: 'web', ready: false, started: false, restartCount: 0, image: MISSING });
    expect(c.containerID).toBeUndefined();
    expect((c.state as JsonObject).waiting).toEqual({
      reason: 'ImagePullBackOff',
      message: `Back-off pulling image "${MISSING}": ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image "${MISSING}": failed to resolve reference "${MISSING}": ${MISSING}: not found`,
    });
    // kubectl describe pod shows the state and the kubelet's events, as for a real cluster.
    // The kubelet tries the pull again on its back-off (ErrImagePull for a moment), so kubectl reads
    // until it sees the back-off state: the assertions below then read one state.
    const described = await kubectlUntil(
      ['describe', 'pod', '-n', NS, meta(pod).name as string],
      /State:\s+Waiting\n\s+Reason:\s+ImagePullBackOff/,
    );
    expect(described).toMatch(/State:\s+Waiting\n\s+Reason:\s+ImagePullBackOff/);
    expect(described).toMatch(
      /Normal\s+Pulling\s+.*kubelet\s+Pulling image "registry\.example\/web:missing"/,
    );
    expect(described).toMatch(
      /Warning\s+Failed\s+.*kubelet\s+Failed to pull image "registry\.example\/web:missing": rpc error: code = NotFound/,
    );
    expect(described).toMatch(
      /Normal\s+BackOff\s+.*kubelet\s+Back-off pulling image "registry\.example\/web:missing"/,
    );
    expect(described).toMatch(/Warning\s+Failed\s+.*kubelet\s+Error: ImagePullBackOff/);
    // The log subresource answers as the real one does for a container that never started: the
    // words depend on whether the kubelet is pulling again (ErrImagePull) or backing off.
    expect(failed(await k(['logs', '-n', NS, meta(pod).name as string]))).toMatch(
      /container "web" in pod "web-[a-z0-9-]+" is waiting to start: (trying and failing to pull image|image can't be pulled)$/m,
    );
  });

  it('tries again on the back-off: the same events counted, not repeated', async () => {
    const name = meta(podOf('web') as JsonObject).name as string;
    const pullingCount = (): number =>
      (double
        .objects('events', NS)
        .find((e) => e.reason === 'Pulling' && (e.involvedObject as JsonObject).name === name)?.count as
        number | undefined) ?? 0;
    await until(() => pullingCount() >= 2);
    const events = await eventsOf(name);
    const pulling = events.filter((e) => e.reason === 'Pulling');
    expect(pulling).toHaveLength(1);
    expect(pulling[0]?.count).toBeGreaterThanOrEqual(2);
    const failedPull = events.find(
      (e) => typeof e.message === 'string' && e.message.startsWith('Failed to pull image'),
    );
    expect(failedPull).toMatchObject({
      type: 'Warning',
      reason: 'Failed',
      source: { component: 'kubelet', host: 'kube-double-node-1' },
      reportingComponent: 'kubelet',
      involvedObject: { kind: 'Pod', name, fieldPath: 'spec.containers{web}' },
    });
  });

  it('reports the runtime message a behaviour gives', async () => {
    await until(() => waitingReason(podOf('private')) === 'ImagePullBackOff');
    expect((container(podOf('private')).state as JsonObject).waiting).toEqual({
      reason: 'ImagePullBackOff',
      message: `Back-off pulling image "${DENIED}": ErrImagePull: failed to authorize: 403 Forbidden`,
    });
  });

  it('keeps the Deployment from progressing: ProgressDeadlineExceeded and MinimumReplicasUnavailable', async () => {
    await until(() => deploymentCondition('web', 'Progressing')?.status === 'False');
    expect(deploymentCondition('web', 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
    expect(deploymentCondition('web', 'Available')).toMatchObject({
      status: 'False',
      reason: 'MinimumReplicasUnavailable',
      message: 'Deployment does not have minimum availability.',
    });
    // The deadline is already exceeded, so rollout status fails at its first read: the timeout only
    // bounds a run that would wait, kept well above how long a loaded machine takes for that read.
    expect(failed(await k(['rollout', 'status', 'deploy/web', '-n', NS, '--timeout=30s']))).toContain(
      'exceeded its progress deadline',
    );
  });
});

describe('a container that keeps exiting', () => {
  it('is restarted, then waits in CrashLoopBackOff with its last exit and termination message', async () => {
    await until(
      () =>
        waitingReason(podOf('api')) === 'CrashLoopBackOff' &&
        (container(podOf('api')).restartCount as number) >= 2,
    );
    const pod = podOf('api') as JsonObject;
    const c = container(pod);
    expect((pod.status as JsonObject).phase).toBe('Running');
    expect(c).toMatchObject({ ready: false, started: false });
    expect((c.lastState as JsonObject).terminated).toMatchObject({
      exitCode: 3,
      reason: 'Error',
      message: 'DATABASE_URL is not set',
    });
    // The simulated kubelet keeps restarting while the tests before this one run (a loaded machine
    // reads it several restarts later): the back-off is the one for the restarts read with it.
    const restarts = c.restartCount as number;
    expect(((c.state as JsonObject).waiting as JsonObject).message).toBe(
      `back-off ${goDuration(backoffMs(restarts))} restarting failed container=web pod=${meta(pod).name as string}_${NS}(${meta(pod).uid as string})`,
    );
    // The back-off may end between the read above and kubectl's: describe again until kubectl sees
    // the container waiting (a condition, bounded), so the assertions below read one state.
    const described = await kubectlUntil(
      ['describe', 'pod', '-n', NS, meta(pod).name as string],
      /State:\s+Waiting\n\s+Reason:\s+CrashLoopBackOff/,
    );
    expect(described).toMatch(/State:\s+Waiting\n\s+Reason:\s+CrashLoopBackOff/);
    expect(described).toMatch(
      /Last State:\s+Terminated\n\s+Reason:\s+Error\n\s+Message:\s+DATABASE_URL is not set\n\s+Exit Code:\s+3/,
    );
    // kubectl reads later than the store read above: as many restarts, or more.
    expect(Number(/Restart Count:\s+(\d+)/.exec(described)?.[1])).toBeGreaterThanOrEqual(restarts);
    expect(described).toMatch(
      /Warning\s+BackOff\s+.*kubelet\s+Back-off restarting failed container web in pod api-/,
    );
    // The run before the restart printed its lines; --previous reads them.
    expect(ok(await k(['logs', '-n', NS, meta(pod).name as string, '--previous']))).toContain(
      'FATAL: DATABASE_URL is not set',
    );
  });

  it('counts its restarts up on the simulated clock, the BackOff event seen again and again', async () => {
    const name = meta(podOf('api') as JsonObject).name as string;
    const before = container(podOf('api')).restartCount as number;
    await until(() => (container(podOf('api')).restartCount as number) > before);
    const backOff = (await eventsOf(name)).filter((e) => e.reason === 'BackOff');
    expect(backOff).toHaveLength(1);
    expect(backOff[0]).toMatchObject({ type: 'Warning', source: { component: 'kubelet' } });
    expect(backOff[0]?.count).toBeGreaterThanOrEqual(2);
    // Between back-offs the container runs, and kubectl shows Running or Error: read until it shows
    // the back-off again, with the restarts counted up (however many more there were since).
    const row = await kubectlUntil(['get', 'pod', name, '-n', NS], /CrashLoopBackOff\s+\d+/);
    expect(row).toMatch(/CrashLoopBackOff\s+\d+/);
    expect(Number(/CrashLoopBackOff\s+(\d+)/.exec(row)?.[1])).toBeGreaterThan(before);
  });

  it('ends a run-to-completion pod once, with its exit code and termination message', async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml({
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: 'migrate', namespace: NS },
          spec: {
            backoffLimit: 0,
            template: {
              spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'migrate:crash' }] },
            },
          },
        }),
      }),
    );
    const jobPod = (): JsonObject | undefined =>
      double.objects('pods', NS).find((p) => (meta(p).labels as JsonObject)['job-name'] === 'migrate');
    await until(() => (jobPod()?.status as JsonObject | undefined)?.phase === 'Failed');
    expect((container(jobPod()).state as JsonObject).terminated).toMatchObject({
      exitCode: 4,
      reason: 'Error',
      message: 'schema is newer than this binary',
    });
  });
});

describe('the kubelet back-off', () => {
  it('doubles from 10 s up to 5 minutes, printed as Go prints durations', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => goDuration(backoffMs(n)))).toEqual([
      '10s',
      '20s',
      '40s',
      '1m20s',
      '2m40s',
      '5m0s',
      '5m0s',
    ]);
  });
});

/**
 * Runs kubectl until its output matches `wanted` (at most 50 times) and returns the last output, so
 * a state the simulated kubelet leaves for a moment is read as kubectl would read it once it is back.
 */
async function kubectlUntil(args: string[], wanted: RegExp): Promise<string> {
  let out = '';
  for (let i = 0; i < 50; i++) {
    out = ok(await k(args));
    if (wanted.test(out)) break;
  }
  return out;
}

/** Polls `done` every 20 ms for up to `limitMs` (default 20 s). */
async function until(done: () => boolean, limitMs = 20_000): Promise<void> {
  for (let waited = 0; waited <= limitMs; waited += 20) {
    if (done()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('timed out');
}

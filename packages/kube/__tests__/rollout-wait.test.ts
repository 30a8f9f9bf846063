import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { CommandError, MemoryLogger } from '@dreamscape/core';
import {
  KubectlError,
  waitForRollouts,
  type DaemonSet,
  type Deployment,
  type RolloutStatus,
  type RunningWatch,
  type StartRolloutWatch,
  type StatefulSet,
} from '../src/index.js';

function dep(
  name: string,
  namespace: string,
  available: number,
  extra: Partial<NonNullable<Deployment['status']>> = {},
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, generation: 1 },
    spec: { replicas: 2 },
    status: {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: available,
      availableReplicas: available,
      ...extra,
    },
  };
}

function sts(name: string, namespace: string, ready: number): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace, generation: 1 },
    spec: { replicas: 2, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } },
    status: { observedGeneration: 1, readyReplicas: ready, updatedReplicas: 2 },
  };
}

function ds(name: string, namespace: string, available: number): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace, generation: 1 },
    spec: { updateStrategy: { type: 'RollingUpdate' } },
    status: {
      observedGeneration: 1,
      desiredNumberScheduled: 3,
      updatedNumberScheduled: 3,
      numberReady: available,
      numberAvailable: available,
    },
  };
}

/** A scripted watch: a list of [delayMs, event] per start, and an optional end. */
interface Script {
  readonly events: [number, unknown][];
  readonly endAfterMs?: number;
  readonly error?: KubectlError;
}

/** Scripts are keyed by namespace for Deployment watches, by `Kind/namespace` for the others. */
function scripted(scripts: Record<string, Script[]>) {
  const starts: { kind: string; namespace: string; names: readonly string[] }[] = [];
  const stopped: string[] = [];
  const startWatch: StartRolloutWatch = ({ kind, namespace, names }, onEvent) => {
    const id = kind === 'Deployment' ? namespace : `${kind}/${namespace}`;
    const round = starts.filter((s) => s.kind === kind && s.namespace === namespace).length;
    starts.push({ kind, namespace, names });
    const script = scripts[id]?.[round] ?? { events: [] };
    const timers = script.events.map(([ms, event]) =>
      setTimeout(() => {
        onEvent(event);
      }, ms),
    );
    let end: () => void = () => undefined;
    const ended = new Promise<KubectlError | undefined>((resolve) => {
      end = () => {
        resolve(script.error);
      };
      if (script.endAfterMs !== undefined) timers.push(setTimeout(end, script.endAfterMs));
    });
    const watch: RunningWatch = {
      ended,
      stop: () => {
        stopped.push(id);
        for (const t of timers) clearTimeout(t);
        end();
      },
    };
    return watch;
  };
  return { startWatch, starts, stopped };
}

const added = (d: Deployment | StatefulSet | DaemonSet) => ({ type: 'ADDED', object: d });
const modified = (d: Deployment | StatefulSet | DaemonSet) => ({ type: 'MODIFIED', object: d });

/** Fakes timers and Date for one test (undone after it); promise jobs still run as usual. */
function useFakeTime(): void {
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'queueMicrotask', 'nextTick'], now: 0 });
}

afterEach(() => {
  jest.useRealTimers();
});

describe('waitForRollouts', () => {
  it('waits for all deployments in parallel with one watch per namespace', async () => {
    const { startWatch, starts } = scripted({
      prod: [
        {
          events: [
            [5, added(dep('a', 'prod', 0))],
            [10, added(dep('b', 'prod', 0))],
            [30, modified(dep('b', 'prod', 2))],
            [40, modified(dep('a', 'prod', 2))],
          ],
        },
      ],
      stage: [{ events: [[20, added(dep('c', 'stage', 2))]] }],
    });
    const progress: RolloutStatus[] = [];
    // Fake time: the two watches' events interleave in script order, however late a loaded machine
    // starts the second watch.
    useFakeTime();
    const waiting = waitForRollouts(
      [
        { namespace: 'prod', name: 'a' },
        { namespace: 'prod', name: 'b' },
        { namespace: 'stage', name: 'c' },
      ],
      { timeoutMs: 5000, onProgress: (s) => progress.push(s) },
      { startWatch, logger: new MemoryLogger() },
    );
    await jest.advanceTimersByTimeAsync(100);
    const outcomes = await waiting;
    expect(starts).toEqual([
      { kind: 'Deployment', namespace: 'prod', names: ['a', 'b'] },
      { kind: 'Deployment', namespace: 'stage', names: ['c'] },
    ]);
    expect(outcomes.map((o) => [o.name, o.state, o.reason])).toEqual([
      ['a', 'complete', 'Complete'],
      ['b', 'complete', 'Complete'],
      ['c', 'complete', 'Complete'],
    ]);
    expect(outcomes[0]!.elapsedMs).toBeGreaterThanOrEqual(outcomes[1]!.elapsedMs);
    expect(progress.map((p) => `${p.name}:${p.reason}`)).toEqual([
      'a:AvailableReplicas',
      'b:AvailableReplicas',
      'c:Complete',
      'b:Complete',
      'a:Complete',
    ]);
  });

  it('fails a progress-deadline deployment at once and times out a never-ready one', async () => {
    const deadline = dep('dead', 'prod', 0, {
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
    });
    const { startWatch } = scripted({
      prod: [
        {
          events: [
            [5, added(dep('stuck', 'prod', 0))],
            [10, added(deadline)],
            [15, added(dep('ok', 'prod', 2))],
          ],
        },
      ],
    });
    // Fake time: the outcomes' times are exact, whatever the load on the machine.
    useFakeTime();
    const waiting = waitForRollouts(
      [
        { namespace: 'prod', name: 'stuck' },
        { namespace: 'prod', name: 'dead' },
        { namespace: 'prod', name: 'ok' },
      ],
      { timeoutMs: 400 },
      { startWatch, logger: new MemoryLogger() },
    );
    await jest.advanceTimersByTimeAsync(400);
    const outcomes = await waiting;
    const [stuck, dead, ok] = outcomes;
    expect(stuck).toMatchObject({ state: 'timeout', reason: 'AvailableReplicas', available: 0, updated: 2 });
    expect(stuck!.elapsedMs).toBe(400);
    expect(stuck!.message).toBe(
      'Waiting for deployment "stuck" rollout to finish: 0 of 2 updated replicas are available...',
    );
    // Failed the moment its event came, not at the timeout.
    expect(dead).toMatchObject({ state: 'failed', reason: 'ProgressDeadlineExceeded', elapsedMs: 10 });
    expect(ok).toMatchObject({ state: 'complete' });
  });

  it('reports a deployment that never appeared as a NotFound timeout', async () => {
    const { startWatch } = scripted({ prod: [{ events: [] }] });
    const [o] = await waitForRollouts(
      [{ namespace: 'prod', name: 'ghost' }],
      { timeoutMs: 50 },
      { startWatch, logger: new MemoryLogger() },
    );
    expect(o).toMatchObject({
      state: 'timeout',
      reason: 'NotFound',
      message: 'deployment "ghost" was not found in namespace prod',
    });
  });

  it('lists and watches again when the watch ends, and finishes from the new stream', async () => {
    const { startWatch, starts } = scripted({
      prod: [
        { events: [[5, added(dep('a', 'prod', 0))]], endAfterMs: 20 },
        { events: [[5, added(dep('a', 'prod', 2))]] },
      ],
    });
    const logger = new MemoryLogger();
    const [o] = await waitForRollouts(
      [{ namespace: 'prod', name: 'a' }],
      { timeoutMs: 3000, restartDelayMs: 10 },
      { startWatch, logger },
    );
    expect(o?.state).toBe('complete');
    expect(starts).toHaveLength(2);
    expect(logger.text()).toContain('The watch of deployments in prod ended; listing and watching again');
  });

  it('gives up on a watch error that a retry would hit again', async () => {
    const forbidden = KubectlError.from(
      new CommandError({
        tool: 'kubectl',
        args: [],
        exitCode: 1,
        signal: null,
        stdout: '',
        stderrTail:
          'Error from server (Forbidden): deployments.apps is forbidden: User "ci" cannot watch resource "deployments"',
        timedOut: false,
        cancelled: false,
      }),
    );
    const { startWatch } = scripted({ prod: [{ events: [], endAfterMs: 5, error: forbidden }] });
    await expect(
      waitForRollouts(
        [{ namespace: 'prod', name: 'a' }],
        { timeoutMs: 3000 },
        { startWatch, logger: new MemoryLogger() },
      ),
    ).rejects.toBe(forbidden);
  });

  const unknownResource = (): KubectlError =>
    KubectlError.from(
      new CommandError({
        tool: 'kubectl',
        args: [],
        exitCode: 1,
        signal: null,
        stdout: '',
        stderrTail: 'error: the server doesn\'t have a resource type "deployments"',
        timedOut: false,
        cancelled: false,
      }),
    );

  it('watches again after "no resource type", which kubectl also says when its discovery failed', async () => {
    const error = unknownResource();
    expect(error.reason).toBe('UnknownResource');
    const { startWatch, starts } = scripted({
      prod: [{ events: [], endAfterMs: 5, error }, { events: [[5, added(dep('a', 'prod', 2))]] }],
    });
    const [o] = await waitForRollouts(
      [{ namespace: 'prod', name: 'a' }],
      { timeoutMs: 3000, restartDelayMs: 10 },
      { startWatch, logger: new MemoryLogger() },
    );
    expect(o?.state).toBe('complete');
    expect(starts).toHaveLength(2);
  });

  it('gives up when "no resource type" comes back three times in a row', async () => {
    const error = unknownResource();
    const { startWatch, starts } = scripted({
      prod: [1, 2, 3, 4].map(() => ({ events: [], endAfterMs: 5, error })),
    });
    await expect(
      waitForRollouts(
        [{ namespace: 'prod', name: 'a' }],
        { timeoutMs: 5000, restartDelayMs: 10 },
        { startWatch, logger: new MemoryLogger() },
      ),
    ).rejects.toBe(error);
    expect(starts).toHaveLength(3);
  });

  it('a deleted deployment fails', async () => {
    const { startWatch } = scripted({
      prod: [
        {
          events: [
            [5, added(dep('a', 'prod', 0))],
            [10, { type: 'DELETED', object: dep('a', 'prod', 0) }],
          ],
        },
      ],
    });
    const [o] = await waitForRollouts(
      [{ namespace: 'prod', name: 'a' }],
      { timeoutMs: 3000 },
      { startWatch, logger: new MemoryLogger() },
    );
    expect(o).toMatchObject({ state: 'failed', reason: 'Deleted' });
  });

  it('says what it waits for and how long is left, on every heartbeat', async () => {
    // Fake time: a busy machine cannot run the heartbeat fewer times than it should.
    useFakeTime();
    const { startWatch } = scripted({ prod: [{ events: [[5, added(dep('a', 'prod', 1))]] }] });
    const logger = new MemoryLogger();
    const waiting = waitForRollouts(
      [
        { namespace: 'prod', name: 'a' },
        { namespace: 'prod', name: 'b' },
      ],
      { timeoutMs: 250, heartbeatMs: 40 },
      { startWatch, logger },
    );
    await jest.advanceTimersByTimeAsync(250);
    await waiting;
    const beats = logger.entries.filter((e) => e.message.startsWith('Waiting for 2 of 2 rollouts'));
    // At 40, 80, ... 240 ms.
    expect(beats).toHaveLength(6);
    expect(beats[0]!.message).toBe(
      'Waiting for 2 of 2 rollouts (prod/a: Waiting for deployment "a" rollout to finish: 1 of 2 updated replicas are available...; prod/b: not seen yet); 210ms left.',
    );
  });

  it('stops the watches and rejects when cancelled', async () => {
    const { startWatch, stopped } = scripted({ prod: [{ events: [] }] });
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 20);
    await expect(
      waitForRollouts(
        [{ namespace: 'prod', name: 'a' }],
        { timeoutMs: 5000, signal: controller.signal },
        { startWatch, logger: new MemoryLogger() },
      ),
    ).rejects.toThrow('Waiting for the rollouts was cancelled.');
    expect(stopped).toEqual(['prod']);
  });

  it('waits for StatefulSets and DaemonSets beside Deployments, with one watch per namespace and kind', async () => {
    useFakeTime();
    const { startWatch, starts, stopped } = scripted({
      prod: [
        {
          events: [
            [5, added(dep('web', 'prod', 0))],
            [30, modified(dep('web', 'prod', 2))],
          ],
        },
      ],
      'StatefulSet/prod': [
        {
          events: [
            [5, added(sts('web', 'prod', 0))],
            [20, modified(sts('web', 'prod', 1))],
            [40, modified(sts('web', 'prod', 2))],
          ],
        },
      ],
      'DaemonSet/prod': [
        {
          events: [
            [5, added(ds('agent', 'prod', 1))],
            [10, modified(ds('agent', 'prod', 3))],
          ],
        },
      ],
    });
    const progress: string[] = [];
    const logger = new MemoryLogger();
    const waiting = waitForRollouts(
      [
        { namespace: 'prod', name: 'web' },
        { kind: 'StatefulSet', namespace: 'prod', name: 'web' },
        { kind: 'DaemonSet', namespace: 'prod', name: 'agent' },
      ],
      { timeoutMs: 1000, onProgress: (p) => progress.push(`${p.kind}/${p.name}:${p.reason}`) },
      { startWatch, logger },
    );
    await jest.advanceTimersByTimeAsync(40);
    const outcomes = await waiting;
    expect(starts).toEqual([
      { kind: 'Deployment', namespace: 'prod', names: ['web'] },
      { kind: 'StatefulSet', namespace: 'prod', names: ['web'] },
      { kind: 'DaemonSet', namespace: 'prod', names: ['agent'] },
    ]);
    // A Deployment and a StatefulSet of the same name are two targets, each judged by its own rules.
    expect(outcomes.map((o) => [o.kind, o.name, o.state, o.message, o.elapsedMs])).toEqual([
      ['Deployment', 'web', 'complete', 'deployment "web" successfully rolled out', 30],
      [
        'StatefulSet',
        'web',
        'complete',
        'partitioned roll out complete: 2 new pods have been updated...',
        40,
      ],
      ['DaemonSet', 'agent', 'complete', 'daemon set "agent" successfully rolled out', 10],
    ]);
    expect(progress).toEqual([
      'Deployment/web:AvailableReplicas',
      'StatefulSet/web:ReadyReplicas',
      'DaemonSet/agent:AvailableReplicas',
      'DaemonSet/agent:Complete',
      'StatefulSet/web:ReadyReplicas',
      'Deployment/web:Complete',
      'StatefulSet/web:Complete',
    ]);
    // Each watch stops once everything it covers is settled.
    expect(stopped.slice(0, 2)).toEqual(['DaemonSet/prod', 'prod']);
    expect(logger.text()).toContain(
      'statefulset prod/web: partitioned roll out complete: 2 new pods have been updated...',
    );
    expect(logger.text()).toContain('daemon set prod/agent: daemon set "agent" successfully rolled out');
  });

  it('names the kind of what it waits for in heartbeats, timeouts and restarts', async () => {
    useFakeTime();
    const { startWatch } = scripted({
      'StatefulSet/prod': [{ events: [[5, added(sts('db', 'prod', 1))]], endAfterMs: 20 }],
      'DaemonSet/prod': [{ events: [] }],
    });
    const logger = new MemoryLogger();
    const waiting = waitForRollouts(
      [
        { kind: 'StatefulSet', namespace: 'prod', name: 'db' },
        { kind: 'DaemonSet', namespace: 'prod', name: 'agent' },
      ],
      { timeoutMs: 250, heartbeatMs: 100, restartDelayMs: 1000 },
      { startWatch, logger },
    );
    await jest.advanceTimersByTimeAsync(250);
    const [db, agent] = await waiting;
    expect(db).toMatchObject({
      kind: 'StatefulSet',
      state: 'timeout',
      reason: 'ReadyReplicas',
      message: 'Waiting for 1 pods to be ready...',
      replicas: 2,
      ready: 1,
    });
    expect(agent).toMatchObject({
      kind: 'DaemonSet',
      state: 'timeout',
      reason: 'NotFound',
      message: 'daemon set "agent" was not found in namespace prod',
    });
    expect(logger.entries.map((e) => e.message)).toContain(
      'Waiting for 2 of 2 rollouts (statefulset prod/db: Waiting for 1 pods to be ready...; daemon set prod/agent: not seen yet); 150ms left.',
    );
    expect(logger.text()).toContain(
      'The watch of statefulsets in prod ended; listing and watching again in 1.0s.',
    );
  });

  it('a deleted StatefulSet fails, saying what was deleted', async () => {
    const { startWatch } = scripted({
      'StatefulSet/prod': [
        {
          events: [
            [5, added(sts('db', 'prod', 0))],
            [10, { type: 'DELETED', object: sts('db', 'prod', 0) }],
          ],
        },
      ],
    });
    const [o] = await waitForRollouts(
      [{ kind: 'StatefulSet', namespace: 'prod', name: 'db' }],
      { timeoutMs: 3000 },
      { startWatch, logger: new MemoryLogger() },
    );
    expect(o).toMatchObject({
      kind: 'StatefulSet',
      state: 'failed',
      reason: 'Deleted',
      message: 'statefulset "db" was deleted while waiting for its rollout',
    });
  });

  it('nothing to wait for resolves at once', async () => {
    const { startWatch, starts } = scripted({});
    await expect(
      waitForRollouts([], { timeoutMs: 10 }, { startWatch, logger: new MemoryLogger() }),
    ).resolves.toEqual([]);
    expect(starts).toHaveLength(0);
  });
});

import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { CommandError, MemoryLogger } from '@dreamscape/core';
import {
  KubectlError,
  waitForRollouts,
  type Deployment,
  type RolloutStatus,
  type RunningWatch,
  type StartDeploymentWatch,
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

/** A scripted watch: a list of [delayMs, event] per start, and an optional end. */
interface Script {
  readonly events: [number, unknown][];
  readonly endAfterMs?: number;
  readonly error?: KubectlError;
}

function scripted(scripts: Record<string, Script[]>) {
  const starts: { namespace: string; names: readonly string[] }[] = [];
  const stopped: string[] = [];
  const startWatch: StartDeploymentWatch = (namespace, names, onEvent) => {
    const round = starts.filter((s) => s.namespace === namespace).length;
    starts.push({ namespace, names });
    const script = scripts[namespace]?.[round] ?? { events: [] };
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
        stopped.push(namespace);
        for (const t of timers) clearTimeout(t);
        end();
      },
    };
    return watch;
  };
  return { startWatch, starts, stopped };
}

const added = (d: Deployment) => ({ type: 'ADDED', object: d });
const modified = (d: Deployment) => ({ type: 'MODIFIED', object: d });

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
    const outcomes = await waitForRollouts(
      [
        { namespace: 'prod', name: 'a' },
        { namespace: 'prod', name: 'b' },
        { namespace: 'stage', name: 'c' },
      ],
      { timeoutMs: 5000, onProgress: (s) => progress.push(s) },
      { startWatch, logger: new MemoryLogger() },
    );
    expect(starts).toEqual([
      { namespace: 'prod', names: ['a', 'b'] },
      { namespace: 'stage', names: ['c'] },
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
    const beats = logger.entries.filter((e) =>
      e.message.startsWith('Waiting for 2 of 2 deployment rollouts'),
    );
    // At 40, 80, ... 240 ms.
    expect(beats).toHaveLength(6);
    expect(beats[0]!.message).toBe(
      'Waiting for 2 of 2 deployment rollouts (prod/a: Waiting for deployment "a" rollout to finish: 1 of 2 updated replicas are available...; prod/b: not seen yet); 210ms left.',
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
    ).rejects.toThrow('Waiting for the deployment rollouts was cancelled.');
    expect(stopped).toEqual(['prod']);
  });

  it('nothing to wait for resolves at once', async () => {
    const { startWatch, starts } = scripted({});
    await expect(
      waitForRollouts([], { timeoutMs: 10 }, { startWatch, logger: new MemoryLogger() }),
    ).resolves.toEqual([]);
    expect(starts).toHaveLength(0);
  });
});

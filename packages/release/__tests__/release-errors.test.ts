import { describe, expect, it, jest } from '@jest/globals';
import { ActionError, MemoryLogger } from '@dreamscape/core';
import { KubeApiError, type Lease } from '@dreamscape/kube';
import {
  assertNotServing,
  BlueGreenDeploy,
  checkStrategy,
  ColorsDisagreeError,
  dryRun,
  DryRunRefusedError,
  LeaseLock,
  LockHeldError,
  LockLostError,
  readLiveState,
  RecordConflictError,
  ReleaseHistory,
  releaseSecretName,
  ScaleDownRefusedError,
  StrategyChangeRefusedError,
} from '../src/index.js';
import { fakeReleaseOptions, heldLease, shopPlan, shopService, VirtualClock } from './support/engine.js';
import { FakeClusterApi } from './support/fake-api.js';

const scope = { app: 'shop', environment: 'dev', namespace: 'shop' };

describe('the release refusals, each a type of its own', () => {
  it('lock held: names the lock, the holder and its run', async () => {
    const api = new FakeClusterApi();
    const clock = new VirtualClock();
    api.seed(heldLease('dreamscape-lock-shop-dev', clock.now()));
    const lock = new LeaseLock({
      api,
      clock,
      logger: new MemoryLogger(),
      ...scope,
      holder: { id: 'run-1', runUrl: '' },
      waitMs: 0,
    });
    const error = await lock.acquire().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockHeldError);
    expect(error).toBeInstanceOf(ActionError);
    expect(error).toMatchObject({
      lock: 'dreamscape-lock-shop-dev',
      namespace: 'shop',
      holder: 'run-0',
      runUrl: 'https://x/runs/0',
      expiresInMs: 60_000,
    });
    expect((error as LockHeldError).hint).toContain('raise `lock-timeout`');
  });

  it('lock lost: names who took it while this run held it', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'queueMicrotask', 'nextTick'] });
    try {
      const api = new FakeClusterApi();
      const lock = new LeaseLock({
        api,
        clock: new VirtualClock(),
        logger: new MemoryLogger(),
        ...scope,
        holder: { id: 'run-1', runUrl: '' },
        waitMs: 0,
        ttlMs: 3000,
      });
      await lock.acquire();
      const lease = api.peek<Lease>('Lease', 'shop', 'dreamscape-lock-shop-dev');
      if (lease === undefined) throw new Error('no lease');
      await api.replace({ ...lease, spec: { ...lease.spec, holderIdentity: 'run-2' } });
      await jest.advanceTimersByTimeAsync(1000);
      let error: unknown;
      try {
        lock.assertHeld();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LockLostError);
      expect(error).toMatchObject({ lock: 'dreamscape-lock-shop-dev', holder: 'run-2' });
      await lock.release();
    } finally {
      jest.useRealTimers();
    }
  });

  it('colors disagree: carries what each Service selects', async () => {
    const api = new FakeClusterApi();
    api.seed(shopService('web', 'blue'), shopService('api', 'green'));
    const plan = shopPlan();
    const error = await readLiveState(api, plan, new ReleaseHistory(api, new MemoryLogger(), scope)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ColorsDisagreeError);
    expect((error as ColorsDisagreeError).message).toBe(
      'The live Services of shop in dev select different colors (web=blue, api=green), and no journaled release explains it.',
    );
    expect([...(error as ColorsDisagreeError).colors]).toEqual([
      ['web', 'blue'],
      ['api', 'green'],
    ]);
  });

  it('record conflict: another run recorded the same revision at the same moment', async () => {
    const api = new FakeClusterApi();
    api.fail('create', {
      error: new KubeApiError('POST', 'secrets', 409, 'AlreadyExists', 'already exists'),
      name: releaseSecretName(scope, 1),
    });
    const error = await new BlueGreenDeploy({ ...fakeReleaseOptions(api), previous: 'keep' })
      .run()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordConflictError);
    expect(error).toMatchObject({
      message: 'Revision 1 of shop in dev was recorded by another run at the same moment.',
      app: 'shop',
      environment: 'dev',
      revision: 1,
    });
    expect((error as RecordConflictError).cause).toBeInstanceOf(KubeApiError);
  });

  it('refused scale-down: names the color and the Services that still select it', async () => {
    const api = new FakeClusterApi();
    api.seed(shopService('web', 'blue'), shopService('api', 'blue'));
    const error = await assertNotServing(api, shopPlan(), 'blue').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScaleDownRefusedError);
    expect(error).toMatchObject({ color: 'blue', services: ['web', 'api'] });
  });

  it('strategy change: the recorded strategy and the one asked for', async () => {
    const api = new FakeClusterApi();
    const history = new ReleaseHistory(api, new MemoryLogger(), scope);
    const plan = shopPlan();
    const ctxOptions = fakeReleaseOptions(api, { plan });
    await history.create({
      schema: 1,
      ...scope,
      revision: 3,
      kind: 'deploy',
      strategy: 'rolling',
      result: 'promoted',
      color: undefined,
      previousColor: undefined,
      previousRevision: 2,
      manifestHash: plan.manifestHash,
      manifest: '',
      images: {},
      services: [],
      replicas: {},
      checks: '',
      commit: ctxOptions.run.commit,
      runId: '1',
      runUrl: '',
      actor: 'me',
      reason: '',
      rollbackTo: undefined,
      rolloutRevisions: {},
      startedAt: '2030-01-01T00:00:00.000Z',
      finishedAt: '2030-01-01T00:01:00.000Z',
      message: '',
      journal: [],
      gates: [],
    });
    const error = await checkStrategy(api, new MemoryLogger(), scope, 'blue-green', true).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StrategyChangeRefusedError);
    expect(error).toMatchObject({ current: 'rolling', requested: 'blue-green', revision: 3 });
  });

  it('dry run refused: nothing was written', async () => {
    const api = new FakeClusterApi();
    api.fail('apply', { error: new Error('spec.selector: field is immutable') });
    const error = await dryRun(api, new MemoryLogger(), shopPlan().shared, true, 'shop').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DryRunRefusedError);
    expect(error).toMatchObject({
      namespace: 'shop',
      message: 'The API server refused the release in a dry run: spec.selector: field is immutable',
    });
  });
});

import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ActionError, MemoryLogger, type Clock } from '@dreamscape/core';
import { KubeApiError, type Lease } from '@dreamscape/kube';
import { LeaseLock, type LeaseLockOptions } from '../src/index.js';
import { FakeClusterApi } from './support/fake-api.js';

/** Virtual time: a sleep ends at once and moves `now` to when it would have woken. */
class VirtualClock implements Clock {
  private t = Date.UTC(2030, 0, 1);
  readonly slept: number[] = [];

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    this.t += ms;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) throw new Error('aborted');
    this.slept.push(ms);
    this.t += ms;
    await Promise.resolve();
  }
}

const NAME = 'dreamscape-lock-shop-prod';
const RUN_URL = 'https://github.com/o/r/actions/runs/1';
const OTHER_URL = 'https://github.com/o/r/actions/runs/0';

/** MicroTime, as the API server writes Lease times. */
function micro(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

function setup(options: Partial<LeaseLockOptions> = {}) {
  const api = new FakeClusterApi();
  const clock = new VirtualClock();
  const logger = new MemoryLogger();
  const lock = new LeaseLock({
    api,
    clock,
    logger,
    namespace: 'shop',
    app: 'shop',
    environment: 'prod',
    holder: { id: 'run-1', runUrl: RUN_URL },
    waitMs: 5000,
    ...options,
  });
  locks.push(lock);
  const lease = (): Lease | undefined => api.peek<Lease>('Lease', 'shop', NAME);
  const seedLease = (holder: string, renewedAgoMs: number, durationSeconds = 60, transitions = 0): void => {
    api.seed({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: NAME, namespace: 'shop', annotations: { 'dreamscape.io/run-url': OTHER_URL } },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: durationSeconds,
        acquireTime: micro(clock.now() - renewedAgoMs - 1000),
        renewTime: micro(clock.now() - renewedAgoMs),
        leaseTransitions: transitions,
      },
    });
  };
  return { api, clock, logger, lock, lease, seedLease };
}

const locks: LeaseLock[] = [];
afterEach(async () => {
  // Stops the renewal timers of every lock a test took.
  for (const lock of locks.splice(0)) await lock.release();
  jest.useRealTimers();
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('LeaseLock', () => {
  it('creates the Lease when there is none, holding it with a TTL', async () => {
    const { lock, lease, clock, logger } = setup({ ttlMs: 45_000 });
    expect(lock.name).toBe(NAME);
    await lock.acquire();
    expect(lease()).toMatchObject({
      apiVersion: 'coordination.k8s.io/v1',
      metadata: {
        name: NAME,
        namespace: 'shop',
        labels: {
          'dreamscape.io/app': 'shop',
          'dreamscape.io/environment': 'prod',
          'app.kubernetes.io/managed-by': 'dreamscape',
        },
        annotations: { 'dreamscape.io/run-url': RUN_URL },
      },
      spec: {
        holderIdentity: 'run-1',
        leaseDurationSeconds: 45,
        acquireTime: micro(clock.now()),
        renewTime: micro(clock.now()),
      },
    });
    expect(lease()?.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(clock.slept).toEqual([]);
    expect(logger.text()).toBe(`Lock shop/${NAME} taken.`);
    expect(() => {
      lock.assertHeld();
    }).not.toThrow();
  });

  it('waits for a lock another run holds, then fails naming the holder and its run', async () => {
    const { lock, lease, seedLease, logger, clock, api } = setup({ waitMs: 5000 });
    seedLease('run-0', 0, 600);
    const before = lease();
    const start = clock.now();

    const error = await rejection(lock.acquire());
    expect(error).toBeInstanceOf(ActionError);
    expect((error as ActionError).message).toBe(
      `Another release of shop to prod holds the lock shop/${NAME}: run-0 (${OTHER_URL}), lease valid for 9m55s more.`,
    );
    expect((error as ActionError).hint).toContain('raise `lock-timeout`');
    expect(clock.now() - start).toBe(5000);
    expect(clock.slept).toEqual([500, 1000, 2000, 1500]);
    expect(api.count('get')).toBe(5);
    expect(lease()).toEqual(before);
    expect(logger.text()).toBe(`Waiting for the lock ${NAME}, held by run-0 (${OTHER_URL}); 5.0s left.`);
  });

  it('takes the lock once the lease of the holder runs out while waiting', async () => {
    const { lock, lease, seedLease, logger, clock } = setup({ waitMs: 60_000 });
    seedLease('run-0', 58_000, 60, 2);
    const start = clock.now();
    await lock.acquire();
    expect(clock.now() - start).toBeGreaterThanOrEqual(2000);
    expect(clock.now() - start).toBeLessThan(5000);
    expect(lease()?.spec).toMatchObject({ holderIdentity: 'run-1', leaseTransitions: 3 });
    expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
      expect.stringMatching(
        new RegExp(`^Took over the lock ${NAME} from run-0, whose lease expired \\d+ms ago\\.$`),
      ),
    ]);
  });

  it('takes over an expired lease at once, with a warning', async () => {
    const { lock, lease, seedLease, logger, clock } = setup();
    seedLease('run-0', 90_000, 60);
    await lock.acquire();
    expect(clock.slept).toEqual([]);
    expect(lease()?.spec).toMatchObject({
      holderIdentity: 'run-1',
      leaseDurationSeconds: 60,
      renewTime: micro(clock.now()),
      acquireTime: micro(clock.now()),
      leaseTransitions: 1,
    });
    expect(lease()?.metadata.annotations).toEqual({ 'dreamscape.io/run-url': RUN_URL });
    expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
      `Took over the lock ${NAME} from run-0, whose lease expired 30.0s ago.`,
    ]);
  });

  it('lets a re-run of the same run take its own lock back at once', async () => {
    const { lock, lease, seedLease, logger, clock } = setup();
    seedLease('run-1', 1000, 600, 4);
    await lock.acquire();
    expect(clock.slept).toEqual([]);
    expect(lease()?.spec).toMatchObject({ holderIdentity: 'run-1', leaseTransitions: 4 });
    expect(logger.text()).toBe(`Lock shop/${NAME} taken back by the same run.`);
  });

  it('takes a released lock (no holder) at once, without counting a transition', async () => {
    const { lock, lease, seedLease, logger } = setup();
    seedLease('', 1000, 600, 4);
    await lock.acquire();
    expect(lease()?.spec).toMatchObject({ holderIdentity: 'run-1', leaseTransitions: 4 });
    expect(logger.text()).toBe(`Lock shop/${NAME} taken.`);
  });

  it('retries when another run creates the Lease first', async () => {
    const { lock, api, lease, clock } = setup();
    api.fail('create', {
      times: 1,
      error: new KubeApiError('POST', 'leases', 409, 'AlreadyExists', `leases "${NAME}" already exists`),
    });
    await lock.acquire();
    expect(api.count('create')).toBe(2);
    expect(clock.slept).toEqual([500]);
    expect(lease()?.spec?.holderIdentity).toBe('run-1');
  });

  it('release clears the holder while the lock is still ours', async () => {
    const { lock, lease, clock } = setup();
    await lock.acquire();
    clock.advance(10_000);
    await lock.release();
    expect(lease()?.spec).toMatchObject({ holderIdentity: '', renewTime: micro(clock.now()) });
  });

  it('release leaves alone a lock another run has taken', async () => {
    const { lock, api, lease } = setup();
    await lock.acquire();
    const taken = lease()!;
    await api.replace({ ...taken, spec: { ...taken.spec, holderIdentity: 'run-2' } });
    const writes = api.count('replace');
    await lock.release();
    expect(lease()?.spec?.holderIdentity).toBe('run-2');
    expect(api.count('replace')).toBe(writes);
  });

  it('release without a lock makes no call, and a failed release only warns', async () => {
    const idle = setup();
    await idle.lock.release();
    expect(idle.api.calls).toEqual([]);

    const { lock, api, logger, clock, lease } = setup();
    await lock.acquire();
    api.fail('get', { error: new KubeApiError('GET', 'leases', 503, 'ServiceUnavailable', 'try later') });
    await expect(lock.release()).resolves.toBeUndefined();
    expect(api.count('get')).toBe(1 + 5);
    expect(clock.slept).toEqual([100, 200, 400, 800]);
    expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
      `Could not release the lock ${NAME}: KubeApiError: GET leases failed: 503 ServiceUnavailable: try later. It expires by itself in 1m00s at most.`,
    ]);
    expect(lease()?.spec?.holderIdentity).toBe('run-1');
  });

  it('release retries a lost compare-and-swap and a 5xx until the holder is cleared', async () => {
    const { lock, api, lease, logger } = setup();
    await lock.acquire();
    api.fail('replace', {
      times: 1,
      error: new KubeApiError('PUT', 'leases', 409, 'Conflict', 'the object has been modified'),
    });
    api.fail('replace', {
      times: 1,
      error: new KubeApiError('PUT', 'leases', 500, 'InternalError', 'etcd timeout'),
    });
    await lock.release();
    expect(lease()?.spec?.holderIdentity).toBe('');
    expect(api.count('replace')).toBe(3);
    expect(logger.entries.filter((e) => e.level === 'warning')).toEqual([]);
  });

  it('release gives up at once on an error that retrying cannot fix', async () => {
    const { lock, api, lease, logger } = setup();
    await lock.acquire();
    api.fail('replace', {
      error: new KubeApiError('PUT', 'leases', 403, 'Forbidden', 'no update on leases'),
    });
    await lock.release();
    expect(api.count('replace')).toBe(1);
    expect(lease()?.spec?.holderIdentity).toBe('run-1');
    expect(logger.entries.filter((e) => e.level === 'warning')).toHaveLength(1);
  });

  describe('renewal', () => {
    const fakeTimers = (): void => {
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'queueMicrotask', 'nextTick'] });
    };

    it('renews the lease every third of its TTL', async () => {
      fakeTimers();
      const { lock, lease, clock } = setup({ ttlMs: 30_000 });
      await lock.acquire();
      const acquired = lease()!;
      clock.advance(10_000);
      await jest.advanceTimersByTimeAsync(9_999);
      expect(lease()?.spec?.renewTime).toBe(acquired.spec?.renewTime);
      await jest.advanceTimersByTimeAsync(1);
      expect(lease()?.spec).toMatchObject({ holderIdentity: 'run-1', renewTime: micro(clock.now()) });
      expect(lease()?.spec?.acquireTime).toBe(acquired.spec?.acquireTime);
      lock.assertHeld();
    });

    it('marks the lock lost when a renewal finds it taken, and stops renewing', async () => {
      fakeTimers();
      const { lock, api, lease } = setup({ ttlMs: 3000 });
      await lock.acquire();
      const taken = lease()!;
      await api.replace({ ...taken, spec: { ...taken.spec, holderIdentity: 'run-2' } });
      await jest.advanceTimersByTimeAsync(1000);
      expect(() => {
        lock.assertHeld();
      }).toThrow(new ActionError(`The lock ${NAME} was taken by run-2 while this run held it.`));
      const writes = api.count('replace');
      await jest.advanceTimersByTimeAsync(5000);
      expect(api.count('replace')).toBe(writes);
      expect(lease()?.spec?.holderIdentity).toBe('run-2');
    });

    it('keeps the lock through a renewal refused with 409 while the Lease still names this run', async () => {
      fakeTimers();
      const { lock, api, lease, clock } = setup({ ttlMs: 3000 });
      await lock.acquire();
      api.fail('replace', {
        times: 1,
        error: new KubeApiError('PUT', 'leases', 409, 'Conflict', 'the object has been modified'),
      });
      await jest.advanceTimersByTimeAsync(1000);
      lock.assertHeld();
      clock.advance(1000);
      await jest.advanceTimersByTimeAsync(1000);
      expect(lease()?.spec).toMatchObject({ holderIdentity: 'run-1', renewTime: micro(clock.now()) });
      lock.assertHeld();
      await lock.release();
      expect(lease()?.spec?.holderIdentity).toBe('');
    });

    it('keeps the lock through a renewal that fails for another reason, and retries', async () => {
      fakeTimers();
      const { lock, api, lease, logger, clock } = setup({ ttlMs: 3000 });
      await lock.acquire();
      api.fail('replace', {
        times: 1,
        error: new KubeApiError('PUT', 'leases', 503, 'ServiceUnavailable', 'try later'),
      });
      await jest.advanceTimersByTimeAsync(1000);
      expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
        `Could not renew the lock ${NAME}: KubeApiError: PUT leases failed: 503 ServiceUnavailable: try later; retrying.`,
      ]);
      lock.assertHeld();
      clock.advance(2000);
      await jest.advanceTimersByTimeAsync(1000);
      expect(lease()?.spec?.renewTime).toBe(micro(clock.now()));
      lock.assertHeld();
    });
  });
});

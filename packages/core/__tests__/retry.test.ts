import { describe, expect, it } from '@jest/globals';
import { backoffDelay, withRetry, type Clock } from '../src/index.js';

function fakeClock(): Clock & { slept: number[] } {
  const slept: number[] = [];
  return { slept, now: () => 0, sleep: (ms) => (slept.push(ms), Promise.resolve()) };
}

describe('withRetry', () => {
  it('backs off exponentially up to the cap', () => {
    const policy = { attempts: 6, initialDelayMs: 100, maxDelayMs: 500 };
    expect([1, 2, 3, 4].map((a) => backoffDelay(policy, a))).toEqual([100, 200, 400, 500]);
  });

  it('retries retryable failures and stops at the attempt limit', async () => {
    const clock = fakeClock();
    let calls = 0;
    const error = await withRetry(
      () => {
        calls++;
        return Promise.reject(new Error('503'));
      },
      { policy: { attempts: 3, initialDelayMs: 10 }, retryable: () => true, clock },
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe('503');
    expect(calls).toBe(3);
    expect(clock.slept).toEqual([10, 20]);
  });

  it('does not retry a permanent failure', async () => {
    let calls = 0;
    await expect(
      withRetry(
        () => {
          calls++;
          return Promise.reject(new Error('401'));
        },
        { policy: { attempts: 5 }, retryable: (e: Error) => e.message !== '401', clock: fakeClock() },
      ),
    ).rejects.toThrow('401');
    expect(calls).toBe(1);
  });
});

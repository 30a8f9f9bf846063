import { describe, expect, it } from '@jest/globals';
import { concurrencyLimit } from '../src/concurrency-limit.js';

describe('concurrencyLimit', () => {
  it('never runs more tasks at once than the limit, and runs them all', async () => {
    const lane = concurrencyLimit(2);
    let running = 0;
    let most = 0;
    const results = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        lane(async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 5 + (i % 3) * 5));
          running--;
          return i;
        }),
      ),
    );
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(most).toBe(2);
  });

  it('frees the slot of a task that fails', async () => {
    const lane = concurrencyLimit(1);
    await expect(lane(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lane(() => Promise.resolve('next'))).resolves.toBe('next');
  });

  it('refuses a limit below one', () => {
    expect(() => concurrencyLimit(0)).toThrow('positive integer');
  });
});

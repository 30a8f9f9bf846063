import { describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '@dreamscape/core';
import { activeBefore, newRecord, ReleaseContext, ReleaseHistory, type ReleaseRecord } from '../src/index.js';
import { fakeReleaseOptions, VirtualClock } from './support/engine.js';
import { FakeClusterApi } from './support/fake-api.js';

function setup() {
  const api = new FakeClusterApi();
  const clock = new VirtualClock();
  const ctx = new ReleaseContext(fakeReleaseOptions(api, { clock }));
  const record = newRecord(ctx, {
    revision: 4,
    previousRevision: 3,
    strategy: 'blue-green',
    color: 'green',
    previousColor: 'blue',
    images: { 'web/web': 'registry.local/web@sha256:1' },
  });
  const stored = async (): Promise<ReleaseRecord | undefined> =>
    (await new ReleaseHistory(api, new MemoryLogger(), ctx.plan).list())[0]?.record;
  return { ctx, clock, record, stored };
}

describe('the journal of a release', () => {
  it('records every step in the cluster as it happens, then the result', async () => {
    const { ctx, clock, record, stored } = setup();
    await ctx.journal.open(record);
    expect((await stored())?.result).toBe('in-progress');
    await clock.sleep(1000);
    await ctx.journal.step('applied');
    await ctx.journal.step('switching', { detail: 'blue → green' });
    expect((await stored())?.journal.map((j) => [j.step, j.detail])).toEqual([
      ['started', undefined],
      ['applied', undefined],
      ['switching', 'blue → green'],
    ]);
    await ctx.journal.finish('promoted', 'green is live', { replicas: { web: 2 } });
    const done = await stored();
    expect(done).toMatchObject({ result: 'promoted', message: 'green is live', replicas: { web: 2 } });
    expect(done?.finishedAt).toBe('2030-01-01T00:00:01.000Z');
    expect(done?.journal.at(-1)).toEqual({
      step: 'finished',
      at: '2030-01-01T00:00:01.000Z',
      detail: 'promoted',
    });
  });

  it('does nothing before the release is recorded, and refuses to finish it', async () => {
    const { ctx } = setup();
    await expect(ctx.journal.step('applied')).resolves.toBeUndefined();
    await expect(ctx.journal.finish('failed', 'x', {})).rejects.toThrow(
      'finish() before the release was recorded',
    );
  });

  it('closes a release an earlier run left in progress, saying where it stopped', async () => {
    const { ctx, record, stored } = setup();
    await ctx.journal.open(record);
    await ctx.journal.step('ready');
    const left = (await new ReleaseHistory(ctx.api, new MemoryLogger(), ctx.plan).list())[0];
    if (left === undefined) throw new Error('no record');
    await ctx.journal.closeInterrupted(left, 'reverted by run 9');
    expect(await stored()).toMatchObject({
      result: 'failed',
      message: "interrupted at step 'ready' and reverted by run 9",
    });
  });

  it('returns to the color the record started from, or to the adopted un-colored pods', () => {
    const { record } = setup();
    expect(activeBefore(record)).toBe('blue');
    expect(activeBefore({ ...record, previousColor: undefined, adopted: true })).toBe('legacy');
    expect(activeBefore({ ...record, previousColor: undefined })).toBeUndefined();
  });
});

import { describe, expect, it } from '@jest/globals';
import { formatManifests } from '@dreamscape/kube';
import {
  BlueGreenDeploy,
  packManifest,
  ReleaseContext,
  rollbackRolling,
  RollingDeploy,
  type ReleaseRecord,
} from '../src/index.js';
import { fakeReleaseOptions, heldLease, VirtualClock } from './support/engine.js';
import { FakeClusterApi } from './support/fake-api.js';
import { shopObjects } from './support/fixture.js';

const LOCK = 'dreamscape-lock-shop-dev';

/** A recorded rolling release of the shop, to roll back to. */
function rollingRecord(revision: number): ReleaseRecord {
  return {
    schema: 1,
    app: 'shop',
    environment: 'dev',
    namespace: 'shop',
    revision,
    kind: 'deploy',
    strategy: 'rolling',
    result: 'promoted',
    color: undefined,
    previousColor: undefined,
    previousRevision: revision - 1,
    manifestHash: `sha256:${String(revision).padStart(64, '0')}`,
    manifest: packManifest(formatManifests(shopObjects(`v${revision}`))),
    images: {},
    services: [],
    replicas: {},
    checks: '',
    commit: 'abc',
    runId: '1',
    runUrl: '',
    actor: 'me',
    reason: '',
    rollbackTo: undefined,
    rolloutRevisions: {},
    startedAt: '2030-01-01T00:00:00.000Z',
    finishedAt: '2030-01-01T00:01:00.000Z',
    message: 'rolled out',
    journal: [],
    gates: [],
  };
}

describe('the release context every strategy shares', () => {
  it('holds the plan, the history, the lock and the journal of one release', () => {
    const api = new FakeClusterApi();
    const ctx = new ReleaseContext(fakeReleaseOptions(api));
    expect(ctx.namespace).toBe('shop');
    expect(ctx.lock.name).toBe(LOCK);
    expect(ctx.kind).toEqual({ kind: 'deploy' });
    expect(ctx.journal.record).toBeUndefined();
    expect(ctx.waitOptions).toEqual({ timeoutMs: 30_000, heartbeatMs: 30_000 });
  });

  it('times a phase even when it fails', async () => {
    const api = new FakeClusterApi();
    const clock = new VirtualClock();
    const ctx = new ReleaseContext(fakeReleaseOptions(api, { clock }));
    await expect(
      ctx.phase('apply', async () => {
        await clock.sleep(1500);
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(ctx.timings.apply).toBe(1500);
  });

  // Each entry point builds the same context, so a cancelled run stops waiting for a lock another
  // run holds, whatever the strategy (a rolling rollback used to wait the whole lock timeout).
  const entries: [string, (o: ReturnType<typeof fakeReleaseOptions>) => Promise<unknown>][] = [
    ['blue-green', (o) => new BlueGreenDeploy({ ...o, previous: 'keep' }).run()],
    ['rolling', (o) => new RollingDeploy({ ...o, objects: shopObjects('v1') }).run()],
    [
      'rolling rollback',
      (o) =>
        rollbackRolling({
          ...o,
          current: rollingRecord(2),
          target: rollingRecord(1),
          reason: 'bad release',
        }),
    ],
  ];
  it.each(entries)('%s: a cancelled run stops waiting for the lock at once', async (_name, start) => {
    const api = new FakeClusterApi();
    const clock = new VirtualClock();
    api.seed(heldLease(LOCK, clock.now()));
    const cancel = new AbortController();
    cancel.abort(new Error('the job was cancelled'));
    const options = fakeReleaseOptions(api, { clock, signal: cancel.signal, lockWaitMs: 30_000 });
    await expect(start(options)).rejects.toThrow('aborted');
    // Nothing but the lock was touched.
    expect(api.calls.every((c) => c.target.includes('Lease'))).toBe(true);
  });
});

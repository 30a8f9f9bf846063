import { describe, expect, it } from '@jest/globals';
import { ActionError } from '@dreamscape/core';
import {
  findRollbackTarget,
  packManifest,
  type ReleaseRecord,
  type ReleaseResult,
  type StoredRelease,
} from '../src/index.js';

interface Entry {
  revision: number;
  result: ReleaseResult;
  /** The manifest it deployed (its hash is derived from it). */
  manifest?: string;
  /** A rollback: the revision it returned to. */
  rollbackTo?: number;
  previousRevision?: number;
  /** The workflow run that made it (the revision by default). */
  runId?: string;
}

function stored(e: Entry): StoredRelease {
  const manifest = e.manifest ?? `v${e.revision}`;
  const record: ReleaseRecord = {
    schema: 1,
    app: 'shop',
    environment: 'prod',
    namespace: 'shop',
    revision: e.revision,
    kind: e.rollbackTo === undefined ? 'deploy' : 'rollback',
    strategy: 'blue-green',
    result: e.result,
    color: 'blue',
    previousColor: 'green',
    previousRevision: e.previousRevision ?? e.revision - 1,
    manifestHash: `hash-of-${manifest}`,
    manifest: packManifest(manifest),
    images: {},
    services: [],
    replicas: {},
    checks: '',
    commit: '',
    runId: e.runId ?? String(e.revision),
    runUrl: '',
    actor: '',
    reason: '',
    rollbackTo: e.rollbackTo,
    rolloutRevisions: {},
    startedAt: '',
    finishedAt: '',
    message: '',
    journal: [],
    gates: [],
  };
  return { record, resourceVersion: String(e.revision) };
}

function history(...entries: Entry[]): StoredRelease[] {
  return entries.map(stored);
}

function errorOf(run: () => unknown): ActionError {
  try {
    run();
  } catch (error) {
    if (error instanceof ActionError) return error;
    throw error;
  }
  throw new Error('expected an ActionError');
}

const WHERE = 'shop in prod';

describe('findRollbackTarget', () => {
  it('returns from the newest promoted release to the one before it, whatever order the history comes in', () => {
    const h = history(
      { revision: 1, result: 'promoted' },
      { revision: 3, result: 'promoted' },
      { revision: 2, result: 'promoted' },
    );
    const { current, target } = findRollbackTarget(h, 'previous', WHERE);
    expect([current.revision, target.revision]).toEqual([3, 2]);
  });

  it('starts from the newest promoted release, not from a newer failed or in-progress one', () => {
    const h = history(
      { revision: 4, result: 'in-progress' },
      { revision: 3, result: 'failed' },
      { revision: 2, result: 'promoted' },
      { revision: 1, result: 'promoted' },
    );
    const { current, target } = findRollbackTarget(h, 'previous', WHERE);
    expect([current.revision, target.revision]).toEqual([2, 1]);
  });

  it('skips releases that were not promoted and those that ran the same manifest', () => {
    const h = history(
      { revision: 5, result: 'promoted', manifest: 'same' },
      { revision: 4, result: 'promoted', manifest: 'same' },
      { revision: 3, result: 'rolled-back' },
      { revision: 2, result: 'failed' },
      { revision: 1, result: 'promoted' },
    );
    expect(findRollbackTarget(h, 'previous', WHERE).target.revision).toBe(1);
  });

  it('goes further back on a second rollback instead of returning to the release the first one left', () => {
    // v3 was bad; the rollback v4 returned to v2 (leaving v3). Rolling back again must not go to v3.
    const h = history(
      { revision: 4, result: 'promoted', manifest: 'v2', rollbackTo: 2, previousRevision: 3 },
      { revision: 3, result: 'promoted' },
      { revision: 2, result: 'promoted' },
      { revision: 1, result: 'promoted' },
    );
    const { current, target } = findRollbackTarget(h, 'previous', WHERE);
    expect(current.revision).toBe(4);
    // v3 was escaped, v2 runs the same manifest as v4: v1 is next.
    expect(target.revision).toBe(1);
  });

  it('is done already when the live rollback was made by an earlier attempt of the same run', () => {
    // Run 77 rolled back to v1 (as v3) and was killed before it reported; its re-run is that rollback.
    const h = history(
      { revision: 3, result: 'promoted', manifest: 'v1', rollbackTo: 1, previousRevision: 2, runId: '77' },
      { revision: 2, result: 'promoted' },
      { revision: 1, result: 'promoted' },
    );
    const again = findRollbackTarget(h, 'previous', WHERE, '77');
    expect([again.current.revision, again.target.revision, again.repeated]).toEqual([3, 3, true]);
    // Another run asking for the previous release goes further back (here: there is none).
    expect(errorOf(() => findRollbackTarget(h, 'previous', WHERE, '78')).message).toContain(
      'has no earlier promoted release',
    );
    // A deploy made by the same run is not a rollback to repeat; a named revision is always honoured.
    const deployed = history(
      { revision: 2, result: 'promoted', runId: '77' },
      { revision: 1, result: 'promoted' },
    );
    expect(findRollbackTarget(deployed, 'previous', WHERE, '77')).toEqual(
      expect.objectContaining({ target: expect.objectContaining({ revision: 1 }) }),
    );
    expect(findRollbackTarget(deployed, 'previous', WHERE, '77').repeated).toBeUndefined();
    expect(findRollbackTarget(h, 2, WHERE, '77').target.revision).toBe(2);
  });

  it('fails when nothing earlier qualifies, listing what is recorded', () => {
    const e = errorOf(() =>
      findRollbackTarget(
        history(
          // v3 returned to v1 (the same manifest), escaping v2: neither is a place to go.
          { revision: 3, result: 'promoted', manifest: 'v1', rollbackTo: 1, previousRevision: 2 },
          { revision: 2, result: 'promoted' },
          { revision: 1, result: 'promoted' },
        ),
        'previous',
        WHERE,
      ),
    );
    expect(e.message).toBe(
      'shop in prod has no earlier promoted release to return to from revision 3 (recorded: 3 (rollback to 1, promoted), 2 (promoted), 1 (promoted)).',
    );
    expect(e.hint).toBe('Name a revision with `to:` instead.');
  });

  it('fails when no release was ever promoted', () => {
    expect(errorOf(() => findRollbackTarget([], 'previous', WHERE)).message).toBe(
      'shop in prod has no promoted release to roll back from (recorded: none).',
    );
    expect(
      errorOf(() =>
        findRollbackTarget(
          history({ revision: 1, result: 'failed' }, { revision: 2, result: 'in-progress' }),
          1,
          WHERE,
        ),
      ).message,
    ).toBe('shop in prod has no promoted release to roll back from (recorded: 2 (in-progress), 1 (failed)).');
  });

  it('returns to a numbered revision, promoted or rolled back, even one with the same manifest', () => {
    const h = history(
      { revision: 4, result: 'promoted', manifest: 'same' },
      { revision: 3, result: 'rolled-back' },
      { revision: 2, result: 'promoted', manifest: 'same' },
    );
    expect(findRollbackTarget(h, 3, WHERE).target.revision).toBe(3);
    expect(findRollbackTarget(h, 2, WHERE).target.revision).toBe(2);
    expect(findRollbackTarget(h, 4, WHERE).target.revision).toBe(4);
  });

  it('refuses a revision that is not recorded, listing the recorded ones', () => {
    const h = history(
      { revision: 12, result: 'promoted', rollbackTo: 10 },
      { revision: 11, result: 'failed' },
      { revision: 10, result: 'promoted' },
    );
    const e = errorOf(() => findRollbackTarget(h, 3, WHERE));
    expect(e.message).toBe(
      'Revision 3 of shop in prod is not recorded. Recorded revisions: 12 (rollback to 10, promoted), 11 (failed), 10 (promoted).',
    );
    expect(e.hint).toContain("or 'previous'");
  });

  it('refuses a revision that never passed its gates', () => {
    const h = history({ revision: 2, result: 'promoted' }, { revision: 1, result: 'failed' });
    expect(errorOf(() => findRollbackTarget(h, 1, WHERE)).message).toBe(
      "Revision 1 of shop in prod ended 'failed': it never passed its health gates, so it is not a state to return to.",
    );
    const inProgress = history({ revision: 3, result: 'in-progress' }, { revision: 2, result: 'promoted' });
    expect(errorOf(() => findRollbackTarget(inProgress, 3, WHERE)).message).toContain("ended 'in-progress'");
  });
});

import { ActionError } from '@dreamscape/core';
import type { ReleaseRecord, StoredRelease } from './history.js';

/** Where a rollback starts from and where it goes. */
export interface RollbackTarget {
  /** The release live now: the newest promoted one. */
  readonly current: ReleaseRecord;
  readonly target: ReleaseRecord;
  /**
   * Set when the live release is a rollback this same run already finished in an earlier attempt
   * (a re-run of a killed job): `target` is then the live release itself, and nothing is to be done.
   */
  readonly repeated?: true;
}

/**
 * Picks the revision to return to. `previous` is the newest promoted release before the current one
 * that runs a different manifest and that no earlier rollback already left (so two rollbacks in a
 * row go further back instead of returning to the release the first one escaped from). A number
 * names any recorded revision.
 *
 * A re-run of the same workflow run (`runId`, the same in every attempt) whose earlier attempt
 * finished its rollback is that rollback, not a second one: it is reported as done instead of going
 * one release further back.
 */
export function findRollbackTarget(
  history: readonly StoredRelease[],
  to: 'previous' | number,
  where: string,
  runId = '',
): RollbackTarget {
  const records = history.map((s) => s.record).sort((a, b) => b.revision - a.revision);
  const current = records.find((r) => r.result === 'promoted');
  if (current === undefined) {
    throw new ActionError(
      `${where} has no promoted release to roll back from (recorded: ${describe(records)}).`,
    );
  }
  if (to !== 'previous') {
    const target = records.find((r) => r.revision === to);
    if (target === undefined)
      throw new ActionError(
        `Revision ${to} of ${where} is not recorded. Recorded revisions: ${describe(records)}.`,
        {
          hint: `The history keeps the last releases only; pick one of those, or 'previous'.`,
        },
      );
    if (target.result !== 'promoted' && target.result !== 'rolled-back')
      throw new ActionError(
        `Revision ${to} of ${where} ended '${target.result}': it never passed its health gates, so it is not a state to return to.`,
      );
    return { current, target };
  }
  if (runId !== '' && current.kind === 'rollback' && current.runId === runId)
    return { current, target: current, repeated: true };
  const escaped = new Set(records.filter((r) => r.kind === 'rollback').map((r) => r.previousRevision));
  const target = records.find(
    (r) =>
      r.revision < current.revision &&
      r.result === 'promoted' &&
      r.manifestHash !== current.manifestHash &&
      !escaped.has(r.revision),
  );
  if (target === undefined)
    throw new ActionError(
      `${where} has no earlier promoted release to return to from revision ${current.revision} (recorded: ${describe(records)}).`,
      { hint: 'Name a revision with `to:` instead.' },
    );
  return { current, target };
}

function describe(records: readonly ReleaseRecord[]): string {
  if (records.length === 0) return 'none';
  return records
    .map(
      (r) =>
        `${r.revision} (${r.kind === 'rollback' ? `rollback to ${r.rollbackTo ?? '?'}, ` : ''}${r.result})`,
    )
    .join(', ');
}

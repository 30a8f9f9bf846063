import type { CanaryRelease } from './canary.js';
import type { ReleaseRecord, StoredRelease } from './history.js';
import type { BlueGreenPlan } from './plan.js';
import { lastStep } from './journal.js';
import { CanaryPausedError, NothingToContinueError } from './release-errors.js';

/**
 * A canary step with `pause: approval` ends its run with the release in progress, its journal at
 * `paused-<weight>` and the Lease held by the paused release (ADR 10). What a later run may do
 * then depends on its `mode`: `promote` continues it, `abort` stops it, a rollback aborts it first,
 * anything else is refused before it writes.
 */

/** What a deploy run asks of a release left in progress: go on as usual, or continue or stop a paused one. */
export type Continuation = 'promote' | 'abort';

const PAUSED = /^paused-(\d+)$/;
const APPROVED = /^approved-(\d+)$/;

/** The weight a canary release is paused at, when its record says it is. */
export function pausedWeight(record: ReleaseRecord): number | undefined {
  if (record.result !== 'in-progress') return undefined;
  const m = PAUSED.exec(lastStep(record));
  return m === null ? undefined : Number(m[1]);
}

/** The weights whose approval the journal holds: a resumed canary does not pause there again. */
export function approvedWeights(record: ReleaseRecord): ReadonlySet<number> {
  const approved = new Set<number>();
  for (const entry of record.journal) {
    const m = APPROVED.exec(entry.step);
    if (m !== null) approved.add(Number(m[1]));
  }
  return approved;
}

/** The refusal a run gets when the environment has a paused canary it does not promote or abort. */
export function pausedError(record: ReleaseRecord, weight: number): CanaryPausedError {
  return new CanaryPausedError(
    `Revision ${String(record.revision)} of ${record.app} in ${record.environment} is a canary paused for approval at ${String(weight)} %: nothing was written.`,
    { app: record.app, environment: record.environment, revision: record.revision, weight },
  );
}

/**
 * Checks, before any write, that a run can do what its mode asks with the environment's newest
 * release: a deploy never passes a paused canary; `promote` needs one (or a promotion a killed run
 * left in progress), of the same manifest;
 * `abort` needs a release in progress (paused, or left by a killed run).
 */
export function checkContinuation(
  latest: StoredRelease | undefined,
  mode: Continuation | undefined,
  manifestHash: string,
  where: { app: string; environment: string },
): void {
  const record = latest?.record;
  const paused = record === undefined ? undefined : pausedWeight(record);
  if (mode === undefined) {
    if (record !== undefined && paused !== undefined) throw pausedError(record, paused);
    return;
  }
  const newest =
    record === undefined
      ? `${where.app} in ${where.environment} has no release yet`
      : `the newest release of ${where.app} in ${where.environment}, revision ${String(record.revision)}, is ${record.result === 'in-progress' ? `in progress at step '${lastStep(record)}'` : record.result}`;
  if (mode === 'promote') {
    // A promotion killed after its approval was journaled is resumed by the promotion run again.
    const promoting =
      record !== undefined &&
      record.result === 'in-progress' &&
      (paused !== undefined || approvedWeights(record).size > 0);
    if (record === undefined || !promoting)
      throw new NothingToContinueError(
        `mode: promote continues a canary paused for approval, but ${newest}: nothing was written.`,
        'promote',
        'Use `mode: deploy` to release, or wait for a canary step with `pause: approval`.',
      );
    if (record.manifestHash !== manifestHash)
      throw new NothingToContinueError(
        `mode: promote must release exactly what revision ${String(record.revision)} paused with, but the inputs render another manifest (${manifestHash.slice(0, 12)}, paused: ${record.manifestHash.slice(0, 12)}): nothing was written.`,
        'promote',
        'Run the promotion with the same overlay and images as the paused run (the same commit and build records), or abort the paused canary with `mode: abort`.',
      );
    return;
  }
  if (record === undefined || record.result !== 'in-progress')
    throw new NothingToContinueError(
      `mode: abort stops a release in progress, but ${newest}: nothing was written.`,
      'abort',
      'To return to an earlier release, use action-rollback.',
    );
}

/**
 * The plan of a run that promotes or aborts a paused canary whose router writes the weights into
 * the user's own object (the gateway-api router's HTTPRoute): that object is left out of the dry
 * run and the apply, which would otherwise take its rules back from the router (a conflict, or the
 * canary's share dropped to 0 mid-promotion). The router applies it as the overlay has it once its
 * weights are removed.
 */
export function planForContinuation(
  plan: BlueGreenPlan,
  canary: CanaryRelease | undefined,
  mode: Continuation | undefined,
): BlueGreenPlan {
  const routed = canary?.routing;
  if (mode === undefined || canary?.settings.router !== 'gateway-api' || routed === undefined) return plan;
  return {
    ...plan,
    shared: plan.shared.filter((o) => !(o.kind === routed.kind && o.metadata.name === routed.metadata.name)),
  };
}

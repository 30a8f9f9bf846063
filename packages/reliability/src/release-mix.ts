import type { RandomSource } from './random-source.js';

/**
 * What one run of the suite does:
 * - `deploy`: a new, healthy version;
 * - `deploy-failing-after-switch`: a new version whose smoke check fails once it is live;
 * - `deploy-never-ready`: a new version whose pods never become Ready (progress deadline at once);
 * - `redeploy`: the version that is live now, again;
 * - `rollback`: action-rollback to the previous release;
 * - `rollback-to`: action-rollback to a recorded revision chosen at random.
 */
export const RUN_KINDS = [
  'deploy',
  'deploy-failing-after-switch',
  'deploy-never-ready',
  'redeploy',
  'rollback',
  'rollback-to',
] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** The action a kind of run drives. */
export type ActionName = 'deploy' | 'rollback';

/** How often each kind is drawn. */
const WEIGHTS: readonly (readonly [RunKind, number])[] = [
  ['deploy', 40],
  ['deploy-failing-after-switch', 10],
  ['deploy-never-ready', 8],
  ['redeploy', 7],
  ['rollback', 25],
  ['rollback-to', 10],
];

/** The `result` outputs a run of each action may end with, whatever the faults. */
export const ALLOWED_RESULTS: Readonly<Record<ActionName, readonly string[]>> = {
  deploy: ['promoted', 'rolled-back', 'failed'],
  rollback: ['rolled-back', 'already-current', 'failed'],
};

/** Draws the kind of the next run. */
export function pickRunKind(random: RandomSource): RunKind {
  return random.weighted(WEIGHTS);
}

/** The action a kind of run drives. */
export function actionOf(kind: RunKind): ActionName {
  return kind === 'rollback' || kind === 'rollback-to' ? 'rollback' : 'deploy';
}

/**
 * The result a run must end with when no fault fired during it; undefined when it depends on the
 * history (a rollback may have nowhere to go).
 */
export function resultWithoutFaults(kind: RunKind): string | undefined {
  switch (kind) {
    case 'deploy':
    case 'redeploy':
      return 'promoted';
    case 'deploy-failing-after-switch':
      return 'rolled-back';
    case 'deploy-never-ready':
      return 'failed';
    case 'rollback':
    case 'rollback-to':
      return undefined;
  }
}

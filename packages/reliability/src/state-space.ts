/**
 * The release engine's state space, enumerated instead of sampled: for each strategy and each action,
 * a run killed after each journaled step, then run again with each outcome, and checked after every
 * run. Random fault schedules found 200 runs without the outage a kill followed by a failing check
 * caused; this enumeration has that combination, and every other, by construction.
 */

/** The release strategies. */
export const STRATEGIES = ['blue-green', 'rolling', 'canary'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** What the killed run was doing. */
export const ACTIONS = ['deploy', 'rollback'] as const;
export type KilledAction = (typeof ACTIONS)[number];

/** The weights of the canary the state space runs (`steps: [50, 100]`). */
export const CANARY_WEIGHTS = [50, 100] as const;

const BLUE_GREEN_STEPS = [
  'started',
  'applied',
  'ready',
  'preview-switched',
  'gates-passed',
  'switching',
  'switched',
  'workers-updated',
  'verified',
  'finished',
] as const;

/**
 * The journaled steps a deploy is killed after, per strategy (as the engines journal them). A canary
 * is blue-green with its own steps between the pre-switch gates and the switch, and the router's
 * objects removed once the Services are switched.
 */
export const STEPS: Readonly<Record<Strategy, readonly string[]>> = {
  'blue-green': BLUE_GREEN_STEPS,
  rolling: ['started', 'applied', 'ready', 'verified', 'finished'],
  canary: [
    ...BLUE_GREEN_STEPS.slice(0, BLUE_GREEN_STEPS.indexOf('gates-passed') + 1),
    'canary-prepared',
    ...CANARY_WEIGHTS.flatMap((w) => [`weight-${String(w)}`, `analysed-${String(w)}`]),
    'switching',
    'switched',
    'canary-removed',
    ...BLUE_GREEN_STEPS.slice(BLUE_GREEN_STEPS.indexOf('workers-updated')),
  ],
};

/**
 * The steps a run of this action is killed after. A rollback in an environment released by canary
 * is blue-green (ADR 10: a rollback of a canary release is recorded `blue-green`), so it journals
 * blue-green's steps.
 */
export function stepsOf(strategy: Strategy, action: KilledAction): readonly string[] {
  return strategy === 'canary' && action === 'rollback' ? STEPS['blue-green'] : STEPS[strategy];
}

/**
 * What the run after the kill does. The first four, and `analysis-fails`, are the killed job run
 * again (the same workflow run, a later attempt); the others are runs of their own.
 * - `same`: the same action again, healthy;
 * - `never-ready`: the same action, the killed release's pods never become Ready;
 * - `pre-switch-fails`: the same action, the killed release fails the health gates before the switch
 *   (for a canary: before its first step);
 * - `post-switch-fails`: the same action, the killed release fails the check that runs only once live
 *   (for a canary: after its last step passed its analysis and the Services switched);
 * - `other-deploy`: a deploy of a different, new release;
 * - `rollback`: a rollback to the release before the live one;
 * - `other-deploy-post-switch-fails`: a different release that fails once live;
 * - `analysis-fails` (canary deploys only): the same deploy, the killed release fails the canary's
 *   analysis at its first step;
 * - `other-deploy-analysis-fails` (canary only): a different release whose canary analysis fails at
 *   its first step.
 */
export const OUTCOMES = [
  'same',
  'never-ready',
  'pre-switch-fails',
  'post-switch-fails',
  'other-deploy',
  'rollback',
  'other-deploy-post-switch-fails',
  'analysis-fails',
  'other-deploy-analysis-fails',
] as const;
export type RerunOutcome = (typeof OUTCOMES)[number];

/**
 * The outcomes that mean something after a run of this action: the analysis outcomes only where a
 * canary deploy follows (a rollback has no analysis, so after a killed rollback only a different
 * release's analysis can fail).
 */
export function outcomesOf(strategy: Strategy, action: KilledAction): readonly RerunOutcome[] {
  if (strategy !== 'canary') return OUTCOMES.filter((o) => !o.includes('analysis-fails'));
  return action === 'deploy' ? OUTCOMES : OUTCOMES.filter((o) => o !== 'analysis-fails');
}

/** One point of the state space. */
export interface StateCase {
  /** `blue-green/deploy/switched/post-switch-fails` */
  readonly id: string;
  readonly strategy: Strategy;
  readonly action: KilledAction;
  readonly step: string;
  readonly outcome: RerunOutcome;
}

/** Every case, grouped by strategy and action (each group runs on its own cluster, in order). */
export function allCases(): StateCase[] {
  const cases: StateCase[] = [];
  for (const strategy of STRATEGIES)
    for (const action of ACTIONS)
      for (const step of stepsOf(strategy, action))
        for (const outcome of outcomesOf(strategy, action))
          cases.push({ id: `${strategy}/${action}/${step}/${outcome}`, strategy, action, step, outcome });
  return cases;
}

/**
 * Cases a bounded run goes through besides its spread: a canary killed during its steps, then run
 * again failing before its own steps (the case that found a resumed canary leaving its Ingress), or
 * followed by a rollback (which has no router of its own: only the revert removes the canary's). In
 * the other outcomes a canary run prepares and removes a router itself, so they pass even when the
 * clean-up of a dead run's is missing.
 */
export const ALWAYS_RUN = [
  'canary/deploy/weight-50/pre-switch-fails',
  'canary/deploy/weight-50/rollback',
] as const;

/**
 * `limit` cases spread over the whole space, the same every time: taken in turn from each
 * (strategy, action) group, and within a group at an even stride, offset per group so that every
 * step and every outcome comes up as the limit grows; then the {@link ALWAYS_RUN} cases not chosen
 * yet. `undefined` or a limit of at least the total gives every case.
 */
export function selectCases(cases: readonly StateCase[], limit: number | undefined): StateCase[] {
  if (limit === undefined || limit >= cases.length) return [...cases];
  const chosen = spreadCases(cases, limit);
  for (const id of ALWAYS_RUN) {
    const c = cases.find((x) => x.id === id);
    if (c !== undefined && !chosen.includes(c)) chosen.push(c);
  }
  return chosen;
}

function spreadCases(cases: readonly StateCase[], limit: number): StateCase[] {
  const groups = groupCases(cases);
  const perGroup = groups.map(
    (g, i) => Math.floor(limit / groups.length) + (i < limit % groups.length ? 1 : 0),
  );
  const chosen: StateCase[] = [];
  groups.forEach((group, g) => {
    const want = Math.min(perGroup[g] ?? 0, group.length);
    if (want === 0) return;
    const stride = group.length / want;
    for (let i = 0; i < want; i++) {
      // The stride walks the steps; `+ i` and `3 * g` turn the outcome as well.
      const index = (Math.floor(i * stride) + i + 3 * g) % group.length;
      const pick = group[index];
      if (pick !== undefined && !chosen.includes(pick)) chosen.push(pick);
    }
  });
  return chosen;
}

/** Cases by (strategy, action), in enumeration order. */
export function groupCases(cases: readonly StateCase[]): StateCase[][] {
  const groups = new Map<string, StateCase[]>();
  for (const c of cases) {
    const key = `${c.strategy}/${c.action}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()];
}

/** Reads `DS_RELIABILITY_CASES`: a positive number, or `all` (the default with no value is `fallback`). */
export function casesLimit(
  env: Readonly<Record<string, string | undefined>>,
  fallback: number | 'all',
): number | undefined {
  const text = env.DS_RELIABILITY_CASES ?? '';
  const value = text === '' ? fallback : text;
  if (value === 'all') return undefined;
  if (typeof value === 'number') return value;
  if (!/^[1-9]\d{0,5}$/.test(value))
    throw new Error(`DS_RELIABILITY_CASES must be a positive integer or 'all', not ${JSON.stringify(value)}`);
  return Number(value);
}

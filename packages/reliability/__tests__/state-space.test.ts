import { describe, expect, it } from '@jest/globals';
import type { BehaviourEntry } from '@dreamscape/kube-double';
import {
  deploy,
  digest,
  historyProblems,
  journalProblems,
  liveColorProblems,
  liveImageProblems,
  MIXED_IMAGES,
  MIXED_NAMESPACE,
  MIXED_OVERLAY,
  mixedImages,
  releaseRecords,
  repoRoot,
  rollback,
  startCluster,
  startLoad,
  type ActionRunResult,
  type ExampleCluster,
} from '@dreamscape/testkit';
import {
  allCases,
  ALWAYS_RUN,
  casesLimit,
  concurrencyLimit,
  countOutcome,
  groupCases,
  newPart,
  OUTCOMES,
  renderSummary,
  selectCases,
  stepsOf,
  STEPS,
  tallyDir,
  writePart,
  type StateCase,
  type Strategy,
} from '../src/index.js';

// The release engine's state space: for each strategy (blue-green, rolling, canary) and each action
// (deploy, rollback), a run killed after each journaled step, then run again with each outcome
// (healthy; the release never Ready; its pre-switch gate fails; its post-switch check fails; a
// different release; a rollback; a different release that fails once live; for a canary also its
// analysis failing, in the same release or a different one). After every run: the invariant monitor
// is empty, the result output matches the cluster, every workload runs the images of the recorded
// live revision, and the history and the journal agree; after every re-run no canary Ingress is
// left. Users' requests flow through an Ingress to `web` the whole time: none may reach an unready
// pod or find the Service without a Ready endpoint. `npm test` runs a spread of the cases
// (DS_RELIABILITY_CASES, 22 by default) and the ALWAYS_RUN ones; `npm run test:reliability` runs
// them all.

const NS = MIXED_NAMESPACE;
const SERVICES = ['web', 'api'];
const CHECKS = [
  ...SERVICES.map(
    (s) => `- name: ${s}\n  service: ${s}\n  port: http\n  path: /health\n  interval: 100ms\n  successes: 2`,
  ),
  '- name: smoke\n  service: web\n  port: http\n  path: /smoke\n  when: post-switch\n  interval: 100ms\n  successes: 1',
].join('\n');
/**
 * The canary: the nginx router over the overlay's Ingress, two steps of a second each, analysed by a
 * check of its own (`/canary` through the preview Service), so that its analysis and the post-switch
 * check (`/smoke`) fail apart.
 */
const CANARY = [
  'router: nginx',
  'steps: [50, 100]',
  'pause: 1s',
  'analysis:',
  '  - name: canary',
  '    service: web',
  '    port: http',
  '    path: /canary',
  '    interval: 100ms',
  '    successes: 2',
].join('\n');
/** The canary's overlay: the mixed workloads with the Ingress `shop` in the release. */
const CANARY_OVERLAY = 'packages/reliability/fixtures/mixed-workloads-canary';
const OK = { status: 200, body: 'ok' } as const;
const FAILING = { status: 500, body: 'broken' } as const;
const HEALTHY: BehaviourEntry = {
  image: '*',
  ready: '200ms',
  http: { '/health': OK, '/smoke': OK, '/canary': OK },
};
const TIMINGS = { 'verify-window': '1s', 'rollout-timeout': '30s', 'lock-timeout': '20s', 'lock-ttl': '3s' };
/** The users' way in: an Ingress the cluster already had, outside any release (a canary's comes with it). */
const HOST = 'shop.example.com';
const INGRESS = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'shop', namespace: NS },
  spec: {
    rules: [
      {
        host: HOST,
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
          ],
        },
      },
    ],
  },
};

const limit = casesLimit(process.env, 22);
// DS_RELIABILITY_ONLY=<id prefix> runs the matching cases alone (to reproduce a failure).
const only = process.env.DS_RELIABILITY_ONLY ?? '';
const cases = only === '' ? selectCases(allCases(), limit) : allCases().filter((c) => c.id.startsWith(only));
const groups = groupCases(cases);
const concurrency = Number(process.env.DS_RELIABILITY_CONCURRENCY ?? '1') || 1;
const part = newPart('state space');

/** One group's cluster, and the versions released on it, oldest first. */
interface Chain {
  readonly cluster: ExampleCluster;
  readonly strategy: Strategy;
  readonly label: string;
  next: number;
}

function behaviourFor(version: string, extra: Omit<BehaviourEntry, 'image'>): BehaviourEntry[] {
  return MIXED_IMAGES.map((s) => ({ image: `*@${digest(s, version)}`, ...extra }));
}

function newVersion(chain: Chain): string {
  chain.next++;
  return `${chain.label}-${chain.next}`;
}

function deployVersion(
  chain: Chain,
  version: string,
  extra: Record<string, string> = {},
  options: Parameters<typeof deploy>[2] = {},
): Promise<ActionRunResult> {
  return deploy(
    chain.cluster,
    {
      overlay: chain.strategy === 'canary' ? CANARY_OVERLAY : MIXED_OVERLAY,
      app: 'shop',
      strategy: chain.strategy,
      ...(chain.strategy === 'canary' ? { canary: CANARY } : {}),
      images: mixedImages(version),
      'health-checks': CHECKS,
      ...TIMINGS,
      ...extra,
    },
    options,
  );
}

function rollbackPrevious(
  chain: Chain,
  extra: Record<string, string> = {},
  options: Parameters<typeof rollback>[2] = {},
): Promise<ActionRunResult> {
  return rollback(chain.cluster, { app: 'shop', 'health-checks': CHECKS, ...TIMINGS, ...extra }, options);
}

/** The results of the newest record a run with this action and result output leaves. */
function recordResultsFor(action: 'deploy' | 'rollback', result: string | undefined): readonly string[] {
  if (action === 'deploy') return result === undefined ? [] : [result];
  if (result === 'rolled-back') return ['promoted'];
  if (result === 'failed') return ['failed', 'rolled-back'];
  // already-current: no new record; the newest is the release already live.
  return result === 'already-current' ? ['promoted'] : [];
}

/** Everything that must hold after any run, as problems. */
function stateProblems(
  chain: Chain,
  run:
    | {
        readonly result: ActionRunResult;
        readonly action: 'deploy' | 'rollback';
        /** The newest revision recorded before the run. */
        readonly newestBefore: number;
      }
    | undefined,
  settled: boolean,
): string[] {
  const { double } = chain.cluster;
  const problems = [
    ...double.violations().map((v) => `invariant: ${v.message}`),
    ...historyProblems(double, NS, { settled }),
  ];
  if (!settled) return problems;
  problems.push(...journalProblems(double, NS), ...liveImageProblems(double, NS));
  // The canary's router is gone once a run finished, whatever its result (and no other strategy has one).
  const canaryIngresses = double
    .objects('ingresses', NS)
    .map((i) => (i.metadata as { name: string }).name)
    .filter((name) => name.endsWith('-canary'));
  if (canaryIngresses.length > 0) problems.push(`canary Ingress left: ${canaryIngresses.join(', ')}`);
  if (chain.strategy !== 'rolling') {
    problems.push(...liveColorProblems(double, NS, SERVICES));
    const live = releaseRecords(double, NS).find((r) => r.result === 'promoted');
    const colors = new Set(
      double
        .objects('services', NS)
        .filter((s) => SERVICES.includes((s.metadata as { name: string }).name))
        .map(
          (s) => ((s.spec as { selector?: Record<string, string> }).selector ?? {})['dreamscape.io/color'],
        ),
    );
    if (live !== undefined && (colors.size !== 1 || !colors.has(live.color)))
      problems.push(
        `the Services select ${[...colors].join(', ')}, the live revision ${live.revision} runs in ${live.color ?? '?'}`,
      );
  }
  if (run !== undefined) {
    // The result output matches the record the run closed.
    const result = run.result.outputs.result;
    const newestRecord = releaseRecords(double, NS)[0];
    const newest = newestRecord?.result ?? 'nothing';
    // A run refused before it recorded anything (a rollback with no release left to return to)
    // fails having changed nothing but, at most, the lock.
    const refused =
      result === 'failed' &&
      (newestRecord?.revision ?? 0) === run.newestBefore &&
      double.writes().every((w) => !w.changed || w.kind === 'Lease');
    // A rollback during a canary aborts it: no record of its own, the canary's says rolled back.
    const abortedCanary =
      run.action === 'rollback' &&
      result === 'rolled-back' &&
      newestRecord?.strategy === 'canary' &&
      newest === 'rolled-back';
    if (!refused && !abortedCanary && !recordResultsFor(run.action, result).includes(newest))
      problems.push(`the ${run.action} said '${result ?? 'nothing'}', the newest record says '${newest}'`);
  }
  return problems;
}

async function runCase(chain: Chain, c: StateCase): Promise<void> {
  const { double } = chain.cluster;
  double.setBehaviours([HEALTHY]);
  double.clearLogs();
  // A rollback needs a release to leave: a fresh one, so that the previous is a different manifest.
  // So does a rollback after a killed deploy when the cases before left one promoted release only
  // (a bounded run's few cases may all have failed): else it is refused, with nothing to return to.
  const base = newVersion(chain);
  const promoted = releaseRecords(double, NS).filter((r) => r.result === 'promoted').length;
  if (c.action === 'rollback' || (c.outcome === 'rollback' && promoted < 2)) {
    const r = await deployVersion(chain, base, {}, { runId: `${c.id}#setup` });
    if (r.outputs.result !== 'promoted')
      throw new Error(
        `setting up: ${base} ended ${r.outputs.result ?? 'with no result'}: ${r.errors.join(' ')}`,
      );
  }
  const records = releaseRecords(double, NS);
  const revision = (records[0]?.revision ?? 0) + 1;
  const killedAt = (): boolean =>
    releaseRecords(double, NS)
      .find((r) => r.revision === revision)
      ?.journal.some((j) => j.step === c.step) === true;
  const killOptions = { killWhen: { signal: 'SIGKILL' as const, when: killedAt }, runId: `${c.id}#killed` };
  // The release a killed deploy was making (a rollback's is whatever it returns to).
  const killedVersion = c.action === 'deploy' ? newVersion(chain) : base;
  const killed =
    c.action === 'deploy'
      ? await deployVersion(chain, killedVersion, {}, killOptions)
      : await rollbackPrevious(chain, {}, killOptions);
  part.runs++;
  countOutcome(
    part,
    `${c.action}:${killed.signal === 'SIGKILL' ? 'killed' : (killed.outputs.result ?? 'none')}`,
  );
  const afterKill = stateProblems(chain, undefined, false);
  if (afterKill.length > 0) throw new Error(`after the kill: ${afterKill.join('; ')}`);

  let rerun: ActionRunResult;
  let rerunAction: 'deploy' | 'rollback' = c.action;
  // The same action again is the killed job run again: the same workflow run, a later attempt.
  const again = { runId: killOptions.runId };
  // Any other action is a workflow run of its own.
  const another = { runId: `${c.id}#rerun` };
  const sameAgain = (extra: Record<string, string> = {}): Promise<ActionRunResult> =>
    c.action === 'deploy'
      ? deployVersion(chain, killedVersion, extra, again)
      : rollbackPrevious(chain, extra, again);
  const newestBefore = releaseRecords(double, NS)[0]?.revision ?? 0;
  double.clearLogs();
  // What fails: the killed release's images; for a rollback, whatever it returns to (every image
  // but the live release's, and the redis, which no release changes).
  const failing = (extra: Omit<BehaviourEntry, 'image'>): BehaviourEntry[] =>
    c.action === 'deploy'
      ? [...behaviourFor(killedVersion, extra), HEALTHY]
      : [
          ...behaviourFor(base, {}).map((b) => ({ ...HEALTHY, image: b.image })),
          { ...HEALTHY, image: '*redis*' },
          { image: '*', ...extra },
        ];
  switch (c.outcome) {
    case 'same':
      rerun = await sameAgain();
      break;
    case 'never-ready':
      double.setBehaviours(failing({ ready: 'never' }));
      rerun = await sameAgain({ 'rollout-timeout': '3s' });
      break;
    case 'pre-switch-fails':
      double.setBehaviours(failing({ ready: '200ms', http: { '/health': { status: 500, body: 'down' } } }));
      rerun = await sameAgain();
      break;
    case 'post-switch-fails':
      double.setBehaviours(
        failing({ ready: '200ms', http: { '/health': OK, '/smoke': FAILING, '/canary': OK } }),
      );
      rerun = await sameAgain();
      break;
    case 'analysis-fails':
      double.setBehaviours(
        failing({ ready: '200ms', http: { '/health': OK, '/smoke': OK, '/canary': FAILING } }),
      );
      rerun = await sameAgain();
      break;
    case 'other-deploy':
      rerunAction = 'deploy';
      rerun = await deployVersion(chain, newVersion(chain), {}, another);
      break;
    case 'rollback':
      rerunAction = 'rollback';
      rerun = await rollbackPrevious(chain, {}, another);
      break;
    case 'other-deploy-post-switch-fails':
    case 'other-deploy-analysis-fails': {
      const other = newVersion(chain);
      const fails = c.outcome === 'other-deploy-post-switch-fails' ? '/smoke' : '/canary';
      double.setBehaviours([
        ...behaviourFor(other, {
          ready: '200ms',
          http: { '/health': OK, '/smoke': OK, '/canary': OK, [fails]: FAILING },
        }),
        HEALTHY,
      ]);
      rerunAction = 'deploy';
      rerun = await deployVersion(chain, other, {}, another);
      break;
    }
  }
  double.setBehaviours([HEALTHY]);
  part.runs++;
  part.cases = (part.cases ?? 0) + 1;
  countOutcome(part, `${c.outcome}:${rerun.outputs.result ?? 'none'}`);
  if (rerun.outputs.result === undefined)
    throw new Error(`the re-run gave no result: ${rerun.errors.join(' ')}`);
  const problems = stateProblems(chain, { result: rerun, action: rerunAction, newestBefore }, true);
  if (problems.length > 0)
    throw new Error(
      `after the re-run (${rerun.outputs.result}): ${problems.join('; ')}${rerun.errors.length > 0 ? ` [its errors: ${rerun.errors.join(' ')}]` : ''}`,
    );
}

async function runGroup(group: readonly StateCase[]): Promise<void> {
  const first = group[0];
  if (first === undefined) return;
  const cluster = await startCluster([HEALTHY]);
  const chain: Chain = {
    cluster,
    strategy: first.strategy,
    label: `${first.strategy}-${first.action}`,
    next: 0,
  };
  let load: ReturnType<typeof startLoad> | undefined;
  try {
    const v1 = await deployVersion(chain, newVersion(chain));
    if (v1.outputs.result !== 'promoted')
      throw new Error(
        `the first release ended ${v1.outputs.result ?? 'with no result'}: ${v1.errors.join(' ')}`,
      );
    if (chain.strategy !== 'canary') {
      const ingressType = cluster.double.api.catalog.ofKind('Ingress');
      if (ingressType === undefined) throw new Error('the double serves no Ingress');
      cluster.double.api.createInternal(ingressType, INGRESS);
    }
    load = startLoad({
      url: cluster.double.gateway.url,
      host: HOST,
      path: '/health',
      rps: 20,
      maxDurationMs: 60 * 60_000,
    });
    for (const c of group) {
      try {
        await runCase(chain, c);
      } catch (error) {
        part.unconverged++;
        part.failures.push(`${c.id}: ${error instanceof Error ? error.message : String(error)}`);
        part.violations += cluster.double.violations().length;
      }
    }
  } finally {
    const seen = await load?.stop();
    if (seen !== undefined && seen.answered === 0)
      part.failures.push(`${chain.label}: no request was answered`);
    await cluster.double.close();
  }
}

describe('the cases', () => {
  it('are every strategy × action × journaled step × re-run outcome', () => {
    const all = allCases();
    // blue-green and rolling: 7 outcomes; a canary deploy: 16 steps and 9 outcomes; a rollback in a
    // canary environment: blue-green's 10 steps and 8 outcomes (a rollback has no analysis to fail).
    expect(all).toHaveLength(2 * (10 + 5) * 7 + 16 * 9 + 10 * 8);
    expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
    expect(all.filter((c) => c.strategy === 'blue-green' && c.step === 'switched')).toHaveLength(14);
    const canaryDeploy = all.filter((c) => c.strategy === 'canary' && c.action === 'deploy');
    for (const step of ['canary-prepared', 'weight-50', 'analysed-50', 'weight-100', 'analysed-100'])
      expect(canaryDeploy.filter((c) => c.step === step).map((c) => c.outcome)).toEqual([...OUTCOMES]);
    expect([...new Set(canaryDeploy.map((c) => c.step))]).toEqual([...STEPS.canary]);
    expect([...new Set(canaryDeploy.map((c) => c.step))].slice(5, 12)).toEqual([
      'canary-prepared',
      'weight-50',
      'analysed-50',
      'weight-100',
      'analysed-100',
      'switching',
      'switched',
    ]);
    expect(stepsOf('canary', 'rollback')).toEqual(STEPS['blue-green']);
    expect(
      all.some((c) => c.strategy === 'canary' && c.action === 'rollback' && c.outcome === 'analysis-fails'),
    ).toBe(false);
    expect(all.some((c) => c.strategy !== 'canary' && c.outcome.includes('analysis'))).toBe(false);
  });

  it('spread a bounded run over the whole space, the same every time', () => {
    const chosen = selectCases(allCases(), 22);
    expect(chosen).toEqual(selectCases(allCases(), 22));
    // 22 spread over the space, then the cases always run.
    expect(chosen).toHaveLength(22 + ALWAYS_RUN.length);
    expect(groupCases(chosen).map((g) => g.length)).toEqual([4, 4, 4, 4, 3 + ALWAYS_RUN.length, 3]);
    expect(new Set(chosen.map((c) => c.outcome)).size).toBe(OUTCOMES.length);
    expect(chosen.map((c) => c.id)).toEqual(expect.arrayContaining([...ALWAYS_RUN]));
    expect(ALWAYS_RUN.every((id) => allCases().some((c) => c.id === id))).toBe(true);
    // The bounded run has a canary killed during its steps.
    expect(chosen.some((c) => c.strategy === 'canary' && /^(weight|analysed)-/.test(c.step))).toBe(true);
    expect(selectCases(allCases(), undefined)).toHaveLength(434);
    expect(casesLimit({ DS_RELIABILITY_CASES: 'all' }, 22)).toBeUndefined();
    expect(casesLimit({}, 22)).toBe(22);
    expect(() => casesLimit({ DS_RELIABILITY_CASES: 'many' }, 22)).toThrow(
      'DS_RELIABILITY_CASES must be a positive integer or \'all\', not "many"',
    );
  });
});

describe('the release state space', () => {
  it(
    `holds at every point: ${cases.length} of ${allCases().length} cases (a kill after each journaled step, then each re-run outcome)`,
    async () => {
      const started = Date.now();
      const limited = concurrencyLimit(concurrency);
      await Promise.all(groups.map((g) => limited(() => runGroup(g))));
      part.durationMs = Date.now() - started;
      writePart(tallyDir(repoRoot), part);
      process.stdout.write(`${renderSummary([part])}\n`);
      expect(part.failures).toEqual([]);
      expect(part.cases).toBe(cases.length);
    },
    6 * 60 * 60 * 1000,
  );
});

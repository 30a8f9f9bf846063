import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BehaviourEntry } from '@dreamscape/kube-double';
import {
  buildRecords,
  deploy,
  digest,
  historyProblems,
  liveColorProblems,
  releaseRecords,
  rollback,
  startCluster,
  type ActionRunResult,
  type ExampleCluster,
} from '@dreamscape/testkit';
import { faultSchedule, type FaultKind, type FaultSchedule } from './fault-schedule.js';
import { deriveSeed, RandomSource } from './random-source.js';
import {
  actionOf,
  ALLOWED_RESULTS,
  pickRunKind,
  resultWithoutFaults,
  type ActionName,
  type RunKind,
} from './release-mix.js';

/** The two-service overlay the runs deploy (inside the repository, which is the workspace). */
export const CHAIN_OVERLAY = 'packages/reliability/fixtures/two-services';
/** Its namespace and Services. */
export const CHAIN_NAMESPACE = 'reliability';
export const CHAIN_SERVICES = ['gateway', 'auth'] as const;

/** Probes through the preview and live Services; the smoke check only once live. */
const CHECKS = [
  ...CHAIN_SERVICES.map((s) =>
    [
      `- name: ${s}`,
      `  service: ${s}`,
      '  port: http',
      '  path: /health',
      '  interval: 100ms',
      '  timeout: 2s',
      '  successes: 2',
      '  failures: 1',
    ].join('\n'),
  ),
  [
    '- name: smoke',
    '  service: gateway',
    '  port: http',
    '  path: /smoke',
    '  when: post-switch',
    '  interval: 100ms',
    '  timeout: 2s',
    '  successes: 1',
  ].join('\n'),
].join('\n');

const TIMINGS = { 'verify-window': '500ms', 'rollout-timeout': '30s', 'lock-timeout': '20s' };
const HEALTHY: BehaviourEntry = {
  image: '*',
  ready: '200ms',
  http: { '/health': { status: 200, body: 'ok' }, '/smoke': { status: 200, body: 'ok' } },
};

/** How one run went. */
export interface RunReport {
  /** 1-based position in its chain (what `DS_RELIABILITY_RUNS` replays up to). */
  readonly index: number;
  readonly seed: number;
  readonly kind: RunKind;
  readonly action: ActionName;
  /** The version deployed, or the revision rolled back to. */
  readonly target: string;
  readonly schedule: FaultSchedule;
  /** The kinds of fault that fired at least once. */
  readonly fired: readonly FaultKind[];
  readonly result: string | undefined;
  readonly exitCode: number | null;
  readonly durationMs: number;
  /** New invariant violations during the run. */
  readonly violations: readonly string[];
  /** Everything else that is wrong after it. */
  readonly problems: readonly string[];
  /** The first error the action reported, if any. */
  readonly error: string | undefined;
  /** The run's directory, kept when something went wrong (stdout in `stdout.log`). */
  readonly keptDir: string | undefined;
}

/** How a chain went: its runs, then a fault-free deploy that must converge. */
export interface ChainReport {
  readonly seed: number;
  readonly runs: readonly RunReport[];
  readonly closing: { readonly result: string | undefined; readonly problems: readonly string[] };
  readonly violations: number;
}

/** Options of {@link runChain}. */
export interface ChainOptions {
  readonly seed: number;
  readonly runs: number;
  /** Called with one line per run as it ends. */
  readonly log: (line: string) => void;
  /** Fault rates at most this (default 0.2). */
  readonly maxRate?: number;
}

/**
 * One chain of release runs on a fresh kube-double: a first deploy without faults, then `runs`
 * deploys and rollbacks, each under its own seeded fault schedule, each judged as soon as it ends
 * (a result among the allowed ones, the live color intact, the history consistent, no invariant
 * violation), then one more deploy without faults, which must converge. Everything a run does is
 * drawn from `deriveSeed(seed, index)`, so the same seed replays the same chain.
 */
export async function runChain(options: ChainOptions): Promise<ChainReport> {
  const cluster = await startCluster([HEALTHY]);
  const behaviours: BehaviourEntry[] = [HEALTHY];
  const versions: string[] = [];
  const runs: RunReport[] = [];
  try {
    const first = await deployVersion(cluster, 'g0', `${options.seed}-0`);
    if (first.outputs.result !== 'promoted')
      throw new Error(`the first deploy of chain ${options.seed} failed:\n${first.stdout}`);
    versions.push('g0');

    for (let i = 1; i <= options.runs; i++) {
      const seed = deriveSeed(options.seed, i);
      const random = new RandomSource(seed);
      const kind = pickRunKind(random);
      const schedule = faultSchedule(random, { maxRate: options.maxRate ?? 0.2 });
      const action = actionOf(kind);
      const runId = `${options.seed}-${i}`;

      let target: string;
      let inputs: Record<string, string>;
      if (action === 'deploy') {
        target = kind === 'redeploy' ? (liveVersion(cluster, versions) ?? 'g0') : versionName(kind, i);
        if (kind === 'deploy-failing-after-switch')
          behaviours.unshift({
            image: `*@${digest('gateway', target)}`,
            ready: '200ms',
            http: { '/health': { status: 200, body: 'ok' }, '/smoke': { status: 503, body: 'broken' } },
          });
        if (kind === 'deploy-never-ready')
          behaviours.unshift({ image: `*@${digest('auth', target)}`, ready: 'deadline' });
        if (!versions.includes(target)) versions.push(target);
        inputs = deployInputs(target);
      } else {
        const recorded = releaseRecords(cluster.double, CHAIN_NAMESPACE).filter(
          (r) => r.result === 'promoted' || r.result === 'rolled-back',
        );
        const to =
          kind === 'rollback-to' && recorded.length > 0 ? String(random.pick(recorded).revision) : 'previous';
        target = to;
        inputs = { ...TIMINGS, to };
      }
      cluster.double.setBehaviours(behaviours);

      const before = releaseRecords(cluster.double, CHAIN_NAMESPACE)[0]?.revision ?? 0;
      const violationsBefore = cluster.double.violations().length;
      cluster.double.setFaults(schedule.rules, schedule.seed);
      const r =
        action === 'deploy'
          ? await deploy(cluster, inputs, { runId, timeoutMs: 240_000 })
          : await rollback(cluster, inputs, { runId, timeoutMs: 240_000 });
      const counts = cluster.double.faultCounts();
      cluster.double.setFaults([]);
      await cluster.double.settle();

      const fired = [...new Set(schedule.kinds.filter((_, k) => (counts[k] ?? 0) > 0))];
      const result = r.outputs.result;
      const problems = judge({ r, action, kind, fired });
      problems.push(...liveColorProblems(cluster.double, CHAIN_NAMESPACE, CHAIN_SERVICES));
      problems.push(...historyProblems(cluster.double, CHAIN_NAMESPACE));
      const after = releaseRecords(cluster.double, CHAIN_NAMESPACE)[0]?.revision ?? 0;
      if (after - before > 1) problems.push(`${after - before} release records created by one run`);
      const violations = cluster.double
        .violations()
        .slice(violationsBefore)
        .map((v) => v.message);
      const report: RunReport = {
        index: i,
        seed,
        kind,
        action,
        target,
        schedule,
        fired,
        result,
        exitCode: r.exitCode,
        error: r.errors[0],
        durationMs: r.durationMs,
        violations,
        problems,
        keptDir: keepOrRemove(r, problems.length + violations.length > 0),
      };
      runs.push(report);
      options.log(describeRun(options.seed, report));
    }

    const closing = await deployVersion(cluster, 'c', `${options.seed}-closing`);
    await cluster.double.settle();
    const closingProblems = [
      ...(closing.outputs.result === 'promoted'
        ? []
        : [
            `the fault-free deploy after the chain ended ${closing.outputs.result ?? 'without a result'}: ${closing.errors.join(' | ')}`,
          ]),
      ...liveColorProblems(cluster.double, CHAIN_NAMESPACE, CHAIN_SERVICES),
      ...historyProblems(cluster.double, CHAIN_NAMESPACE, { settled: true }),
    ];
    keepOrRemove(closing, closingProblems.length > 0);
    options.log(
      `chain ${options.seed}: closing deploy ${closing.outputs.result ?? 'no result'}${closingProblems.length === 0 ? '' : ` ✗ ${closingProblems.join('; ')}`}`,
    );
    return {
      seed: options.seed,
      runs,
      closing: { result: closing.outputs.result, problems: closingProblems },
      violations: cluster.double.violations().length,
    };
  } finally {
    await cluster.double.close();
  }
}

/** The command that replays a chain up to run `index` (the same schedules and choices). */
export function reproduceCommand(chainSeed: number, index: number): string {
  return `DS_RELIABILITY_SEED=${chainSeed} DS_RELIABILITY_RUNS=${index} npm run jest -- packages/reliability/__tests__/faulted-releases.test.ts`;
}

function deployInputs(version: string): Record<string, string> {
  return {
    ...TIMINGS,
    overlay: CHAIN_OVERLAY,
    images: buildRecords(version, CHAIN_SERVICES),
    'health-checks': CHECKS,
    'lock-ttl': '3s',
  };
}

function deployVersion(cluster: ExampleCluster, version: string, runId: string): Promise<ActionRunResult> {
  return deploy(cluster, deployInputs(version), { runId, timeoutMs: 240_000 });
}

function versionName(kind: RunKind, index: number): string {
  const prefix = kind === 'deploy-failing-after-switch' ? 's' : kind === 'deploy-never-ready' ? 'n' : 'g';
  return `${prefix}${index}`;
}

/** The version whose image the live gateway runs, among those deployed. */
function liveVersion(cluster: ExampleCluster, versions: readonly string[]): string | undefined {
  const svc = cluster.double
    .objects('services', CHAIN_NAMESPACE)
    .find((s) => (s.metadata as { name: string }).name === 'gateway') as
    { spec?: { selector?: Record<string, string> } } | undefined;
  const color = svc?.spec?.selector?.['dreamscape.io/color'];
  const dep = cluster.double
    .objects('deployments', CHAIN_NAMESPACE)
    .find((d) => (d.metadata as { name: string }).name === `gateway-${color ?? ''}`) as
    { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } } | undefined;
  const image = dep?.spec?.template?.spec?.containers?.[0]?.image ?? '';
  return versions.find((v) => image.endsWith(`@${digest('gateway', v)}`));
}

/** The result and exit code a run must have. */
function judge(o: {
  r: ActionRunResult;
  action: ActionName;
  kind: RunKind;
  fired: readonly FaultKind[];
}): string[] {
  const { r, action, kind, fired } = o;
  const problems: string[] = [];
  const result = r.outputs.result;
  if (result === undefined) {
    problems.push(
      `no result output (exit ${r.exitCode ?? r.signal ?? '?'}): ${r.errors.join(' | ') || r.stderr.slice(-500)}`,
    );
    return problems;
  }
  if (!ALLOWED_RESULTS[action].includes(result))
    problems.push(`result '${result}' is not one ${action} may end with`);
  const succeeded = result === 'promoted' || (action === 'rollback' && result !== 'failed');
  if (r.exitCode !== (succeeded ? 0 : 1))
    problems.push(`result '${result}' with exit code ${r.exitCode ?? r.signal ?? '?'}`);
  const natural = resultWithoutFaults(kind);
  if (fired.length === 0 && natural !== undefined && result !== natural)
    problems.push(
      `no fault fired, yet it ended '${result}' instead of '${natural}': ${r.errors.join(' | ')}`,
    );
  return problems;
}

function keepOrRemove(r: ActionRunResult, keep: boolean): string | undefined {
  if (!keep) {
    rmSync(r.dir, { recursive: true, force: true });
    return undefined;
  }
  writeFileSync(join(r.dir, 'stdout.log'), r.stdout);
  writeFileSync(join(r.dir, 'stderr.log'), r.stderr);
  return r.dir;
}

function describeRun(chainSeed: number, r: RunReport): string {
  const head = `chain ${chainSeed} run ${r.index} seed=${r.seed} ${r.kind}(${r.target}) faults=[${r.schedule.description.join('; ')}] fired=[${r.fired.join(',')}]`;
  const why = r.result === 'failed' && r.error !== undefined ? ` (${shorten(r.error)})` : '';
  const tail = `→ ${r.result ?? 'no result'}${why} in ${(r.durationMs / 1000).toFixed(1)}s`;
  const wrong = [...r.problems, ...r.violations.map((v) => `violation: ${v}`)];
  if (wrong.length === 0) return `${head} ${tail}`;
  return `${head} ${tail} ✗ ${wrong.join('; ')}\n  kept ${r.keptDir ?? ''}\n  reproduce: ${reproduceCommand(chainSeed, r.index)}`;
}

/** The first line of an error, at most 140 characters. */
function shorten(error: string): string {
  const line = error.split('\n')[0] ?? '';
  return line.length > 140 ? `${line.slice(0, 139)}…` : line;
}

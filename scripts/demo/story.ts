import { copyFileSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildRecord } from '@dreamscape/image';
import type { BehaviourEntry, TrafficSummary, Violation } from '@dreamscape/kube-double';
import { runKubectl, startLoad, type LoadRun, type RunningPrometheus } from '@dreamscape/testkit';
import type { BundleRun, BundleRunner } from './action-bundles.js';
import {
  BAD_SHARE,
  badCanaryBehaviours,
  CANARY_STEPS,
  canaryIngresses,
  canaryInput,
  canaryStepTable,
  ERROR_RATIO_MAX,
  ERROR_RATIO_QUERY,
  errorRatioAnalysis,
  journaledWeights,
  readReleaseRecord,
  smokeAnalysis,
} from './canary.js';
import type { DemoCluster } from './cluster.js';
import {
  CHART_APP,
  CHART_NAMESPACE,
  CHART_SERVICE,
  chartInputs,
  chartJobs,
  failingMigrationBehaviour,
  jobTable,
  MIGRATION_ERROR,
  type ChartJob,
} from './helm-chart.js';
import { seconds, type Progress } from './progress.js';
import type { OfflineScanner } from './scanner.js';
import { NOWHERE } from './scanner.js';
import type { DemoWorkspace } from './workspace.js';

/** The versions the story builds; each differs from the others only by its VERSION build-arg. */
export const VERSIONS = ['v1', 'v2', 'v3', 'v4', 'v5'] as const;
/** `v1` to `v5`. */
export type Version = (typeof VERSIONS)[number];

/** The namespace of the example's dev overlay. */
export const NAMESPACE = 'dreamscape-dev';
/** The environment the story deploys to (history, lock and releases are per environment). */
export const ENVIRONMENT = 'dev';
/** The application name: one release covers every Service of the overlay. */
export const APP = 'dreamscape';

/**
 * Image behaviours of the double while the story runs: pods are Ready a simulated second after they
 * start and answer the probes of the health checks. {@link brokenBehaviours} adds the broken v3.
 */
export const HEALTHY_BEHAVIOURS: readonly BehaviourEntry[] = [
  {
    image: '*',
    ready: '1s',
    http: {
      '/health': { status: 200, body: { status: 'ok' } },
      '/version': { status: 200, body: { status: 'ok' } },
    },
  },
];

/** v3's digests answer 500 on /version, the path the post-switch checks probe. */
export function brokenBehaviours(v3: Readonly<Record<string, BuildRecord>>): BehaviourEntry[] {
  return [
    ...Object.values(v3).map((r) => ({
      image: `*@${r.digest}`,
      ready: '1s',
      http: {
        '/health': { status: 200, body: { status: 'ok' } },
        '/version': { status: 500, body: 'v3: the database migration did not run' },
      },
    })),
    ...HEALTHY_BEHAVIOURS,
  ];
}

/** What the story needs. */
export interface StoryContext {
  readonly progress: Progress;
  readonly runner: BundleRunner;
  readonly cluster: DemoCluster;
  readonly workspace: DemoWorkspace;
  readonly services: readonly string[];
  /** Images are `<imagePrefix>/<service>`. */
  readonly imagePrefix: string;
  readonly credentials: { readonly username: string; readonly password: string } | undefined;
  /** BASE_IMAGE build-arg. */
  readonly baseImage: string;
  readonly scanner: OfflineScanner;
  readonly workDir: string;
  /** The Prometheus scraping the double's data plane, once it has scraped it; undefined on a real cluster. */
  readonly prometheus: Promise<RunningPrometheus> | undefined;
  /** Builds (and scans) running at once. */
  readonly concurrency: number;
}

/** One job summary an action wrote, with what it was for. */
export interface CollectedSummary {
  readonly title: string;
  readonly markdown: string;
}

/** The outputs of a deploy or rollback that the story checks. */
export interface ReleaseOutcome {
  readonly step: string;
  readonly action: 'action-deploy' | 'action-rollback';
  readonly exitCode: number | null;
  readonly result: string;
  readonly revision: string;
  readonly activeColor: string;
  readonly previousColor: string;
  /** How action-rollback got there: `fast`, `warm-up` or `re-apply` (empty for a deploy). */
  readonly path: string;
  /** The step's error messages (a failed or switched-back release has some). */
  readonly errors: readonly string[];
  /** The action's whole log. */
  readonly logFile: string;
}

/** What the scan of one image concluded. */
export interface ScanOutcome {
  readonly service: string;
  readonly verdict: string;
  readonly total: string;
  readonly counts: string;
  /** Whether its verdict was attached to the image in the registry. */
  readonly attached: boolean;
}

/** Everything the story produced, written to results.json. */
export interface StoryResults {
  readonly builds: Partial<Record<Version, Record<string, BuildRecord>>>;
  readonly scans: { scanner: string; readonly images: ScanOutcome[] };
  readonly releases: ReleaseOutcome[];
  /** Per service, the color its Service selects and the image that color runs, at the end. */
  readonly live: Record<string, { readonly color: string; readonly image: string }>;
  /** Invariant violations the double recorded; null on a real cluster. */
  violations: readonly Violation[] | null;
  /** The steady traffic sent through the Ingress from v1 live to the end of the canaries; null when none was. */
  traffic: DemoTraffic | null;
  /** The canary chapter (v4 promoted step by step, v5 aborted); null when it did not run. */
  canary: CanaryChapter | null;
  /** The chart chapter (the payment chart: v1 promoted, v3 stopped by its migration); null when it did not run. */
  chart: ChartChapter | null;
  readonly summaries: CollectedSummary[];
}

/** The payment service released from its Helm chart, apart from the overlay's release. */
export interface ChartChapter {
  /** The chart as action-deploy was given it: a folder of the workspace. */
  readonly chart: string;
  /** Its name and version, as the release records keep them. */
  name: string;
  version: string;
  readonly app: string;
  readonly environment: string;
  readonly namespace: string;
  readonly releases: ChartRun[];
  /** The color the chart's Service selects at the end, and the image that color runs. */
  live: { readonly color: string; readonly image: string } | null;
  /** Deployments of the chart's namespace that run the digest whose migration failed (none should). */
  failedImageDeployments: readonly string[];
}

/** One release of the chart, from its outputs, its record in the cluster and its job summary. */
export interface ChartRun {
  readonly version: 'v1' | 'v3';
  /** The release's step title, as in `releases`. */
  readonly step: string;
  readonly result: string;
  readonly revision: string;
  /** The live color when the run ended. */
  readonly activeColor: string;
  /** The payment image pinned for it. */
  readonly image: string;
  /** The digest of the values and `set` entries the chart was rendered with. */
  readonly valuesDigest: string;
  /** The pre-deploy and post-deploy Jobs it ran, as its record keeps them. */
  readonly jobs: readonly ChartJob[];
  /** The Job table of the job summary action-deploy wrote. */
  readonly jobTable: readonly string[];
}

/** v4 and v5 released by canary, and what they left. */
export interface CanaryChapter {
  /** The weights of every step, the last one the switch. */
  readonly steps: readonly number[];
  /** The Prometheus the analysis asked; null on a real cluster (health checks judged the steps). */
  readonly prometheus: string | null;
  /** Its query, with the `{{ canary }}` placeholder, and the highest value a step may read. */
  readonly query: string | null;
  readonly max: number | null;
  readonly releases: CanaryRun[];
  /** Canary Ingresses in the namespace at the end (none should be left). */
  canaryIngresses: readonly string[];
  /** Per service, the color its Service selects and the image that color runs, at the end. */
  readonly live: Record<string, { readonly color: string; readonly image: string }>;
}

/** One canary release, from its outputs and its record in the cluster. */
export interface CanaryRun {
  readonly version: 'v4' | 'v5';
  /** The release's step title, as in `releases`. */
  readonly step: string;
  readonly result: string;
  readonly revision: string;
  /** The color the candidate ran in. */
  readonly candidateColor: string;
  /** The live color when the run ended. */
  readonly activeColor: string;
  /** What the record's journal says: the weights written, and those whose analysis passed. */
  readonly weights: readonly number[];
  readonly analysed: readonly number[];
  /** The weight whose analysis failed; null when every step passed. */
  readonly abortedAt: number | null;
  readonly journal: readonly string[];
  /** The per-step table of the job summary action-deploy wrote. */
  readonly stepTable: readonly string[];
}

/** What the users' traffic saw while the story released, and what the monitor judged of it. */
export interface DemoTraffic {
  readonly host: string;
  readonly path: string;
  readonly rps: number;
  readonly sent: number;
  readonly errors5xx: number;
  readonly transportErrors: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byColor: Readonly<Record<string, number>>;
  readonly monitor: TrafficSummary;
}

/** The host of the example's Ingress in the dev overlay, which the demo deploys. */
export const INGRESS_HOST = 'dev.dreamscape.example.com';
/** Users ask for /version: the path v3 breaks, so the client sees what the switch-back saved them from. */
const TRAFFIC_PATH = '/version';
const TRAFFIC_RPS = 20;

/** A step that did not end as the story needs. */
export class StoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoryError';
  }
}

/**
 * The story: build v1, scan it, deploy it to dev, build and deploy v2 blue-green, build and deploy a
 * broken v3 that switches back by itself, roll back to revision 1, release v4 by canary and a bad
 * v5 whose canary is aborted, release the payment chart (v1 promoted after its migration, v3
 * stopped by its failing migration), then check what runs and what the invariant monitor saw. Fills
 * `results` as it goes, so a failure still leaves what happened.
 */
export async function runStory(ctx: StoryContext, results: StoryResults): Promise<void> {
  const { progress } = ctx;
  await ctx.cluster.setBehaviours(HEALTHY_BEHAVIOURS);

  const v1 = await build(ctx, results, 'v1');
  const scanned = await scan(ctx, results, v1);
  const first = await release(ctx, results, 'deploy v1 to dev', 'action-deploy', {
    ...deployInputs(ctx, v1, healthChecks(ctx.services)),
    ...(scanned ? requireScan(ctx) : {}),
  });
  expectOutcome(first, { result: 'promoted', exitCode: 0 });
  progress.line(`  v1 is live on ${first.activeColor}, revision ${first.revision}`);
  const load = startTraffic(ctx);
  try {
    await releaseUnderTraffic(ctx, results, first, v1);
    await releaseByCanary(ctx, results);
  } finally {
    await stopTraffic(ctx, results, load);
  }
  await releaseFromChart(ctx, results);

  await progress.step('invariant monitor', async () => {
    const violations = await ctx.cluster.violations();
    results.violations = violations ?? null;
    if (violations === undefined) return 'not available on a real cluster';
    for (const v of violations) progress.line(`  ${v.kind}: ${v.message} at ${v.at}`);
    if (violations.length > 0)
      throw new StoryError(
        `The invariant monitor recorded ${violations.length} violation(s): a Service selected unready pods, none, or two colors, or traffic reached an unready pod or no endpoint.`,
      );
    const traffic = results.traffic?.monitor;
    return traffic === undefined
      ? '0 violations (every Service selected Ready pods of one color at every instant)'
      : `0 violations (every Service selected Ready pods of one color at every instant; ${traffic.unreadyAnswers} requests to unready pods, ${traffic.routing503s} routing 503s)`;
  });
}

/** v2, the broken v3 and the rollback to revision 1, while users' requests flow. */
async function releaseUnderTraffic(
  ctx: StoryContext,
  results: StoryResults,
  first: ReleaseOutcome,
  v1: Record<string, BuildRecord>,
): Promise<void> {
  const { progress } = ctx;

  const v2 = await build(ctx, results, 'v2');
  const second = await release(
    ctx,
    results,
    'deploy v2 blue-green',
    'action-deploy',
    deployInputs(ctx, v2, healthChecks(ctx.services)),
  );
  expectOutcome(second, { result: 'promoted', exitCode: 0 });
  if (second.activeColor === first.activeColor)
    throw new StoryError(`v2 went live on ${second.activeColor}, the color v1 was on: not blue-green.`);
  progress.line(
    `  v2 is live on ${second.activeColor}, revision ${second.revision}; v1 still runs on ${first.activeColor}`,
  );

  const v3 = await build(ctx, results, 'v3');
  let checks = healthChecks(ctx.services);
  if (ctx.cluster.kind === 'kube-double') {
    await ctx.cluster.setBehaviours(brokenBehaviours(v3));
    progress.line('  v3 is broken: its pods answer 500 on /version, which the post-switch checks probe');
  } else {
    // A real cluster runs the real image, which is healthy: v3 gets a smoke test it cannot pass.
    checks += smokeCheck(ctx.services[0] ?? 'gateway');
    progress.line('  v3 is broken: its post-switch smoke test asks for /smoke, which no build serves');
  }
  const third = await release(ctx, results, 'deploy broken v3', 'action-deploy', {
    ...deployInputs(ctx, v3, checks),
    'verify-window': '3s',
  });
  expectOutcome(third, { result: 'rolled-back', exitCode: 1 });
  if (third.activeColor !== second.activeColor)
    throw new StoryError(
      `After v3 switched back, ${third.activeColor} is live, not v2's ${second.activeColor}.`,
    );
  progress.line(
    `  v3 failed after the switch and switched back by itself: v2 is live on ${third.activeColor}`,
  );

  const back = await release(ctx, results, 'roll back to revision 1', 'action-rollback', {
    environment: ENVIRONMENT,
    app: APP,
    to: '1',
    reason: 'demo: back to v1 on request',
    // Before anything is written: the v1 images must still be in the registry.
    'verify-images': 'true',
    ...(ctx.credentials === undefined
      ? {}
      : { 'registry-username': ctx.credentials.username, 'registry-password': ctx.credentials.password }),
    'verify-window': '2s',
    'rollout-timeout': '3m',
    'lock-timeout': '1m',
  });
  expectOutcome(back, { result: 'rolled-back', exitCode: 0 });
  if (back.revision !== '1')
    throw new StoryError(`action-rollback went to revision ${back.revision}, not 1.`);

  Object.assign(results.live, await checkWhatRuns(ctx, 'check what runs', 'v1', v1));
}

/**
 * The canary chapter: v4 released by canary with the nginx router, 10 → 50 → 100 %, each step
 * analysed (on the double: the canary's 5xx ratio, read from the real Prometheus), and promoted;
 * then a bad v5 whose pods answer a share of 500s, aborted at its first step with the live color
 * untouched; then nothing of the canaries may be left.
 */
async function releaseByCanary(ctx: StoryContext, results: StoryResults): Promise<void> {
  const { progress } = ctx;
  if (!ctx.services.includes('gateway')) {
    progress.line(
      "  no canary: the nginx router splits the example's Ingress, which serves the gateway service, not deployed",
    );
    return;
  }
  const onDouble = ctx.cluster.kind === 'kube-double';
  if (onDouble && ctx.prometheus === undefined)
    throw new StoryError('The canary chapter needs the Prometheus that scrapes the double, and none runs.');
  const prometheus = await ctx.prometheus;
  const chapter: CanaryChapter = {
    steps: CANARY_STEPS,
    prometheus: prometheus?.url ?? null,
    query: prometheus === undefined ? null : ERROR_RATIO_QUERY,
    max: prometheus === undefined ? null : ERROR_RATIO_MAX,
    releases: [],
    canaryIngresses: [],
    live: {},
  };
  results.canary = chapter;
  progress.line(
    `  canary: v4 and v5 by canary, nginx router, ${CANARY_STEPS.map((w) => `${String(w)} %`).join(' → ')}, each step analysed by ${prometheus === undefined ? 'health checks' : `Prometheus (${prometheus.url}): the canary's 5xx ratio over 10 s, at most ${percent(ERROR_RATIO_MAX)}`}`,
  );
  const analysis = prometheus === undefined ? undefined : errorRatioAnalysis(prometheus.url);

  const v4 = await build(ctx, results, 'v4');
  const fourth = await canaryRun(ctx, results, chapter, 'v4', 'deploy v4 by canary', {
    ...deployInputs(ctx, v4, healthChecks(ctx.services)),
    strategy: 'canary',
    canary: canaryInput('3s', analysis),
  });
  expectOutcome(fourth.outcome, { result: 'promoted', exitCode: 0 });
  const stepsDone = fourth.run.analysed.join(', ');
  if (fourth.run.weights.join(',') !== CANARY_STEPS.join(',') || stepsDone !== CANARY_STEPS.join(', '))
    throw new StoryError(
      `v4 was promoted, but its journal shows weights ${fourth.run.weights.join(', ') || 'none'} written and ${stepsDone || 'none'} analysed, not ${CANARY_STEPS.join(', ')}.`,
    );
  progress.line(
    `  v4 went ${CANARY_STEPS.map((w) => `${String(w)} %`).join(' → ')}, every step's analysis passed: live on ${fourth.run.activeColor}, revision ${fourth.run.revision}`,
  );

  const v5 = await build(ctx, results, 'v5');
  let v5Analysis: string;
  if (onDouble) {
    await ctx.cluster.setBehaviours(badCanaryBehaviours(v5, brokenBehaviours(results.builds.v3 ?? {})));
    v5Analysis = analysis ?? '';
    progress.line(
      `  v5 is bad: its pods answer ${percent(BAD_SHARE)} of the requests to /version with 500 (their /health is fine)`,
    );
  } else {
    v5Analysis = smokeAnalysis('gateway');
    progress.line('  v5 is bad: its analysis asks its preview Service for /smoke, which no build serves');
  }
  const fifth = await canaryRun(ctx, results, chapter, 'v5', 'deploy bad v5 by canary', {
    ...deployInputs(ctx, v5, healthChecks(ctx.services)),
    strategy: 'canary',
    // Long enough for the first step to be judged on what users got; a bad v5 never waits it out.
    canary: canaryInput('20s', v5Analysis),
  });
  expectOutcome(fifth.outcome, { result: 'rolled-back', exitCode: 1 });
  const first = CANARY_STEPS[0];
  if (fifth.run.abortedAt !== first || fifth.run.weights.join(',') !== String(first))
    throw new StoryError(
      `v5 was rolled back, but not at its first step (${String(first)} %): its journal shows weights ${fifth.run.weights.join(', ') || 'none'} written and ${fifth.run.analysed.join(', ') || 'none'} analysed.`,
    );
  if (fifth.run.activeColor !== fourth.run.activeColor)
    throw new StoryError(
      `After v5's abort ${fifth.run.activeColor} is live, not v4's ${fourth.run.activeColor}.`,
    );
  progress.line(
    `  v5 aborted at ${String(first)} %: ${prometheus === undefined ? 'its analysis failed' : `Prometheus read its 5xx ratio above ${percent(ERROR_RATIO_MAX)}`}; weight 0, canary Ingress removed, ${fifth.run.candidateColor} scaled down; v4 still live on ${fifth.run.activeColor}, untouched`,
  );

  await progress.step('check what the canaries left', async () => {
    chapter.canaryIngresses = await canaryIngresses(ctx.cluster.kubeconfig, NAMESPACE);
    if (chapter.canaryIngresses.length > 0)
      throw new StoryError(`Canary Ingresses are left: ${chapter.canaryIngresses.join(', ')}.`);
    progress.line('  no canary Ingress left');
    return 'no canary Ingress left';
  });
  Object.assign(chapter.live, await checkWhatRuns(ctx, 'check what runs after the canaries', 'v4', v4));
}

/** Deploys one canary release, then reads its record's journal and its job summary's step table. */
async function canaryRun(
  ctx: StoryContext,
  results: StoryResults,
  chapter: CanaryChapter,
  version: 'v4' | 'v5',
  title: string,
  inputs: Record<string, string>,
): Promise<{ outcome: ReleaseOutcome; run: CanaryRun }> {
  const outcome = await release(ctx, results, title, 'action-deploy', inputs);
  const revision = Number(outcome.revision);
  if (!Number.isInteger(revision) || revision < 1)
    throw new StoryError(`${title}: action-deploy gave no revision.\n${outcome.errors.join('\n')}`);
  const record = await readReleaseRecord(
    ctx.cluster.kubeconfig,
    { namespace: NAMESPACE, app: APP, environment: ENVIRONMENT },
    revision,
  );
  if (record.strategy !== 'canary')
    throw new StoryError(`${title}: its record says strategy ${record.strategy}, not canary.`);
  const { written, analysed } = journaledWeights(record);
  const failedAt = written.find((w) => !analysed.includes(w));
  const summary = results.summaries.find((s) => s.title === `action-deploy: ${title}`)?.markdown ?? '';
  const run: CanaryRun = {
    version,
    step: title,
    result: outcome.result,
    revision: outcome.revision,
    candidateColor: record.color ?? '',
    activeColor: outcome.activeColor,
    weights: written,
    analysed,
    abortedAt: outcome.result === 'promoted' || failedAt === undefined ? null : failedAt,
    journal: record.journal.map((j) => j.step),
    stepTable: canaryStepTable(summary),
  };
  chapter.releases.push(run);
  for (const row of run.stepTable.slice(2)) ctx.progress.line(`  ${row}`);
  return { outcome, run };
}

/**
 * The chart chapter: the payment service's own Helm chart released as app `payment` into its own
 * namespace, images pinned by digest with the payment builds of the story. v1: its migration, a
 * Helm pre-install/pre-upgrade hook Job, runs before the candidate and the release is promoted.
 * v3: its migration fails, so the release fails before any pod of v3 exists and v1 stays live.
 */
async function releaseFromChart(ctx: StoryContext, results: StoryResults): Promise<void> {
  const { progress } = ctx;
  if (!ctx.services.includes(CHART_SERVICE)) {
    progress.line(
      `  no Helm chart: the ${CHART_SERVICE} chart runs the ${CHART_SERVICE} image, and ${CHART_SERVICE} is not among the services`,
    );
    return;
  }
  if (ctx.cluster.kind !== 'kube-double') {
    // The example image starts its server whatever its arguments: a migration Job of it never ends.
    progress.line(
      `  no Helm chart on a real cluster: the example ${CHART_SERVICE} image has no migration command, so the chart's migration Job would run until its deadline`,
    );
    return;
  }
  const v1 = results.builds.v1?.[CHART_SERVICE];
  const v3 = results.builds.v3?.[CHART_SERVICE];
  if (v1 === undefined || v3 === undefined)
    throw new StoryError(`The chart chapter needs the ${CHART_SERVICE} builds of v1 and v3.`);
  const chapter: ChartChapter = {
    chart: ctx.workspace.chart,
    name: '',
    version: '',
    app: CHART_APP,
    environment: ENVIRONMENT,
    namespace: CHART_NAMESPACE,
    releases: [],
    live: null,
    failedImageDeployments: [],
  };
  results.chart = chapter;
  // A chart does not create its namespace: the platform team does, once.
  const created = await runKubectl(['create', 'namespace', CHART_NAMESPACE], {
    kubeconfig: ctx.cluster.kubeconfig,
  });
  if (created.exitCode !== 0)
    throw new StoryError(`kubectl create namespace ${CHART_NAMESPACE} failed: ${created.stderr}`);
  progress.line(
    `  helm chart: ${ctx.workspace.chart}, the ${CHART_SERVICE} service's own chart, as app ${CHART_APP} to ${ENVIRONMENT} in namespace ${CHART_NAMESPACE} (created with kubectl; the overlay's release is in ${NAMESPACE}), images pinned by digest`,
  );

  const first = await chartRun(ctx, results, chapter, 'v1', `deploy the ${CHART_SERVICE} chart, v1`, v1);
  expectOutcome(first.outcome, { result: 'promoted', exitCode: 0 });
  const migration = preDeployJob(first.run, 'v1');
  if (migration.result !== 'succeeded')
    throw new StoryError(
      `v1 from the chart was promoted, but its pre-deploy Job ${migration.job} ${migration.result}: ${migration.message}`,
    );
  progress.line(
    `  chart ${chapter.name} ${chapter.version}: pre-deploy Job ${migration.job} succeeded (${seconds(migration.durationMs)}) before the candidate came up; ${CHART_SERVICE} v1 live on ${first.run.activeColor}, revision ${first.run.revision}`,
  );

  await ctx.cluster.setBehaviours([failingMigrationBehaviour(v3), ...ctx.cluster.behaviours()]);
  progress.line(
    `  ${CHART_SERVICE} v3's migration fails: its Job pod prints '${MIGRATION_ERROR}' and exits 1`,
  );
  const second = await chartRun(
    ctx,
    results,
    chapter,
    'v3',
    `deploy the ${CHART_SERVICE} chart, v3 whose migration fails`,
    v3,
  );
  expectOutcome(second.outcome, { result: 'failed', exitCode: 1 });
  const failed = preDeployJob(second.run, 'v3');
  const lastLine = failed.logTail.at(-1) ?? '';
  if (failed.result !== 'failed' || lastLine !== MIGRATION_ERROR)
    throw new StoryError(
      `v3 from the chart failed, but its pre-deploy Job ${failed.job} ${failed.result} with the last log line '${lastLine}', not failed with '${MIGRATION_ERROR}'.`,
    );
  if (second.run.activeColor !== first.run.activeColor)
    throw new StoryError(
      `After v3's failed migration ${second.run.activeColor || 'no color'} is live, not v1's ${first.run.activeColor}.`,
    );
  progress.line(`  pre-deploy Job ${failed.job} failed; the last line of its pod's log: ${lastLine}`);

  await ctx.progress.step('check what runs from the chart', async () => {
    const live = await liveImages(ctx, CHART_NAMESPACE, [CHART_SERVICE]);
    const got = live.images[CHART_SERVICE];
    chapter.live = got ?? null;
    chapter.failedImageDeployments = live.deployments
      .filter((d) => d.images.some((i) => i.endsWith(`@${v3.digest}`)))
      .map((d) => d.name);
    if (got?.image !== v1.image)
      throw new StoryError(
        `${CHART_SERVICE} in ${CHART_NAMESPACE} runs ${got?.image ?? 'nothing'} on ${got?.color ?? 'no color'}, not v1 (${v1.image}).`,
      );
    if (chapter.failedImageDeployments.length > 0)
      throw new StoryError(
        `v3's migration failed, yet ${chapter.failedImageDeployments.join(', ')} run v3's image.`,
      );
    progress.line(
      `  ${CHART_SERVICE.padEnd(9)} ${got.color.padEnd(5)} ${shortImage(got.image)} (v1); no Deployment runs v3, nothing switched`,
    );
    return `${CHART_SERVICE} still runs v1 on ${got.color}, untouched by v3`;
  });
}

/** Deploys the chart at `version`, then reads its record (chart, Jobs) and its job summary's Job table. */
async function chartRun(
  ctx: StoryContext,
  results: StoryResults,
  chapter: ChartChapter,
  version: 'v1' | 'v3',
  title: string,
  record: BuildRecord,
): Promise<{ outcome: ReleaseOutcome; run: ChartRun }> {
  const outcome = await release(ctx, results, title, 'action-deploy', {
    ...chartInputs(chapter.chart, ctx.imagePrefix, record),
    environment: ENVIRONMENT,
    app: CHART_APP,
    'health-checks': healthChecks([CHART_SERVICE]),
    'verify-window': '2s',
    'rollout-timeout': '3m',
    'lock-timeout': '1m',
  });
  const revision = Number(outcome.revision);
  if (!Number.isInteger(revision) || revision < 1)
    throw new StoryError(`${title}: action-deploy gave no revision.\n${outcome.errors.join('\n')}`);
  const stored = await readReleaseRecord(
    ctx.cluster.kubeconfig,
    { namespace: CHART_NAMESPACE, app: CHART_APP, environment: ENVIRONMENT },
    revision,
  );
  if (stored.source?.kind !== 'chart')
    throw new StoryError(`${title}: its record names no chart as its source.`);
  chapter.name = stored.source.name;
  chapter.version = stored.source.version;
  const summary = results.summaries.find((s) => s.title === `action-deploy: ${title}`)?.markdown ?? '';
  const run: ChartRun = {
    version,
    step: title,
    result: outcome.result,
    revision: outcome.revision,
    activeColor: outcome.activeColor,
    image: record.image,
    valuesDigest: stored.source.valuesDigest,
    jobs: chartJobs(stored),
    jobTable: jobTable(summary),
  };
  chapter.releases.push(run);
  for (const row of run.jobTable.slice(2)) ctx.progress.line(`  ${row}`);
  return { outcome, run };
}

/** The run's pre-deploy Job: the chart's migration. */
function preDeployJob(run: ChartRun, version: string): ChartJob {
  const job = run.jobs.find((j) => j.phase === 'pre-deploy');
  if (job === undefined)
    throw new StoryError(
      `${version} from the chart ran no pre-deploy Job (its record lists ${run.jobs.map((j) => j.job).join(', ') || 'none'}): the chart's migration hook was not run.`,
    );
  return job;
}

/** Reads every Service's live color and image; each must be `version`'s. */
async function checkWhatRuns(
  ctx: StoryContext,
  title: string,
  version: Version,
  records: Readonly<Record<string, BuildRecord>>,
): Promise<Record<string, { color: string; image: string }>> {
  let live: Record<string, { color: string; image: string }> = {};
  await ctx.progress.step(title, async () => {
    live = (await liveImages(ctx, NAMESPACE, ctx.services)).images;
    for (const service of ctx.services) {
      const want = records[service]?.image;
      const got = live[service];
      if (got === undefined || want === undefined || got.image !== want)
        throw new StoryError(
          `${service} runs ${got?.image ?? 'nothing'} on ${got?.color ?? 'no color'}, not ${version} (${want ?? '?'}).`,
        );
      ctx.progress.line(
        `  ${service.padEnd(9)} ${got.color.padEnd(5)} ${shortImage(got.image)} (${version})`,
      );
    }
    const colors = [...new Set(ctx.services.map((s) => live[s]?.color ?? ''))].join(', ');
    return `every Service selects ${version} on ${colors}`;
  });
  return live;
}

/** `25 %`. */
function percent(share: number): string {
  return `${String(Math.round(share * 100))} %`;
}

/**
 * Steady requests through the double's data plane to the example's Ingress, as users would send
 * them, when the gateway service is deployed; undefined on a real cluster (the demo does not know
 * its address) or without the gateway.
 */
function startTraffic(ctx: StoryContext): LoadRun | undefined {
  if (ctx.cluster.gatewayUrl === undefined) {
    ctx.progress.line('  no traffic: a real cluster, whose load balancer the demo does not know');
    return undefined;
  }
  if (!ctx.services.includes('gateway')) {
    ctx.progress.line('  no traffic: the gateway service, which the Ingress serves, is not deployed');
    return undefined;
  }
  ctx.progress.line(
    `  traffic: ${String(TRAFFIC_RPS)} requests/s to http://${INGRESS_HOST}${TRAFFIC_PATH} through the Ingress, from now to the end`,
  );
  return startLoad({
    url: ctx.cluster.gatewayUrl,
    host: INGRESS_HOST,
    path: TRAFFIC_PATH,
    rps: TRAFFIC_RPS,
    maxDurationMs: 60 * 60_000,
  });
}

/** Stops the traffic and records what the client saw and what the traffic monitor judged. */
async function stopTraffic(
  ctx: StoryContext,
  results: StoryResults,
  load: LoadRun | undefined,
): Promise<void> {
  if (load === undefined) return;
  const seen = await load.stop();
  const monitor = await ctx.cluster.traffic();
  if (monitor === undefined) return;
  results.traffic = {
    host: INGRESS_HOST,
    path: TRAFFIC_PATH,
    rps: TRAFFIC_RPS,
    sent: seen.sent,
    errors5xx: seen.errors5xx,
    transportErrors: seen.transportErrors,
    byStatus: seen.byStatus,
    byColor: seen.byColor,
    monitor,
  };
  const colors = Object.entries(seen.byColor)
    .map(([color, n]) => `${color} ${String(n)}`)
    .join(', ');
  ctx.progress.line(
    `  traffic: ${String(seen.sent)} requests sent, ${String(seen.errors5xx)} answered 5xx (v3's until it switched back, v5's during its first step), ${String(seen.transportErrors)} unanswered; by color: ${colors}`,
  );
  ctx.progress.line(
    `  traffic checks: ${String(monitor.unreadyAnswers)} requests to unready pods, ${String(monitor.routing503s)} routing 503s`,
  );
}

/** Builds every service at `version` with action-build and pushes it. */
async function build(
  ctx: StoryContext,
  results: StoryResults,
  version: Version,
): Promise<Record<string, BuildRecord>> {
  const records: Record<string, BuildRecord> = {};
  results.builds[version] = records;
  await ctx.progress.step(`build ${version} (action-build, buildah, push)`, async () => {
    await eachLimited(ctx.services, ctx.concurrency, async (service) => {
      const run = await ctx.runner.run('action-build', `${service}-${version}`, {
        image: `${ctx.imagePrefix}/${service}`,
        context: `services/${service}`,
        target: 'runtime',
        'build-args': [`BASE_IMAGE=${ctx.baseImage}`, `VERSION=${version.slice(1)}`].join('\n'),
        tags: `type=raw,value=${version}`,
        builder: 'buildah',
        push: 'true',
        ...(ctx.credentials === undefined
          ? {}
          : { username: ctx.credentials.username, password: ctx.credentials.password }),
      });
      collect(results, `action-build: ${service} ${version}`, run);
      const metadata = run.outputs.metadata;
      if (run.exitCode !== 0 || metadata === undefined)
        throw new StoryError(failure(`building ${service} ${version}`, run));
      const record = JSON.parse(metadata) as BuildRecord;
      records[service] = record;
      ctx.progress.line(
        `  ${service.padEnd(9)} ${shortImage(record.image)} (${(run.durationMs / 1000).toFixed(1)}s)`,
      );
    });
    return `${ctx.services.length} image(s) pushed to ${ctx.imagePrefix}`;
  });
  return records;
}

/**
 * Scans the v1 images with action-scan (the offline scanner, or the recorded report), each verdict
 * attached to its image in the registry. True when every verdict passed and was attached: the v1
 * deploy then requires them.
 */
async function scan(
  ctx: StoryContext,
  results: StoryResults,
  v1: Readonly<Record<string, BuildRecord>>,
): Promise<boolean> {
  const scanner = ctx.scanner;
  const sarifDir = join(ctx.workDir, 'sarif');
  mkdirSync(sarifDir, { recursive: true });
  // action-scan writes its database and SARIF only inside the workspace, RUNNER_TEMP or (the
  // database, by default) the tool cache: the demo lends its offline database through the tool
  // cache, where a self-hosted runner would keep it, and copies the SARIF out afterwards.
  const toolCache = join(ctx.workDir, 'tool-cache');
  const dbLink = join(toolCache, 'dreamscape-scan', `${scanner.name}-db`);
  mkdirSync(join(toolCache, 'dreamscape-scan'), { recursive: true });
  rmSync(dbLink, { recursive: true, force: true });
  symlinkSync(scanner.dbDir, dbLink);
  const how =
    scanner.recorded === undefined
      ? `${scanner.name} ${scanner.version}, offline`
      : `the recorded Trivy report ${scanner.recorded}`;
  await ctx.progress.step(`scan v1 (action-scan, ${how})`, async () => {
    await eachLimited(ctx.services, ctx.concurrency, async (service) => {
      const record = v1[service];
      if (record === undefined) throw new StoryError(`No v1 build of ${service} to scan.`);
      const run = await ctx.runner.run(
        'action-scan',
        `${service}-v1`,
        {
          image: JSON.stringify(record),
          scanner: scanner.name,
          'scanner-version': scanner.version,
          // Never downloaded (the scanner on PATH is the version asked for); should it come to
          // that, nothing listens there and no archive hashes to an all-zero sha256.
          'scanner-download-url': `https://${NOWHERE}/{version}`,
          'scanner-sha256': '0'.repeat(64),
          'severity-threshold': 'high',
          // Report, do not stop: the demo shows the verdict and goes on to deploy.
          'fail-build': 'false',
          'sarif-file': join('sarif', `${service}.sarif`),
          dockerfile: `services/${service}/Dockerfile`,
          timeout: '5m',
          ...(ctx.credentials === undefined
            ? {}
            : {
                'registry-username': ctx.credentials.username,
                'registry-password': ctx.credentials.password,
              }),
        },
        { ...scanner.env, RUNNER_TOOL_CACHE: toolCache },
      );
      collect(results, `action-scan: ${service} v1`, run);
      if (run.exitCode !== 0) throw new StoryError(failure(`scanning ${service} v1`, run));
      copyFileSync(run.outputs['sarif-file'] ?? '', join(sarifDir, `${service}.sarif`));
      const outcome = {
        service,
        verdict: run.outputs.verdict ?? '?',
        total: run.outputs.total ?? '?',
        counts: run.outputs.counts ?? '',
        attached: run.outputs['verdict-attached'] === 'true',
      };
      results.scans.images.push(outcome);
      ctx.progress.line(
        `  ${service.padEnd(9)} verdict ${outcome.verdict}, ${outcome.total} vulnerabilities${outcome.attached ? ', attached to the image' : ''}${outcome.verdict === 'fail' ? ' (a pipeline with fail-build would stop here)' : ''}`,
      );
    });
    const failed = results.scans.images.filter((s) => s.verdict === 'fail').length;
    return `${ctx.services.length} image(s) scanned, ${failed} at or above high`;
  });
  const passed = results.scans.images.every((s) => s.verdict === 'pass' && s.attached);
  ctx.progress.line(
    passed
      ? '  the v1 deploy requires these verdicts (require-scan): each image must have a passing one, at most 7 days old'
      : '  the v1 deploy does not require verdicts: not every image has a passing one attached',
  );
  return passed;
}

/** action-deploy's `require-scan`, reading the verdicts from the demo's registry. */
function requireScan(ctx: StoryContext): Record<string, string> {
  return {
    'require-scan': 'true',
    'scan-registry': ctx.imagePrefix.split('/')[0] ?? '',
    ...(ctx.credentials === undefined
      ? {}
      : { 'registry-username': ctx.credentials.username, 'registry-password': ctx.credentials.password }),
  };
}

/** Runs action-deploy or action-rollback and records its outcome. */
async function release(
  ctx: StoryContext,
  results: StoryResults,
  title: string,
  action: 'action-deploy' | 'action-rollback',
  inputs: Record<string, string>,
): Promise<ReleaseOutcome> {
  let outcome: ReleaseOutcome | undefined;
  await ctx.progress.step(`${title} (${action})`, async () => {
    const run = await ctx.runner.run(action, title, inputs);
    collect(results, `${action}: ${title}`, run);
    outcome = {
      step: title,
      action,
      exitCode: run.exitCode,
      result: run.outputs.result ?? '',
      revision: (action === 'action-deploy' ? run.outputs.revision : run.outputs['to-revision']) ?? '',
      activeColor: run.outputs['active-color'] ?? '',
      previousColor: (action === 'action-deploy' ? run.outputs['previous-color'] : '') ?? '',
      path: action === 'action-rollback' ? releasePath(run.outputs.release) : '',
      errors: run.errors,
      logFile: run.logFile,
    };
    results.releases.push(outcome);
    if (run.outputs.result === undefined) throw new StoryError(failure(title, run));
    for (const e of run.errors) ctx.progress.line(`  ${action} says: ${firstLine(e)}`);
    const path = outcome.path === '' ? '' : `, ${outcome.path} path`;
    return `result ${outcome.result}, revision ${outcome.revision}, live color ${outcome.activeColor}${path}`;
  });
  if (outcome === undefined) throw new StoryError(`${title} did not run.`);
  return outcome;
}

/** The `path` field of action-rollback's `release` output. */
function releasePath(release: string | undefined): string {
  try {
    const path = (JSON.parse(release ?? '{}') as { path?: unknown }).path;
    return typeof path === 'string' ? path : '';
  } catch {
    return '';
  }
}

function expectOutcome(outcome: ReleaseOutcome, want: { result: string; exitCode: number }): void {
  if (outcome.result !== want.result || outcome.exitCode !== want.exitCode)
    throw new StoryError(
      `${outcome.step}: ${outcome.action} ended with result '${outcome.result}' (exit code ${String(outcome.exitCode)}); the story needs '${want.result}' (exit code ${want.exitCode}).\n${outcome.errors.join('\n')}\nIts log: ${outcome.logFile}`,
    );
}

function deployInputs(
  ctx: StoryContext,
  records: Readonly<Record<string, BuildRecord>>,
  checks: string,
): Record<string, string> {
  return {
    overlay: ctx.workspace.overlay,
    environment: ENVIRONMENT,
    app: APP,
    // The build records as action-build wrote them, keyed by service: what a workflow passes on.
    images: JSON.stringify(records),
    'health-checks': checks,
    'verify-window': '2s',
    'rollout-timeout': '3m',
    'lock-timeout': '1m',
  };
}

/**
 * Per service: /health before and after the switch, and /version after it (the live Service must
 * answer what the release serves), through the API server's service proxy.
 */
export function healthChecks(services: readonly string[]): string {
  return services
    .map((s) =>
      [
        `- name: ${s}`,
        `  service: ${s}`,
        '  port: http',
        '  path: /health',
        '  interval: 250ms',
        '  successes: 2',
        `- name: ${s}-version`,
        `  service: ${s}`,
        '  port: http',
        '  path: /version',
        '  when: post-switch',
        '  interval: 250ms',
        '  successes: 2',
      ].join('\n'),
    )
    .join('\n');
}

function smokeCheck(service: string): string {
  return [
    '',
    '- name: v3-smoke',
    `  service: ${service}`,
    '  port: http',
    '  path: /smoke',
    '  when: post-switch',
    '  interval: 250ms',
  ].join('\n');
}

/** What runs in a namespace: each Service's live color with that color's image, and every Deployment's images. */
interface LiveState {
  readonly images: Record<string, { color: string; image: string }>;
  readonly deployments: readonly { readonly name: string; readonly images: readonly string[] }[];
}

/** Each of `services`' live color and the image the Deployment of that color runs, in `namespace`. */
async function liveImages(
  ctx: StoryContext,
  namespace: string,
  services: readonly string[],
): Promise<LiveState> {
  const got = await runKubectl(['get', 'services,deployments', '-n', namespace, '-o', 'json'], {
    kubeconfig: ctx.cluster.kubeconfig,
  });
  if (got.exitCode !== 0) throw new StoryError(`kubectl get services,deployments failed: ${got.stderr}`);
  const items = (JSON.parse(got.stdout) as { items: LiveObject[] }).items;
  const images: Record<string, { color: string; image: string }> = {};
  for (const service of services) {
    const svc = items.find((o) => o.kind === 'Service' && o.metadata.name === service);
    const color = svc?.spec?.selector?.['dreamscape.io/color'] ?? '';
    const deployment = items.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === `${service}-${color}`,
    );
    images[service] = { color, image: deployment?.spec?.template?.spec?.containers?.[0]?.image ?? '' };
  }
  const deployments = items
    .filter((o) => o.kind === 'Deployment')
    .map((o) => ({
      name: o.metadata.name,
      images: (o.spec?.template?.spec?.containers ?? []).map((c) => c.image),
    }));
  return { images, deployments };
}

interface LiveObject {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec?: {
    readonly selector?: Readonly<Record<string, string>>;
    readonly template?: { readonly spec?: { readonly containers?: readonly { readonly image: string }[] } };
  };
}

function collect(results: StoryResults, title: string, run: BundleRun): void {
  if (run.summary.trim() !== '') results.summaries.push({ title, markdown: run.summary });
}

function failure(what: string, run: BundleRun): string {
  const errors = run.errors.length === 0 ? '(no error message)' : run.errors.join('\n');
  return `${run.action} failed ${what} (exit code ${String(run.exitCode)}):\n${errors}\n--- last lines of its log (all of it: ${run.logFile}) ---\n${run.logTail}`;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** `registry/dreamscape/gateway@sha256:0123456789ab…`. */
export function shortImage(image: string): string {
  return image.replace(/@sha256:([0-9a-f]{12})[0-9a-f]+$/, '@sha256:$1…');
}

/** Runs `fn` over `items`, at most `limit` at a time; the first failure is rethrown once all settle. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length && errors.length === 0) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (errors.length > 0) throw errors[0];
}

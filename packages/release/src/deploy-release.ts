import { relative } from 'node:path';
import type { CommandRunner, Logger, RunContext } from '@dreamscape/core';
import {
  renderChart,
  renderOverlay,
  type HelmChoice,
  type ImagePin,
  type Ingress,
  type Kubectl,
  type KubeObject,
  type RenderedOverlay,
  type Renderer,
} from '@dreamscape/kube';
import { BlueGreenDeploy } from './blue-green.js';
import type { CanaryRelease } from './canary.js';
import { checkContinuation, type Continuation } from './canary-pause.js';
import type { RouterKind } from './traffic-routers.js';
import { ReleaseHistory, type ReleaseSource, type ReleaseStrategy } from './history.js';
import { releaseWrites } from './candidate.js';
import { readLiveColors, type LiveColors } from './live-state.js';
import { engineOptions, type EngineContext, type EngineTimings } from './release-context.js';
import type { PreflightApi } from './cluster-api.js';
import {
  checkConfinement,
  clusterScopes,
  offlineScopes,
  releaseNamespace,
  type AllowedClusterObject,
  type DiscoveryApi,
  type Scope,
} from './confinement.js';
import { livePins } from './live-pins.js';
import type { ReleaseOutcome } from './outcome.js';
import { assertNoLintErrors, planBlueGreen, type BlueGreenPlan } from './plan.js';
import { checkCluster, checkStrategy, dryRun, liveFindings } from './preflight.js';
import { RollingDeploy, rollingObjects } from './rolling.js';
import { DEFAULT_HOOK_SETTINGS, hookJobObject } from './hook-jobs.js';

/** A Helm chart to render with `helm template` (docs/adr/0011-helm-charts-and-hook-jobs.md). */
export interface ChartSource {
  /** As given: a chart folder or `.tgz` in the workspace, or `oci://host/path/chart`. */
  readonly chart: string;
  readonly version: string | undefined;
  readonly values: readonly string[];
  readonly set: readonly string[];
  readonly helm: HelmChoice;
  readonly registry: { readonly username: string; readonly password: string } | undefined;
}

/** What a deploy releases: an overlay or a chart, the images pinned into it, and where it goes. */
export interface DeploySource {
  /** The kustomize overlay directory ('' when the source is a chart). */
  readonly overlay: string;
  /** The chart, when the source is one. */
  readonly chart?: ChartSource | undefined;
  readonly images: readonly ImagePin[];
  readonly app: string;
  readonly environment: string;
  /** The namespace the input names; undefined: the overlay's own. */
  readonly namespace: string | undefined;
  readonly renderer: Renderer;
  /** The workspace every file the overlay reaches must stay inside. */
  readonly workspace: string;
  readonly allowRemoteHosts: readonly string[];
  readonly allowClusterObjects: readonly AllowedClusterObject[];
}

/** What renders an overlay or a chart. */
export interface RenderTools {
  readonly kubectl: Kubectl;
  readonly runner: CommandRunner;
  readonly logger: Logger;
  readonly tempDir: string;
  /** The PATH helm is looked for on; default the process's. */
  readonly path?: string;
}

/** A rendered overlay or chart and the release plan made of it. */
export interface RenderedRelease {
  readonly rendered: RenderedOverlay;
  readonly plan: BlueGreenPlan;
  /** What was rendered, as the release record keeps it. */
  readonly source: ReleaseSource;
}

/**
 * Renders the overlay with the images pinned, confines it to its namespace by the kinds' built-in
 * scopes (nothing leaves the namespace unless allowed, decided before any request that writes), and
 * plans the release.
 */
export async function renderRelease(
  source: DeploySource,
  tools: RenderTools,
  pins: readonly ImagePin[] = source.images,
  scopeOf?: (o: KubeObject) => Scope,
): Promise<RenderedRelease> {
  const { rendered, from } = await renderSource(source, tools, pins);
  confine(source, rendered, scopeOf ?? offlineScopes(rendered.objects));
  return {
    source: from,
    rendered,
    plan: planBlueGreen(rendered.objects, {
      app: source.app,
      environment: source.environment,
      namespace: source.namespace,
      manifestText: rendered.text,
    }),
  };
}

/** The overlay through kustomize, or the chart through `helm template`, with the images pinned. */
async function renderSource(
  source: DeploySource,
  tools: RenderTools,
  pins: readonly ImagePin[],
): Promise<{ rendered: RenderedOverlay; from: ReleaseSource }> {
  const chart = source.chart;
  if (chart === undefined) {
    const rendered = await renderOverlay({
      overlayDir: source.overlay,
      images: pins,
      ...(source.namespace === undefined ? {} : { namespace: source.namespace }),
      kubectl: tools.kubectl,
      renderer: source.renderer,
      runner: tools.runner,
      logger: tools.logger,
      tempDir: tools.tempDir,
      workspace: source.workspace,
      allowRemoteHosts: source.allowRemoteHosts,
    });
    return {
      rendered,
      from: { kind: 'overlay', path: relative(source.workspace, source.overlay) || '.' },
    };
  }
  const rendered = await renderChart({
    chart: chart.chart,
    ...(chart.version === undefined ? {} : { version: chart.version }),
    valuesFiles: chart.values,
    set: chart.set,
    releaseName: source.app,
    namespace: source.namespace ?? 'default',
    images: pins,
    helm: chart.helm,
    ...(tools.path === undefined ? {} : { path: tools.path }),
    runner: tools.runner,
    logger: tools.logger,
    tempDir: tools.tempDir,
    workspace: source.workspace,
    ...(chart.registry === undefined ? {} : { registry: chart.registry }),
  });
  // What differs from `helm install`, said once (not again when the live pins re-render it).
  if (pins === source.images) for (const n of rendered.notices) tools.logger.notice(n);
  return {
    rendered,
    from: {
      kind: 'chart',
      reference: rendered.chart.reference,
      name: rendered.chart.name,
      version: rendered.chart.version,
      valuesDigest: rendered.chart.valuesDigest,
    },
  };
}

/**
 * The release as the cluster completes it: images the `images` input did not give keep the digest
 * they run now (re-rendered with those pins), the kinds' scopes come from the server's discovery
 * (which knows the custom ones), and the plan's warnings are logged. A deploy stops on the plan's
 * errors; a plan reports them.
 */
export async function settleRelease(
  release: RenderedRelease,
  source: DeploySource,
  o: RenderTools & { readonly api: PreflightApi & DiscoveryApi; readonly mode: 'deploy' | 'plan' },
): Promise<RenderedRelease> {
  let settled = release;
  if (release.rendered.unpinned.length > 0) {
    // Services not rebuilt this time keep the digest they run now.
    const kept = await livePins(
      o.api,
      o.logger,
      release.rendered.objects,
      release.rendered.unpinned,
      release.plan.namespace,
    ).catch((): ImagePin[] => []);
    if (kept.length > 0) settled = await renderRelease(source, o, [...source.images, ...kept]);
  }
  confine(source, settled.rendered, await clusterScopes(o.api, settled.rendered.objects));
  for (const f of settled.plan.findings.filter((x) => x.level === 'warning'))
    o.logger.warning(`${f.object}: ${f.message}`);
  if (o.mode === 'deploy') assertNoLintErrors(settled.plan, settled.source.kind);
  return settled;
}

/** What preflight found: the plan with the live cluster's findings, the colors, what was validated. */
export interface PreflightResult {
  readonly plan: BlueGreenPlan;
  readonly namespaceExists: boolean;
  readonly colors: LiveColors;
  /** Objects the dry run could not validate (their namespace does not exist yet; plan mode). */
  readonly unchecked: number;
}

/**
 * Everything checked before a deploy writes: the cluster answers and the credentials may do what a
 * release does, the strategy fits what runs now, the live cluster adds no errors, and a server-side
 * dry run accepts every object the release applies. A deploy into a namespace that does not exist
 * creates it first (its one write before the dry run), so that every object can be validated.
 */
export async function preflightRelease(o: {
  readonly api: PreflightApi;
  readonly logger: Logger;
  readonly release: RenderedRelease;
  readonly strategy: ReleaseStrategy;
  readonly mode: 'deploy' | 'plan';
  /** How errors name the credentials (`the kubeconfig /path`). */
  readonly kubeconfigSource: string;
  /** A canary's router, whose writes the credentials must also be allowed. */
  readonly router?: RouterKind;
  /** `promote` / `abort` a paused canary (deploy mode only). */
  readonly continuation?: Continuation;
}): Promise<PreflightResult> {
  const { api, logger, release } = o;
  const state = await checkCluster(api, logger, release.plan, o.kubeconfigSource, o.router);
  await checkStrategy(api, logger, release.plan, o.strategy, state.namespaceExists);
  if (o.mode === 'deploy') {
    // A paused canary lets only its promotion or its abort through; checked again under the lock.
    const latest = state.namespaceExists
      ? (await new ReleaseHistory(api, logger, release.plan).list())[0]
      : undefined;
    checkContinuation(latest, o.continuation, release.plan.manifestHash, release.plan);
  }
  const extra = await liveFindings(api, release.plan, state.namespaceExists);
  const plan: BlueGreenPlan = { ...release.plan, findings: [...release.plan.findings, ...extra] };
  if (o.mode === 'deploy') assertNoLintErrors(plan, release.source.kind);
  let namespaceExists = state.namespaceExists;
  if (!namespaceExists && o.mode === 'deploy') {
    // The one write before the dry run: objects in a namespace that does not exist cannot be
    // validated, and every object must be before anything else is written.
    await api.applyServerSide(plan.shared.filter((x) => x.kind === 'Namespace'));
    logger.info(`Namespace ${plan.namespace} created, so that every object can be validated.`);
    namespaceExists = true;
  }
  const colors = await readLiveColors(api, plan, namespaceExists);
  // The dry run checks exactly what the apply will write, replica counts and HPA floors included.
  const writes =
    o.strategy === 'rolling'
      ? { objects: rollingObjects(plan, release.rendered.objects), scales: [] }
      : releaseWrites(plan, colors);
  // The hook Jobs too, under a name of their own: a Job's spec is immutable, so the one of an earlier
  // revision must not be what the dry run compares with.
  const hookJobs = plan.hooks.map((h) =>
    hookJobObject(h, { ...plan, revision: 'dry-run', timeoutMs: DEFAULT_HOOK_SETTINGS.timeoutMs }),
  );
  const { unchecked } = await dryRun(
    api,
    logger,
    [...writes.objects, ...hookJobs],
    namespaceExists,
    plan.namespace,
    writes.scales,
  );
  return { namespaceExists, colors, plan, unchecked };
}

/** How a deploy runs, besides its plan. */
export interface DeployRun extends EngineTimings {
  readonly strategy: ReleaseStrategy;
  /** Canary: its settings and router object (required with that strategy). */
  readonly canary?: CanaryRelease;
  /** What happens to the previous color after a blue-green switch. */
  readonly previous: 'keep' | 'scale-down';
  /** `promote` continues a canary paused for approval; `abort` stops the release in progress. */
  readonly continuation?: Continuation;
}

/** The cluster and the run a deploy works with; the run's commit is the one deployed. */
export interface DeployContext extends EngineContext {
  readonly run: EngineContext['run'] & Pick<RunContext, 'sha'>;
}

/** Releases the plan with the engine of the strategy. Release failures come back as an outcome. */
export function executeRelease(
  release: RenderedRelease,
  how: DeployRun,
  ctx: DeployContext,
): Promise<ReleaseOutcome> {
  const common = {
    ...engineOptions(ctx, how, ctx.run.sha),
    plan: release.plan,
    manifestText: release.rendered.text,
    source: release.source,
  };
  if (how.strategy === 'rolling')
    return new RollingDeploy({ ...common, objects: release.rendered.objects }).run();
  if (how.strategy === 'canary' && how.canary === undefined)
    throw new Error('strategy canary without its canary settings');
  return new BlueGreenDeploy({
    ...common,
    previous: how.previous,
    ...(how.strategy === 'canary' && how.canary !== undefined ? { canary: how.canary } : {}),
    ...(how.continuation === undefined ? {} : { continuation: how.continuation }),
  }).run();
}

/** `https://<host>` of the first Ingress rule, when the overlay has one. */
export function ingressUrl(objects: readonly KubeObject[]): string {
  const ingress = objects.find((o): o is Ingress => o.kind === 'Ingress');
  const host = ingress?.spec?.rules?.find((r) => r.host !== undefined)?.host;
  return host === undefined ? '' : `https://${host}`;
}

function confine(source: DeploySource, rendered: RenderedOverlay, scopeOf: (o: KubeObject) => Scope): void {
  checkConfinement(rendered.objects, {
    namespace: releaseNamespace(rendered.objects, source.namespace, scopeOf),
    allowed: source.allowClusterObjects,
    scopeOf,
    source: {
      what:
        source.chart === undefined
          ? `The overlay in 'overlay' (${relative(source.workspace, source.overlay) || '.'})`
          : `The chart in 'chart' (${source.chart.chart})`,
    },
  });
}

import { InputError } from '@dreamscape/core';
import {
  parseManifests,
  type Deployment,
  type HorizontalPodAutoscaler,
  type KubeObject,
  type Service,
} from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import {
  CANARY_PLACEHOLDERS,
  canaryRoutingObject,
  expandCanaryQuery,
  parseCanarySettings,
  type CanarySettings,
} from './canary-settings.js';
import { APP_LABEL, coloredName, previewName, ROLE_LABEL, type Color } from './colors.js';
import type { GateResult } from './gates.js';
import { checksFor, type HealthCheck } from './health-checks.js';
import { unpackManifest, type ReleaseRecord } from './history.js';
import type { BlueGreenPlan } from './plan.js';
import type { ReleaseContext } from './release-context.js';
import { pointPreview } from './switching.js';
import {
  CANARY_ROUTE_ROLE,
  GatewayApiRouter,
  NginxRouter,
  ServiceRouter,
  type RouterContext,
  type ScaleColor,
  type ServiceRouterSide,
  type TrafficRouter,
} from './traffic-routers.js';
import { describeRollouts } from './workload-rollout.js';

/** A canary release as the deploy asked for it: its settings and the object its router splits. */
export interface CanaryRelease {
  readonly settings: CanarySettings;
  /** The overlay's Ingress (nginx) or HTTPRoute (gateway-api); none for the service router. */
  readonly routing: KubeObject | undefined;
}

/** One step of a canary as it ran, for the summary. */
export interface CanaryStepReport {
  readonly weight: number;
  /** When the weight was written (ms since the epoch). */
  readonly at: number;
  /** How long the step's analysis ran. */
  readonly durationMs: number;
  readonly analysis: readonly GateResult[];
  readonly decision: 'next step' | 'promote' | 'abort' | 'pause';
  /** Each side's value of the analysis' Prometheus queries once the step ended (for the chart). */
  readonly readings?: readonly SideReading[];
}

/** One Prometheus query of the analysis read for each side at the end of a step. */
export interface SideReading {
  readonly check: string;
  readonly canary: number | undefined;
  readonly stable: number | undefined;
}

/**
 * The analysis' Prometheus checks that judge the canary alone (`{{ canary }}` without `{{ stable }}`),
 * each expanded once per side: the same query read for the live color draws the chart's other line.
 */
export function sideQueries(
  settings: CanarySettings,
  sides: { readonly namespace: string; readonly canary: Color; readonly stable: Color },
): { readonly check: string; readonly canary: HealthCheck; readonly stable: HealthCheck }[] {
  const swapped = { ...sides, canary: sides.stable, stable: sides.canary };
  return (settings.analysis ?? []).flatMap((check) =>
    check.kind === 'prometheus' &&
    check.query.includes(CANARY_PLACEHOLDERS.canary) &&
    !check.query.includes(CANARY_PLACEHOLDERS.stable)
      ? [
          {
            check: check.name,
            canary: { ...check, query: expandCanaryQuery(check.query, sides) },
            stable: { ...check, query: expandCanaryQuery(check.query, swapped) },
          },
        ]
      : [],
  );
}

/**
 * The `canary` input, checked against the rendered overlay before anything is written: the
 * settings, then the router's object among the overlay's objects. The service router over
 * Deployments an HPA sizes is refused here rather than half done later.
 */
export function canaryRelease(
  value: unknown,
  services: readonly string[],
  objects: readonly KubeObject[],
  input = 'canary',
): CanaryRelease {
  const settings = parseCanarySettings(value, services, input);
  if (settings.router === 'service') {
    // The weight is a replica count: an autoscaler resizing either color would move it.
    const scaled = objects
      .filter((o): o is HorizontalPodAutoscaler => o.kind === 'HorizontalPodAutoscaler')
      .filter((h) => h.spec?.scaleTargetRef.kind === 'Deployment')
      .map((h) => h.metadata.name);
    if (scaled.length > 0)
      throw new InputError(
        input,
        settings.router,
        'the service router over Deployments no HorizontalPodAutoscaler sizes, or the nginx or gateway-api router',
        {
          reason: `the service router sets the weight by replica counts, and the overlay's HorizontalPodAutoscaler${scaled.length === 1 ? '' : 's'} ${scaled.join(', ')} would resize the colors under it; use the nginx or gateway-api router, or release without the HPAs`,
        },
      );
    return { settings, routing: undefined };
  }
  return { settings, routing: canaryRoutingObject(settings, objects, input) };
}

/** What the service router needs beside the router context: the two colors, their sizes, a scaler. */
export interface ServiceRouting {
  readonly colors: { readonly live: Color; readonly candidate: Color };
  readonly sides: readonly ServiceRouterSide[];
  readonly scale: ScaleColor;
}

/** The router of a canary release, over the release's Services. */
export function canaryRouter(
  canary: CanaryRelease,
  ctx: Omit<RouterContext, 'header'>,
  service?: ServiceRouting,
): TrafficRouter {
  const routerCtx: RouterContext = { ...ctx, header: canary.settings.header };
  if (canary.settings.router === 'service') {
    if (service === undefined)
      throw new Error('the service router needs the colors and sizes of the release');
    return new ServiceRouter(routerCtx, service.colors, service.sides, service.scale);
  }
  if (canary.routing === undefined)
    throw new Error(`the ${canary.settings.router} router needs its object from the overlay`);
  if (canary.settings.router === 'gateway-api')
    return new GatewayApiRouter(routerCtx, canary.routing.metadata.name, canary.routing);
  return new NginxRouter(routerCtx, canary.routing);
}

type RoutingContext = Pick<ReleaseContext, 'api' | 'kubectl' | 'logger' | 'waitOptions' | 'namespace'>;

/**
 * The service router's view of a release: each Deployment of `plan` that runs in the live color
 * behind a main Service that exists (a Service new in this release has no traffic to share yet),
 * with the candidate's full size (the plan's) and the live color's (the previous release's, else
 * what it runs).
 */
export async function serviceRouting(
  ctx: RoutingContext,
  plan: Pick<BlueGreenPlan, 'deployments' | 'services'>,
  colors: { readonly live: Color; readonly candidate: Color },
  previous: ReleaseRecord | undefined,
): Promise<ServiceRouting> {
  const { items } = await ctx.api.list<Service>('services', { namespace: ctx.namespace });
  const existing = new Set(items.map((s) => s.metadata.name));
  const sides: ServiceRouterSide[] = [];
  for (const d of plan.deployments) {
    const running = await ctx.api.get<Deployment>({
      kind: 'Deployment',
      namespace: ctx.namespace,
      name: coloredName(d.name, colors.live),
    });
    const services = plan.services.filter((s) => s.deployment === d.name && existing.has(s.name));
    if (running === undefined || services.length === 0) continue;
    const liveReplicas = previous?.replicas[d.name] ?? running.spec?.replicas ?? d.replicas;
    sides.push({
      deployment: d.name,
      services: services.map((s) => s.name),
      replicas: d.replicas,
      liveReplicas: Math.max(1, liveReplicas),
    });
  }
  return { colors, sides, scale: scaleColor(ctx) };
}

/** Scales one color of a Deployment through the scale subresource, and waits for its rollout. */
function scaleColor(ctx: RoutingContext): ScaleColor {
  return async (color, deployment, replicas) => {
    const name = coloredName(deployment, color);
    const ref = { kind: 'Deployment', namespace: ctx.namespace, name };
    if ((await ctx.api.get<Deployment>(ref))?.spec?.replicas !== replicas) {
      await ctx.api.patch(ref, { spec: { replicas } }, { type: 'merge', subresource: 'scale' });
      ctx.logger.info(`  ${name} scaled to ${String(replicas)}.`);
    }
    const [outcome] = await ctx.kubectl.waitForRollouts(
      [{ namespace: ctx.namespace, name }],
      ctx.waitOptions,
    );
    if (outcome !== undefined && outcome.state !== 'complete')
      throw new Error(
        `${name} did not become available at ${String(replicas)} replicas: ${describeRollouts([outcome])}`,
      );
  };
}

/**
 * What the service router of a killed canary left: Services selecting both colors, the live color
 * scaled down. Puts `back` (the color live before it) at its full size and every Service and
 * preview of `plan` on it, as weight 0 would; Services already on the candidate are left to the
 * switch back. Returns whether the record's canary used the service router.
 */
export async function restoreServiceRouting(
  ctx: RoutingContext,
  record: ReleaseRecord,
  plan: Pick<BlueGreenPlan, 'app' | 'deployments' | 'services'>,
  back: Color,
  previous: ReleaseRecord | undefined,
): Promise<boolean> {
  const used = record.journal.some(
    (j) => j.step === 'canary-prepared' && /^service( |$)/.test(j.detail ?? ''),
  );
  if (!used || record.color === undefined || record.color === back) return false;
  const routing = await serviceRouting(ctx, plan, { live: back, candidate: record.color }, previous);
  if (routing.sides.length === 0) return false;
  const router = new ServiceRouter(
    { api: ctx.api, namespace: ctx.namespace, app: plan.app, services: [], header: undefined },
    routing.colors,
    routing.sides,
    routing.scale,
  );
  await router.setWeight(0);
  // The candidate is brought up again (or abandoned) next: no preview may select it while it grows.
  const { items } = await ctx.api.list<Service>('services', { namespace: ctx.namespace });
  const names = new Set(items.map((s) => s.metadata.name));
  for (const side of routing.sides)
    for (const name of side.services.map(previewName))
      if (names.has(name)) await pointPreview(ctx.api, ctx.namespace, name, back);
  ctx.logger.info(
    `The service router of revision ${String(record.revision)} left traffic shared: every Service selects ${back} again, at its full size.`,
  );
  return true;
}

/**
 * The checks run at every step: the settings' analysis, else the post-switch health checks; each
 * tolerates the settings' failure limit on top of its own, and its Prometheus query judges the
 * candidate as `{{ canary }}` and the live color as `{{ stable }}`.
 */
export function canaryAnalysis(
  settings: CanarySettings,
  checks: readonly HealthCheck[],
  sides: { readonly namespace: string; readonly canary: Color; readonly stable: Color },
): HealthCheck[] {
  return (settings.analysis ?? checksFor(checks, 'post-switch')).map((check) => {
    const failures = check.failures + settings.failureLimit;
    return check.kind === 'prometheus'
      ? { ...check, failures, query: expandCanaryQuery(check.query, sides) }
      : { ...check, failures };
  });
}

/**
 * Deletes the canary Ingresses a killed run of `app` left in `namespace` (the nginx router's own
 * objects, found by their labels). Returns how many there were.
 */
export async function removeCanaryIngresses(
  api: ClusterApi,
  namespace: string,
  app: string,
): Promise<number> {
  const { items } = await api.list('ingresses', {
    namespace,
    labelSelector: `${ROLE_LABEL}=${CANARY_ROUTE_ROLE},${APP_LABEL}=${app}`,
  });
  for (const ingress of items)
    await api.delete(
      { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1', namespace, name: ingress.metadata.name },
      { ignoreNotFound: true },
    );
  return items.length;
}

/**
 * How the `canary-prepared` step names the router and its object, so that a run without the
 * canary's settings (a rollback, `mode: abort`, another manifest) can still undo what it wrote:
 * `nginx Ingress/web`, `gateway-api HTTPRoute/web header=X-Canary`.
 */
export function preparedDetail(canary: CanaryRelease, router: TrafficRouter): string {
  const header = canary.settings.header === undefined ? '' : ` header=${canary.settings.header}`;
  const object =
    canary.routing === undefined ? '' : ` ${canary.routing.kind}/${canary.routing.metadata.name}`;
  return `${router.kind}${object}${header}`;
}

/**
 * Removes what the router of an interrupted canary wrote, as its record says: the app's canary
 * Ingresses (found by label), and the backendRefs and header rules it added to its HTTPRoute.
 * Returns a line saying what was removed, or undefined when there was nothing.
 */
export async function removeRecordedRoutes(
  record: ReleaseRecord,
  ctx: { readonly api: ClusterApi; readonly namespace: string; readonly app: string },
): Promise<string | undefined> {
  const done: string[] = [];
  const ingresses = await removeCanaryIngresses(ctx.api, ctx.namespace, ctx.app);
  if (ingresses > 0) done.push(`${String(ingresses)} canary Ingress(es)`);
  const prepared = record.journal.find((j) => j.step === 'canary-prepared')?.detail ?? '';
  const route = /^gateway-api HTTPRoute\/(\S+)(?: header=(\S+))?/.exec(prepared);
  if (route !== null) {
    // The HTTPRoute as that release applied it, from its recorded manifest: applied again once the
    // backends are gone, so that the next release's apply owns its rules again.
    const name = route[1] as string;
    const applied = parseManifests(unpackManifest(record), `revision ${String(record.revision)}`).find(
      (o) => o.kind === 'HTTPRoute' && o.metadata.name === name,
    );
    await new GatewayApiRouter(
      {
        api: ctx.api,
        namespace: ctx.namespace,
        app: ctx.app,
        services: record.services.map((s) => s.name),
        header: route[2],
      },
      name,
      applied,
    ).remove();
    done.push(`the canary backends of HTTPRoute ${route[1] as string}`);
  }
  return done.length === 0
    ? undefined
    : `Removed ${done.join(' and ')} that revision ${String(record.revision)} left.`;
}

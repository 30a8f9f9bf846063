import { InputError } from '@dreamscape/core';
import type { KubeObject } from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import {
  CANARY_PLACEHOLDERS,
  canaryRoutingObject,
  expandCanaryQuery,
  parseCanarySettings,
  type CanarySettings,
} from './canary-settings.js';
import { APP_LABEL, ROLE_LABEL, type Color } from './colors.js';
import type { GateResult } from './gates.js';
import type { ReleaseRecord } from './history.js';
import { checksFor, type HealthCheck } from './health-checks.js';
import {
  CANARY_ROUTE_ROLE,
  GatewayApiRouter,
  NginxRouter,
  type RouterContext,
  type TrafficRouter,
} from './traffic-routers.js';

/** A canary release as the deploy asked for it: its settings and the object its router splits. */
export interface CanaryRelease {
  readonly settings: CanarySettings;
  /** The overlay's Ingress (nginx) or HTTPRoute (gateway-api). */
  readonly routing: KubeObject;
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
 * settings, then the router's object among the overlay's objects. What this version cannot do yet
 * (the `service` router) is refused here rather than half done later.
 */
export function canaryRelease(
  value: unknown,
  services: readonly string[],
  objects: readonly KubeObject[],
  input = 'canary',
): CanaryRelease {
  const settings = parseCanarySettings(value, services, input);
  const notYet = (what: string): never => {
    throw new InputError(input, settings.router, 'the nginx or gateway-api router', {
      reason: `${what} is not available yet in this version of action-deploy`,
    });
  };
  if (settings.router === 'service') notYet('the `service` router');
  const routing = canaryRoutingObject(settings, objects, input);
  if (routing === undefined) return notYet('the `service` router');
  return { settings, routing };
}

/** The router of a canary release, over the release's Services. */
export function canaryRouter(canary: CanaryRelease, ctx: Omit<RouterContext, 'header'>): TrafficRouter {
  const routerCtx: RouterContext = { ...ctx, header: canary.settings.header };
  if (canary.settings.router === 'gateway-api')
    return new GatewayApiRouter(routerCtx, canary.routing.metadata.name);
  return new NginxRouter(routerCtx, canary.routing);
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
  return `${router.kind} ${canary.routing.kind}/${canary.routing.metadata.name}${header}`;
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
    await new GatewayApiRouter(
      {
        api: ctx.api,
        namespace: ctx.namespace,
        app: ctx.app,
        services: record.services.map((s) => s.name),
        header: route[2],
      },
      route[1] as string,
    ).remove();
    done.push(`the canary backends of HTTPRoute ${route[1] as string}`);
  }
  return done.length === 0
    ? undefined
    : `Removed ${done.join(' and ')} that revision ${String(record.revision)} left.`;
}

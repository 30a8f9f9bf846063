import type { KubeObject } from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import { allSettled, reasonOf } from './cluster-api.js';
import {
  APP_LABEL,
  COLOR_LABEL,
  coloredName,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  previewName,
  ROLE_LABEL,
  type Color,
} from './colors.js';

/** How a canary's share of traffic is set (ADR 10). */
export const ROUTER_KINDS = ['nginx', 'gateway-api', 'service'] as const;
export type RouterKind = (typeof ROUTER_KINDS)[number];

/** The NGINX ingress controller's canary annotations. */
export const NGINX_CANARY_ANNOTATIONS = {
  canary: 'nginx.ingress.kubernetes.io/canary',
  weight: 'nginx.ingress.kubernetes.io/canary-weight',
  byHeader: 'nginx.ingress.kubernetes.io/canary-by-header',
} as const;

/** `canary-route` on the objects a router adds. */
export const CANARY_ROUTE_ROLE = 'canary-route';

/** Sends a share of a release's traffic to the candidate color. */
export interface TrafficRouter {
  readonly kind: RouterKind;
  /** Adds what the router needs, at weight 0 (safe to call again). */
  prepare(): Promise<void>;
  /** Sends `weight` percent (0 to 100) of the requests to the candidate; returns the weight in force. */
  setWeight(weight: number): Promise<number>;
  /**
   * Removes what {@link prepare} added: after the promotion (the main Services already select the
   * candidate) or the abort (at weight 0).
   */
  remove(outcome: 'promoted' | 'aborted'): Promise<void>;
}

/** What every router needs. */
export interface RouterContext {
  readonly api: ClusterApi;
  readonly namespace: string;
  readonly app: string;
  /** The release's main Services; each has a `<service>-preview` selecting the candidate. */
  readonly services: readonly string[];
  /** A header testers set to reach the candidate before the first weight. */
  readonly header: string | undefined;
}

interface IngressPath {
  path?: string;
  pathType?: string;
  backend?: { service?: { name?: string; port?: { name?: string; number?: number } } };
}
interface IngressView extends KubeObject {
  spec?: {
    ingressClassName?: string;
    rules?: { host?: string; http?: { paths?: IngressPath[] } }[];
  };
}

/**
 * The `nginx` router: a canary Ingress of our own, `<ingress>-canary`, with the hosts and paths of
 * the user's Ingress that send to a released Service, sent to its `-preview` Service instead, and
 * the NGINX canary annotations. The user's Ingress is never written.
 */
export class NginxRouter implements TrafficRouter {
  readonly kind = 'nginx' as const;

  constructor(
    private readonly ctx: RouterContext,
    /** The user's Ingress, as the release renders it. */
    private readonly ingress: IngressView,
  ) {}

  /** The canary Ingress's name. */
  get canaryName(): string {
    return `${this.ingress.metadata.name}-canary`;
  }

  /** The canary Ingress at a weight: only the released Services' paths, sent to their previews. */
  canaryIngress(weight: number): KubeObject {
    const released = new Set(this.ctx.services);
    const rules = (this.ingress.spec?.rules ?? [])
      .map((rule) => ({
        ...(rule.host === undefined ? {} : { host: rule.host }),
        http: {
          paths: (rule.http?.paths ?? [])
            .filter((p) => released.has(p.backend?.service?.name ?? ''))
            .map((p) => ({
              ...p,
              backend: {
                service: { ...p.backend?.service, name: previewName(p.backend?.service?.name ?? '') },
              },
            })),
        },
      }))
      .filter((rule) => rule.http.paths.length > 0);
    if (rules.length === 0)
      throw new Error(
        `Ingress ${this.ingress.metadata.name} sends no path to a Service of this release (${this.ctx.services.join(', ')}): nothing to split`,
      );
    return {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: this.canaryName,
        namespace: this.ctx.namespace,
        labels: {
          [APP_LABEL]: this.ctx.app,
          [ROLE_LABEL]: CANARY_ROUTE_ROLE,
          [MANAGED_BY_LABEL]: MANAGED_BY,
        },
        annotations: {
          [NGINX_CANARY_ANNOTATIONS.canary]: 'true',
          [NGINX_CANARY_ANNOTATIONS.weight]: String(weight),
          ...(this.ctx.header === undefined ? {} : { [NGINX_CANARY_ANNOTATIONS.byHeader]: this.ctx.header }),
        },
      },
      spec: {
        ...(this.ingress.spec?.ingressClassName === undefined
          ? {}
          : { ingressClassName: this.ingress.spec.ingressClassName }),
        rules,
      },
    };
  }

  async prepare(): Promise<void> {
    const existing = await this.ctx.api.get({
      kind: 'Ingress',
      apiVersion: 'networking.k8s.io/v1',
      namespace: this.ctx.namespace,
      name: this.canaryName,
    });
    // A run killed after it raised the weight left it up: a prepared route starts at 0.
    await this.ctx.api.applyServerSide([this.canaryIngress(0)], { forceConflicts: existing !== undefined });
  }

  async setWeight(weight: number): Promise<number> {
    const w = checkedWeight(weight);
    await this.ctx.api.patch(
      {
        kind: 'Ingress',
        apiVersion: 'networking.k8s.io/v1',
        namespace: this.ctx.namespace,
        name: this.canaryName,
      },
      { metadata: { annotations: { [NGINX_CANARY_ANNOTATIONS.weight]: String(w) } } },
      { type: 'merge' },
    );
    return w;
  }

  async remove(): Promise<void> {
    await this.ctx.api.delete(
      {
        kind: 'Ingress',
        apiVersion: 'networking.k8s.io/v1',
        namespace: this.ctx.namespace,
        name: this.canaryName,
      },
      { ignoreNotFound: true },
    );
  }
}

interface BackendRef {
  name?: string;
  port?: number;
  weight?: number;
  kind?: string;
  group?: string;
  namespace?: string;
}
interface RouteRule {
  matches?: { path?: { type?: string; value?: string }; headers?: { name: string; value: string }[] }[];
  backendRefs?: BackendRef[];
  [key: string]: unknown;
}
interface HttpRouteView extends KubeObject {
  spec?: { rules?: RouteRule[]; [key: string]: unknown };
}

const GATEWAY_API = 'gateway.networking.k8s.io/v1';

/**
 * The `gateway-api` router: in the user's HTTPRoute, each rule that sends to a released Service gets
 * a backendRef to its `-preview` Service, and the two weights are written as `100 - w` and `w`. Every
 * write is a JSON patch whose `test` operations fail if the rule changed since it was read, so a
 * concurrent edit is never overwritten. With a `header`, a rule matching it sends to the previews.
 */
export class GatewayApiRouter implements TrafficRouter {
  readonly kind = 'gateway-api' as const;

  constructor(
    private readonly ctx: RouterContext,
    /** The HTTPRoute's name. */
    private readonly route: string,
    /**
     * The HTTPRoute as the release applies it. Once the weights are removed it is applied again,
     * forcing: the router's patches made its rules theirs, and the next release's apply would
     * otherwise conflict with them.
     */
    private readonly applied?: KubeObject,
  ) {}

  private get ref(): { kind: string; apiVersion: string; namespace: string; name: string } {
    return { kind: 'HTTPRoute', apiVersion: GATEWAY_API, namespace: this.ctx.namespace, name: this.route };
  }

  private async read(): Promise<HttpRouteView> {
    const route = await this.ctx.api.get<HttpRouteView>(this.ref);
    if (route === undefined)
      throw new Error(
        `HTTPRoute ${this.ctx.namespace}/${this.route} does not exist: the gateway-api router writes its weights`,
      );
    return route;
  }

  /** The rules as they are at `weight` (previews added where missing, weights written). */
  private weighted(rules: readonly RouteRule[], weight: number): RouteRule[] {
    const released = new Set(this.ctx.services);
    const previews = new Set(this.ctx.services.map(previewName));
    return rules
      .filter((rule) => !this.isHeaderRule(rule))
      .map((rule) => {
        const refs = (rule.backendRefs ?? []).filter((b) => !previews.has(b.name ?? ''));
        const main = refs.find((b) => released.has(b.name ?? ''));
        if (main === undefined) return rule;
        return {
          ...rule,
          backendRefs: [
            ...refs.map((b) => (b === main ? { ...b, weight: 100 - weight } : b)),
            { ...main, name: previewName(main.name ?? ''), weight },
          ],
        };
      });
  }

  private isHeaderRule(rule: RouteRule): boolean {
    const previews = new Set(this.ctx.services.map(previewName));
    return (
      this.ctx.header !== undefined &&
      (rule.backendRefs ?? []).length > 0 &&
      (rule.backendRefs ?? []).every((b) => previews.has(b.name ?? '')) &&
      (rule.matches ?? []).some((m) => (m.headers ?? []).some((h) => h.name === this.ctx.header))
    );
  }

  /** The header rules: one per weighted rule, the same matches plus the header, to the previews only. */
  private headerRules(weightedRules: readonly RouteRule[]): RouteRule[] {
    const header = this.ctx.header;
    if (header === undefined) return [];
    const previews = new Set(this.ctx.services.map(previewName));
    return weightedRules
      .filter((rule) => (rule.backendRefs ?? []).some((b) => previews.has(b.name ?? '')))
      .map((rule) => ({
        matches: (rule.matches ?? [{ path: { type: 'PathPrefix', value: '/' } }]).map((m) => ({
          ...m,
          headers: [...(m.headers ?? []), { name: header, value: 'always' }],
        })),
        backendRefs: (rule.backendRefs ?? [])
          .filter((b) => previews.has(b.name ?? ''))
          .map((b) => ({ ...b, weight: 1 })),
      }));
  }

  private async write(rules: (current: readonly RouteRule[]) => RouteRule[]): Promise<void> {
    const route = await this.read();
    const current = route.spec?.rules ?? [];
    const next = rules(current);
    if (JSON.stringify(next) === JSON.stringify(current)) return;
    try {
      await this.ctx.api.patch(
        this.ref,
        [
          { op: 'test', path: '/metadata/resourceVersion', value: route.metadata.resourceVersion },
          { op: 'replace', path: '/spec/rules', value: next },
        ],
        { type: 'json' },
      );
    } catch (error) {
      if (reasonOf(error) === 'Invalid' || reasonOf(error) === 'Conflict')
        throw new Error(
          `HTTPRoute ${this.ctx.namespace}/${this.route} changed while its weights were written; nothing was overwritten`,
          { cause: error },
        );
      throw error;
    }
  }

  async prepare(): Promise<void> {
    await this.write((current) => {
      const weighted = this.weighted(current, 0);
      if (
        !weighted.some((r) =>
          (r.backendRefs ?? []).some((b) => this.ctx.services.map(previewName).includes(b.name ?? '')),
        )
      )
        throw new Error(
          `HTTPRoute ${this.ctx.namespace}/${this.route} sends to no Service of this release (${this.ctx.services.join(', ')}): nothing to split`,
        );
      return [...this.headerRules(weighted), ...weighted];
    });
  }

  async setWeight(weight: number): Promise<number> {
    const w = checkedWeight(weight);
    await this.write((current) => {
      const headerRules = current.filter((r) => this.isHeaderRule(r));
      return [...headerRules, ...this.weighted(current, w)];
    });
    return w;
  }

  async remove(): Promise<void> {
    const previews = new Set(this.ctx.services.map(previewName));
    const released = new Set(this.ctx.services);
    await this.write((current) =>
      current
        .filter((r) => !this.isHeaderRule(r))
        .map((rule) => {
          if (!(rule.backendRefs ?? []).some((b) => previews.has(b.name ?? ''))) return rule;
          return {
            ...rule,
            backendRefs: (rule.backendRefs ?? [])
              .filter((b) => !previews.has(b.name ?? ''))
              .map((b) => {
                if (!released.has(b.name ?? '')) return b;
                const { weight: _weight, ...rest } = b;
                return rest;
              }),
          };
        }),
    );
    if (this.applied !== undefined)
      await this.ctx.api.applyServerSide(
        [{ ...this.applied, metadata: { ...this.applied.metadata, namespace: this.ctx.namespace } }],
        { forceConflicts: true },
      );
  }
}

/** One Deployment the `service` router shares, and the main Services that select its pods. */
export interface ServiceRouterSide {
  readonly deployment: string;
  readonly services: readonly string[];
  /** The candidate's full size: the weight is its share of this many Ready replicas. */
  readonly replicas: number;
  /** The live color's full size, given back to it at weight 0 and at 100 (kept warm). */
  readonly liveReplicas: number;
}

/** Sets how many replicas a color of a Deployment runs, and resolves once they are all Ready. */
export type ScaleColor = (color: Color, deployment: string, replicas: number) => Promise<void>;

/**
 * The `service` router: no traffic manager. At a weight between 0 and 100 each main Service's
 * selector loses its color key, so it selects the Ready pods of both colors and kube-proxy shares by
 * Ready pod count: the candidate runs `w %` of the replicas, the live color the rest. The reachable
 * weights are multiples of 100 / replicas, per Deployment.
 *
 * Weight 0 and 100 are the blue-green states: the Services select one color (the live one, or the
 * candidate), the live color at its full size. The rules that keep every request on a Ready pod:
 * a color grows (and is Ready) before the other shrinks; no colored Service selects a color while
 * it grows (the `-preview` Services leave the candidate meanwhile, the live color grows back while
 * the Services select both colors or the candidate); a Service selects a single color again before
 * a color is cut to nothing.
 */
export class ServiceRouter implements TrafficRouter {
  readonly kind = 'service' as const;

  constructor(
    private readonly ctx: RouterContext,
    private readonly colors: { readonly live: Color; readonly candidate: Color },
    private readonly sides: readonly ServiceRouterSide[],
    private readonly scale: ScaleColor,
  ) {
    if (sides.length === 0)
      throw new Error(
        `no Deployment of this release runs in the live color ${colors.live} behind an existing Service: nothing to split`,
      );
  }

  /** The weight a step can reach with `total` replicas: the nearest multiple, at least one pod. */
  static reachable(weight: number, total: number): { weight: number; candidate: number } {
    const w = checkedWeight(weight);
    if (w === 0 || total <= 0) return { weight: 0, candidate: 0 };
    const candidate = Math.min(total, Math.max(1, Math.round((w * total) / 100)));
    return { weight: Math.round((candidate * 100) / total), candidate };
  }

  /** The weight in force for a step: the largest share any Service sends the candidate. */
  static weightFor(weight: number, sides: readonly Pick<ServiceRouterSide, 'replicas'>[]): number {
    return Math.max(0, ...sides.map((s) => ServiceRouter.reachable(weight, s.replicas).weight));
  }

  /**
   * What the steps become with these replicas, said before the first step: the weights each
   * Deployment can reach, and the weights that will be used.
   */
  static describe(steps: readonly number[], sides: readonly ServiceRouterSide[]): string {
    const used = steps.map((w) => ServiceRouter.weightFor(w, sides));
    const sizes = [...new Set(sides.map((s) => s.replicas))].sort((a, b) => a - b);
    const per = sizes
      .map((n) => {
        const names = sides.filter((s) => s.replicas === n).map((s) => s.deployment);
        const step = Math.round(100 / Math.max(n, 1));
        return `${names.join(', ')}: ${String(n)} replica${n === 1 ? '' : 's'}, weights in steps of ${String(step)} % (${steps.map((w) => String(ServiceRouter.reachable(w, n).weight)).join(', ')})`;
      })
      .join('; ');
    const changed = used.some((w, i) => w !== steps[i]);
    return `The service router shares by Ready replicas: ${per}. Steps ${steps.join(', ')} ${changed ? 'are rounded to' : 'are used as'} ${used.join(', ')} %${sizes.length > 1 ? ' (the largest share a Service gives the canary)' : ''}.`;
  }

  async prepare(): Promise<void> {
    // A resumed run starts over from 0: a dead run may have left the Services un-colored.
    await this.toLive();
  }

  async setWeight(weight: number): Promise<number> {
    const w = checkedWeight(weight);
    if (w === 0) await this.toLive();
    else await allSettled(this.sides.map((side) => this.share(side, w)));
    return ServiceRouter.weightFor(w, this.sides);
  }

  /**
   * Nothing left to remove: after the promotion the Services select the candidate (weight 100),
   * after the abort the live color (weight 0), and the live color runs at its full size.
   */
  remove(): Promise<void> {
    return Promise.resolve();
  }

  /** One Deployment at weight `w` (1 to 100). */
  private async share(side: ServiceRouterSide, w: number): Promise<void> {
    const { live, candidate } = this.colors;
    const { candidate: pods } = ServiceRouter.reachable(w, side.replicas);
    const running = (await this.deployment(candidate, side.deployment))?.spec?.replicas ?? 0;
    if (pods > running) {
      // The previews select the candidate: while it grows they send to the live color instead.
      await this.pointPreviews(side, live);
      await this.scale(candidate, side.deployment, pods);
      await this.pointPreviews(side, candidate);
    } else if (pods < running) await this.scale(candidate, side.deployment, pods);
    if (pods === side.replicas) {
      // Everything to the candidate: the Services select it, as blue-green's switch leaves them.
      await this.select(side, candidate);
      await this.scale(live, side.deployment, side.liveReplicas);
      return;
    }
    await this.uncolor(side);
    await this.scale(live, side.deployment, side.replicas - pods);
  }

  /**
   * Weight 0: the live color at its full size first (it grows while nothing colored selects it),
   * then the Services on it, one write each; the engine scales the candidate down after.
   */
  private async toLive(): Promise<void> {
    const { live } = this.colors;
    await allSettled(
      this.sides.map(async (side) => {
        await this.scale(live, side.deployment, side.liveReplicas);
        await this.select(side, live);
      }),
    );
  }

  /** The side's Services select `color` (a merge patch each, skipped when they already do). */
  private async select(side: ServiceRouterSide, color: Color): Promise<void> {
    await allSettled(
      side.services.map(async (name) => {
        const ref = { kind: 'Service', apiVersion: 'v1', namespace: this.ctx.namespace, name };
        const service = await this.ctx.api.get<SelectorView>(ref);
        if (service === undefined || service.spec?.selector?.[COLOR_LABEL] === color) return;
        await this.ctx.api.patch(ref, { spec: { selector: { [COLOR_LABEL]: color } } }, { type: 'merge' });
      }),
    );
  }

  /** The side's Services select both colors: the color key removed, only if they select the live one. */
  private async uncolor(side: ServiceRouterSide): Promise<void> {
    const key = `/spec/selector/${escaped(COLOR_LABEL)}`;
    await allSettled(
      side.services.map(async (name) => {
        const ref = { kind: 'Service', apiVersion: 'v1', namespace: this.ctx.namespace, name };
        const service = await this.ctx.api.get<SelectorView>(ref);
        const color = service?.spec?.selector?.[COLOR_LABEL];
        if (service === undefined || color === undefined) return;
        if (color !== this.colors.live)
          throw new Error(
            `Service ${this.ctx.namespace}/${name} selects ${color}, not the live color ${this.colors.live}: the service router does not share it`,
          );
        await this.ctx.api.patch(
          ref,
          [
            { op: 'test', path: key, value: color },
            { op: 'remove', path: key },
          ],
          { type: 'json' },
        );
      }),
    );
  }

  private async pointPreviews(side: ServiceRouterSide, color: Color): Promise<void> {
    await allSettled(
      side.services.map(async (name) => {
        const ref = {
          kind: 'Service',
          apiVersion: 'v1',
          namespace: this.ctx.namespace,
          name: previewName(name),
        };
        const preview = await this.ctx.api.get<SelectorView>(ref);
        if (preview === undefined || preview.spec?.selector?.[COLOR_LABEL] === color) return;
        await this.ctx.api.patch(ref, { spec: { selector: { [COLOR_LABEL]: color } } }, { type: 'merge' });
      }),
    );
  }

  private deployment(color: Color, name: string): Promise<DeploymentView | undefined> {
    return this.ctx.api.get<DeploymentView>({
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      namespace: this.ctx.namespace,
      name: coloredName(name, color),
    });
  }
}

interface SelectorView extends KubeObject {
  spec?: { selector?: Record<string, string> };
}
interface DeploymentView extends KubeObject {
  spec?: { replicas?: number };
  status?: { readyReplicas?: number };
}

function escaped(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A weight from 0 to 100, whole. */
export function checkedWeight(weight: number): number {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100)
    throw new Error(`a canary weight is a whole number from 0 to 100, got ${String(weight)}`);
  return weight;
}

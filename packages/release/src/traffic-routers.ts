import type { KubeObject } from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import { reasonOf } from './cluster-api.js';
import {
  APP_LABEL,
  COLOR_LABEL,
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
  }
}

/**
 * The `service` router: no traffic manager. Each main Service's selector loses its color key, so it
 * selects the Ready pods of both colors, and kube-proxy shares by Ready pod count: the weight is the
 * candidate's share of replicas. `replicas` sets the two colors' sizes for a weight; the reachable
 * weights are multiples of 100 / total.
 */
export class ServiceRouter implements TrafficRouter {
  readonly kind = 'service' as const;

  constructor(
    private readonly ctx: RouterContext,
    private readonly colors: { readonly live: Color; readonly candidate: Color },
    /** Sets how many replicas one color runs, and waits for them (the engine scales its workloads). */
    private readonly scale: (side: 'live' | 'candidate', replicas: number) => Promise<void>,
    /** Replicas of the release at full size. */
    private readonly total: number,
  ) {}

  /** The weight a step can reach with `total` replicas: the nearest multiple, at least one pod. */
  static reachable(weight: number, total: number): { weight: number; candidate: number } {
    const w = checkedWeight(weight);
    if (w === 0) return { weight: 0, candidate: 0 };
    const candidate = Math.min(total, Math.max(1, Math.round((w * total) / 100)));
    return { weight: Math.round((candidate * 100) / total), candidate };
  }

  async prepare(): Promise<void> {
    // The candidate leaves before the Services select both colors (weight 0 means no candidate pod),
    // and the live color grows to the full size only once they do: a colored Service never selects
    // a pod that is not Ready yet.
    await this.scale('candidate', 0);
    await Promise.all(
      this.ctx.services.map((name) =>
        this.ctx.api
          .patch(
            { kind: 'Service', apiVersion: 'v1', namespace: this.ctx.namespace, name },
            [
              { op: 'test', path: `/spec/selector/${escaped(COLOR_LABEL)}`, value: this.colors.live },
              { op: 'remove', path: `/spec/selector/${escaped(COLOR_LABEL)}` },
            ],
            { type: 'json' },
          )
          .catch((error: unknown) => {
            // Already un-colored by a run that was killed after this step.
            if (reasonOf(error) !== 'Invalid') throw error;
          }),
      ),
    );
    await this.scale('live', this.total);
  }

  async setWeight(weight: number): Promise<number> {
    const { weight: w, candidate } = ServiceRouter.reachable(weight, this.total);
    // Up first, then down: the Service never has fewer Ready pods than the release needs.
    await this.scale('candidate', candidate);
    await this.scale('live', this.total - candidate);
    return w;
  }

  async remove(outcome: 'promoted' | 'aborted'): Promise<void> {
    // The main Services select one color again: the candidate's once promoted (it runs every
    // replica then), else the live one's.
    const color = outcome === 'promoted' ? this.colors.candidate : this.colors.live;
    await Promise.all(
      this.ctx.services.map((name) =>
        this.ctx.api.patch(
          { kind: 'Service', apiVersion: 'v1', namespace: this.ctx.namespace, name },
          { spec: { selector: { [COLOR_LABEL]: color } } },
          { type: 'merge' },
        ),
      ),
    );
  }
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

import type { ApiServer } from './api-server.js';
import { arrayAt, numberAt, objectAt, objectsAt, stringAt, type JsonObject } from './json-value.js';
import { nameOf, namespaceOf } from './object-store.js';
import { resourceTypeOfKind } from './resource-table.js';

/** The annotations of the NGINX ingress controller's canary, the most used way to split an Ingress. */
export const NGINX_CANARY = {
  canary: 'nginx.ingress.kubernetes.io/canary',
  weight: 'nginx.ingress.kubernetes.io/canary-weight',
  weightTotal: 'nginx.ingress.kubernetes.io/canary-weight-total',
  byHeader: 'nginx.ingress.kubernetes.io/canary-by-header',
  byHeaderValue: 'nginx.ingress.kubernetes.io/canary-by-header-value',
  byCookie: 'nginx.ingress.kubernetes.io/canary-by-cookie',
} as const;

/** A Service a route sends a share of its requests to. */
export interface RouteBackend {
  readonly service: string;
  /** The Service port (name or number); undefined = its first port. */
  readonly port: string | number | undefined;
  readonly weight: number;
}

/** What sends a request to one backend rather than the weights: a tester's header or cookie. */
export type RouteDecision = 'header' | 'cookie' | 'weight';

/** A request matched to a route: where it may go, and whether a header already decided which. */
export interface MatchedRoute {
  readonly namespace: string;
  readonly kind: 'Ingress' | 'HTTPRoute';
  /** The Ingress or HTTPRoute (for a canary Ingress, the main one). */
  readonly name: string;
  /** Names the rule, so weighted choices and their checks are kept per rule. */
  readonly key: string;
  /** Every backend of the rule with its weight; a header or cookie decision names one of them. */
  readonly backends: readonly RouteBackend[];
  readonly decidedBy: RouteDecision;
  /** The backend chosen by a header or cookie; undefined when the weights decide. */
  readonly forced: RouteBackend | undefined;
  /** What the data plane answers when a backend has no Service: 503 for NGINX, 500 for Gateway API. */
  readonly missingServiceStatus: 503 | 500;
}

/** A request as the router sees it. */
export interface RouteRequest {
  readonly host: string;
  readonly path: string;
  readonly method: string;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/** The host without its port, lower-cased (an IPv6 literal keeps its brackets). */
export function hostOf(header: string | undefined): string {
  const h = (header ?? '').trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

/**
 * How specifically a rule's host matches a request's: 2 exact, 1 wildcard (`*.example.com` matches
 * exactly one more label), 0 a rule with no host, -1 no match.
 */
export function hostRank(ruleHost: string | undefined, host: string): number {
  if (ruleHost === undefined || ruleHost === '') return 0;
  const wanted = ruleHost.toLowerCase();
  if (wanted === host) return 2;
  if (wanted.startsWith('*.')) {
    const suffix = wanted.slice(1);
    const label = host.slice(0, host.length - suffix.length);
    return host.endsWith(suffix) && label !== '' && !label.includes('.') ? 1 : -1;
  }
  return -1;
}

/**
 * Whether `prefix` matches `path` element by element, as Kubernetes' `Prefix` and Gateway API's
 * `PathPrefix` do: `/shop` matches `/shop` and `/shop/cart`, not `/shopping`.
 */
export function prefixMatches(prefix: string, path: string): boolean {
  const p = prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (p === '/' || p === '') return true;
  return path === p || path.startsWith(`${p}/`);
}

interface Candidate {
  readonly route: MatchedRoute;
  /** Sort keys, most specific first. */
  readonly rank: readonly number[];
  readonly order: string;
}

/**
 * The route table of a cluster, read from its Ingresses and HTTPRoutes at each request, so a weight
 * written by a client is in force for the very next request (the double's data plane has no
 * propagation delay; a real controller's is seconds).
 */
export class RouteTable {
  constructor(private readonly api: ApiServer) {}

  /** The most specific route for a request, or undefined (404). */
  match(request: RouteRequest): MatchedRoute | undefined {
    const candidates = [...this.httpRoutes(request), ...this.ingresses(request)];
    candidates.sort((a, b) => compareRank(a.rank, b.rank) || a.order.localeCompare(b.order));
    return candidates[0]?.route;
  }

  private ingresses(request: RouteRequest): Candidate[] {
    const type = resourceTypeOfKind('Ingress');
    if (type === undefined) return [];
    const all = this.api.store.view(type);
    const canaries = all.filter((i) => annotation(i, NGINX_CANARY.canary) === 'true');
    const found: Candidate[] = [];
    for (const ingress of all) {
      if (annotation(ingress, NGINX_CANARY.canary) === 'true') continue;
      const namespace = namespaceOf(ingress);
      const spec = objectAt(ingress, 'spec');
      objectsAt(spec, 'rules').forEach((rule, ruleIndex) => {
        const hr = hostRank(stringAt(rule, 'host'), request.host);
        if (hr < 0) return;
        objectsAt(objectAt(rule, 'http'), 'paths').forEach((p, pathIndex) => {
          const path = stringAt(p, 'path') ?? '/';
          const exact = stringAt(p, 'pathType') === 'Exact';
          if (exact ? request.path !== path : !prefixMatches(path, request.path)) return;
          const main = ingressBackend(objectAt(p, 'backend'));
          if (main === undefined) return;
          const key = `Ingress/${namespace}/${nameOf(ingress)}/${String(ruleIndex)}/${String(pathIndex)}`;
          const canary = canaries
            .filter((c) => namespaceOf(c) === namespace)
            .map((c) => canaryRule(c, stringAt(rule, 'host'), path))
            .find((c) => c !== undefined);
          found.push({
            route: withCanary({ namespace, name: nameOf(ingress), key, main }, canary, request),
            rank: [hr, 1, exact ? 1 : 0, path.length, 0],
            order: `${namespace}/${nameOf(ingress)}`,
          });
        });
      });
      const fallback = ingressBackend(objectAt(spec, 'defaultBackend'));
      if (fallback !== undefined)
        found.push({
          route: {
            namespace,
            kind: 'Ingress',
            name: nameOf(ingress),
            key: `Ingress/${namespace}/${nameOf(ingress)}/default`,
            backends: [fallback],
            decidedBy: 'weight',
            forced: undefined,
            missingServiceStatus: 503,
          },
          rank: [-1, 0, 0, 0, 0],
          order: `${namespace}/${nameOf(ingress)}`,
        });
    }
    return found;
  }

  private httpRoutes(request: RouteRequest): Candidate[] {
    const routeType = this.api.catalog.ofKind('HTTPRoute');
    const gatewayType = this.api.catalog.ofKind('Gateway');
    if (routeType === undefined || gatewayType === undefined) return [];
    const found: Candidate[] = [];
    for (const route of this.api.store.view(routeType)) {
      const namespace = namespaceOf(route);
      const spec = objectAt(route, 'spec');
      const attached = objectsAt(spec, 'parentRefs').some(
        (ref) =>
          (stringAt(ref, 'kind') ?? 'Gateway') === 'Gateway' &&
          this.api.store.peek(
            gatewayType,
            stringAt(ref, 'namespace') ?? namespace,
            stringAt(ref, 'name') ?? '',
          ) !== undefined,
      );
      if (!attached) continue;
      const hostnames = arrayAt(spec, 'hostnames').filter((h): h is string => typeof h === 'string');
      const hr = hostnames.length === 0 ? 0 : Math.max(...hostnames.map((h) => hostRank(h, request.host)));
      if (hr < 0) continue;
      const created = stringAt(objectAt(route, 'metadata'), 'creationTimestamp') ?? '';
      objectsAt(spec, 'rules').forEach((rule, ruleIndex) => {
        const matches = objectsAt(rule, 'matches');
        for (const m of matches.length === 0 ? [{}] : matches) {
          const rank = httpMatchRank(m, request);
          if (rank === undefined) continue;
          const backends = objectsAt(rule, 'backendRefs')
            .filter(
              (b) => (stringAt(b, 'kind') ?? 'Service') === 'Service' && (stringAt(b, 'group') ?? '') === '',
            )
            .filter((b) => (stringAt(b, 'namespace') ?? namespace) === namespace)
            .map((b) => ({
              service: stringAt(b, 'name') ?? '',
              port: numberAt(b, 'port'),
              weight: numberAt(b, 'weight') ?? 1,
            }));
          found.push({
            route: {
              namespace,
              kind: 'HTTPRoute',
              name: nameOf(route),
              key: `HTTPRoute/${namespace}/${nameOf(route)}/${String(ruleIndex)}`,
              backends,
              decidedBy: 'weight',
              forced: undefined,
              missingServiceStatus: 500,
            },
            rank: [hr, 2, ...rank],
            order: `${created} ${namespace}/${nameOf(route)} ${String(ruleIndex).padStart(4, '0')}`,
          });
        }
      });
    }
    return found;
  }
}

/** Ranks of a Gateway API match that applies ([exact, path length, method, headers]), else undefined. */
function httpMatchRank(match: JsonObject, request: RouteRequest): number[] | undefined {
  const path = objectAt(match, 'path');
  const type = stringAt(path, 'type') ?? 'PathPrefix';
  const value = stringAt(path, 'value') ?? '/';
  if (type === 'Exact' && request.path !== value) return undefined;
  if (type === 'PathPrefix' && !prefixMatches(value, request.path)) return undefined;
  if (type === 'RegularExpression' && !safeRegExp(value)?.test(request.path)) return undefined;
  const method = stringAt(match, 'method');
  if (method !== undefined && method.toUpperCase() !== request.method.toUpperCase()) return undefined;
  const headers = objectsAt(match, 'headers');
  for (const h of headers) {
    const actual = request.headers[(stringAt(h, 'name') ?? '').toLowerCase()];
    if (actual === undefined) return undefined;
    const wanted = stringAt(h, 'value') ?? '';
    const ok =
      stringAt(h, 'type') === 'RegularExpression' ? safeRegExp(wanted)?.test(actual) : actual === wanted;
    if (ok !== true) return undefined;
  }
  return [type === 'Exact' ? 1 : 0, value.length, method === undefined ? 0 : 1, headers.length];
}

/** A user's pattern, anchored; an invalid one matches nothing rather than failing the request. */
function safeRegExp(pattern: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch {
    return undefined;
  }
}

function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (b[i] ?? 0) - (a[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function annotation(object: JsonObject, key: string): string | undefined {
  const value = objectAt(objectAt(object, 'metadata'), 'annotations')?.[key];
  return typeof value === 'string' ? value : undefined;
}

function ingressBackend(backend: JsonObject | undefined): RouteBackend | undefined {
  const service = objectAt(backend, 'service');
  const name = stringAt(service, 'name');
  if (name === undefined) return undefined;
  const port = objectAt(service, 'port');
  return { service: name, port: stringAt(port, 'name') ?? numberAt(port, 'number'), weight: 1 };
}

/** The canary Ingress's backend for the main rule's host and path, with its weight (0 to 1) and testing annotations. */
function canaryRule(
  canary: JsonObject,
  host: string | undefined,
  path: string,
): (RouteBackend & CanaryTesting) | undefined {
  for (const rule of objectsAt(objectAt(canary, 'spec'), 'rules')) {
    if ((stringAt(rule, 'host') ?? '') !== (host ?? '')) continue;
    for (const p of objectsAt(objectAt(rule, 'http'), 'paths'))
      if ((stringAt(p, 'path') ?? '/') === path) {
        const backend = ingressBackend(objectAt(p, 'backend'));
        if (backend === undefined) continue;
        const total = Number(annotation(canary, NGINX_CANARY.weightTotal) ?? '100');
        const raw = Number(annotation(canary, NGINX_CANARY.weight) ?? '0');
        const weight =
          Number.isFinite(raw) && Number.isFinite(total) && total > 0
            ? Math.min(Math.max(raw, 0), total) / total
            : 0;
        return { ...backend, weight, ...canaryTesting(canary) };
      }
  }
  return undefined;
}

interface CanaryTesting {
  readonly byHeader?: string;
  readonly byHeaderValue?: string;
  readonly byCookie?: string;
}

function canaryTesting(canary: JsonObject): CanaryTesting {
  const byHeader = annotation(canary, NGINX_CANARY.byHeader);
  const byHeaderValue = annotation(canary, NGINX_CANARY.byHeaderValue);
  const byCookie = annotation(canary, NGINX_CANARY.byCookie);
  return {
    ...(byHeader === undefined ? {} : { byHeader }),
    ...(byHeaderValue === undefined ? {} : { byHeaderValue }),
    ...(byCookie === undefined ? {} : { byCookie }),
  };
}

/**
 * The main backend and, when a canary Ingress covers the same host and path, the canary: header
 * first (`always`/`never`, or the exact `canary-by-header-value`), then cookie, then weight, as the
 * NGINX ingress controller decides.
 */
function withCanary(
  main: { namespace: string; name: string; key: string; main: RouteBackend },
  canary: (RouteBackend & CanaryTesting) | undefined,
  request: RouteRequest,
): MatchedRoute {
  const base = {
    namespace: main.namespace,
    kind: 'Ingress' as const,
    name: main.name,
    key: main.key,
    missingServiceStatus: 503 as const,
  };
  if (canary === undefined) return { ...base, backends: [main.main], decidedBy: 'weight', forced: undefined };
  const canaryBackend: RouteBackend = { service: canary.service, port: canary.port, weight: canary.weight };
  const mainBackend: RouteBackend = { ...main.main, weight: 1 - canary.weight };
  const backends = [mainBackend, canaryBackend];
  if (canary.byHeader !== undefined) {
    const value = request.headers[canary.byHeader.toLowerCase()];
    if (canary.byHeaderValue !== undefined) {
      if (value === canary.byHeaderValue)
        return { ...base, backends, decidedBy: 'header', forced: canaryBackend };
    } else if (value === 'always') return { ...base, backends, decidedBy: 'header', forced: canaryBackend };
    else if (value === 'never') return { ...base, backends, decidedBy: 'header', forced: mainBackend };
  }
  if (canary.byCookie !== undefined) {
    const value = cookie(request.headers.cookie, canary.byCookie);
    if (value === 'always') return { ...base, backends, decidedBy: 'cookie', forced: canaryBackend };
    if (value === 'never') return { ...base, backends, decidedBy: 'cookie', forced: mainBackend };
  }
  return { ...base, backends, decidedBy: 'weight', forced: undefined };
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

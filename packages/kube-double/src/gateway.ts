import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiServer } from './api-server.js';
import { resolveTargetPort, selectedPods } from './endpoints-controller.js';
import { TrafficMetrics, type RequestLabels } from './gateway-metrics.js';
import {
  hostOf,
  RouteTable,
  type MatchedRoute,
  type RouteBackend,
  type RouteDecision,
} from './gateway-routes.js';
import type { BehaviourBook } from './image-behaviours.js';
import { numberAt, objectAt, objectsAt, stringAt, stringMapAt, type JsonObject } from './json-value.js';
import { nameOf, namespaceOf } from './object-store.js';
import { isPodReady } from './pod-lifecycle.js';
import { resourceTypeOfKind } from './resource-table.js';

/** Labels that name a pod's release color (blue-green) or track (canary). */
export const COLOR_LABELS = ['dreamscape.io/color', 'dreamscape.io/track'] as const;

/** Why the data plane answered as it did. */
export type TrafficOutcome =
  /** A pod answered. */
  | 'answered'
  /** No Ingress or HTTPRoute matched the host and path (404). */
  | 'no-route'
  /** The route has no backend with a weight (500). */
  | 'no-backends'
  /** The chosen backend names a Service that does not exist (503 NGINX, 500 Gateway API). */
  | 'no-service'
  /** The chosen backend's Service has no Ready endpoint (503). */
  | 'no-endpoints';

/** One request routed by the data plane, as the traffic monitor sees it. */
export interface TrafficRecord {
  /** Real time of the routing decision, in epoch milliseconds. */
  readonly at: number;
  readonly namespace: string;
  readonly route:
    { readonly kind: 'Ingress' | 'HTTPRoute'; readonly name: string; readonly key: string } | undefined;
  readonly decidedBy: RouteDecision | undefined;
  /** The rule's backends with the weights in force when the request was routed. */
  readonly weights: readonly RouteBackend[];
  readonly service: string | undefined;
  readonly pod: string | undefined;
  readonly status: number;
  readonly outcome: TrafficOutcome;
}

/** Where the data plane listens. */
export interface DataPlaneAddresses {
  /** `http://127.0.0.1:PORT`: routes by the request's Host header, as a load balancer does. */
  readonly url: string;
  /** `http://127.0.0.1:PORT/metrics`, Prometheus' text format. */
  readonly metricsUrl: string;
  /** `127.0.0.1:PORT` of the metrics endpoint, for a scrape config. */
  readonly metricsTarget: string;
}

/**
 * Smooth weighted round robin (the way NGINX spreads requests over weighted upstreams): over any run
 * of requests every backend's count is within one or two of its exact share, so a share check on a
 * window of requests is meaningful without sampling noise. State is kept per route rule and restarts
 * when its weights change.
 */
export class WeightedChooser {
  private readonly state = new Map<string, { signature: string; current: number[] }>();

  /** The index of the next backend, or undefined when no weight is above zero. */
  choose(key: string, weights: readonly number[]): number | undefined {
    const total = weights.reduce((a, w) => a + Math.max(w, 0), 0);
    if (!(total > 0)) return undefined;
    const signature = weights.join(',');
    let entry = this.state.get(key);
    if (entry?.signature !== signature) {
      entry = { signature, current: weights.map(() => 0) };
      this.state.set(key, entry);
    }
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      entry.current[i] = (entry.current[i] ?? 0) + Math.max(weights[i] ?? 0, 0);
      if ((weights[i] ?? 0) > 0 && (best === -1 || (entry.current[i] ?? 0) > (entry.current[best] ?? 0)))
        best = i;
    }
    entry.current[best] = (entry.current[best] ?? 0) - total;
    return best;
  }
}

/**
 * The cluster's data plane on 127.0.0.1: real HTTP in, real HTTP out. Requests are routed the way a
 * cluster routes them, through Ingresses (with the NGINX canary annotations) and Gateway API
 * HTTPRoutes to Services, and from a Service to one of its Ready pods in turn (so Deployments that
 * share a selector share the traffic by Ready pod count, as kube-proxy does). The pod's image
 * behaviour answers. Every request is counted for Prometheus and reported to the traffic monitor.
 */
export class DataPlane {
  private readonly routes: RouteTable;
  private readonly chooser = new WeightedChooser();
  private readonly cursors = new Map<string, number>();
  private readonly metrics = new TrafficMetrics();
  private readonly servers: Server[] = [];
  private readonly hostServers = new Map<string, Promise<string>>();
  private readonly serviceType = requiredType('Service');
  private readonly podType = requiredType('Pod');
  /**
   * A Service's Ready endpoints for a port, kept while neither the Service nor its namespace's pods
   * change: stored objects and views are frozen snapshots, replaced on every write, so their
   * identity says whether the answer still holds.
   */
  private readonly endpoints = new WeakMap<
    JsonObject,
    { readonly pods: readonly JsonObject[]; readonly port: JsonObject; readonly ready: readonly JsonObject[] }
  >();
  private addresses: DataPlaneAddresses | undefined;

  constructor(
    private readonly api: ApiServer,
    private readonly behaviours: BehaviourBook,
    private readonly onTraffic: (record: TrafficRecord) => void,
  ) {
    this.routes = new RouteTable(api);
  }

  /** Starts the data plane and metrics listeners. */
  async start(): Promise<DataPlaneAddresses> {
    const port = await this.listen((req, res) => {
      this.handle(req, res, undefined);
    });
    const metricsPort = await this.listen((req, res) => {
      this.serveMetrics(req, res);
    });
    this.addresses = {
      url: `http://127.0.0.1:${String(port)}`,
      metricsUrl: `http://127.0.0.1:${String(metricsPort)}/metrics`,
      metricsTarget: `127.0.0.1:${String(metricsPort)}`,
    };
    return this.addresses;
  }

  /**
   * `http://127.0.0.1:PORT` of a listener that treats every request as sent to `host`: what a DNS
   * record pointing the host at the load balancer gives a client that cannot set Host (fetch).
   */
  hostUrl(host: string): Promise<string> {
    const key = host.toLowerCase();
    let url = this.hostServers.get(key);
    if (url === undefined) {
      url = this.listen((req, res) => {
        this.handle(req, res, key);
      }).then((port) => `http://127.0.0.1:${String(port)}`);
      this.hostServers.set(key, url);
    }
    return url;
  }

  /** The metrics exposition text. */
  exposition(): string {
    return this.metrics.expose();
  }

  /** Stops every listener. */
  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => {
              resolve();
            });
            server.closeAllConnections();
          }),
      ),
    );
  }

  private async listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
    const server = createServer(handler);
    server.keepAliveTimeout = 30_000;
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  private serveMetrics(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if ((req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    res
      .writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' })
      .end(this.metrics.expose());
  }

  private handle(req: IncomingMessage, res: ServerResponse, pinnedHost: string | undefined): void {
    const started = performance.now();
    req.resume();
    const path = pathOf(req.url);
    const method = req.method ?? 'GET';
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
    const route = this.routes.match({ host: pinnedHost ?? hostOf(req.headers.host), path, method, headers });
    const decision = this.decide(route, path);
    this.onTraffic({
      at: Date.now(),
      namespace: route?.namespace ?? '',
      route: route === undefined ? undefined : { kind: route.kind, name: route.name, key: route.key },
      decidedBy: route?.decidedBy,
      weights: route?.backends ?? [],
      service: decision.service,
      pod: decision.pod === undefined ? undefined : nameOf(decision.pod),
      status: decision.status,
      outcome: decision.outcome,
    });
    const send = (): void => {
      if (res.destroyed) return;
      const extra: Record<string, string> = {};
      if (decision.service !== undefined) extra['X-Kube-Double-Service'] = decision.service;
      if (decision.pod !== undefined) {
        extra['X-Kube-Double-Pod'] = nameOf(decision.pod);
        const color = colorOf(decision.pod);
        if (color !== '') extra['X-Kube-Double-Color'] = color;
      }
      res.writeHead(decision.status, { 'Content-Type': contentType(decision.body), ...extra });
      res.end(decision.body);
      this.metrics.observe(labelsOf(route, decision, method), (performance.now() - started) / 1000);
    };
    if (decision.latencyMs > 0) {
      const timer = setTimeout(send, decision.latencyMs);
      // The response's close, not the request's: a request's 'close' fires once its body is read.
      res.on('close', () => {
        clearTimeout(timer);
      });
    } else send();
  }

  private readyEndpoints(service: JsonObject, servicePort: JsonObject): readonly JsonObject[] {
    const pods = this.api.store.view(this.podType, namespaceOf(service));
    const cached = this.endpoints.get(service);
    if (cached !== undefined && cached.pods === pods && cached.port === servicePort) return cached.ready;
    const ready = selectedPods(this.api, service).filter(
      (p) => isPodReady(p) && resolveTargetPort(p, servicePort) !== undefined,
    );
    this.endpoints.set(service, { pods, port: servicePort, ready });
    return ready;
  }

  private decide(route: MatchedRoute | undefined, path: string): Decision {
    if (route === undefined) return plain(404, 'default backend - 404\n', 'no-route');
    const backend =
      route.forced ??
      route.backends[
        this.chooser.choose(
          route.key,
          route.backends.map((b) => b.weight),
        ) ?? -1
      ];
    if (backend === undefined) return plain(500, 'no backend with a weight above zero\n', 'no-backends');
    const service = this.api.store.peek(this.serviceType, route.namespace, backend.service);
    if (service === undefined)
      return {
        ...plain(route.missingServiceStatus, `service "${backend.service}" not found\n`, 'no-service'),
        service: backend.service,
      };
    const ports = objectsAt(objectAt(service, 'spec'), 'ports');
    const servicePort =
      backend.port === undefined
        ? ports[0]
        : ports.find((p) => stringAt(p, 'name') === backend.port || numberAt(p, 'port') === backend.port);
    const ready = servicePort === undefined ? [] : this.readyEndpoints(service, servicePort);
    if (servicePort === undefined || ready.length === 0)
      return {
        ...plain(
          503,
          route.kind === 'Ingress' ? '503 Service Temporarily Unavailable\n' : 'no healthy upstream\n',
          'no-endpoints',
        ),
        service: backend.service,
      };
    const cursorKey = `${route.namespace}/${backend.service}/${String(backend.port ?? '')}`;
    const cursor = this.cursors.get(cursorKey) ?? 0;
    this.cursors.set(cursorKey, cursor + 1);
    const pod = ready[cursor % ready.length] ?? ready[0];
    if (pod === undefined) return plain(503, 'no healthy upstream\n', 'no-endpoints');
    const image = imageServing(pod, resolveTargetPort(pod, servicePort));
    const answer = this.behaviours.forImage(image).respond(path);
    return {
      status: answer?.status ?? 404,
      body: answer?.body ?? '404 page not found\n',
      latencyMs: answer?.latencyMs ?? 0,
      outcome: 'answered',
      service: backend.service,
      pod,
    };
  }
}

interface Decision {
  readonly status: number;
  readonly body: string;
  readonly latencyMs: number;
  readonly outcome: TrafficOutcome;
  readonly service?: string;
  readonly pod?: JsonObject;
}

function plain(status: number, body: string, outcome: TrafficOutcome): Decision {
  return { status, body, latencyMs: 0, outcome };
}

function requiredType(kind: string): NonNullable<ReturnType<typeof resourceTypeOfKind>> {
  const type = resourceTypeOfKind(kind);
  if (type === undefined) throw new Error(`${kind} is not served`);
  return type;
}

function pathOf(url: string | undefined): string {
  const raw = (url ?? '/').split('?')[0] ?? '/';
  return raw === '' ? '/' : raw;
}

/** The pod's color or track label, '' when it has neither. */
export function colorOf(pod: JsonObject): string {
  const labels = stringMapAt(objectAt(pod, 'metadata'), 'labels');
  for (const key of COLOR_LABELS) {
    const value = labels[key];
    if (value !== undefined) return value;
  }
  return '';
}

/** The workload a pod belongs to: a ReplicaSet's Deployment (the hash cut off), or its owner. */
export function workloadOf(pod: JsonObject): string {
  const metadata = objectAt(pod, 'metadata');
  const owner = objectsAt(metadata, 'ownerReferences')[0];
  if (owner === undefined) return nameOf(pod);
  const ownerName = stringAt(owner, 'name') ?? '';
  const hash = stringMapAt(metadata, 'labels')['pod-template-hash'];
  if (stringAt(owner, 'kind') === 'ReplicaSet' && hash !== undefined && ownerName.endsWith(`-${hash}`))
    return ownerName.slice(0, -hash.length - 1);
  return ownerName;
}

function labelsOf(route: MatchedRoute | undefined, decision: Decision, method: string): RequestLabels {
  const pod = decision.pod;
  const labels = pod === undefined ? {} : stringMapAt(objectAt(pod, 'metadata'), 'labels');
  return {
    namespace: route?.namespace ?? '',
    ingress: route?.kind === 'Ingress' ? route.name : '',
    route: route?.kind === 'HTTPRoute' ? route.name : '',
    service: decision.service ?? '',
    backend: pod === undefined ? '' : workloadOf(pod),
    pod_template_hash: labels['pod-template-hash'] ?? '',
    color: pod === undefined ? '' : colorOf(pod),
    method,
    code: String(decision.status),
  };
}

function imageServing(pod: JsonObject, port: number | undefined): string {
  const containers = objectsAt(objectAt(pod, 'spec'), 'containers');
  const byPort = containers.find((c) =>
    objectsAt(c, 'ports').some((p) => numberAt(p, 'containerPort') === port),
  );
  return stringAt(byPort ?? containers[0], 'image') ?? '';
}

function contentType(body: string): string {
  const t = body.trim();
  return t.startsWith('{') || t.startsWith('[') ? 'application/json' : 'text/plain; charset=utf-8';
}

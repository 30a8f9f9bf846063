import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock, type Logger } from '@dreamscape/core';
import { AccessRules, parseAccessRules, type AccessRule } from './access-review.js';
import { ActivityLog, type RequestRecord, type WriteRecord } from './activity-log.js';
import { ApiServer } from './api-server.js';
import { AutoscalerController } from './autoscaler-controller.js';
import { DeploymentController } from './deployment-controller.js';
import { DisruptionController } from './disruption-controller.js';
import { EndpointsController } from './endpoints-controller.js';
import { EventRecorder } from './event-recorder.js';
import { FaultInjector, parseFaultRules, type FaultRule } from './faults.js';
import { createRequestHandler, type InspectionHandler } from './http-frontend.js';
import { BehaviourBook, parseBehaviours, type ImageBehaviour } from './image-behaviours.js';
import { InvariantMonitor, type Violation } from './invariant-monitor.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json-value.js';
import { writeKubeconfig } from './kubeconfig.js';
import { ObjectStore } from './object-store.js';
import { PodLifecycle } from './pod-lifecycle.js';
import { PodLogs } from './pod-logs.js';
import { ReplicaSetController } from './replicaset-controller.js';
import { createClusterObjects } from './cluster-setup.js';
import { DEFAULT_SERVER_VERSION, serverVersionInfo } from './discovery.js';
import { CustomResourceDefinitionController } from './crd-controller.js';
import { DaemonSetController } from './daemonset-controller.js';
import { JobController } from './job-controller.js';
import { QuotaController } from './quota-controller.js';
import { ResourceCatalog } from './resource-catalog.js';
import { resourceTypeOfKind } from './resource-table.js';
import { ServiceAccountController } from './service-account-controller.js';
import { StatefulSetController } from './statefulset-controller.js';
import { VolumeController } from './volume-controller.js';
import { SeededRandom } from './seeded-random.js';
import { ServiceProxy } from './service-proxy.js';
import { SimClock } from './sim-clock.js';
import { DataPlane, type DataPlaneAddresses } from './gateway.js';
import { TrafficMonitor, type TrafficSummary } from './traffic-monitor.js';

/**
 * How long an answer takes (real time, at most 60s): a duration, `{min, max}` (uniform between the
 * two) or `{median, p99}` (log-normal through those two quantiles, p99 at least the median).
 */
export type LatencyEntry =
  | string
  | number
  | { readonly min: string | number; readonly max: string | number }
  | { readonly median: string | number; readonly p99: string | number };

/** A share of the requests to a path answered with an error instead. */
export interface ErrorShareEntry {
  /** From 0 to 1; exact, not random: after n requests, floor(n * rate) were errors. */
  readonly rate: number;
  /** Default 500. */
  readonly status?: number;
  /** Default `internal server error`; an object is sent as JSON. */
  readonly body?: unknown;
}

/** How the service proxy answers a path, as written in the behaviours document. */
export interface HttpAnswerEntry {
  /** Default 200. */
  readonly status?: number;
  /** Default empty; an object is sent as JSON. */
  readonly body?: unknown;
  readonly latency?: LatencyEntry;
  readonly errors?: ErrorShareEntry;
}

/** An entry of the behaviours document, as written in YAML or JSON (durations as text). */
export interface BehaviourEntry {
  readonly image: string;
  /** A duration (`2s`, default 1s), `never`, or `deadline`. */
  readonly ready?: string | number;
  /** Answers by request path (exact, or a glob). */
  readonly http?: Readonly<Record<string, HttpAnswerEntry>>;
  /** For run-to-completion pods (Jobs): the exit code (default 0) ... */
  readonly exitCode?: number;
  /** ... after this long (a duration, default 1s). */
  readonly duration?: string | number;
  /**
   * The lines a container of the image prints (at most 1000, each at most 4096 characters, no line
   * breaks): over its run for a run-to-completion container, at start for a serving one.
   */
  readonly logs?: readonly string[];
  /**
   * The image cannot be pulled: `fail` (the runtime's "not found"), or `{message}`, what the
   * runtime answers. Its containers wait in `ErrImagePull`, then `ImagePullBackOff`.
   */
  readonly pull?: 'fail' | { readonly message?: string };
  /**
   * Each container of the image exits after `after` (default 1s) with `exitCode` (default 1),
   * writing `message` as its termination message; a serving one is restarted on the kubelet's
   * back-off (`CrashLoopBackOff`).
   */
  readonly crash?: {
    readonly exitCode?: number;
    readonly message?: string;
    readonly after?: string | number;
  };
}

/** Options for {@link startKubeDouble}. */
export interface KubeDoubleOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Where to write the kubeconfig; default: a new temporary directory. */
  readonly kubeconfigPath?: string;
  /** The kubeconfig context's namespace. Default `default`. */
  readonly namespace?: string;
  /** Namespaces to create besides default, kube-system, kube-public and kube-node-lease. */
  readonly namespaces?: readonly string[];
  /** The image behaviours document. */
  readonly behaviours?: readonly BehaviourEntry[];
  /** Fault rules in force from the start. */
  readonly faults?: readonly FaultRule[];
  /** Seed for fault decisions, generated names and the latencies behaviours draw. Default 1. */
  readonly seed?: number;
  /** Simulated milliseconds per real one for controller delays and deadlines. Default 1. */
  readonly timeScale?: number;
  /** Changes kept for watches; older resourceVersions get 410 Expired. Default 10000. */
  readonly eventLogLimit?: number;
  /** Real milliseconds between BOOKMARK events on watches that allow them. Default 1000. */
  readonly bookmarkIntervalMs?: number;
  /** Rules answering SelfSubjectAccessReviews (`kubectl auth can-i`); default: everything allowed. */
  readonly access?: readonly AccessRule[];
  /** Services (name or namespace/name globs) the invariant monitor ignores (their traffic too). */
  readonly monitorExclude?: readonly string[];
  /** How far a backend's share of a window of requests may stray from its weight. Default 0.05. */
  readonly shareTolerance?: number;
  /** How many Ready nodes the cluster has (a DaemonSet runs a pod on each). Default 3. */
  readonly nodes?: number;
  /**
   * The Kubernetes version the double reports on `/version` and as its nodes' kubelet version
   * (`v1.35.2`): what a kubectl of that minor expects of its server. Default `v1.32.3`. The API
   * semantics are the same whatever it says (watch-lists are served, as from 1.32 and from 1.34).
   */
  readonly serverVersion?: string;
  /** Real time, for timestamps. */
  readonly clock?: Clock;
  /** Where controller errors are reported (they are always kept for {@link KubeDouble.errors}). */
  readonly logger?: Logger;
}

/** A running double. */
export interface KubeDouble {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** A kubeconfig for the double (context `kube-double`). */
  readonly kubeconfigPath: string;
  /** The API semantics, for tests that need to look at or change state directly. */
  readonly api: ApiServer;
  /** Replaces the image behaviours (first match wins); error shares count afresh. */
  setBehaviours(entries: readonly BehaviourEntry[]): void;
  /** The behaviours in force. */
  behaviours(): readonly ImageBehaviour[];
  /** Replaces the fault rules; `seed` restarts the random sequence. An empty list stops all faults. */
  setFaults(rules: readonly FaultRule[], seed?: number): void;
  /** Replaces the access rules (first match wins; no match allows). */
  setAccess(rules: readonly AccessRule[]): void;
  /** How many times each fault rule has fired. */
  faultCounts(): readonly number[];
  /**
   * The data plane: Ingresses, HTTPRoutes and Services served on 127.0.0.1 with real HTTP, and its
   * metrics for Prometheus.
   */
  readonly gateway: DoubleGateway;
  /** Every invariant violation recorded: Services' and traffic's, in the order they began. */
  violations(): Violation[];
  /** Every request answered (except `/_double/*`). */
  requests(): RequestRecord[];
  /** Every write a client made. */
  writes(): WriteRecord[];
  /** Forgets requests, writes and violations. */
  clearLogs(): void;
  /** Errors the controllers ran into (should stay empty). */
  errors(): readonly string[];
  /** The objects of a resource (plural, e.g. `deployments`), in a namespace or all. */
  objects(resource: string, namespace?: string): JsonObject[];
  /** Resolves once the controllers have nothing queued. */
  settle(): Promise<void>;
  /** Ends open watches and hung requests, stops the controllers and the server. */
  close(): Promise<void>;
}

/** The data plane of a running double. */
export interface DoubleGateway extends DataPlaneAddresses {
  /**
   * `http://127.0.0.1:PORT` of a listener that serves every request as sent to `host` (what a DNS
   * record for the host would give a client that cannot set the Host header).
   */
  hostUrl(host: string): Promise<string>;
  /** What the traffic monitor has judged so far. */
  traffic(): TrafficSummary;
}

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Starts a Kubernetes API server double on 127.0.0.1 that the real kubectl accepts. */
export async function startKubeDouble(options: KubeDoubleOptions = {}): Promise<KubeDouble> {
  const realClock = options.clock ?? systemClock;
  const clock = new SimClock(realClock, options.timeScale ?? 1);
  const random = new SeededRandom(options.seed ?? 1);
  const store = new ObjectStore({ eventLogLimit: options.eventLogLimit ?? 10_000 });
  const api = new ApiServer(store, realClock, random, new ResourceCatalog());
  const behaviours = new BehaviourBook(parseBehaviours(options.behaviours ?? []), {
    seed: options.seed ?? 1,
  });
  const faults = new FaultInjector(options.seed ?? 1);
  faults.set(options.faults ?? []);
  const log = new ActivityLog();
  const access = new AccessRules();
  access.set(options.access ?? []);
  const errors: string[] = [];
  const onError = (where: string) => (key: string, error: unknown) => {
    const text = `${where} ${key}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    errors.push(text);
    options.logger?.warning(text);
  };

  const namespaceType = resourceTypeOfKind('Namespace');
  if (namespaceType === undefined) throw new Error('namespaces are not served');
  for (const ns of [...SYSTEM_NAMESPACES, ...(options.namespaces ?? [])])
    if (store.peek(namespaceType, '', ns) === undefined)
      api.createInternal(namespaceType, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const nodeCount = options.nodes ?? 3;
  if (!Number.isInteger(nodeCount) || nodeCount < 1)
    throw new Error(`nodes must be a whole number of at least 1, got ${String(nodeCount)}`);
  const serverVersion = options.serverVersion ?? DEFAULT_SERVER_VERSION;
  const version = serverVersionInfo(serverVersion);
  createClusterObjects(api, nodeCount, serverVersion);

  const events = new EventRecorder(api);
  const podLogs = new PodLogs(realClock);
  const pods = new PodLifecycle(api, clock, behaviours, podLogs, events, onError('pod'));
  const controllers = [
    new CustomResourceDefinitionController(api, onError('customresourcedefinition')),
    new ServiceAccountController(api, onError('serviceaccount')),
    pods,
    new ReplicaSetController(api, clock, pods, events, random, onError('replicaset')),
    new DeploymentController(api, clock, behaviours, events, onError('deployment')),
    new StatefulSetController(api, clock, pods, events, onError('statefulset')),
    new DaemonSetController(api, clock, pods, events, random, onError('daemonset')),
    new JobController(api, clock, events, random, onError('job')),
    new VolumeController(api, events, onError('persistentvolume')),
    new EndpointsController(api, onError('endpoints')),
    new AutoscalerController(api, onError('horizontalpodautoscaler')),
    new DisruptionController(api, onError('poddisruptionbudget')),
    new QuotaController(api, onError('resourcequota')),
  ];
  const monitor = new InvariantMonitor(api, options.monitorExclude ?? []);
  monitor.start();
  for (const c of controllers) c.start();
  const traffic = new TrafficMonitor(api, {
    exclude: options.monitorExclude ?? [],
    ...(options.shareTolerance === undefined ? {} : { shareTolerance: options.shareTolerance }),
  });
  const dataPlane = new DataPlane(api, behaviours, (record) => {
    traffic.observe(record);
  });
  const gatewayAddresses = await dataPlane.start();
  const allViolations = (): Violation[] =>
    [...monitor.violations(), ...traffic.violations()].sort((a, b) => a.at.localeCompare(b.at));

  const proxy = new ServiceProxy(api, behaviours);
  const inspect: InspectionHandler = (method, path, body) =>
    inspection(method, path, body, { behaviours, faults, monitor, traffic, allViolations, log, access });
  const server: Server = createServer(
    createRequestHandler({
      api,
      access,
      podLogs,
      proxy,
      faults,
      log,
      inspect,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
      version,
      onError: (error) => {
        onError('http')('request', error);
      },
    }),
  );
  // Idle connections are kept longer than a Go client (kubectl proxy) keeps them (90 s), so the
  // client closes them first and a request never races the server's close of an idle connection.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const kubeconfigPath =
    options.kubeconfigPath ?? join(mkdtempSync(join(tmpdir(), 'kube-double-')), 'kubeconfig');
  writeKubeconfig(kubeconfigPath, url, options.namespace ?? 'default');

  const settle = async (): Promise<void> => {
    for (let round = 0; round < 50; round++) {
      const before = store.currentResourceVersion();
      await api.settled();
      for (const c of controllers) await c.idle();
      await new Promise((r) => setImmediate(r));
      if (store.currentResourceVersion() === before) return;
    }
  };

  let closed = false;
  return {
    url,
    port,
    kubeconfigPath,
    api,
    setBehaviours: (entries) => {
      behaviours.replace(parseBehaviours(entries));
    },
    behaviours: () => behaviours.list(),
    setFaults: (rules, seed) => {
      faults.set(rules, seed);
    },
    setAccess: (rules) => {
      access.set(rules);
    },
    faultCounts: () => faults.counts(),
    gateway: {
      ...gatewayAddresses,
      hostUrl: (host) => dataPlane.hostUrl(host),
      traffic: () => traffic.summary(),
    },
    violations: allViolations,
    requests: () => log.requests(),
    writes: () => log.writes(),
    clearLogs: () => {
      log.clear();
      monitor.clear();
      traffic.clear();
    },
    errors: () => [...errors],
    objects: (resource, namespace) => {
      const type = api.catalog.byPlural(resource);
      if (type === undefined) throw new Error(`unknown resource ${resource}`);
      return store.list(type, namespace);
    },
    settle,
    close: async () => {
      if (closed) return;
      closed = true;
      clock.close();
      for (const c of controllers) c.close();
      monitor.close();
      await dataPlane.close();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
    },
  };
}

function inspection(
  method: string,
  path: string,
  body: string,
  parts: {
    behaviours: BehaviourBook;
    faults: FaultInjector;
    monitor: InvariantMonitor;
    traffic: TrafficMonitor;
    allViolations: () => Violation[];
    log: ActivityLog;
    access: AccessRules;
  },
): { status: number; body: JsonValue } {
  const json = (value: unknown): JsonValue => JSON.parse(JSON.stringify(value)) as JsonValue;
  const route = `${method} ${path.replace(/\/+$/, '')}`;
  try {
    switch (route) {
      case 'GET /_double/violations':
        return { status: 200, body: json(parts.allViolations()) };
      case 'GET /_double/traffic':
        return { status: 200, body: json(parts.traffic.summary()) };
      case 'GET /_double/requests':
        return { status: 200, body: json(parts.log.requests()) };
      case 'GET /_double/writes':
        return { status: 200, body: json(parts.log.writes()) };
      case 'GET /_double/behaviours':
        return { status: 200, body: json(parts.behaviours.list()) };
      case 'POST /_double/behaviours': {
        parts.behaviours.replace(parseBehaviours(JSON.parse(body === '' ? '[]' : body)));
        return { status: 200, body: json(parts.behaviours.list()) };
      }
      case 'GET /_double/faults':
        return { status: 200, body: json({ rules: parts.faults.list(), counts: parts.faults.counts() }) };
      case 'POST /_double/faults': {
        const parsed: unknown = JSON.parse(body === '' ? '[]' : body);
        const seed = isJsonObject(parsed) && typeof parsed.seed === 'number' ? parsed.seed : undefined;
        parts.faults.set(parseFaultRules(parsed), seed);
        return { status: 200, body: json({ rules: parts.faults.list() }) };
      }
      case 'GET /_double/access':
        return { status: 200, body: json(parts.access.list()) };
      case 'POST /_double/access':
        parts.access.set(parseAccessRules(JSON.parse(body === '' ? '[]' : body)));
        return { status: 200, body: json(parts.access.list()) };
      case 'POST /_double/clear':
        parts.log.clear();
        parts.monitor.clear();
        parts.traffic.clear();
        return { status: 200, body: {} };
      default:
        return {
          status: 404,
          body: {
            error: `no inspection endpoint ${route}`,
            endpoints: [
              'GET /_double/violations',
              'GET /_double/traffic',
              'GET /_double/requests',
              'GET /_double/writes',
              'GET|POST /_double/behaviours',
              'GET|POST /_double/faults',
              'GET|POST /_double/access',
              'POST /_double/clear',
            ],
          },
        };
    }
  } catch (error) {
    return { status: 400, body: { error: (error as Error).message } };
  }
}

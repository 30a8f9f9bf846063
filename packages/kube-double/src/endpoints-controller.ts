import type { ApiServer } from './api-server.js';
import {
  cloneJson,
  jsonEqual,
  numberAt,
  objectAt,
  objectsAt,
  stringAt,
  stringMapAt,
  type JsonObject,
} from './json-value.js';
import { fromLabelMap, matchesLabels } from './label-selector.js';
import { nameOf, namespaceOf, uidOf, type StoreChange } from './object-store.js';
import { isPodReady } from './pod-lifecycle.js';
import { ReconcileQueue } from './reconcile-queue.js';
import { resourceTypeOfKind, type ResourceType } from './resource-table.js';

function typeOf(kind: string): ResourceType {
  const type = resourceTypeOfKind(kind);
  if (type === undefined) throw new Error(`${kind} is not served`);
  return type;
}

/** The pods a Service selects (none when it has no selector), in name order. */
export function selectedPods(api: ApiServer, service: JsonObject): JsonObject[] {
  const selector = stringMapAt(objectAt(service, 'spec'), 'selector');
  if (Object.keys(selector).length === 0) return [];
  const podType = typeOf('Pod');
  const requirements = fromLabelMap(selector);
  return api.store
    .view(podType, namespaceOf(service))
    .filter(
      (p) =>
        objectAt(p, 'metadata')?.deletionTimestamp === undefined &&
        stringAt(objectAt(p, 'status'), 'podIP') !== undefined &&
        !['Succeeded', 'Failed'].includes(stringAt(objectAt(p, 'status'), 'phase') ?? '') &&
        matchesLabels(requirements, stringMapAt(objectAt(p, 'metadata'), 'labels')),
    );
}

/** The container port a Service port's targetPort names on a pod (by number, or by port name). */
export function resolveTargetPort(pod: JsonObject, servicePort: JsonObject): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  if (typeof target === 'string' && /^\d+$/.test(target)) return Number(target);
  for (const container of objectsAt(objectAt(pod, 'spec'), 'containers'))
    for (const port of objectsAt(container, 'ports'))
      if (port.name === target) return numberAt(port, 'containerPort');
  return undefined;
}

/**
 * The endpoints and endpoint-slice controllers: for every Service with a selector, an Endpoints
 * object and EndpointSlices listing the Ready (and not-ready) pods it selects, per port.
 */
export class EndpointsController {
  private readonly queue: ReconcileQueue;
  private readonly serviceType = typeOf('Service');
  private readonly podType = typeOf('Pod');
  private readonly endpointsType = typeOf('Endpoints');
  private readonly sliceType = typeOf('EndpointSlice');
  private unsubscribe = (): void => undefined;

  constructor(
    private readonly api: ApiServer,
    onError: (key: string, error: unknown) => void,
  ) {
    this.queue = new ReconcileQueue((key) => {
      this.sync(key);
    }, onError);
  }

  /** Starts watching Services and pods. */
  start(): void {
    this.unsubscribe = this.api.store.subscribe((change) => {
      this.onChange(change);
    });
  }

  /** Stops. */
  close(): void {
    this.unsubscribe();
    this.queue.close();
  }

  /** Resolves when nothing is queued. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private onChange(change: StoreChange): void {
    if (change.resourceType === this.serviceType) {
      this.queue.add(`${namespaceOf(change.object)}/${nameOf(change.object)}`);
    } else if (change.resourceType === this.podType) {
      for (const service of this.api.store.view(this.serviceType, namespaceOf(change.object))) {
        const selector = stringMapAt(objectAt(service, 'spec'), 'selector');
        if (Object.keys(selector).length === 0) continue;
        const requirements = fromLabelMap(selector);
        const touches = [change.object, change.previous].some(
          (p) =>
            p !== undefined && matchesLabels(requirements, stringMapAt(objectAt(p, 'metadata'), 'labels')),
        );
        if (touches) this.queue.add(`${namespaceOf(service)}/${nameOf(service)}`);
      }
    }
  }

  private sync(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    const service = this.api.store.peek(this.serviceType, namespace, name);
    const selector = stringMapAt(objectAt(service, 'spec'), 'selector');
    if (service === undefined || Object.keys(selector).length === 0) {
      // The Service is gone or manages its endpoints itself: drop what this controller made.
      if (service === undefined) {
        this.api.deleteInternal(this.endpointsType, namespace, name);
        for (const slice of this.slicesOf(namespace, name))
          this.api.deleteInternal(this.sliceType, namespace, nameOf(slice));
      }
      return;
    }
    const pods = selectedPods(this.api, service);
    const servicePorts = objectsAt(objectAt(service, 'spec'), 'ports');

    // Group pods by the ports they resolve to, as the real controller's subsets do.
    const groups = new Map<string, { ports: JsonObject[]; ready: JsonObject[]; notReady: JsonObject[] }>();
    for (const pod of pods) {
      const ports: JsonObject[] = [];
      for (const sp of servicePorts) {
        const port = resolveTargetPort(pod, sp);
        if (port === undefined) continue;
        const entry: JsonObject = { port, protocol: stringAt(sp, 'protocol') ?? 'TCP' };
        const portName = stringAt(sp, 'name');
        if (portName !== undefined && portName !== '') entry.name = portName;
        ports.push(entry);
      }
      const signature = JSON.stringify(ports);
      const group = groups.get(signature) ?? { ports, ready: [], notReady: [] };
      (isPodReady(pod) || objectAt(service, 'spec')?.publishNotReadyAddresses === true
        ? group.ready
        : group.notReady
      ).push(pod);
      groups.set(signature, group);
    }
    // A pod whose subdomain is this Service (a StatefulSet's, behind its headless Service) is
    // published under its hostname: redis-0.redis.<namespace>.svc.
    const hostnameOf = (pod: JsonObject): string | undefined => {
      const podSpec = objectAt(pod, 'spec');
      return stringAt(podSpec, 'subdomain') === name ? stringAt(podSpec, 'hostname') : undefined;
    };
    const address = (pod: JsonObject): JsonObject => {
      const hostname = hostnameOf(pod);
      return {
        ...(hostname === undefined ? {} : { hostname }),
        ip: stringAt(objectAt(pod, 'status'), 'podIP') ?? '',
        nodeName: stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '',
        targetRef: { kind: 'Pod', namespace, name: nameOf(pod), uid: uidOf(pod) },
      };
    };
    const publishNotReady = objectAt(service, 'spec')?.publishNotReadyAddresses === true;
    const subsets = [...groups.values()].map((g) => {
      const subset: JsonObject = {};
      if (g.ready.length > 0) subset.addresses = g.ready.map(address);
      if (g.notReady.length > 0) subset.notReadyAddresses = g.notReady.map(address);
      subset.ports = g.ports;
      return subset;
    });
    const labels = cloneJson(objectAt(objectAt(service, 'metadata'), 'labels') ?? {});
    if (stringAt(objectAt(service, 'spec'), 'clusterIP') === 'None')
      labels['service.kubernetes.io/headless'] = '';
    const endpoints: JsonObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        name,
        namespace,
        labels: { ...labels, 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' },
      },
    };
    if (subsets.length > 0) endpoints.subsets = subsets;
    this.put(this.endpointsType, endpoints);

    // One EndpointSlice per port group, named after the Service.
    const wanted = [...groups.values()];
    const existing = this.slicesOf(namespace, name);
    wanted.forEach((g, i) => {
      const sliceName =
        existing[i] !== undefined ? nameOf(existing[i]) : `${name}-${sliceSuffix(uidOf(service), i)}`;
      this.put(this.sliceType, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: sliceName,
          namespace,
          labels: {
            ...labels,
            'kubernetes.io/service-name': name,
            'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
          },
          ownerReferences: [
            {
              apiVersion: 'v1',
              kind: 'Service',
              name,
              uid: uidOf(service),
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        addressType: 'IPv4',
        endpoints: [...g.ready, ...g.notReady].map((pod) => {
          const ready = isPodReady(pod) || publishNotReady;
          const hostname = hostnameOf(pod);
          return {
            addresses: [stringAt(objectAt(pod, 'status'), 'podIP') ?? ''],
            ...(hostname === undefined ? {} : { hostname }),
            conditions: { ready, serving: ready, terminating: false },
            nodeName: stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '',
            targetRef: { kind: 'Pod', namespace, name: nameOf(pod), uid: uidOf(pod) },
          };
        }),
        ports: g.ports,
      });
    });
    for (const stale of existing.slice(wanted.length))
      this.api.deleteInternal(this.sliceType, namespace, nameOf(stale));
  }

  private slicesOf(namespace: string, service: string): JsonObject[] {
    return this.api.store
      .view(this.sliceType, namespace)
      .filter(
        (s) => stringMapAt(objectAt(s, 'metadata'), 'labels')['kubernetes.io/service-name'] === service,
      );
  }

  private put(type: ResourceType, object: JsonObject): void {
    const current = this.api.store.peek(type, namespaceOf(object), nameOf(object));
    if (current === undefined) {
      this.api.createInternal(type, object);
      return;
    }
    const next = cloneJson(current);
    for (const [k, v] of Object.entries(object)) if (k !== 'metadata') next[k] = v;
    if (object.subsets === undefined) Reflect.deleteProperty(next, 'subsets');
    const meta = objectAt(next, 'metadata') ?? {};
    meta.labels = objectAt(objectAt(object, 'metadata'), 'labels') ?? {};
    if (jsonEqual(next, current)) return;
    this.api.writeInternal(type, current, next, undefined);
  }
}

function sliceSuffix(uid: string, index: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let h = 7 + index;
  for (const ch of uid) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  let out = '';
  for (let i = 0; i < 5; i++) {
    out += alphabet[h % alphabet.length] ?? 'b';
    h = Math.floor(h / alphabet.length) + 13 * (i + 1);
  }
  return out;
}

import type { ApiServer } from './api-server.js';
import { badRequest } from './api-status.js';
import type { BehaviourBook, Readiness } from './image-behaviours.js';
import { objectAt, objectsAt, stringAt, type JsonObject } from './json-value.js';
import { nameOf, namespaceOf, uidOf, type StoreChange } from './object-store.js';
import { ReconcileQueue } from './reconcile-queue.js';
import { resourceTypeOfKind, type ResourceType } from './resource-table.js';
import type { SimClock } from './sim-clock.js';

/** The node every pod runs on. */
export const NODE_NAME = 'kube-double-node';

/** The readiness of a pod: the slowest of its containers' images. */
export function podReadiness(behaviours: BehaviourBook, podSpec: JsonObject | undefined): Readiness {
  let slowest = 0;
  for (const container of objectsAt(podSpec, 'containers')) {
    const ready = behaviours.forImage(stringAt(container, 'image') ?? '').ready;
    if (ready.kind !== 'after') return ready;
    slowest = Math.max(slowest, ready.ms);
  }
  return { kind: 'after', ms: slowest };
}

/**
 * What `kubectl logs` shows for a pod: when each container started from which image, and whether it
 * is ready. Throws a 400 ApiError for a container the pod does not have, as the real server does.
 */
export function podLog(pod: JsonObject, container: string | null): string {
  const statuses = objectsAt(objectAt(pod, 'status'), 'containerStatuses');
  const names = objectsAt(objectAt(pod, 'spec'), 'containers').map((c) => stringAt(c, 'name') ?? '');
  const name = container ?? names[0] ?? '';
  if (!names.includes(name))
    throw badRequest(
      `container ${name} is not valid for pod ${stringAt(objectAt(pod, 'metadata'), 'name') ?? ''}`,
    );
  const status = statuses.find((s) => s.name === name);
  if (status === undefined) return '';
  const started = stringAt(objectAt(objectAt(status, 'state'), 'running'), 'startedAt') ?? '';
  const ready = objectsAt(objectAt(pod, 'status'), 'conditions').find((c) => c.type === 'Ready');
  const lines = [`${started} container ${name} started from image ${stringAt(status, 'image') ?? ''}`];
  if (status.ready === true)
    lines.push(`${stringAt(ready, 'lastTransitionTime') ?? started} container ${name} is ready`);
  else lines.push(`${started} container ${name} is not ready yet`);
  return `${lines.join('\n')}\n`;
}

/** Whether a pod's Ready condition is True. */
export function isPodReady(pod: JsonObject): boolean {
  return objectsAt(objectAt(pod, 'status'), 'conditions').some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
}

/**
 * The kubelet's part: every new pod is scheduled on one node, gets an IP and starts Running; it turns
 * Ready when its images' behaviour says (after a simulated delay, or never).
 */
export class PodLifecycle {
  private nextIp = 1;
  private readonly due = new Set<string>();
  private readonly readySince = new Map<string, number>();
  private readonly queue: ReconcileQueue;
  private readonly podType: ResourceType;
  private unsubscribe = (): void => undefined;

  constructor(
    private readonly api: ApiServer,
    private readonly clock: SimClock,
    private readonly behaviours: BehaviourBook,
    onError: (key: string, error: unknown) => void,
  ) {
    const podType = resourceTypeOfKind('Pod');
    if (podType === undefined) throw new Error('pods are not served');
    this.podType = podType;
    this.queue = new ReconcileQueue((key) => {
      this.sync(key);
    }, onError);
  }

  /** Starts watching pods. */
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

  /** Resolves when no pod is waiting to be synced. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** The real time at which a pod became Ready, if it is Ready. */
  readyAt(uid: string): number | undefined {
    return this.readySince.get(uid);
  }

  private onChange(change: StoreChange): void {
    if (change.resourceType !== this.podType) return;
    if (change.type === 'DELETED') {
      this.due.delete(uidOf(change.object));
      this.readySince.delete(uidOf(change.object));
      return;
    }
    this.queue.add(`${namespaceOf(change.object)}/${nameOf(change.object)}`);
  }

  private sync(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    const pod = this.api.store.peek(this.podType, namespace, name);
    if (pod === undefined || objectAt(pod, 'metadata')?.deletionTimestamp !== undefined) return;
    const uid = uidOf(pod);
    const status = objectAt(pod, 'status');
    if (stringAt(status, 'podIP') === undefined) {
      this.start_(pod, key);
      return;
    }
    if (this.due.has(uid) && !isPodReady(pod)) {
      this.due.delete(uid);
      this.api.writeInternal(this.podType, pod, withReadiness(pod, true, this.api.timestamp()), 'status');
      this.readySince.set(uid, this.clock.real.now());
    } else if (isPodReady(pod) && !this.readySince.has(uid)) {
      this.readySince.set(uid, this.clock.real.now());
    }
  }

  private start_(pod: JsonObject, key: string): void {
    const uid = uidOf(pod);
    const now = this.api.timestamp();
    let current = pod;
    if (stringAt(objectAt(pod, 'spec'), 'nodeName') === undefined) {
      const scheduled = structuredClone(pod);
      const spec = objectAt(scheduled, 'spec') ?? {};
      spec.nodeName = NODE_NAME;
      scheduled.spec = spec;
      current = this.api.writeInternal(this.podType, pod, scheduled, undefined);
    }
    const n = this.nextIp++;
    const ip = `10.244.${Math.floor(n / 250)}.${(n % 250) + 1}`;
    const started = structuredClone(current);
    started.status = {
      phase: 'Running',
      conditions: [],
      hostIP: '192.168.0.2',
      hostIPs: [{ ip: '192.168.0.2' }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: now,
      qosClass: 'BestEffort',
    };
    const running = this.api.writeInternal(
      this.podType,
      current,
      withReadiness(started, false, now),
      'status',
    );
    const readiness = podReadiness(this.behaviours, objectAt(running, 'spec'));
    if (readiness.kind === 'after')
      this.clock.after(readiness.ms, () => {
        this.due.add(uid);
        this.queue.add(key);
      });
  }
}

/** The pod with its conditions and container statuses saying Ready (or not). */
function withReadiness(pod: JsonObject, ready: boolean, now: string): JsonObject {
  const result = structuredClone(pod);
  const status = objectAt(result, 'status') ?? {};
  const containers = objectsAt(objectAt(result, 'spec'), 'containers');
  const started = stringAt(status, 'startTime') ?? now;
  const condition = (type: string, value: boolean, extra: JsonObject = {}): JsonObject => ({
    type,
    status: value ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: now,
    ...extra,
  });
  const names = containers.map((c) => stringAt(c, 'name') ?? '');
  const unready: JsonObject = ready
    ? {}
    : { reason: 'ContainersNotReady', message: `containers with unready status: [${names.join(' ')}]` };
  const previous = objectsAt(status, 'conditions');
  const keep = (type: string, value: boolean, extra: JsonObject = {}): JsonObject => {
    const old = previous.find((c) => c.type === type);
    if (old !== undefined && old.status === (value ? 'True' : 'False')) return old;
    return condition(type, value, extra);
  };
  status.conditions = [
    keep('PodReadyToStartContainers', true),
    keep('Initialized', true),
    keep('Ready', ready, unready),
    keep('ContainersReady', ready, unready),
    keep('PodScheduled', true),
  ];
  status.containerStatuses = containers.map((c, i) => ({
    name: stringAt(c, 'name') ?? '',
    state: { running: { startedAt: started } },
    lastState: {},
    ready,
    restartCount: 0,
    image: stringAt(c, 'image') ?? '',
    imageID: stringAt(c, 'image') ?? '',
    containerID: `containerd://${uidOf(pod).replace(/-/g, '')}${String(i).padStart(2, '0')}`,
    started: true,
  }));
  result.status = status;
  return result;
}

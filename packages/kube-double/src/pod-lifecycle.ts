import type { ApiServer } from './api-server.js';
import { nodeAddress, nodeIndex } from './cluster-setup.js';
import { ContainerFailures } from './container-failures.js';
import type { EventRecorder } from './event-recorder.js';
import type { BehaviourBook, Readiness } from './image-behaviours.js';
import { objectAt, objectsAt, stringAt, type JsonObject } from './json-value.js';
import { nameOf, namespaceOf, uidOf, type StoreChange } from './object-store.js';
import { containerIdOf, type LogLine, type PodLogs } from './pod-logs.js';
import { ReconcileQueue } from './reconcile-queue.js';
import { resourceTypeOfKind, type ResourceType } from './resource-table.js';
import type { SimClock } from './sim-clock.js';

/** The node pods run on unless their controller chose one (a DaemonSet chooses each node). */
export const NODE_NAME = 'kube-double-node-1';

/** How a run-to-completion pod's containers end: each container's exit code and message, when the last ends. */
export function podRun(
  behaviours: BehaviourBook,
  podSpec: JsonObject | undefined,
): { exitCodes: number[]; messages: (string | undefined)[]; durationMs: number } {
  const runs = objectsAt(podSpec, 'containers').map(
    (c) => behaviours.forImage(stringAt(c, 'image') ?? '').run,
  );
  return {
    exitCodes: runs.map((r) => r.exitCode),
    messages: runs.map((r) => r.message),
    durationMs: Math.max(0, ...runs.map((r) => r.durationMs)),
  };
}

/** Whether a pod runs to completion (restartPolicy Never or OnFailure) rather than serving. */
export function runsToCompletion(pod: JsonObject): boolean {
  return (stringAt(objectAt(pod, 'spec'), 'restartPolicy') ?? 'Always') !== 'Always';
}

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
  /** Per node index, the next address to hand out. */
  private readonly nextIp = new Map<number, number>();
  private readonly due = new Set<string>();
  /** Run-to-completion pods whose containers have reached the end of their run. */
  private readonly finishing = new Set<string>();
  private readonly readySince = new Map<string, number>();
  /** Per pod, how many times its containers restarted in place (each run is a new container). */
  private readonly restarts = new Map<string, number>();
  private readonly queue: ReconcileQueue;
  private readonly podType: ResourceType;
  /** Images that cannot be pulled and containers that keep exiting. */
  private readonly failures: ContainerFailures;
  private unsubscribe = (): void => undefined;

  constructor(
    private readonly api: ApiServer,
    private readonly clock: SimClock,
    private readonly behaviours: BehaviourBook,
    private readonly logs: PodLogs,
    events: EventRecorder,
    onError: (key: string, error: unknown) => void,
  ) {
    const podType = resourceTypeOfKind('Pod');
    if (podType === undefined) throw new Error('pods are not served');
    this.podType = podType;
    this.failures = new ContainerFailures(api, clock, behaviours, events, logs, (pod, names, now) => {
      this.startContainers(pod, now, names);
    });
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
      this.finishing.delete(uidOf(change.object));
      this.readySince.delete(uidOf(change.object));
      this.restarts.delete(uidOf(change.object));
      this.failures.forget(uidOf(change.object));
      this.logs.forget(uidOf(change.object));
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
    const phase = stringAt(status, 'phase');
    if (phase === 'Succeeded' || phase === 'Failed') return;
    if (this.finishing.has(uid)) {
      this.finishing.delete(uid);
      this.due.delete(uid);
      this.readySince.delete(uid);
      this.finish(pod, key);
      return;
    }
    if (this.due.has(uid) && !isPodReady(pod)) {
      this.due.delete(uid);
      const now = this.api.timestamp();
      const ready = this.api.writeInternal(this.podType, pod, withReadiness(pod, true, now), 'status');
      this.readySince.set(uid, this.clock.real.now());
      for (const c of objectsAt(objectAt(ready, 'status'), 'containerStatuses'))
        this.logs.remark(stringAt(c, 'containerID') ?? '', {
          at: this.clock.real.now(),
          text: `${now} container ${stringAt(c, 'name') ?? ''} is ready`,
        });
    } else if (isPodReady(pod) && !this.readySince.has(uid)) {
      this.readySince.set(uid, this.clock.real.now());
    }
  }

  private start_(pod: JsonObject, key: string): void {
    const now = this.api.timestamp();
    let current = pod;
    if (stringAt(objectAt(pod, 'spec'), 'nodeName') === undefined) {
      const scheduled = structuredClone(pod);
      const spec = objectAt(scheduled, 'spec') ?? {};
      spec.nodeName = NODE_NAME;
      scheduled.spec = spec;
      current = this.api.writeInternal(this.podType, pod, scheduled, undefined);
    }
    const node = stringAt(objectAt(current, 'spec'), 'nodeName') ?? NODE_NAME;
    const hostIP = nodeAddress(this.api, node);
    const ip = this.podIp(node);
    const started = structuredClone(current);
    started.status = {
      phase: 'Running',
      conditions: [],
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: now,
      qosClass: 'BestEffort',
    };
    const written = this.api.writeInternal(
      this.podType,
      current,
      withReadiness(started, false, now),
      'status',
    );
    // An image that cannot be pulled keeps its container (and so the pod) from ever running.
    const { pod: running, waitingForImage } = this.failures.start(written, runsToCompletion(written));
    this.startContainers(running, now);
    if (!waitingForImage) this.schedule(running, key);
  }

  /**
   * The containers of a pod start (again): each prints its image's `logs`, or, when the image
   * declares none, the double's remark that it started (then that it is ready, and that it exited).
   */
  private startContainers(pod: JsonObject, now: string, only?: readonly string[]): void {
    const uid = uidOf(pod);
    const at = this.clock.real.now();
    const completes = runsToCompletion(pod);
    const statuses = objectsAt(objectAt(pod, 'status'), 'containerStatuses');
    for (const container of objectsAt(objectAt(pod, 'spec'), 'containers')) {
      const name = stringAt(container, 'name') ?? '';
      if (only !== undefined && !only.includes(name)) continue;
      const image = stringAt(container, 'image') ?? '';
      const id = stringAt(
        statuses.find((s) => s.name === name),
        'containerID',
      );
      if (id === undefined) continue;
      const behaviour = this.behaviours.forImage(image);
      if (behaviour.logs === undefined) {
        this.logs.start(
          uid,
          id,
          [{ at, text: `${now} container ${name} started from image ${image}` }],
          true,
        );
        continue;
      }
      // A run-to-completion container prints its lines evenly over its run, the first as it starts
      // and every one before it exits; a serving container prints them all as it starts.
      const spreadMs = completes ? this.clock.toReal(behaviour.run.durationMs) : 0;
      const count = behaviour.logs.length;
      const lines = behaviour.logs.map((text, i): LogLine => ({
        at: at + Math.floor((spreadMs * i) / count),
        text,
      }));
      this.logs.start(uid, id, lines, false);
    }
  }

  /** The next pod IP of a node: the first node's pods from 10.244.0.2 on, as before nodes were many. */
  private podIp(node: string): string {
    const index = nodeIndex(node);
    const n = this.nextIp.get(index) ?? 1;
    this.nextIp.set(index, n + 1);
    return index === 1
      ? `10.244.${Math.floor(n / 250)}.${(n % 250) + 1}`
      : `10.${243 + index}.${Math.floor(n / 250)}.${(n % 250) + 1}`;
  }

  /** Arms the timers of a running pod: when it turns Ready, and when a run-to-completion one ends. */
  private schedule(pod: JsonObject, key: string): void {
    const uid = uidOf(pod);
    const readiness = podReadiness(this.behaviours, objectAt(pod, 'spec'));
    const run = podRun(this.behaviours, objectAt(pod, 'spec'));
    const completes = runsToCompletion(pod);
    if (readiness.kind === 'after' && (!completes || readiness.ms < run.durationMs))
      this.clock.after(readiness.ms, () => {
        this.due.add(uid);
        this.queue.add(key);
      });
    if (completes)
      this.clock.after(run.durationMs, () => {
        this.finishing.add(uid);
        this.queue.add(key);
      });
  }

  /**
   * A run-to-completion pod's containers end: Succeeded when every exit code is 0; otherwise Failed
   * under restartPolicy Never, or the containers restart in place (restartCount + 1) under OnFailure.
   */
  private finish(pod: JsonObject, key: string): void {
    const now = this.api.timestamp();
    const uid = uidOf(pod);
    const { exitCodes, messages } = podRun(this.behaviours, objectAt(pod, 'spec'));
    const failed = exitCodes.some((code) => code !== 0);
    const onFailure = stringAt(objectAt(pod, 'spec'), 'restartPolicy') === 'OnFailure';
    const run = (this.restarts.get(uid) ?? 0) + 1;
    const next = withReadiness(pod, false, now);
    const status = objectAt(next, 'status') ?? {};
    const previous = objectsAt(objectAt(pod, 'status'), 'containerStatuses');
    const terminated = (code: number, started: string, message: string | undefined): JsonObject => ({
      exitCode: code,
      reason: code === 0 ? 'Completed' : 'Error',
      ...(message === undefined ? {} : { message }),
      startedAt: started,
      finishedAt: now,
    });
    status.containerStatuses = objectsAt(status, 'containerStatuses').map((c, i): JsonObject => {
      const old = previous[i];
      const started = stringAt(objectAt(objectAt(old, 'state'), 'running'), 'startedAt') ?? now;
      const code = exitCodes[i] ?? 0;
      const restarts = typeof old?.restartCount === 'number' ? old.restartCount : 0;
      const id = stringAt(c, 'containerID') ?? '';
      this.logs.remark(id, {
        at: this.clock.real.now(),
        text: `${now} container ${stringAt(c, 'name') ?? ''} exited with code ${String(code)}`,
      });
      this.logs.end(id);
      if (failed && onFailure)
        return {
          ...c,
          // The restarted container is a new one: the kubelet reads the old one's log for previous=true.
          containerID: containerIdOf(uid, i, run),
          state: { running: { startedAt: now } },
          lastState: { terminated: { ...terminated(code, started, messages[i]), containerID: id } },
          restartCount: code === 0 ? restarts : restarts + 1,
        };
      return {
        ...c,
        state: { terminated: { ...terminated(code, started, messages[i]), containerID: id } },
        started: false,
        restartCount: restarts,
      };
    });
    if (!(failed && onFailure)) {
      status.phase = failed ? 'Failed' : 'Succeeded';
      const reason = failed ? 'PodFailed' : 'PodCompleted';
      status.conditions = objectsAt(status, 'conditions').map((c) =>
        c.type === 'Ready' || c.type === 'ContainersReady' || c.type === 'PodReadyToStartContainers'
          ? { ...c, status: 'False', reason, lastTransitionTime: now }
          : c,
      );
      Reflect.deleteProperty(status, 'message');
    }
    next.status = status;
    const written = this.api.writeInternal(this.podType, pod, next, 'status');
    if (failed && onFailure) {
      this.restarts.set(uid, run);
      this.startContainers(written, now);
      this.schedule(written, key);
    }
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
  // A container that has a status keeps its state, restarts and ID; only its readiness changes.
  const statuses = objectsAt(status, 'containerStatuses');
  status.containerStatuses = containers.map((c, i): JsonObject => {
    const name = stringAt(c, 'name') ?? '';
    const known = statuses.find((s) => s.name === name);
    if (known !== undefined) return { ...known, ready };
    return {
      name,
      state: { running: { startedAt: started } },
      lastState: {},
      ready,
      restartCount: 0,
      image: stringAt(c, 'image') ?? '',
      imageID: stringAt(c, 'image') ?? '',
      containerID: containerIdOf(uidOf(pod), i, 0),
      started: true,
    };
  });
  result.status = status;
  return result;
}

import type { ApiServer } from './api-server.js';
import type { EventRecorder } from './event-recorder.js';
import type { BehaviourBook, CrashLoop } from './image-behaviours.js';
import { objectAt, objectsAt, stringAt, type JsonObject } from './json-value.js';
import { nameOf, namespaceOf, uidOf } from './object-store.js';
import { containerIdOf, type PodLogs } from './pod-logs.js';
import { resourceTypeOfKind, type ResourceType } from './resource-table.js';
import type { SimClock } from './sim-clock.js';

/** The kubelet's back-off, for image pulls and container restarts alike: 10 s, doubled up to 5 min. */
const BACKOFF_INITIAL_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
/** How soon after a failed pull the kubelet reports the back-off (its next sync of the pod). */
const PULL_REPORT_MS = 1000;

/** The back-off before attempt `n + 1`, after `n` failures (the first after one failure is 10 s). */
export function backoffMs(failures: number): number {
  return Math.min(BACKOFF_INITIAL_MS * 2 ** Math.max(0, failures - 1), BACKOFF_MAX_MS);
}

/** A duration as Go prints it (`10s`, `1m20s`, `5m0s`), which is how the kubelet's messages show it. */
export function goDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${String(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${String(minutes)}m${String(seconds % 60)}s`;
  return `${String(Math.floor(minutes / 60))}h${String(minutes % 60)}m${String(seconds % 60)}s`;
}

/** How a container of a started pod goes on, when its image says it fails. */
type Plan =
  { readonly kind: 'pull'; readonly message: string } | { readonly kind: 'crash'; readonly crash: CrashLoop };

/**
 * The kubelet's part for containers that do not run as they should: an image it cannot pull (the
 * container waits in `ErrImagePull`, then `ImagePullBackOff`, and the pull is tried again on the
 * back-off) and a serving container that keeps exiting (restarted at once the first time, then on the
 * back-off, waiting in `CrashLoopBackOff` between runs, its last exit in `lastState.terminated`). Each
 * step writes the Pod's status and the events the kubelet records, as `kubectl describe pod` shows
 * them. What a container does is decided when its pod starts, like readiness.
 */
export class ContainerFailures {
  /** Per pod uid, per container name: how many times it failed (pulls, or exits). */
  private readonly failures = new Map<string, Map<string, number>>();
  /** Per pod uid, its namespace and name. */
  private readonly pods = new Map<string, readonly [string, string]>();
  private readonly podType: ResourceType;

  constructor(
    private readonly api: ApiServer,
    private readonly clock: SimClock,
    private readonly behaviours: BehaviourBook,
    private readonly events: EventRecorder,
    private readonly logs: PodLogs,
    /** Starts the logs of the named containers of a pod, as the lifecycle does for a new container. */
    private readonly startLogs: (pod: JsonObject, containers: readonly string[], now: string) => void,
  ) {
    const podType = resourceTypeOfKind('Pod');
    if (podType === undefined) throw new Error('pods are not served');
    this.podType = podType;
  }

  /** Forgets a deleted pod (its timers then do nothing). */
  forget(uid: string): void {
    this.failures.delete(uid);
    this.pods.delete(uid);
  }

  /**
   * A pod has just started (scheduled, its containers running): the containers whose image cannot
   * be pulled wait for it instead (the pod stays `Pending`), those whose image crashes get their
   * timers. Returns the pod as written, and whether any container waits for its image (then
   * nothing else of the pod runs: it is neither Ready nor finishes).
   */
  start(pod: JsonObject, runsToCompletion: boolean): { pod: JsonObject; waitingForImage: boolean } {
    const plans = new Map<string, Plan>();
    for (const c of objectsAt(objectAt(pod, 'spec'), 'containers')) {
      const behaviour = this.behaviours.forImage(stringAt(c, 'image') ?? '');
      const name = stringAt(c, 'name') ?? '';
      if (behaviour.pull !== undefined) plans.set(name, { kind: 'pull', message: behaviour.pull.message });
      // A run-to-completion container's crash is its run (exit code, time, message): it ends there.
      else if (behaviour.crash !== undefined && !runsToCompletion)
        plans.set(name, { kind: 'crash', crash: behaviour.crash });
    }
    if (plans.size === 0) return { pod, waitingForImage: false };
    const uid = uidOf(pod);
    this.failures.set(uid, new Map());
    this.pods.set(uid, [namespaceOf(pod), nameOf(pod)]);
    const pulls = [...plans].filter(([, p]) => p.kind === 'pull');
    let current = pod;
    if (pulls.length > 0) {
      current = this.update(pod, (status) => {
        status.phase = 'Pending';
        for (const [name, plan] of pulls)
          if (plan.kind === 'pull') setContainer(status, name, waitingForPull('ErrImagePull', plan.message));
      });
      for (const [name, plan] of pulls)
        if (plan.kind === 'pull') this.pullFailed(current, name, plan.message);
    }
    for (const [name, plan] of plans) {
      if (plan.kind !== 'crash') continue;
      this.recordStart(current, name);
      this.afterRun(uid, name, plan.crash);
    }
    return { pod: current, waitingForImage: pulls.length > 0 };
  }

  /** A pull failed: its events now, the back-off reported a moment later, and the next attempt after it. */
  private pullFailed(pod: JsonObject, name: string, message: string): void {
    const uid = uidOf(pod);
    const image = imageOf(pod, name);
    const failures = this.count(uid, name);
    this.kubelet(pod, name, 'Pulling', `Pulling image "${image}"`);
    this.kubelet(pod, name, 'Failed', `Failed to pull image "${image}": ${message}`, 'Warning');
    this.kubelet(pod, name, 'Failed', 'Error: ErrImagePull', 'Warning');
    this.later(uid, PULL_REPORT_MS, (current) => {
      const waiting = this.update(current, (status) => {
        setContainer(
          status,
          name,
          waitingForPull('ImagePullBackOff', `Back-off pulling image "${image}": ErrImagePull: ${message}`),
        );
      });
      this.kubelet(waiting, name, 'BackOff', `Back-off pulling image "${image}"`);
      this.kubelet(waiting, name, 'Failed', 'Error: ImagePullBackOff', 'Warning');
    });
    this.later(uid, PULL_REPORT_MS + backoffMs(failures), (current) => {
      const again = this.update(current, (status) => {
        setContainer(status, name, waitingForPull('ErrImagePull', message));
      });
      this.pullFailed(again, name, message);
    });
  }

  /** A crashing container ends its run after `afterMs`. */
  private afterRun(uid: string, name: string, crash: CrashLoop): void {
    this.later(uid, crash.afterMs, (pod) => {
      this.exited(pod, name, crash);
    });
  }

  /**
   * The container exited: its run kept in `lastState.terminated`; restarted at once the first time,
   * then after the back-off, waiting in `CrashLoopBackOff` meanwhile.
   */
  private exited(pod: JsonObject, name: string, crash: CrashLoop): void {
    const uid = uidOf(pod);
    const now = this.api.timestamp();
    const failures = this.count(uid, name);
    const previous = containerStatus(pod, name);
    const id = stringAt(previous, 'containerID') ?? '';
    this.logs.remark(id, {
      at: this.clock.real.now(),
      text: `${now} container ${name} exited with code ${String(crash.exitCode)}`,
    });
    this.logs.end(id);
    const terminated: JsonObject = {
      exitCode: crash.exitCode,
      reason: crash.exitCode === 0 ? 'Completed' : 'Error',
      ...(crash.message === undefined ? {} : { message: crash.message }),
      startedAt: stringAt(objectAt(objectAt(previous, 'state'), 'running'), 'startedAt') ?? now,
      finishedAt: now,
      containerID: id,
    };
    // The first exit is restarted at once (no back-off is running yet); later ones wait for it.
    if (failures === 1) {
      this.restart(pod, name, crash, terminated);
      return;
    }
    const delay = backoffMs(failures - 1);
    const waiting = this.update(pod, (status) => {
      setContainer(status, name, {
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${goDuration(delay)} restarting failed container=${name} pod=${nameOf(pod)}_${namespaceOf(pod)}(${uid})`,
          },
        },
        lastState: { terminated },
        ready: false,
        started: false,
      });
    });
    this.kubelet(
      waiting,
      name,
      'BackOff',
      `Back-off restarting failed container ${name} in pod ${nameOf(pod)}_${namespaceOf(pod)}(${uid})`,
      'Warning',
    );
    this.later(uid, delay, (current) => {
      this.restart(current, name, crash, terminated);
    });
  }

  /** A new container for the same spec: a new ID, the restart counted, its run timed again. */
  private restart(pod: JsonObject, name: string, crash: CrashLoop, terminated: JsonObject): void {
    const now = this.api.timestamp();
    const index = objectsAt(objectAt(pod, 'spec'), 'containers').findIndex((c) => c.name === name);
    const previous = containerStatus(pod, name);
    const restarts = typeof previous?.restartCount === 'number' ? previous.restartCount + 1 : 1;
    const running = this.update(pod, (status) => {
      setContainer(status, name, {
        state: { running: { startedAt: now } },
        lastState: { terminated },
        ready: false,
        started: true,
        restartCount: restarts,
        containerID: containerIdOf(uidOf(pod), index, restarts),
      });
    });
    this.startLogs(running, [name], now);
    this.recordStart(running, name);
    this.afterRun(uidOf(pod), name, crash);
  }

  private recordStart(pod: JsonObject, name: string): void {
    this.kubelet(pod, name, 'Pulled', `Container image "${imageOf(pod, name)}" already present on machine`);
    this.kubelet(pod, name, 'Created', `Created container: ${name}`);
    this.kubelet(pod, name, 'Started', `Started container ${name}`);
  }

  /** One more failure of a container; returns how many there have been. */
  private count(uid: string, name: string): number {
    const counts = this.failures.get(uid) ?? new Map<string, number>();
    const n = (counts.get(name) ?? 0) + 1;
    counts.set(name, n);
    this.failures.set(uid, counts);
    return n;
  }

  /** Runs `fn` on the pod after a simulated delay, if it is still there (same uid) and not being deleted. */
  private later(uid: string, ms: number, fn: (pod: JsonObject) => void): void {
    this.clock.after(ms, () => {
      const [namespace, name] = this.pods.get(uid) ?? [];
      if (namespace === undefined || name === undefined) return;
      const pod = this.api.store.peek(this.podType, namespace, name);
      if (
        pod === undefined ||
        uidOf(pod) !== uid ||
        objectAt(pod, 'metadata')?.deletionTimestamp !== undefined
      ) {
        this.forget(uid);
        return;
      }
      fn(pod);
    });
  }

  private update(pod: JsonObject, change: (status: JsonObject) => void): JsonObject {
    const next = structuredClone(pod);
    const status = objectAt(next, 'status') ?? {};
    change(status);
    next.status = status;
    return this.api.writeInternal(this.podType, pod, next, 'status');
  }

  /** An event of the kubelet about one container of the pod. */
  private kubelet(
    pod: JsonObject,
    container: string,
    reason: string,
    message: string,
    type: 'Normal' | 'Warning' = 'Normal',
  ): void {
    const host = stringAt(objectAt(pod, 'spec'), 'nodeName');
    this.events.record(pod, reason, message, 'kubelet', type, {
      fieldPath: `spec.containers{${container}}`,
      ...(host === undefined ? {} : { host }),
    });
  }
}

function imageOf(pod: JsonObject, name: string): string {
  return (
    stringAt(
      objectsAt(objectAt(pod, 'spec'), 'containers').find((c) => c.name === name),
      'image',
    ) ?? ''
  );
}

function containerStatus(pod: JsonObject, name: string): JsonObject | undefined {
  return objectsAt(objectAt(pod, 'status'), 'containerStatuses').find((c) => c.name === name);
}

/** A container that waits for its image: no container was ever created, so no ID, never started. */
function waitingForPull(reason: 'ErrImagePull' | 'ImagePullBackOff', message: string): JsonObject {
  return { state: { waiting: { reason, message } }, ready: false, started: false, imageID: '' };
}

/** Sets fields of one container's status (its container ID removed when `fields` sets none and it waits for its image). */
function setContainer(status: JsonObject, name: string, fields: JsonObject): void {
  status.containerStatuses = objectsAt(status, 'containerStatuses').map((c): JsonObject => {
    if (c.name !== name) return c;
    const next: JsonObject = { ...c, ...fields };
    if (fields.imageID === '') Reflect.deleteProperty(next, 'containerID');
    return next;
  });
}

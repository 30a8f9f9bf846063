import type { ApiServer } from './api-server.js';
import type { EventRecorder } from './event-recorder.js';
import {
  cloneJson,
  jsonEqual,
  numberAt,
  objectAt,
  stringAt,
  stringMapAt,
  type JsonObject,
} from './json-value.js';
import { fromLabelMap, matchesLabels } from './label-selector.js';
import { nameOf, namespaceOf, uidOf, type StoreChange } from './object-store.js';
import { createOwnedPod } from './owned-pods.js';
import { controllerOf } from './owner-references.js';
import { isPodReady, type PodLifecycle } from './pod-lifecycle.js';
import { ReconcileQueue } from './reconcile-queue.js';
import { resourceTypeOfKind, type ResourceType } from './resource-table.js';
import type { SeededRandom } from './seeded-random.js';
import type { SimClock } from './sim-clock.js';

function typeOf(kind: string): ResourceType {
  const type = resourceTypeOfKind(kind);
  if (type === undefined) throw new Error(`${kind} is not served`);
  return type;
}

/**
 * The ReplicaSet controller: keeps as many pods as `spec.replicas` (deleting unready and newest first
 * when scaling down) and reports replicas, readyReplicas and availableReplicas (Ready for at least
 * minReadySeconds, in simulated time).
 */
export class ReplicaSetController {
  private readonly queue: ReconcileQueue;
  private readonly rsType = typeOf('ReplicaSet');
  private readonly podType = typeOf('Pod');
  private readonly accountType = typeOf('ServiceAccount');
  private unsubscribe = (): void => undefined;

  constructor(
    private readonly api: ApiServer,
    private readonly clock: SimClock,
    private readonly pods: PodLifecycle,
    private readonly events: EventRecorder,
    private readonly random: SeededRandom,
    onError: (key: string, error: unknown) => void,
  ) {
    this.queue = new ReconcileQueue((key) => {
      this.sync(key);
    }, onError);
  }

  /** Starts watching ReplicaSets and pods. */
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
    if (change.resourceType === this.rsType) {
      this.queue.add(`${namespaceOf(change.object)}/${nameOf(change.object)}`);
    } else if (change.resourceType === this.podType) {
      for (const pod of [change.object, change.previous]) {
        if (pod === undefined) continue;
        const owner = controllerOf(pod);
        if (owner?.kind === 'ReplicaSet') this.queue.add(`${namespaceOf(pod)}/${owner.name}`);
      }
    } else if (change.resourceType === this.accountType && change.type === 'ADDED') {
      // Pods refused for want of this ServiceAccount can be created now.
      for (const rs of this.api.store.view(this.rsType, namespaceOf(change.object)))
        this.queue.add(`${namespaceOf(rs)}/${nameOf(rs)}`);
    }
  }

  private sync(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    const rs = this.api.store.peek(this.rsType, namespace, name);
    if (rs === undefined || objectAt(rs, 'metadata')?.deletionTimestamp !== undefined) return;
    const uid = uidOf(rs);
    const spec = objectAt(rs, 'spec');
    const desired = numberAt(spec, 'replicas') ?? 1;
    let pods = this.api.store
      .view(this.podType, namespace)
      .filter(
        (p) => controllerOf(p)?.uid === uid && objectAt(p, 'metadata')?.deletionTimestamp === undefined,
      );

    if (pods.length < desired) {
      const created: JsonObject[] = [];
      for (let i = pods.length; i < desired; i++) {
        const pod = this.createPod(rs);
        if (pod === undefined) break;
        created.push(pod);
      }
      pods = [...pods, ...created];
    } else if (pods.length > desired) {
      const victims = [...pods]
        .sort((a, b) => {
          const readyDiff = Number(isPodReady(a)) - Number(isPodReady(b));
          if (readyDiff !== 0) return readyDiff;
          const ta = stringAt(objectAt(a, 'metadata'), 'creationTimestamp') ?? '';
          const tb = stringAt(objectAt(b, 'metadata'), 'creationTimestamp') ?? '';
          return ta < tb ? 1 : ta > tb ? -1 : nameOf(a) < nameOf(b) ? 1 : -1;
        })
        .slice(0, pods.length - desired);
      for (const pod of victims) {
        this.api.deleteInternal(this.podType, namespace, nameOf(pod));
        this.events.record(rs, 'SuccessfulDelete', `Deleted pod: ${nameOf(pod)}`, 'replicaset-controller');
      }
      const gone = new Set(victims.map(nameOf));
      pods = pods.filter((p) => !gone.has(nameOf(p)));
    }
    this.updateStatus(rs, pods);
  }

  /** A new pod from the template, or undefined (and a FailedCreate event) when the API refuses it. */
  private createPod(rs: JsonObject): JsonObject | undefined {
    const name = `${nameOf(rs)}-${this.random.nameSuffix()}`;
    const created = createOwnedPod(this.api, rs, {
      name,
      generateName: `${nameOf(rs)}-`,
      template: objectAt(objectAt(rs, 'spec'), 'template') ?? {},
    });
    if ('error' in created) {
      this.events.record(
        rs,
        'FailedCreate',
        `Error creating: ${created.error}`,
        'replicaset-controller',
        'Warning',
      );
      return undefined;
    }
    this.events.record(rs, 'SuccessfulCreate', `Created pod: ${name}`, 'replicaset-controller');
    return created.pod;
  }

  private updateStatus(rs: JsonObject, pods: readonly JsonObject[]): void {
    const spec = objectAt(rs, 'spec');
    const minReadyMs = (numberAt(spec, 'minReadySeconds') ?? 0) * 1000;
    const templateSelector = fromLabelMap(
      stringMapAt(objectAt(objectAt(spec, 'template'), 'metadata'), 'labels'),
    );
    let ready = 0;
    let available = 0;
    let nextCheck = Number.POSITIVE_INFINITY;
    for (const pod of pods) {
      if (!isPodReady(pod)) continue;
      ready++;
      const since = this.pods.readyAt(uidOf(pod)) ?? this.clock.real.now();
      const waited = this.clock.simulatedSince(since);
      if (waited >= minReadyMs) available++;
      else nextCheck = Math.min(nextCheck, minReadyMs - waited);
    }
    if (Number.isFinite(nextCheck)) {
      const key = `${namespaceOf(rs)}/${nameOf(rs)}`;
      this.clock.after(nextCheck + 1, () => {
        this.queue.add(key);
      });
    }
    const fullyLabeled = pods.filter((p) =>
      matchesLabels(templateSelector, stringMapAt(objectAt(p, 'metadata'), 'labels')),
    ).length;
    // Zero counts are omitted, as the real API server's omitempty does.
    const status: JsonObject = { replicas: pods.length };
    if (fullyLabeled > 0) status.fullyLabeledReplicas = fullyLabeled;
    status.observedGeneration = numberAt(objectAt(rs, 'metadata'), 'generation') ?? 1;
    if (ready > 0) status.readyReplicas = ready;
    if (available > 0) status.availableReplicas = available;
    if (jsonEqual(status, rs.status)) return;
    const after = cloneJson(rs);
    after.status = status;
    this.api.writeInternal(this.rsType, rs, after, 'status');
  }
}

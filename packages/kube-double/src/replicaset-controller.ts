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
import { controllerOf, controllerReference } from './owner-references.js';
import { NODE_NAME, isPodReady, type PodLifecycle } from './pod-lifecycle.js';
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
      for (let i = pods.length; i < desired; i++) created.push(this.createPod(rs));
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

  private createPod(rs: JsonObject): JsonObject {
    const template = objectAt(objectAt(rs, 'spec'), 'template') ?? {};
    const templateMeta = objectAt(template, 'metadata') ?? {};
    const name = `${nameOf(rs)}-${this.random.nameSuffix()}`;
    const metadata: JsonObject = {
      name,
      generateName: `${nameOf(rs)}-`,
      namespace: namespaceOf(rs),
      labels: cloneJson(objectAt(templateMeta, 'labels') ?? {}),
      ownerReferences: [controllerReference(rs)],
    };
    const annotations = objectAt(templateMeta, 'annotations');
    if (annotations !== undefined) metadata.annotations = cloneJson(annotations);
    const spec = cloneJson(objectAt(template, 'spec') ?? {});
    spec.nodeName = NODE_NAME;
    const pod = this.api.createInternal(this.podType, { apiVersion: 'v1', kind: 'Pod', metadata, spec });
    this.events.record(rs, 'SuccessfulCreate', `Created pod: ${name}`, 'replicaset-controller');
    return pod;
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

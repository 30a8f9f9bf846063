import type { ApiServer } from './api-server.js';
import { QueueController, keyOf, splitKey } from './controller.js';
import { ControllerRevisions, REVISION_HASH_LABEL } from './controller-revisions.js';
import type { EventRecorder } from './event-recorder.js';
import {
  cloneJson,
  jsonEqual,
  numberAt,
  objectAt,
  stringAt,
  stringMapAt,
  type JsonObject,
  type JsonValue,
} from './json-value.js';
import { nameOf, namespaceOf, uidOf, type StoreChange } from './object-store.js';
import { createOwnedPod, ownedPods, podPhase } from './owned-pods.js';
import { controllerOf } from './owner-references.js';
import { isPodReady, type PodLifecycle } from './pod-lifecycle.js';
import { builtInType } from './resource-table.js';
import type { SeededRandom } from './seeded-random.js';
import type { SimClock } from './sim-clock.js';

/** The label with the DaemonSet generation a pod was made from. */
const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';

function intOrPercent(value: JsonValue | undefined, total: number): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%'))
    return Math.ceil((Number(value.slice(0, -1)) * total) / 100);
  return 1;
}

/**
 * The DaemonSet controller: one pod on every node (of the double's fixed set) that the template's
 * nodeSelector admits; a rolling update replaces at most `maxUnavailable` pods at a time, each once
 * its replacement can start; status with the counts `kubectl rollout status` reads.
 */
export class DaemonSetController extends QueueController {
  private readonly setType = builtInType('DaemonSet');
  private readonly podType = builtInType('Pod');
  private readonly nodeType = builtInType('Node');
  private readonly accountType = builtInType('ServiceAccount');
  private readonly revisions: ControllerRevisions;

  constructor(
    api: ApiServer,
    private readonly clock: SimClock,
    private readonly pods: PodLifecycle,
    private readonly events: EventRecorder,
    private readonly random: SeededRandom,
    onError: (key: string, error: unknown) => void,
  ) {
    super(api, onError);
    this.revisions = new ControllerRevisions(api, 'DaemonSet');
  }

  protected onChange(change: StoreChange): void {
    if (change.resourceType === this.setType) {
      this.queue.add(keyOf(namespaceOf(change.object), nameOf(change.object)));
    } else if (change.resourceType === this.podType) {
      for (const pod of [change.object, change.previous]) {
        const owner = pod === undefined ? undefined : controllerOf(pod);
        if (pod !== undefined && owner?.kind === 'DaemonSet')
          this.queue.add(keyOf(namespaceOf(pod), owner.name));
      }
    } else if (
      change.resourceType === this.nodeType ||
      (change.resourceType === this.accountType && change.type === 'ADDED')
    ) {
      for (const set of this.api.store.view(this.setType))
        this.queue.add(keyOf(namespaceOf(set), nameOf(set)));
    }
  }

  protected sync(key: string): void {
    const [namespace, name] = splitKey(key);
    const set = this.api.store.peek(this.setType, namespace, name);
    if (set === undefined || objectAt(set, 'metadata')?.deletionTimestamp !== undefined) return;
    const template = objectAt(objectAt(set, 'spec'), 'template') ?? {};
    const selector = stringMapAt(objectAt(template, 'spec'), 'nodeSelector');
    const nodes = this.api.store
      .view(this.nodeType)
      .filter((n) =>
        Object.entries(selector).every(([k, v]) => stringMapAt(objectAt(n, 'metadata'), 'labels')[k] === v),
      )
      .map(nameOf);
    const revision = this.revisions.current(set);
    const updateRevision = revision.podLabel;
    const generation = String(numberAt(objectAt(set, 'metadata'), 'generation') ?? 1);

    const byNode = new Map<string, JsonObject[]>();
    for (const pod of ownedPods(this.api, set)) {
      const node = stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '';
      if (podPhase(pod) === 'Failed' || !nodes.includes(node)) {
        this.deletePod(set, pod);
        continue;
      }
      byNode.set(node, [...(byNode.get(node) ?? []), pod]);
    }
    for (const node of nodes) {
      const [keep, ...extra] = byNode.get(node) ?? [];
      for (const pod of extra) this.deletePod(set, pod);
      if (keep !== undefined) {
        byNode.set(node, [keep]);
        continue;
      }
      byNode.delete(node);
      const podName = `${name}-${this.random.nameSuffix()}`;
      const created = createOwnedPod(this.api, set, {
        name: podName,
        generateName: `${name}-`,
        template,
        labels: { [REVISION_HASH_LABEL]: updateRevision, [TEMPLATE_GENERATION_LABEL]: generation },
        nodeName: node,
      });
      if ('error' in created) {
        this.events.record(
          set,
          'FailedCreate',
          `Error creating: ${created.error}`,
          'daemonset-controller',
          'Warning',
        );
        break;
      }
      this.events.record(set, 'SuccessfulCreate', `Created pod: ${podName}`, 'daemonset-controller');
      byNode.set(node, [created.pod]);
    }

    // Rolling update: replace old pods while no more than maxUnavailable nodes lack a Ready pod.
    const strategy = objectAt(objectAt(set, 'spec'), 'updateStrategy');
    if (stringAt(strategy, 'type') !== 'OnDelete') {
      const maxUnavailable = Math.max(
        1,
        intOrPercent(objectAt(strategy, 'rollingUpdate')?.maxUnavailable, nodes.length),
      );
      let unavailable = nodes.filter((n) => !(byNode.get(n) ?? []).some(isPodReady)).length;
      for (const node of nodes) {
        if (unavailable >= maxUnavailable) break;
        const pod = byNode.get(node)?.[0];
        if (pod === undefined || !isPodReady(pod)) continue;
        if ((stringMapAt(objectAt(pod, 'metadata'), 'labels')[REVISION_HASH_LABEL] ?? '') === updateRevision)
          continue;
        this.deletePod(set, pod);
        byNode.delete(node);
        unavailable++;
      }
    }
    const live = [...byNode.values()].flat();
    // Revisions are named <set>-<hash>; the pods carry the bare hash.
    const inUse = live.map(
      (p) => `${name}-${stringMapAt(objectAt(p, 'metadata'), 'labels')[REVISION_HASH_LABEL] ?? ''}`,
    );
    this.revisions.prune(set, new Set([revision.name, ...inUse]));
    this.updateStatus(set, live, nodes.length, updateRevision);
  }

  private deletePod(set: JsonObject, pod: JsonObject): void {
    this.api.deleteInternal(this.podType, namespaceOf(pod), nameOf(pod));
    this.events.record(set, 'SuccessfulDelete', `Deleted pod: ${nameOf(pod)}`, 'daemonset-controller');
  }

  private updateStatus(
    set: JsonObject,
    pods: readonly JsonObject[],
    desired: number,
    updateRevision: string,
  ): void {
    const minReadyMs = (numberAt(objectAt(set, 'spec'), 'minReadySeconds') ?? 0) * 1000;
    let ready = 0;
    let available = 0;
    let nextCheck = Number.POSITIVE_INFINITY;
    for (const pod of pods) {
      if (!isPodReady(pod)) continue;
      ready++;
      const waited = this.clock.simulatedSince(this.pods.readyAt(uidOf(pod)) ?? this.clock.real.now());
      if (waited >= minReadyMs) available++;
      else nextCheck = Math.min(nextCheck, minReadyMs - waited);
    }
    if (Number.isFinite(nextCheck)) {
      const key = keyOf(namespaceOf(set), nameOf(set));
      this.clock.after(nextCheck + 1, () => {
        this.queue.add(key);
      });
    }
    const updated = pods.filter(
      (p) => stringMapAt(objectAt(p, 'metadata'), 'labels')[REVISION_HASH_LABEL] === updateRevision,
    ).length;
    // The first four are always written; the rest are omitted when zero, as apps/v1 declares them.
    const status: JsonObject = {
      currentNumberScheduled: pods.length,
      numberMisscheduled: 0,
      desiredNumberScheduled: desired,
      numberReady: ready,
      observedGeneration: numberAt(objectAt(set, 'metadata'), 'generation') ?? 1,
    };
    if (updated > 0) status.updatedNumberScheduled = updated;
    if (available > 0) status.numberAvailable = available;
    if (desired - available > 0) status.numberUnavailable = desired - available;
    if (jsonEqual(status, set.status)) return;
    const next = cloneJson(set);
    next.status = status;
    this.api.writeInternal(this.setType, set, next, 'status');
  }
}

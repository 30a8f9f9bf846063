import type { ApiServer } from './api-server.js';
import { QueueController, keyOf, splitKey } from './controller.js';
import { ControllerRevisions, REVISION_HASH_LABEL } from './controller-revisions.js';
import type { EventRecorder } from './event-recorder.js';
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
import { nameOf, namespaceOf, uidOf, type StoreChange } from './object-store.js';
import { createOwnedPod, ownedPods, podPhase } from './owned-pods.js';
import { controllerOf, controllerReference } from './owner-references.js';
import { isPodReady, type PodLifecycle } from './pod-lifecycle.js';
import { builtInType } from './resource-table.js';
import type { SimClock } from './sim-clock.js';

/** Labels the real controller gives a StatefulSet's pods. */
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

function ordinalOf(set: JsonObject, pod: JsonObject): number {
  const prefix = `${nameOf(set)}-`;
  const name = nameOf(pod);
  if (!name.startsWith(prefix)) return -1;
  const rest = name.slice(prefix.length);
  return /^\d+$/.test(rest) ? Number(rest) : -1;
}

function revisionOf(pod: JsonObject): string {
  return stringMapAt(objectAt(pod, 'metadata'), 'labels')[REVISION_HASH_LABEL] ?? '';
}

function runningAndReady(pod: JsonObject): boolean {
  return podPhase(pod) === 'Running' && isPodReady(pod);
}

/**
 * The StatefulSet controller, after the real one: pods with a stable identity `name-0 … name-(n-1)`
 * (hostname, and the headless Service as subdomain), a PersistentVolumeClaim per pod and claim
 * template, created in order and each waited for under `OrderedReady` (all at once under
 * `Parallel`), removed from the highest ordinal down; rolling updates replace one pod at a time
 * from the highest ordinal down to `partition`, waiting for each to be Ready; `OnDelete` replaces
 * only pods that are deleted. ControllerRevisions record the templates; status carries what
 * `kubectl rollout status` reads.
 */
export class StatefulSetController extends QueueController {
  private readonly setType = builtInType('StatefulSet');
  private readonly podType = builtInType('Pod');
  private readonly claimType = builtInType('PersistentVolumeClaim');
  private readonly accountType = builtInType('ServiceAccount');
  private readonly revisions: ControllerRevisions;

  constructor(
    api: ApiServer,
    private readonly clock: SimClock,
    private readonly pods: PodLifecycle,
    private readonly events: EventRecorder,
    onError: (key: string, error: unknown) => void,
  ) {
    super(api, onError);
    this.revisions = new ControllerRevisions(api, 'StatefulSet');
  }

  protected onChange(change: StoreChange): void {
    if (change.resourceType === this.setType) {
      this.queue.add(keyOf(namespaceOf(change.object), nameOf(change.object)));
    } else if (change.resourceType === this.podType) {
      for (const pod of [change.object, change.previous]) {
        const owner = pod === undefined ? undefined : controllerOf(pod);
        if (pod !== undefined && owner?.kind === 'StatefulSet')
          this.queue.add(keyOf(namespaceOf(pod), owner.name));
      }
    } else if (change.resourceType === this.accountType && change.type === 'ADDED') {
      // A pod refused for want of its ServiceAccount can be created now.
      for (const set of this.api.store.view(this.setType, namespaceOf(change.object)))
        this.queue.add(keyOf(namespaceOf(set), nameOf(set)));
    }
  }

  protected sync(key: string): void {
    const [namespace, name] = splitKey(key);
    const set = this.api.store.peek(this.setType, namespace, name);
    if (set === undefined || objectAt(set, 'metadata')?.deletionTimestamp !== undefined) return;
    const spec = objectAt(set, 'spec');
    const replicas = numberAt(spec, 'replicas') ?? 1;
    const parallel = stringAt(spec, 'podManagementPolicy') === 'Parallel';
    const strategy = objectAt(spec, 'updateStrategy');
    const rolling = stringAt(strategy, 'type') !== 'OnDelete';
    const partition = rolling ? (numberAt(objectAt(strategy, 'rollingUpdate'), 'partition') ?? 0) : 0;

    const updateRevision = this.revisions.current(set).name;
    const status = objectAt(set, 'status');
    const currentRevision = stringAt(status, 'currentRevision') ?? updateRevision;
    const revisionFor = (ordinal: number): string =>
      rolling && ordinal < partition ? currentRevision : updateRevision;

    const byOrdinal = new Map<number, JsonObject>();
    const strays: JsonObject[] = [];
    for (const pod of ownedPods(this.api, set)) {
      const ordinal = ordinalOf(set, pod);
      if (ordinal < 0) strays.push(pod);
      else byOrdinal.set(ordinal, pod);
    }

    // Finished pods are replaced, as the real controller does for Failed or Succeeded pods.
    for (const [ordinal, pod] of byOrdinal)
      if (podPhase(pod) === 'Failed' || podPhase(pod) === 'Succeeded') {
        this.deletePod(set, pod);
        byOrdinal.delete(ordinal);
      }

    let blocked = false;
    // Create missing pods in order; under OrderedReady wait for each to be Running and Ready.
    for (let ordinal = 0; ordinal < replicas && !blocked; ordinal++) {
      const pod = byOrdinal.get(ordinal);
      if (pod === undefined) {
        const created = this.createPod(set, ordinal, revisionFor(ordinal));
        if (created === undefined) {
          blocked = true;
          break;
        }
        byOrdinal.set(ordinal, created);
        if (!parallel) blocked = true;
      } else if (!parallel && !runningAndReady(pod)) blocked = true;
    }

    // Remove pods beyond replicas from the highest ordinal down, one at a time unless Parallel.
    const extra = [...byOrdinal.keys()].filter((o) => o >= replicas).sort((a, b) => b - a);
    const belowReady = (limit: number): boolean =>
      [...byOrdinal.entries()].every(([o, p]) => o >= limit || runningAndReady(p));
    for (const ordinal of extra) {
      if (!parallel && (blocked || !belowReady(ordinal))) break;
      const pod = byOrdinal.get(ordinal);
      if (pod !== undefined) this.deletePod(set, pod);
      byOrdinal.delete(ordinal);
      if (!parallel) blocked = true;
    }
    for (const pod of strays) this.deletePod(set, pod);

    // Rolling update: the highest ordinal at or above partition not at the update revision goes,
    // once every pod is Running and Ready.
    if (
      rolling &&
      !blocked &&
      byOrdinal.size === replicas &&
      [...byOrdinal.values()].every(runningAndReady)
    ) {
      const stale = [...byOrdinal.entries()]
        .filter(([o, p]) => o >= partition && revisionOf(p) !== updateRevision)
        .sort(([a], [b]) => b - a)[0];
      if (stale !== undefined) {
        this.deletePod(set, stale[1]);
        byOrdinal.delete(stale[0]);
      }
    }

    const live = [...byOrdinal.values()];
    this.revisions.prune(set, new Set([updateRevision, currentRevision, ...live.map(revisionOf)]));
    this.updateStatus(set, live, replicas, currentRevision, updateRevision);
  }

  private createPod(set: JsonObject, ordinal: number, revision: string): JsonObject | undefined {
    const spec = objectAt(set, 'spec');
    const podName = `${nameOf(set)}-${ordinal}`;
    const template = this.revisions.template(set, revision) ?? objectAt(spec, 'template') ?? {};
    const claimTemplates = objectsAt(spec, 'volumeClaimTemplates');
    for (const claim of claimTemplates) this.ensureClaim(set, claim, podName);
    const serviceName = stringAt(spec, 'serviceName');
    const created = createOwnedPod(this.api, set, {
      name: podName,
      template,
      labels: {
        [REVISION_HASH_LABEL]: revision,
        [POD_NAME_LABEL]: podName,
        [POD_INDEX_LABEL]: String(ordinal),
      },
      adjust: (podSpec) => {
        podSpec.hostname = podName;
        if (serviceName !== undefined && serviceName !== '') podSpec.subdomain = serviceName;
        const claimNames = claimTemplates.map((c) => stringAt(objectAt(c, 'metadata'), 'name') ?? '');
        // The claims come first, then the template's own volumes, as the real controller orders them.
        const volumes: JsonObject[] = claimNames.map((claimName) => ({
          name: claimName,
          persistentVolumeClaim: { claimName: `${claimName}-${podName}` },
        }));
        for (const v of objectsAt(podSpec, 'volumes'))
          if (!claimNames.includes(stringAt(v, 'name') ?? '')) volumes.push(v);
        if (volumes.length > 0) podSpec.volumes = volumes;
      },
    });
    if ('error' in created) {
      this.events.record(
        set,
        'FailedCreate',
        `create Pod ${podName} in StatefulSet ${nameOf(set)} failed error: ${created.error}`,
        'statefulset-controller',
        'Warning',
      );
      return undefined;
    }
    this.events.record(
      set,
      'SuccessfulCreate',
      `create Pod ${podName} in StatefulSet ${nameOf(set)} successful`,
      'statefulset-controller',
    );
    return created.pod;
  }

  /** The claim `<template>-<pod>` for a pod, created from the template unless it is there already. */
  private ensureClaim(set: JsonObject, template: JsonObject, podName: string): void {
    const claimName = `${stringAt(objectAt(template, 'metadata'), 'name') ?? ''}-${podName}`;
    const namespace = namespaceOf(set);
    if (this.api.store.peek(this.claimType, namespace, claimName) !== undefined) return;
    const retention = objectAt(objectAt(set, 'spec'), 'persistentVolumeClaimRetentionPolicy');
    const ownedBySet = stringAt(retention, 'whenDeleted') === 'Delete';
    const templateMeta = objectAt(template, 'metadata') ?? {};
    const selector = stringMapAt(objectAt(objectAt(set, 'spec'), 'selector'), 'matchLabels');
    const claim: JsonObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: claimName,
        namespace,
        labels: { ...stringMapAt(templateMeta, 'labels'), ...selector },
        ...(objectAt(templateMeta, 'annotations') === undefined
          ? {}
          : { annotations: cloneJson(objectAt(templateMeta, 'annotations') ?? {}) }),
        ...(ownedBySet ? { ownerReferences: [controllerReference(set)] } : {}),
      },
      spec: cloneJson(objectAt(template, 'spec') ?? {}),
    };
    this.api.createInternal(this.claimType, claim);
    this.events.record(
      set,
      'SuccessfulCreate',
      `create Claim ${claimName} Pod ${podName} in StatefulSet ${nameOf(set)} success`,
      'statefulset-controller',
    );
  }

  private deletePod(set: JsonObject, pod: JsonObject): void {
    this.api.deleteInternal(this.podType, namespaceOf(pod), nameOf(pod));
    this.events.record(
      set,
      'SuccessfulDelete',
      `delete Pod ${nameOf(pod)} in StatefulSet ${nameOf(set)} successful`,
      'statefulset-controller',
    );
  }

  private updateStatus(
    set: JsonObject,
    pods: readonly JsonObject[],
    replicas: number,
    currentRevision: string,
    updateRevision: string,
  ): void {
    const minReadyMs = (numberAt(objectAt(set, 'spec'), 'minReadySeconds') ?? 0) * 1000;
    let ready = 0;
    let available = 0;
    let nextCheck = Number.POSITIVE_INFINITY;
    for (const pod of pods) {
      if (!runningAndReady(pod)) continue;
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
    const updated = pods.filter((p) => revisionOf(p) === updateRevision).length;
    let current = pods.filter((p) => revisionOf(p) === currentRevision).length;
    let currentName = currentRevision;
    // A finished rolling update makes the update revision current, as the real controller does.
    if (updated === replicas && ready === replicas) {
      currentName = updateRevision;
      current = updated;
    }
    const status: JsonObject = {
      observedGeneration: numberAt(objectAt(set, 'metadata'), 'generation') ?? 1,
      replicas: pods.length,
      availableReplicas: available,
    };
    if (ready > 0) status.readyReplicas = ready;
    if (current > 0) status.currentReplicas = current;
    if (updated > 0) status.updatedReplicas = updated;
    status.currentRevision = currentName;
    status.updateRevision = updateRevision;
    status.collisionCount = 0;
    if (jsonEqual(status, set.status)) return;
    const next = cloneJson(set);
    next.status = status;
    this.api.writeInternal(this.setType, set, next, 'status');
  }
}

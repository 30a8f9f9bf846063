import type { ApiServer } from './api-server.js';
import type { EventRecorder } from './event-recorder.js';
import type { BehaviourBook } from './image-behaviours.js';
import {
  cloneJson,
  jsonEqual,
  numberAt,
  objectAt,
  objectsAt,
  stringAt,
  type JsonObject,
  type JsonValue,
} from './json-value.js';
import { nameOf, namespaceOf, uidOf, type StoreChange } from './object-store.js';
import { controllerOf, controllerReference } from './owner-references.js';
import { podReadiness } from './pod-lifecycle.js';
import { ReconcileQueue } from './reconcile-queue.js';
import { resourceTypeOfKind, type ResourceType } from './resource-table.js';
import type { SimClock } from './sim-clock.js';

/** The annotations the real controller writes. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
/** The label that ties a ReplicaSet and its pods to one pod template. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** Annotations of a Deployment that are not copied onto its ReplicaSets. */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);

function typeOf(kind: string): ResourceType {
  const type = resourceTypeOfKind(kind);
  if (type === undefined) throw new Error(`${kind} is not served`);
  return type;
}

/** The pod-template-hash of a template: FNV-1a of its canonical JSON, encoded as the real one is. */
export function podTemplateHash(template: JsonValue | undefined): string {
  const canonical = (v: JsonValue | undefined): string => {
    if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
    if (v !== null && typeof v === 'object')
      return `{${Object.keys(v)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
        .join(',')}}`;
    return JSON.stringify(v ?? null);
  };
  const text = canonical(template);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(String(h), (c) => alphabet[c.charCodeAt(0) % alphabet.length] ?? 'b').join('');
}

function withoutHashLabel(template: JsonValue | undefined): JsonValue {
  const copy = cloneJson(template ?? {});
  const labels = objectAt(objectAt(copy as JsonObject, 'metadata'), 'labels');
  if (labels !== undefined) Reflect.deleteProperty(labels, POD_TEMPLATE_HASH_LABEL);
  return copy;
}

function replicasOf(object: JsonObject): number {
  return numberAt(objectAt(object, 'spec'), 'replicas') ?? 0;
}
function statusCount(object: JsonObject, key: string): number {
  return numberAt(objectAt(object, 'status'), key) ?? 0;
}
function revisionOf(rs: JsonObject): number {
  const text = stringAt(objectAt(objectAt(rs, 'metadata'), 'annotations'), REVISION_ANNOTATION);
  const n = Number(text);
  return Number.isFinite(n) ? n : 0;
}
function sum(list: readonly JsonObject[], f: (o: JsonObject) => number): number {
  return list.reduce((n, o) => n + f(o), 0);
}

/** `maxSurge`/`maxUnavailable`: an integer, or a percentage of replicas rounded up or down. */
function intOrPercent(value: JsonValue | undefined, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%')) {
    const exact = (Number(value.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return 0;
}

/** The surge and unavailability a rolling update allows (never both zero). */
function fenceposts(d: JsonObject): { surge: number; unavailable: number } {
  const spec = objectAt(d, 'spec');
  const strategy = objectAt(spec, 'strategy');
  if (stringAt(strategy, 'type') === 'Recreate') return { surge: 0, unavailable: 0 };
  const rolling = objectAt(strategy, 'rollingUpdate');
  const replicas = replicasOf(d);
  const surge = intOrPercent(rolling?.maxSurge ?? '25%', replicas, true);
  let unavailable = intOrPercent(rolling?.maxUnavailable ?? '25%', replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable: Math.min(unavailable, replicas) };
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  lastUpdateTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/**
 * The Deployment controller, after the real one: one ReplicaSet per pod template
 * (`<name>-<pod-template-hash>`, revision annotations, the newest revision for a template brought
 * back by `rollout undo`), rolling updates within maxSurge/maxUnavailable or Recreate, scaling
 * events, old ReplicaSets pruned to revisionHistoryLimit, and status with Available and Progressing
 * conditions, including ProgressDeadlineExceeded once progressDeadlineSeconds of simulated time pass
 * without progress.
 */
export class DeploymentController {
  private readonly queue: ReconcileQueue;
  private readonly deployType = typeOf('Deployment');
  private readonly rsType = typeOf('ReplicaSet');
  /** Real time of the last progress per deployment uid (the condition's lastUpdateTime, in ms). */
  private readonly lastProgress = new Map<string, number>();
  private unsubscribe = (): void => undefined;

  constructor(
    private readonly api: ApiServer,
    private readonly clock: SimClock,
    private readonly behaviours: BehaviourBook,
    private readonly events: EventRecorder,
    onError: (key: string, error: unknown) => void,
  ) {
    this.queue = new ReconcileQueue((key) => {
      this.sync(key);
    }, onError);
  }

  /** Starts watching Deployments and ReplicaSets. */
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
    if (change.resourceType === this.deployType) {
      if (change.type === 'DELETED') this.lastProgress.delete(uidOf(change.object));
      else this.queue.add(`${namespaceOf(change.object)}/${nameOf(change.object)}`);
    } else if (change.resourceType === this.rsType) {
      const owner = controllerOf(change.object);
      if (owner?.kind === 'Deployment') this.queue.add(`${namespaceOf(change.object)}/${owner.name}`);
    }
  }

  private sync(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    let d = this.api.store.peek(this.deployType, namespace, name);
    if (d === undefined || objectAt(d, 'metadata')?.deletionTimestamp !== undefined) return;
    const uid = uidOf(d);
    const all = () =>
      this.api.store
        .view(this.rsType, namespace)
        .filter(
          (rs) => controllerOf(rs)?.uid === uid && objectAt(rs, 'metadata')?.deletionTimestamp === undefined,
        );
    const template = withoutHashLabel(objectAt(d, 'spec')?.template);
    const isNew = (rs: JsonObject): boolean =>
      jsonEqual(withoutHashLabel(objectAt(rs, 'spec')?.template), template);
    const paused = objectAt(d, 'spec')?.paused === true;

    let rsList = all();
    const scaling = this.isScalingEvent(d, rsList);
    if (paused || scaling) {
      if (scaling)
        this.scale(
          d,
          rsList.find(isNew),
          rsList.filter((rs) => !isNew(rs)),
        );
      d = this.syncRevision(
        d,
        rsList.find(isNew),
        rsList.filter((rs) => !isNew(rs)),
      );
      this.updateStatus(d, all(), all().find(isNew), false);
      return;
    }

    let newRS = rsList.find(isNew);
    const oldRSs = rsList.filter((rs) => !isNew(rs));
    let created = false;
    if (newRS === undefined) {
      newRS = this.createNewReplicaSet(d, oldRSs);
      created = true;
    }
    d = this.syncRevision(d, newRS, oldRSs);
    if (created) d = this.markNewReplicaSet(d, newRS);

    const recreate = stringAt(objectAt(objectAt(d, 'spec'), 'strategy'), 'type') === 'Recreate';
    if (recreate) this.rolloutRecreate(d, newRS, oldRSs);
    else this.rolloutRolling(d, newRS, oldRSs);

    rsList = all();
    newRS = rsList.find(isNew);
    this.updateStatus(d, rsList, newRS, true);
    const latest = this.api.store.peek(this.deployType, namespace, name);
    if (latest !== undefined && this.isComplete(latest))
      this.cleanup(
        latest,
        rsList.filter((rs) => !isNew(rs)),
      );
  }

  private isComplete(d: JsonObject): boolean {
    const status = objectAt(d, 'status');
    const replicas = replicasOf(d);
    return (
      (numberAt(status, 'updatedReplicas') ?? 0) === replicas &&
      (numberAt(status, 'replicas') ?? 0) === replicas &&
      (numberAt(status, 'availableReplicas') ?? 0) === replicas &&
      (numberAt(status, 'observedGeneration') ?? 0) >= (numberAt(objectAt(d, 'metadata'), 'generation') ?? 0)
    );
  }

  private isScalingEvent(d: JsonObject, rsList: readonly JsonObject[]): boolean {
    const replicas = replicasOf(d);
    return rsList
      .filter((rs) => replicasOf(rs) > 0)
      .some((rs) => {
        const desired = stringAt(
          objectAt(objectAt(rs, 'metadata'), 'annotations'),
          DESIRED_REPLICAS_ANNOTATION,
        );
        return desired !== undefined && Number(desired) !== replicas;
      });
  }

  private createNewReplicaSet(d: JsonObject, oldRSs: readonly JsonObject[]): JsonObject {
    const spec = objectAt(d, 'spec') ?? {};
    const template = cloneJson(objectAt(spec, 'template') ?? {});
    const hash = podTemplateHash(withoutHashLabel(template));
    const templateMeta = objectAt(template, 'metadata') ?? {};
    templateMeta.labels = { ...(objectAt(templateMeta, 'labels') ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
    template.metadata = templateMeta;
    const selector = cloneJson(objectAt(spec, 'selector') ?? {});
    selector.matchLabels = { ...(objectAt(selector, 'matchLabels') ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
    const replicas = replicasOf(d);
    const { surge } = fenceposts(d);
    const recreate = stringAt(objectAt(spec, 'strategy'), 'type') === 'Recreate';
    const oldTotal = sum(oldRSs, replicasOf);
    const initial = recreate
      ? oldTotal > 0
        ? 0
        : replicas
      : oldRSs.length === 0
        ? replicas
        : Math.max(0, Math.min(replicas, replicas + surge - oldTotal));
    const revision = Math.max(0, ...oldRSs.map(revisionOf)) + 1;
    const annotations: JsonObject = {};
    for (const [k, v] of Object.entries(objectAt(objectAt(d, 'metadata'), 'annotations') ?? {}))
      if (!NOT_COPIED.has(k)) annotations[k] = v;
    annotations[DESIRED_REPLICAS_ANNOTATION] = String(replicas);
    annotations[MAX_REPLICAS_ANNOTATION] = String(replicas + surge);
    annotations[REVISION_ANNOTATION] = String(revision);
    const rs = this.api.createInternal(this.rsType, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${nameOf(d)}-${hash}`,
        namespace: namespaceOf(d),
        labels: cloneJson(objectAt(templateMeta, 'labels') ?? {}),
        annotations,
        ownerReferences: [controllerReference(d)],
      },
      spec: {
        replicas: initial,
        minReadySeconds: numberAt(spec, 'minReadySeconds') ?? 0,
        selector,
        template,
      },
    });
    if (initial > 0)
      this.events.record(
        d,
        'ScalingReplicaSet',
        `Scaled up replica set ${nameOf(rs)} from 0 to ${initial}`,
        'deployment-controller',
      );
    return rs;
  }

  /** Gives the new ReplicaSet the next revision (a rollback reuses an old one) and the Deployment its revision. */
  private syncRevision(
    d: JsonObject,
    newRS: JsonObject | undefined,
    oldRSs: readonly JsonObject[],
  ): JsonObject {
    if (newRS === undefined) return d;
    const maxOld = Math.max(0, ...oldRSs.map(revisionOf));
    let revision = revisionOf(newRS);
    const wanted: JsonObject = {};
    for (const [k, v] of Object.entries(objectAt(objectAt(d, 'metadata'), 'annotations') ?? {}))
      if (!NOT_COPIED.has(k)) wanted[k] = v;
    const rsAnnotations = objectAt(objectAt(newRS, 'metadata'), 'annotations') ?? {};
    const updated = cloneJson(newRS);
    const updatedAnnotations = { ...rsAnnotations, ...wanted };
    if (revision <= maxOld) {
      const history = stringAt(rsAnnotations, REVISION_HISTORY_ANNOTATION);
      updatedAnnotations[REVISION_HISTORY_ANNOTATION] =
        history === undefined || history === '' ? String(revision) : `${history},${revision}`;
      revision = maxOld + 1;
      updatedAnnotations[REVISION_ANNOTATION] = String(revision);
    }
    if (!jsonEqual(updatedAnnotations, rsAnnotations)) {
      const meta = objectAt(updated, 'metadata') ?? {};
      meta.annotations = updatedAnnotations;
      this.api.writeInternal(this.rsType, newRS, updated, undefined);
    }
    const dAnnotations = objectAt(objectAt(d, 'metadata'), 'annotations') ?? {};
    if (stringAt(dAnnotations, REVISION_ANNOTATION) === String(revision)) return d;
    const next = cloneJson(d);
    const meta = objectAt(next, 'metadata') ?? {};
    meta.annotations = { ...dAnnotations, [REVISION_ANNOTATION]: String(revision) };
    return this.api.writeInternal(this.deployType, d, next, undefined);
  }

  private markNewReplicaSet(d: JsonObject, rs: JsonObject): JsonObject {
    const next = cloneJson(d);
    const status = objectAt(next, 'status') ?? {};
    const conditions = this.conditions(d);
    this.setCondition(
      conditions,
      'Progressing',
      'True',
      'NewReplicaSetCreated',
      `Created new replica set "${nameOf(rs)}"`,
      true,
    );
    status.conditions = conditions as unknown as JsonValue;
    next.status = status;
    this.lastProgress.set(uidOf(d), this.clock.real.now());
    return this.api.writeInternal(this.deployType, d, next, 'status');
  }

  private scaleReplicaSet(d: JsonObject, rs: JsonObject, replicas: number): void {
    const current = this.api.store.peek(this.rsType, namespaceOf(rs), nameOf(rs));
    if (current === undefined) return;
    const from = replicasOf(current);
    const { surge } = fenceposts(d);
    const next = cloneJson(current);
    const spec = objectAt(next, 'spec') ?? {};
    spec.replicas = replicas;
    const meta = objectAt(next, 'metadata') ?? {};
    meta.annotations = {
      ...(objectAt(meta, 'annotations') ?? {}),
      [DESIRED_REPLICAS_ANNOTATION]: String(replicasOf(d)),
      [MAX_REPLICAS_ANNOTATION]: String(replicasOf(d) + surge),
    };
    if (jsonEqual(next, current)) return;
    this.api.writeInternal(this.rsType, current, next, undefined);
    if (from !== replicas)
      this.events.record(
        d,
        'ScalingReplicaSet',
        `Scaled ${replicas > from ? 'up' : 'down'} replica set ${nameOf(rs)} from ${from} to ${replicas}`,
        'deployment-controller',
      );
  }

  private scale(d: JsonObject, newRS: JsonObject | undefined, oldRSs: readonly JsonObject[]): void {
    const replicas = replicasOf(d);
    const all = [...(newRS === undefined ? [] : [newRS]), ...oldRSs];
    const active = all.filter((rs) => replicasOf(rs) > 0);
    if (active.length <= 1) {
      const target = active[0] ?? newRS ?? [...oldRSs].sort((a, b) => revisionOf(b) - revisionOf(a))[0];
      if (target !== undefined) this.scaleReplicaSet(d, target, replicas);
      return;
    }
    if (
      newRS !== undefined &&
      replicasOf(newRS) === replicas &&
      statusCount(newRS, 'availableReplicas') === replicas
    ) {
      for (const rs of oldRSs) this.scaleReplicaSet(d, rs, 0);
      return;
    }
    const { surge } = fenceposts(d);
    const allowed = replicas > 0 ? replicas + surge : 0;
    const total = sum(active, replicasOf);
    let toAdd = allowed - total;
    const order = [...active].sort((a, b) =>
      toAdd > 0 ? replicasOf(b) - replicasOf(a) : replicasOf(a) - replicasOf(b),
    );
    const targets = new Map(order.map((rs) => [nameOf(rs), replicasOf(rs)]));
    for (const rs of order) {
      if (toAdd === 0) break;
      const share = total === 0 ? 0 : Math.trunc((replicasOf(rs) * (allowed - total)) / total);
      const step = toAdd > 0 ? Math.min(share, toAdd) : Math.max(share, toAdd, -replicasOf(rs));
      targets.set(nameOf(rs), replicasOf(rs) + step);
      toAdd -= step;
    }
    const first = order[0];
    if (toAdd !== 0 && first !== undefined)
      targets.set(nameOf(first), Math.max(0, (targets.get(nameOf(first)) ?? 0) + toAdd));
    for (const rs of order) this.scaleReplicaSet(d, rs, targets.get(nameOf(rs)) ?? replicasOf(rs));
  }

  private rolloutRecreate(d: JsonObject, newRS: JsonObject, oldRSs: readonly JsonObject[]): void {
    const active = oldRSs.filter((rs) => replicasOf(rs) > 0);
    for (const rs of active) this.scaleReplicaSet(d, rs, 0);
    if (active.length > 0 || oldRSs.some((rs) => statusCount(rs, 'replicas') > 0)) return;
    this.scaleReplicaSet(d, newRS, replicasOf(d));
  }

  private rolloutRolling(d: JsonObject, newRS: JsonObject, oldRSs: readonly JsonObject[]): void {
    const replicas = replicasOf(d);
    const { surge, unavailable } = fenceposts(d);
    const all = [newRS, ...oldRSs];
    // Scale up the new ReplicaSet within the surge.
    const current = sum(all, replicasOf);
    const maxTotal = replicas + surge;
    let newReplicas = replicasOf(newRS);
    if (newReplicas > replicas) newReplicas = replicas;
    else if (current < maxTotal) newReplicas = Math.min(newReplicas + (maxTotal - current), replicas);
    if (newReplicas !== replicasOf(newRS)) this.scaleReplicaSet(d, newRS, newReplicas);

    // Scale down old ReplicaSets as far as availability allows: unhealthy pods first.
    const oldTotal = sum(oldRSs, replicasOf);
    if (oldTotal === 0) return;
    const allPods = newReplicas + oldTotal;
    const minAvailable = replicas - unavailable;
    const newUnavailable = newReplicas - statusCount(newRS, 'availableReplicas');
    let budget = allPods - minAvailable - newUnavailable;
    if (budget <= 0) return;
    const oldest = [...oldRSs].sort((a, b) => revisionOf(a) - revisionOf(b));
    const targets = new Map(oldest.map((rs) => [nameOf(rs), replicasOf(rs)]));
    for (const rs of oldest) {
      if (budget <= 0) break;
      const unhealthy = replicasOf(rs) - statusCount(rs, 'availableReplicas');
      const cut = Math.min(budget, Math.max(0, unhealthy));
      if (cut > 0) {
        targets.set(nameOf(rs), replicasOf(rs) - cut);
        budget -= cut;
      }
    }
    const available =
      statusCount(newRS, 'availableReplicas') + sum(oldest, (rs) => statusCount(rs, 'availableReplicas'));
    let surplus = available - minAvailable;
    for (const rs of oldest) {
      if (surplus <= 0) break;
      const target = targets.get(nameOf(rs)) ?? 0;
      const cut = Math.min(target, surplus);
      targets.set(nameOf(rs), target - cut);
      surplus -= cut;
    }
    for (const rs of oldest) {
      const target = targets.get(nameOf(rs)) ?? replicasOf(rs);
      if (target !== replicasOf(rs)) this.scaleReplicaSet(d, rs, target);
    }
  }

  private cleanup(d: JsonObject, oldRSs: readonly JsonObject[]): void {
    const limit = numberAt(objectAt(d, 'spec'), 'revisionHistoryLimit') ?? 10;
    const excess = oldRSs.length - limit;
    if (excess <= 0) return;
    const oldest = [...oldRSs].sort((a, b) => revisionOf(a) - revisionOf(b)).slice(0, excess);
    for (const rs of oldest)
      if (replicasOf(rs) === 0 && statusCount(rs, 'replicas') === 0)
        this.api.deleteInternal(this.rsType, namespaceOf(rs), nameOf(rs));
  }

  private conditions(d: JsonObject): Condition[] {
    return objectsAt(objectAt(d, 'status'), 'conditions').map((c) => ({
      type: stringAt(c, 'type') ?? '',
      status: c.status === 'True' ? 'True' : 'False',
      lastUpdateTime: stringAt(c, 'lastUpdateTime') ?? '',
      lastTransitionTime: stringAt(c, 'lastTransitionTime') ?? '',
      reason: stringAt(c, 'reason') ?? '',
      message: stringAt(c, 'message') ?? '',
    }));
  }

  /** The real SetDeploymentCondition (or, with `touch`, the Progressing special case that bumps lastUpdateTime). */
  private setCondition(
    conditions: Condition[],
    type: string,
    status: 'True' | 'False',
    reason: string,
    message: string,
    touch = false,
  ): void {
    const index = conditions.findIndex((c) => c.type === type);
    const current = conditions[index];
    if (!touch && current !== undefined && current.status === status && current.reason === reason) return;
    const now = this.api.timestamp();
    const next: Condition = {
      type,
      status,
      lastUpdateTime: now,
      lastTransitionTime:
        current !== undefined && current.status === status ? current.lastTransitionTime : now,
      reason,
      message,
    };
    if (index >= 0) conditions.splice(index, 1);
    conditions.push(next);
  }

  private updateStatus(
    d: JsonObject,
    rsList: readonly JsonObject[],
    newRS: JsonObject | undefined,
    checkProgress: boolean,
  ): void {
    const current = this.api.store.peek(this.deployType, namespaceOf(d), nameOf(d)) ?? d;
    const replicas = replicasOf(current);
    const available = sum(rsList, (rs) => statusCount(rs, 'availableReplicas'));
    const totalSpec = sum(rsList, replicasOf);
    const counts = {
      replicas: sum(rsList, (rs) => statusCount(rs, 'replicas')),
      updatedReplicas: newRS === undefined ? 0 : statusCount(newRS, 'replicas'),
      readyReplicas: sum(rsList, (rs) => statusCount(rs, 'readyReplicas')),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, totalSpec - available),
    };
    const oldStatus = objectAt(current, 'status');
    const conditions = this.conditions(current);
    const { unavailable } = fenceposts(current);
    if (available >= replicas - unavailable)
      this.setCondition(
        conditions,
        'Available',
        'True',
        'MinimumReplicasAvailable',
        'Deployment has minimum availability.',
      );
    else
      this.setCondition(
        conditions,
        'Available',
        'False',
        'MinimumReplicasUnavailable',
        'Deployment does not have minimum availability.',
      );

    const uid = uidOf(current);
    const generation = numberAt(objectAt(current, 'metadata'), 'generation') ?? 1;
    const progressing = conditions.find((c) => c.type === 'Progressing');
    const rsName = newRS === undefined ? '' : nameOf(newRS);
    const deadlineSeconds = numberAt(objectAt(current, 'spec'), 'progressDeadlineSeconds');
    const alreadyComplete =
      counts.replicas === counts.updatedReplicas && progressing?.reason === 'NewReplicaSetAvailable';
    let deadlineAt: number | undefined;
    if (checkProgress && deadlineSeconds !== undefined && !alreadyComplete) {
      const complete =
        counts.updatedReplicas === replicas &&
        counts.replicas === replicas &&
        counts.availableReplicas === replicas;
      const old = (key: string): number => numberAt(oldStatus, key) ?? 0;
      const madeProgress =
        counts.updatedReplicas > old('updatedReplicas') ||
        counts.replicas - counts.updatedReplicas < old('replicas') - old('updatedReplicas') ||
        counts.readyReplicas > old('readyReplicas') ||
        counts.availableReplicas > old('availableReplicas');
      const failsAtOnce =
        newRS !== undefined &&
        podReadiness(this.behaviours, objectAt(objectAt(objectAt(newRS, 'spec'), 'template'), 'spec'))
          .kind === 'deadline';
      const parsed = Date.parse(progressing?.lastUpdateTime ?? '');
      const last = this.lastProgress.get(uid) ?? (Number.isNaN(parsed) ? this.clock.real.now() : parsed);
      const timedOut =
        progressing?.reason === 'ProgressDeadlineExceeded' ||
        (progressing !== undefined &&
          progressing.reason !== 'NewReplicaSetAvailable' &&
          this.clock.simulatedSince(last) > deadlineSeconds * 1000);
      if (complete) {
        this.setCondition(
          conditions,
          'Progressing',
          'True',
          'NewReplicaSetAvailable',
          `ReplicaSet "${rsName}" has successfully progressed.`,
        );
        this.lastProgress.delete(uid);
      } else if (failsAtOnce) {
        this.setCondition(
          conditions,
          'Progressing',
          'False',
          'ProgressDeadlineExceeded',
          `ReplicaSet "${rsName}" has timed out progressing.`,
        );
      } else if (madeProgress) {
        this.setCondition(
          conditions,
          'Progressing',
          'True',
          'ReplicaSetUpdated',
          `ReplicaSet "${rsName}" is progressing.`,
          true,
        );
        this.lastProgress.set(uid, this.clock.real.now());
        deadlineAt = deadlineSeconds * 1000;
      } else if (timedOut) {
        this.setCondition(
          conditions,
          'Progressing',
          'False',
          'ProgressDeadlineExceeded',
          `ReplicaSet "${rsName}" has timed out progressing.`,
        );
      } else if (progressing !== undefined) {
        deadlineAt = deadlineSeconds * 1000 - this.clock.simulatedSince(last);
      }
    }
    if (deadlineAt !== undefined) {
      const key = `${namespaceOf(current)}/${nameOf(current)}`;
      this.clock.after(deadlineAt + 5, () => {
        this.queue.add(key);
      });
    }

    const status: JsonObject = { observedGeneration: generation };
    for (const [k, v] of Object.entries(counts)) if (v !== 0) status[k] = v;
    const ordered = [...conditions].sort((a, b) =>
      a.type === 'Available' ? -1 : b.type === 'Available' ? 1 : 0,
    );
    status.conditions = ordered.map((c) => ({ ...c }));
    const collisions = numberAt(oldStatus, 'collisionCount');
    if (collisions !== undefined) status.collisionCount = collisions;
    if (jsonEqual(status, oldStatus)) return;
    const next = cloneJson(current);
    next.status = status;
    this.api.writeInternal(this.deployType, current, next, 'status');
  }
}

import type { ApiServer } from './api-server.js';
import { globToRegExp } from './image-behaviours.js';
import { numberAt, objectAt, stringMapAt, type JsonObject } from './json-value.js';
import { fromLabelMap, matchesLabels } from './label-selector.js';
import { nameOf, namespaceOf, type StoreChange } from './object-store.js';
import { isPodReady } from './pod-lifecycle.js';
import { builtInType, resourceTypeOfKind, type ResourceType } from './resource-table.js';

/** The label whose value is a release color; Services selecting on it are watched. */
export const COLOR_LABEL = 'dreamscape.io/color';

/**
 * The ways a colored Service can be wrong, and the ways traffic can (see the traffic monitor):
 * a request answered by a pod that was not Ready, a 503 because the chosen backend had no Ready
 * endpoint, a window of requests whose shares strayed from the weights in force.
 */
export type ViolationKind =
  'no-ready-pods' | 'unready-pods' | 'mixed-colors' | 'unready-answer' | 'routing-503' | 'weight-share';

/** One stretch of time during which a colored Service broke the invariant. */
export interface Violation {
  readonly kind: ViolationKind;
  /** `namespace/name` of the Service. */
  readonly service: string;
  readonly namespace: string;
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
  /** The pods at fault when it started: the unready ones, or all selected for mixed colors. */
  readonly pods: readonly string[];
  readonly colors: readonly string[];
  readonly message: string;
  /** When it started (ISO 8601 with milliseconds) and the store's resourceVersion then. */
  readonly at: string;
  readonly resourceVersion: number;
  /** When it stopped, if it has. */
  endedAt?: string;
  /** Traffic violations: how many requests it covers. */
  requests?: number;
}

/**
 * Checks, after every change to a pod or a Service, that each Service with a `dreamscape.io/color`
 * key in its selector selects at least one Ready pod, no unready pod, and pods of one color only;
 * and that a Service selecting a StatefulSet's pods keeps at least one Ready pod once it has had
 * one, while the StatefulSet has replicas. Records every stretch during which one does not.
 */
export class InvariantMonitor {
  private readonly recorded: Violation[] = [];
  private readonly open = new Map<string, Violation>();
  private readonly podType: ResourceType;
  private readonly serviceType: ResourceType;
  private readonly statefulSetType = builtInType('StatefulSet');
  /** StatefulSet Services (`namespace/name`) that have had a Ready pod: from then on they serve. */
  private readonly serving = new Set<string>();
  private exclude: readonly RegExp[] = [];
  /**
   * Bumped by whatever can change a verdict without a change to the store (new exclusions, a
   * cleared record); a namespace whose Services were last all checked in an older epoch has every
   * Service checked at its next change, as a freshly started monitor would.
   */
  private epoch = 0;
  private readonly checkedInEpoch = new Map<string, number>();
  private unsubscribe = (): void => undefined;

  constructor(
    private readonly api: ApiServer,
    exclude: readonly string[] = [],
  ) {
    const podType = resourceTypeOfKind('Pod');
    const serviceType = resourceTypeOfKind('Service');
    if (podType === undefined || serviceType === undefined) throw new Error('pods and services are served');
    this.podType = podType;
    this.serviceType = serviceType;
    this.setExclusions(exclude);
  }

  /** Service names (globs, `name` or `namespace/name`) the invariant does not cover. */
  setExclusions(exclude: readonly string[]): void {
    this.exclude = exclude.map(globToRegExp);
    this.epoch++;
  }

  /** Starts checking after every change. */
  start(): void {
    this.unsubscribe = this.api.store.subscribe((change) => {
      this.onChange(change);
    });
  }

  /** Stops. */
  close(): void {
    this.unsubscribe();
  }

  /** Every violation recorded (open ones have no `endedAt`). */
  violations(): Violation[] {
    return this.recorded.map((v) => ({ ...v }));
  }

  /** Forgets what was recorded; violations still open are recorded again at the next check. */
  clear(): void {
    this.recorded.length = 0;
    this.open.clear();
    this.epoch++;
  }

  private onChange(change: StoreChange): void {
    const namespace = namespaceOf(change.object);
    if (change.resourceType === this.statefulSetType) {
      // Scaling a StatefulSet to zero (or deleting it) ends what its Services must serve.
      for (const service of this.api.store.view(this.serviceType, namespace)) this.check(service);
      return;
    }
    if (change.resourceType !== this.podType && change.resourceType !== this.serviceType) return;
    if (change.resourceType === this.serviceType && change.type === 'DELETED') {
      this.serving.delete(`${namespace}/${nameOf(change.object)}`);
      this.settle(namespace, nameOf(change.object), new Map());
      return;
    }
    const services = this.api.store.view(this.serviceType, namespace);
    if (this.checkedInEpoch.get(namespace) !== this.epoch) {
      this.checkedInEpoch.set(namespace, this.epoch);
      for (const service of services) this.check(service);
      return;
    }
    // A Service's verdict depends only on its selector and the pods it selects, so only the changed
    // Service, or the Services that select the changed pod before or after the change, can move.
    if (change.resourceType === this.serviceType) {
      this.check(change.object);
      return;
    }
    const pods = [change.object, change.previous].filter((p) => p !== undefined);
    for (const service of services) {
      const requirements = fromLabelMap(stringMapAt(objectAt(service, 'spec'), 'selector'));
      if (pods.some((p) => matchesLabels(requirements, stringMapAt(objectAt(p, 'metadata'), 'labels'))))
        this.check(service);
    }
  }

  private check(service: JsonObject): void {
    const namespace = namespaceOf(service);
    const name = nameOf(service);
    const selector = stringMapAt(objectAt(service, 'spec'), 'selector');
    const found = new Map<ViolationKind, Omit<Violation, 'at' | 'resourceVersion'>>();
    const excluded = this.exclude.some((re) => re.test(name) || re.test(`${namespace}/${name}`));
    if (Object.hasOwn(selector, COLOR_LABEL) && !excluded) {
      const requirements = fromLabelMap(selector);
      const pods = this.api.store
        .view(this.podType, namespace)
        .filter(
          (p) =>
            objectAt(p, 'metadata')?.deletionTimestamp === undefined &&
            matchesLabels(requirements, stringMapAt(objectAt(p, 'metadata'), 'labels')),
        );
      const ready = pods.filter(isPodReady);
      const unready = pods.filter((p) => !isPodReady(p));
      const colors = [
        ...new Set(pods.map((p) => stringMapAt(objectAt(p, 'metadata'), 'labels')[COLOR_LABEL] ?? '')),
      ].sort();
      const base = { service: `${namespace}/${name}`, namespace, name, selector, colors };
      if (ready.length === 0)
        found.set('no-ready-pods', {
          ...base,
          kind: 'no-ready-pods',
          pods: pods.map(nameOf),
          message: `service ${namespace}/${name} selects no Ready pod (${pods.length} selected)`,
        });
      if (unready.length > 0)
        found.set('unready-pods', {
          ...base,
          kind: 'unready-pods',
          pods: unready.map(nameOf),
          message: `service ${namespace}/${name} selects ${unready.length} unready pod(s): ${unready.map(nameOf).join(', ')}`,
        });
      if (colors.length > 1)
        found.set('mixed-colors', {
          ...base,
          kind: 'mixed-colors',
          pods: pods.map(nameOf),
          message: `service ${namespace}/${name} selects pods of ${colors.length} colors: ${colors.join(', ')}`,
        });
    } else if (!excluded && Object.keys(selector).length > 0) this.checkStateful(service, selector, found);
    this.settle(namespace, name, found);
  }

  /**
   * A Service in front of a StatefulSet (its template labels match the selector) must not lose its
   * last Ready pod once it has had one, while the StatefulSet has replicas: a rolling update of a
   * one-replica StatefulSet is an outage, and this is where it shows.
   */
  private checkStateful(
    service: JsonObject,
    selector: Readonly<Record<string, string>>,
    found: Map<ViolationKind, Omit<Violation, 'at' | 'resourceVersion'>>,
  ): void {
    const namespace = namespaceOf(service);
    const name = nameOf(service);
    const requirements = fromLabelMap(selector);
    const sets = this.api.store
      .view(this.statefulSetType, namespace)
      .filter((set) =>
        matchesLabels(
          requirements,
          stringMapAt(objectAt(objectAt(objectAt(set, 'spec'), 'template'), 'metadata'), 'labels'),
        ),
      );
    const key = `${namespace}/${name}`;
    if (sets.length === 0) {
      this.serving.delete(key);
      return;
    }
    const pods = this.api.store
      .view(this.podType, namespace)
      .filter(
        (p) =>
          objectAt(p, 'metadata')?.deletionTimestamp === undefined &&
          matchesLabels(requirements, stringMapAt(objectAt(p, 'metadata'), 'labels')),
      );
    const ready = pods.filter(isPodReady);
    const wanted = sets.some((set) => (numberAt(objectAt(set, 'spec'), 'replicas') ?? 1) > 0);
    if (!wanted) {
      this.serving.delete(key);
      return;
    }
    if (ready.length > 0) {
      this.serving.add(key);
      return;
    }
    if (!this.serving.has(key)) return;
    found.set('no-ready-pods', {
      kind: 'no-ready-pods',
      service: key,
      namespace,
      name,
      selector,
      colors: [],
      pods: pods.map(nameOf),
      message: `service ${key} selects no Ready pod of statefulset ${sets.map(nameOf).join(', ')} (${pods.length} selected)`,
    });
  }

  private settle(
    namespace: string,
    name: string,
    found: Map<ViolationKind, Omit<Violation, 'at' | 'resourceVersion'>>,
  ): void {
    const now = new Date(Date.now()).toISOString();
    for (const kind of ['no-ready-pods', 'unready-pods', 'mixed-colors'] as const) {
      const key = `${namespace}/${name}/${kind}`;
      const current = found.get(kind);
      const open = this.open.get(key);
      if (current !== undefined && open === undefined) {
        const violation: Violation = {
          ...current,
          at: now,
          resourceVersion: this.api.store.currentResourceVersion(),
        };
        this.recorded.push(violation);
        this.open.set(key, violation);
      } else if (current === undefined && open !== undefined) {
        open.endedAt = now;
        this.open.delete(key);
      }
    }
  }
}

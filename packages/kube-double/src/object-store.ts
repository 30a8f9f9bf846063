import { cloneJson, objectAt, stringAt, type JsonObject } from './json-value.js';
import type { ResourceType } from './resource-table.js';

/** What happened to an object. */
export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, as watches replay it. */
export interface StoreChange {
  readonly type: ChangeType;
  readonly resourceType: ResourceType;
  readonly resourceVersion: number;
  /** The object after the change (for DELETED, the last state), with kind and apiVersion. */
  readonly object: JsonObject;
  /** The object before the change, for MODIFIED and DELETED. */
  readonly previous?: JsonObject;
}

/** Options for {@link ObjectStore}. */
export interface ObjectStoreOptions {
  /** How many changes are kept for watches; an older resourceVersion gets 410 Expired. */
  readonly eventLogLimit?: number;
}

/**
 * Every object the double holds, one global resourceVersion counter, a bounded log of changes for
 * watches, and listeners that the controllers and the invariant monitor hang off.
 */
export class ObjectStore {
  private resourceVersion = 1000;
  private compactedThrough = 1000;
  private readonly objects = new Map<ResourceType, Map<string, JsonObject>>();
  private readonly log: StoreChange[] = [];
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private readonly eventLogLimit: number;

  constructor(options: ObjectStoreOptions = {}) {
    this.eventLogLimit = options.eventLogLimit ?? 10_000;
  }

  /** The latest resourceVersion handed out. */
  currentResourceVersion(): number {
    return this.resourceVersion;
  }

  /** Changes up to and including this resourceVersion are no longer in the log. */
  oldestWatchableResourceVersion(): number {
    return this.compactedThrough;
  }

  /** A copy of the object, or undefined. */
  get(type: ResourceType, namespace: string, name: string): JsonObject | undefined {
    const found = this.objects.get(type)?.get(keyOf(namespace, name));
    return found === undefined ? undefined : cloneJson(found);
  }

  /** Copies of every object of a type, in one namespace or all, ordered by namespace and name. */
  list(type: ResourceType, namespace?: string): JsonObject[] {
    const all = [...(this.objects.get(type)?.entries() ?? [])];
    all.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return all
      .map(([, obj]) => obj)
      .filter((obj) => namespace === undefined || namespaceOf(obj) === namespace)
      .map((obj) => cloneJson(obj));
  }

  /** Stores a new or changed object under a fresh resourceVersion, and tells the listeners. */
  put(type: ResourceType, object: JsonObject): JsonObject {
    const key = keyOf(namespaceOf(object), nameOf(object));
    let bucket = this.objects.get(type);
    if (bucket === undefined) {
      bucket = new Map();
      this.objects.set(type, bucket);
    }
    const previous = bucket.get(key);
    const stored = cloneJson(object);
    this.resourceVersion++;
    const metadata = objectAt(stored, 'metadata') ?? {};
    metadata.resourceVersion = String(this.resourceVersion);
    stored.metadata = metadata;
    bucket.set(key, stored);
    this.record({
      type: previous === undefined ? 'ADDED' : 'MODIFIED',
      resourceType: type,
      resourceVersion: this.resourceVersion,
      object: cloneJson(stored),
      ...(previous === undefined ? {} : { previous }),
    });
    return cloneJson(stored);
  }

  /** Removes an object, and tells the listeners. Returns its last state, or undefined. */
  remove(type: ResourceType, namespace: string, name: string): JsonObject | undefined {
    const bucket = this.objects.get(type);
    const key = keyOf(namespace, name);
    const previous = bucket?.get(key);
    if (bucket === undefined || previous === undefined) return undefined;
    bucket.delete(key);
    this.resourceVersion++;
    const last = cloneJson(previous);
    const metadata = objectAt(last, 'metadata') ?? {};
    metadata.resourceVersion = String(this.resourceVersion);
    this.record({
      type: 'DELETED',
      resourceType: type,
      resourceVersion: this.resourceVersion,
      object: last,
      previous,
    });
    return cloneJson(last);
  }

  /** Changes after `resourceVersion`, or `'expired'` when the log no longer reaches back that far. */
  changesSince(resourceVersion: number): readonly StoreChange[] | 'expired' {
    if (resourceVersion < this.compactedThrough) return 'expired';
    return this.log.filter((c) => c.resourceVersion > resourceVersion);
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(change: StoreChange): void {
    this.log.push(change);
    while (this.log.length > this.eventLogLimit) {
      const dropped = this.log.shift();
      if (dropped !== undefined) this.compactedThrough = dropped.resourceVersion;
    }
    for (const listener of [...this.listeners]) listener(change);
  }
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** `metadata.name`, or `''`. */
export function nameOf(object: JsonObject): string {
  return stringAt(objectAt(object, 'metadata'), 'name') ?? '';
}

/** `metadata.namespace`, or `''` for cluster-scoped objects. */
export function namespaceOf(object: JsonObject): string {
  return stringAt(objectAt(object, 'metadata'), 'namespace') ?? '';
}

/** `metadata.uid`, or `''`. */
export function uidOf(object: JsonObject): string {
  return stringAt(objectAt(object, 'metadata'), 'uid') ?? '';
}

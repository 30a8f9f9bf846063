import { cloneJson, deepFreeze, objectAt, objectsAt, stringAt, type JsonObject } from './json-value.js';
import { RESOURCE_TYPES, storageKey, type ResourceType } from './resource-table.js';

/** What happened to an object. */
export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, as watches replay it. */
export interface StoreChange {
  readonly type: ChangeType;
  readonly resourceType: ResourceType;
  readonly resourceVersion: number;
  /**
   * The object after the change (for DELETED, the last state), with kind and apiVersion. Frozen:
   * every listener and the change log share it.
   */
  readonly object: JsonObject;
  /** The object before the change, for MODIFIED and DELETED (frozen too). */
  readonly previous?: JsonObject;
}

/** An object that names another as its owner, as {@link ObjectStore.dependentsOf} finds it. */
export interface Dependent {
  readonly type: ResourceType;
  /** The stored object, frozen. */
  readonly object: JsonObject;
}

/** Options for {@link ObjectStore}. */
export interface ObjectStoreOptions {
  /** How many changes are kept for watches; an older resourceVersion gets 410 Expired. */
  readonly eventLogLimit?: number;
}

/** The objects of one resource type, indexed by namespace, with sorted views built on demand. */
interface Bucket {
  /** The type last written through (every version of a custom resource shares one bucket). */
  type: ResourceType;
  readonly byNamespace: Map<string, Map<string, JsonObject>>;
  /** Sorted views per namespace; a change to a namespace drops its view (and `all`). */
  readonly views: Map<string, readonly JsonObject[]>;
  all: readonly JsonObject[] | undefined;
}

const NO_OBJECTS: readonly JsonObject[] = Object.freeze([]);

/**
 * Every object the double holds, one global resourceVersion counter, a bounded log of changes for
 * watches, and listeners that the controllers and the invariant monitor hang off.
 *
 * Stored objects are frozen and never changed in place: a write stores a new object. So there are
 * two ways to read. {@link get} and {@link list} hand out copies, for callers that change what they
 * read or keep it. {@link peek} and {@link view} hand out the stored objects themselves, without
 * copying: the controllers read the store after every change, and copying each object they look at
 * made the double slower than the cluster it stands in for. A write to a viewed object throws.
 */
export class ObjectStore {
  private resourceVersion = 1000;
  private compactedThrough = 1000;
  /** Buckets by {@link storageKey}, so that the versions of a custom resource share their objects. */
  private readonly buckets = new Map<string, Bucket>();
  /** Owner uid → storage key → keys of the objects whose ownerReferences name it. */
  private readonly owned = new Map<string, Map<string, Set<string>>>();
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
    const found = this.peek(type, namespace, name);
    return found === undefined ? undefined : cloneJson(found);
  }

  /** The stored object itself (frozen; copy it before changing it), or undefined. */
  peek(type: ResourceType, namespace: string, name: string): JsonObject | undefined {
    return this.buckets.get(storageKey(type))?.byNamespace.get(namespace)?.get(name);
  }

  /** Copies of every object of a type, in one namespace or all, ordered by namespace and name. */
  list(type: ResourceType, namespace?: string): JsonObject[] {
    return this.view(type, namespace).map((obj) => cloneJson(obj));
  }

  /**
   * The stored objects of a type, in one namespace or all, ordered by namespace and name, without
   * copying: the objects and the array are frozen. The array is a snapshot: later writes do not
   * change it, so a caller may write to the store while it walks one.
   */
  view(type: ResourceType, namespace?: string): readonly JsonObject[] {
    const bucket = this.buckets.get(storageKey(type));
    if (bucket === undefined) return NO_OBJECTS;
    if (namespace === undefined) {
      bucket.all ??= Object.freeze(
        [...bucket.byNamespace.keys()]
          .map((ns) => ({ ns, objects: this.namespaceView(bucket, ns) }))
          .sort((a, b) => compareKeys(`${a.ns}/`, `${b.ns}/`))
          .flatMap((entry) => entry.objects),
      );
      return bucket.all;
    }
    return this.namespaceView(bucket, namespace);
  }

  /**
   * The stored objects (frozen) whose ownerReferences name `uid`, by resource type in the order of
   * the resource table (custom resources after, by name), then by namespace and name.
   */
  dependentsOf(uid: string): Dependent[] {
    const byType = this.owned.get(uid);
    if (byType === undefined) return [];
    const found: Dependent[] = [];
    for (const typeKey of [...byType.keys()].sort(compareTypeKeys)) {
      const bucket = this.buckets.get(typeKey);
      if (bucket === undefined) continue;
      for (const key of [...(byType.get(typeKey) ?? [])].sort(compareKeys)) {
        const object = this.byKey(bucket, key);
        if (object !== undefined) found.push({ type: bucket.type, object });
      }
    }
    return found;
  }

  /** Drops every object of a type (a CustomResourceDefinition deleted), telling the listeners. */
  removeAll(type: ResourceType): void {
    for (const object of this.view(type)) this.remove(type, namespaceOf(object), nameOf(object));
  }

  /** Stores a new or changed object under a fresh resourceVersion, tells the listeners, returns a copy. */
  put(type: ResourceType, object: JsonObject): JsonObject {
    const namespace = namespaceOf(object);
    const name = nameOf(object);
    const bucket = this.bucketOf(type);
    let names = bucket.byNamespace.get(namespace);
    if (names === undefined) {
      names = new Map();
      bucket.byNamespace.set(namespace, names);
    }
    const previous = names.get(name);
    const stored = cloneJson(object);
    this.resourceVersion++;
    const metadata = objectAt(stored, 'metadata') ?? {};
    metadata.resourceVersion = String(this.resourceVersion);
    stored.metadata = metadata;
    deepFreeze(stored);
    names.set(name, stored);
    this.changed(bucket, namespace);
    this.index(type, keyOf(namespace, name), previous, stored);
    this.record({
      type: previous === undefined ? 'ADDED' : 'MODIFIED',
      resourceType: type,
      resourceVersion: this.resourceVersion,
      object: stored,
      ...(previous === undefined ? {} : { previous }),
    });
    return cloneJson(stored);
  }

  /** Removes an object, and tells the listeners. Returns (a copy of) its last state, or undefined. */
  remove(type: ResourceType, namespace: string, name: string): JsonObject | undefined {
    const bucket = this.buckets.get(storageKey(type));
    const names = bucket?.byNamespace.get(namespace);
    const previous = names?.get(name);
    if (bucket === undefined || names === undefined || previous === undefined) return undefined;
    names.delete(name);
    if (names.size === 0) bucket.byNamespace.delete(namespace);
    this.changed(bucket, namespace);
    this.index(type, keyOf(namespace, name), previous, undefined);
    this.resourceVersion++;
    const last = cloneJson(previous);
    const metadata = objectAt(last, 'metadata') ?? {};
    metadata.resourceVersion = String(this.resourceVersion);
    deepFreeze(last);
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

  private bucketOf(type: ResourceType): Bucket {
    const key = storageKey(type);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { type, byNamespace: new Map(), views: new Map(), all: undefined };
      this.buckets.set(key, bucket);
    }
    bucket.type = type;
    return bucket;
  }

  private namespaceView(bucket: Bucket, namespace: string): readonly JsonObject[] {
    let view = bucket.views.get(namespace);
    if (view === undefined) {
      const names = bucket.byNamespace.get(namespace);
      view =
        names === undefined
          ? NO_OBJECTS
          : Object.freeze(
              [...names.entries()].sort(([a], [b]) => compareKeys(a, b)).map(([, object]) => object),
            );
      bucket.views.set(namespace, view);
    }
    return view;
  }

  private changed(bucket: Bucket, namespace: string): void {
    bucket.views.delete(namespace);
    bucket.all = undefined;
  }

  private byKey(bucket: Bucket, key: string): JsonObject | undefined {
    const slash = key.indexOf('/');
    return bucket.byNamespace.get(key.slice(0, slash))?.get(key.slice(slash + 1));
  }

  /** Keeps the owner index in step with a change from `before` to `after` (undefined: absent). */
  private index(
    type: ResourceType,
    key: string,
    before: JsonObject | undefined,
    after: JsonObject | undefined,
  ): void {
    const typeKey = storageKey(type);
    const owners = (object: JsonObject | undefined): Set<string> =>
      new Set(
        object === undefined
          ? []
          : objectsAt(objectAt(object, 'metadata'), 'ownerReferences')
              .map((r) => r.uid)
              .filter((uid): uid is string => typeof uid === 'string'),
      );
    const was = owners(before);
    const is = owners(after);
    for (const uid of was) {
      if (is.has(uid)) continue;
      const byType = this.owned.get(uid);
      const keys = byType?.get(typeKey);
      keys?.delete(key);
      if (keys?.size === 0) byType?.delete(typeKey);
      if (byType?.size === 0) this.owned.delete(uid);
    }
    for (const uid of is) {
      if (was.has(uid)) continue;
      let byType = this.owned.get(uid);
      if (byType === undefined) {
        byType = new Map();
        this.owned.set(uid, byType);
      }
      let keys = byType.get(typeKey);
      if (keys === undefined) {
        keys = new Set();
        byType.set(typeKey, keys);
      }
      keys.add(key);
    }
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

const BUILT_IN_ORDER = new Map(RESOURCE_TYPES.map((t, i) => [storageKey(t), i]));

/** Built-in types in table order, then custom ones by name. */
function compareTypeKeys(a: string, b: string): number {
  const ia = BUILT_IN_ORDER.get(a) ?? BUILT_IN_ORDER.size;
  const ib = BUILT_IN_ORDER.get(b) ?? BUILT_IN_ORDER.size;
  return ia !== ib ? ia - ib : compareKeys(a, b);
}

/** Plain code-unit order, as objects have always been listed. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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

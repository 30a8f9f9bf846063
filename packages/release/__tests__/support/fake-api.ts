/* eslint-disable @typescript-eslint/no-unnecessary-type-parameters -- the ClusterApi signatures name the view the caller expects */
import { KubeApiError, type KubeObject, type ObjectRef } from '@dreamscape/kube';
import type { ClusterApi } from '../../src/index.js';

/** The calls {@link FakeClusterApi} answers, for call logs and faults. */
export type FakeOperation = 'get' | 'list' | 'create' | 'replace' | 'patch' | 'delete' | 'apply';

/** One call as the fake saw it. */
export interface FakeCall {
  readonly op: FakeOperation;
  /** `Kind/namespace/name`, or the resource name for a list. */
  readonly target: string;
}

/** A failure injected into the calls of one operation. */
export interface Fault {
  readonly error: Error;
  /** How many calls fail (then the fault is spent). Default: every call. */
  times?: number;
  /** The write lands and only then the call fails: an answer lost on the way back. */
  readonly afterWrite?: boolean;
  /** Only calls about this object name. */
  readonly name?: string;
}

type JsonPatchOp = { op: string; path: string; value?: unknown };

/**
 * An in-memory API server as far as the release engine uses one: objects by kind, namespace and
 * name, a resourceVersion bumped on every write, `AlreadyExists` on create, `Conflict` when a PUT
 * carries a stale resourceVersion, JSON patches with `test`, merge patches, label-selector lists.
 * Every object crosses the boundary as a copy, as it would over the wire.
 */
export class FakeClusterApi implements ClusterApi {
  readonly calls: FakeCall[] = [];
  private readonly objects = new Map<string, KubeObject>();
  private readonly faults = new Map<FakeOperation, Fault[]>();
  private version = 100;

  /** Stores objects as they are (a fresh resourceVersion each), bypassing faults and the call log. */
  seed(...objects: KubeObject[]): void {
    for (const o of objects) this.store(o);
  }

  /** The stored copy of an object, read without going through the API. */
  peek<T extends KubeObject = KubeObject>(kind: string, namespace: string, name: string): T | undefined {
    const o = this.objects.get(key(kind, namespace, name));
    return o === undefined ? undefined : (structuredClone(o) as T);
  }

  /** Makes calls of `op` fail as described, in the order the faults were added. */
  fail(op: FakeOperation, fault: Fault): void {
    this.faults.set(op, [...(this.faults.get(op) ?? []), fault]);
  }

  /** How many calls of `op` were made (about `name`, when given). */
  count(op: FakeOperation, name?: string): number {
    return this.calls.filter((c) => c.op === op && (name === undefined || c.target.endsWith(`/${name}`)))
      .length;
  }

  get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    return this.call('get', refKey(ref), ref.name, () => {
      const o = this.objects.get(refKey(ref));
      return o === undefined ? undefined : (structuredClone(o) as T);
    });
  }

  list<T extends KubeObject = KubeObject>(
    resource: string,
    options: { namespace?: string; labelSelector?: string },
  ): Promise<{ items: T[]; resourceVersion: string }> {
    return this.call('list', resource, undefined, () => {
      const selector = parseSelector(options.labelSelector);
      const plural = resource.split('.')[0] ?? resource;
      const items = [...this.objects.values()].filter(
        (o) =>
          pluralOf(o.kind) === plural &&
          (options.namespace === undefined || o.metadata.namespace === options.namespace) &&
          Object.entries(selector).every(([k, v]) => o.metadata.labels?.[k] === v),
      );
      return { items: items.map((o) => structuredClone(o) as T), resourceVersion: String(this.version) };
    });
  }

  create<T extends KubeObject = KubeObject>(object: KubeObject): Promise<T> {
    const k = objectKeyOf(object);
    return this.call('create', k, object.metadata.name, () => {
      if (this.objects.has(k))
        throw apiError(
          'POST',
          k,
          409,
          'AlreadyExists',
          `${object.kind} "${object.metadata.name}" already exists`,
        );
      return this.store(object) as T;
    });
  }

  replace<T extends KubeObject = KubeObject>(object: KubeObject): Promise<T> {
    const k = objectKeyOf(object);
    return this.call('replace', k, object.metadata.name, () => {
      const live = this.objects.get(k);
      if (live === undefined)
        throw apiError('PUT', k, 404, 'NotFound', `${object.kind} "${object.metadata.name}" not found`);
      const wanted = object.metadata.resourceVersion;
      if (wanted !== undefined && wanted !== live.metadata.resourceVersion)
        throw apiError(
          'PUT',
          k,
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${pluralOf(object.kind)} "${object.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      return this.store(object) as T;
    });
  }

  patch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    patch: object | readonly JsonPatchOp[],
    options: { type: 'merge' | 'json' | 'strategic'; subresource?: string },
  ): Promise<T> {
    const k = refKey(ref);
    return this.call('patch', k, ref.name, () => {
      const live = this.objects.get(k);
      if (live === undefined)
        throw apiError('PATCH', k, 404, 'NotFound', `${ref.kind ?? ''} "${ref.name}" not found`);
      const next =
        options.type === 'json'
          ? applyJsonPatch(structuredClone(live), patch as readonly JsonPatchOp[], k)
          : mergePatch(structuredClone(live), patch);
      return this.store(next as KubeObject) as T;
    });
  }

  delete(ref: ObjectRef, options: { ignoreNotFound?: boolean } = {}): Promise<boolean> {
    const k = refKey(ref);
    return this.call('delete', k, ref.name, () => {
      if (this.objects.delete(k)) return true;
      if (options.ignoreNotFound === true) return false;
      throw apiError('DELETE', k, 404, 'NotFound', `${ref.kind ?? ''} "${ref.name}" not found`);
    });
  }

  applyServerSide(
    objects: readonly KubeObject[],
    options: { dryRun?: boolean; fieldManager?: string; forceConflicts?: boolean } = {},
  ): Promise<KubeObject[]> {
    return this.call('apply', `(${objects.length} objects)`, undefined, () =>
      objects.map((o) => {
        if (options.dryRun === true) return structuredClone(o);
        const live = this.objects.get(objectKeyOf(o));
        return this.store(live === undefined ? o : (mergePatch(structuredClone(live), o) as KubeObject));
      }),
    );
  }

  private async call<R>(
    op: FakeOperation,
    target: string,
    name: string | undefined,
    run: () => R,
  ): Promise<R> {
    this.calls.push({ op, target });
    // A real API call never answers synchronously; callers must not rely on it.
    await Promise.resolve();
    const fault = this.takeFault(op, name);
    if (fault !== undefined && fault.afterWrite !== true) throw fault.error;
    const result = run();
    if (fault !== undefined) throw fault.error;
    return result;
  }

  private takeFault(op: FakeOperation, name: string | undefined): Fault | undefined {
    const fault = (this.faults.get(op) ?? []).find(
      (f) => (f.times === undefined || f.times > 0) && (f.name === undefined || f.name === name),
    );
    if (fault?.times !== undefined) fault.times--;
    return fault;
  }

  private store(object: KubeObject): KubeObject {
    this.version++;
    const copy = structuredClone(object);
    copy.metadata.resourceVersion = String(this.version);
    this.objects.set(objectKeyOf(copy), copy);
    return structuredClone(copy);
  }
}

function key(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function refKey(ref: ObjectRef): string {
  if (ref.kind === undefined) throw new Error('the fake API addresses objects by kind');
  return key(ref.kind, ref.namespace ?? '', ref.name);
}

function objectKeyOf(o: KubeObject): string {
  return key(o.kind, o.metadata.namespace ?? '', o.metadata.name);
}

function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  return lower.endsWith('s') ? `${lower}es` : `${lower}s`;
}

/** Equality selectors only (`a=b,c==d`): anything else would be silently misread, so it throws. */
function parseSelector(selector: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (selector === undefined || selector === '') return out;
  for (const term of selector.split(',')) {
    const m = /^([^=!\s]+)==?([^=!\s]*)$/.exec(term.trim());
    if (m === null) throw new Error(`the fake API supports equality label selectors only, not '${term}'`);
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

function apiError(
  method: string,
  target: string,
  status: number,
  reason: string,
  message: string,
): KubeApiError {
  return new KubeApiError(method, target, status, reason, message);
}

function pointer(path: string): string[] {
  if (!path.startsWith('/')) throw new Error(`not a JSON pointer: ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function applyJsonPatch(doc: unknown, ops: readonly JsonPatchOp[], target: string): unknown {
  for (const op of ops) {
    const parts = pointer(op.path);
    const last = parts.pop() as string;
    let parent: unknown = doc;
    for (const p of parts) parent = (parent as Record<string, unknown> | undefined)?.[p];
    if (typeof parent !== 'object' || parent === null)
      throw apiError('PATCH', target, 422, 'Invalid', `path ${op.path} does not exist`);
    const obj = parent as Record<string, unknown>;
    switch (op.op) {
      case 'test':
        if (!sameJson(obj[last], op.value))
          throw apiError(
            'PATCH',
            target,
            422,
            'PreconditionFailed',
            `the server rejected our request due to an error in our request: testing value ${op.path} failed`,
          );
        break;
      case 'add':
        obj[last] = op.value;
        break;
      case 'replace':
        if (!(last in obj)) throw apiError('PATCH', target, 422, 'Invalid', `replace: ${op.path} is missing`);
        obj[last] = op.value;
        break;
      case 'remove':
        if (!(last in obj)) throw apiError('PATCH', target, 422, 'Invalid', `remove: ${op.path} is missing`);
        // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a JSON patch names the key at run time
        delete obj[last];
        break;
      default:
        throw new Error(`the fake API does not implement the JSON patch op '${op.op}'`);
    }
  }
  return doc;
}

/**
 * JSON equality, as the API server's `test` compares. Not `isDeepStrictEqual`: objects copied with
 * `structuredClone` come from another realm under jest's VM modules, and their prototypes differ.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b))
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]))
    );
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return (
      ka.length === kb.length &&
      ka.every(
        (k) => k in b && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
      )
    );
  }
  return a === b;
}

/** RFC 7386 merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- null removes a key in a merge patch
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

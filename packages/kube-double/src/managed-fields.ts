import { ApiError } from './api-status.js';
import {
  decodeFieldsV1,
  diffFields,
  encodeFieldsV1,
  formatFieldPath,
  mergeApplied,
  removeFields,
  toFieldSet,
  type FieldSet,
} from './field-set.js';
import { cloneJson, isJsonObject, objectAt, objectsAt, type JsonObject } from './json-value.js';
import type { SchemaNode } from './schema.js';

/** One managedFields entry, with its fields decoded. */
export interface ManagedEntry {
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  readonly apiVersion: string;
  readonly time: string;
  readonly subresource?: string;
  readonly fields: FieldSet;
}

/** Metadata the server owns: never tracked as anyone's field. */
const SYSTEM_METADATA = [
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'generateName',
];

/** The managedFields of an object, decoded. */
export function readManagedFields(object: JsonObject): ManagedEntry[] {
  return objectsAt(objectAt(object, 'metadata'), 'managedFields').map((e) => ({
    manager: typeof e.manager === 'string' ? e.manager : '',
    operation: e.operation === 'Apply' ? 'Apply' : 'Update',
    apiVersion: typeof e.apiVersion === 'string' ? e.apiVersion : '',
    time: typeof e.time === 'string' ? e.time : '',
    ...(typeof e.subresource === 'string' && e.subresource !== '' ? { subresource: e.subresource } : {}),
    fields: decodeFieldsV1(e.fieldsV1),
  }));
}

/** Writes entries back into `object.metadata.managedFields` (in place); no entries removes the field. */
export function writeManagedFields(object: JsonObject, entries: readonly ManagedEntry[]): void {
  const metadata = objectAt(object, 'metadata');
  if (metadata === undefined) return;
  const kept = entries.filter((e) => e.fields.size > 0);
  if (kept.length === 0) {
    Reflect.deleteProperty(metadata, 'managedFields');
    return;
  }
  metadata.managedFields = kept.map((e) => {
    const entry: JsonObject = {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: 'FieldsV1',
      fieldsV1: encodeFieldsV1(e.fields),
    };
    if (e.subresource !== undefined) entry.subresource = e.subresource;
    return entry;
  });
}

/**
 * The part of an object that field ownership covers: no kind/apiVersion, no server-owned metadata,
 * and either everything but `status` (the main resource) or only `status` (the status subresource).
 */
export function trackedView(object: JsonObject | undefined, subresource: string | undefined): JsonObject {
  if (object === undefined) return {};
  if (subresource === 'status')
    return isJsonObject(object.status) ? { status: cloneJson(object.status) } : {};
  const view = cloneJson(object);
  Reflect.deleteProperty(view, 'apiVersion');
  Reflect.deleteProperty(view, 'kind');
  Reflect.deleteProperty(view, 'status');
  const metadata = objectAt(view, 'metadata');
  if (metadata !== undefined) {
    for (const k of SYSTEM_METADATA) Reflect.deleteProperty(metadata, k);
    if (Object.keys(metadata).length === 0) Reflect.deleteProperty(view, 'metadata');
  }
  return view;
}

function sameEntry(
  e: ManagedEntry,
  manager: string,
  operation: string,
  subresource: string | undefined,
): boolean {
  return e.manager === manager && e.operation === operation && e.subresource === subresource;
}

/**
 * Ownership after an Update (create, PUT, any non-apply PATCH): the writer takes every field it
 * added or changed, away from whoever owned it; removed fields leave every owner.
 */
export function recordUpdate(
  entries: readonly ManagedEntry[],
  before: JsonObject | undefined,
  after: JsonObject,
  schema: SchemaNode,
  writer: { manager: string; apiVersion: string; subresource?: string; time: string },
): ManagedEntry[] {
  const diff = diffFields(
    trackedView(before, writer.subresource),
    trackedView(after, writer.subresource),
    schema,
  );
  const changed = new Set([...diff.added, ...diff.modified]);
  const result: ManagedEntry[] = [];
  let mine: ManagedEntry | undefined;
  for (const e of entries) {
    const fields = new Set([...e.fields].filter((p) => !changed.has(p) && !diff.removed.has(p)));
    const updated = { ...e, fields };
    if (sameEntry(e, writer.manager, 'Update', writer.subresource)) mine = updated;
    else result.push(updated);
  }
  if (changed.size === 0 && mine === undefined) return result;
  const fields = new Set([...(mine?.fields ?? []), ...changed]);
  result.push({
    manager: writer.manager,
    operation: 'Update',
    apiVersion: writer.apiVersion,
    time: changed.size > 0 || mine === undefined ? writer.time : mine.time,
    ...(writer.subresource === undefined ? {} : { subresource: writer.subresource }),
    fields,
  });
  return result;
}

/** The outcome of a server-side apply. */
export interface ApplyOutcome {
  /** The merged object (no managedFields written yet). */
  readonly object: JsonObject;
  readonly entries: ManagedEntry[];
}

/**
 * Server-side apply: merges `applied` into `live`, removes fields this manager applied before and
 * no longer applies (unless someone else owns them), and fails with 409 and FieldManagerConflict
 * causes when the change would overwrite a value another manager owns, unless `force`.
 */
export function applyConfiguration(
  live: JsonObject | undefined,
  applied: JsonObject,
  schema: SchemaNode,
  writer: {
    manager: string;
    apiVersion: string;
    time: string;
    force: boolean;
    subresource?: string;
    /** Conflicting fields to take over anyway (fields kubectl set with client-side apply). */
    allowedConflicts?: ReadonlySet<string>;
  },
): ApplyOutcome {
  const entries = live === undefined ? [] : readManagedFields(live);
  const view = trackedView(applied, writer.subresource);
  const appliedSet = toFieldSet(view, schema);
  const mineIndex = entries.findIndex((e) => sameEntry(e, writer.manager, 'Apply', writer.subresource));
  const previous = mineIndex >= 0 ? (entries[mineIndex]?.fields ?? new Set<string>()) : new Set<string>();
  const others = entries.filter((_, i) => i !== mineIndex);
  const ownedByOthers = new Set(others.flatMap((e) => [...e.fields]));

  const base = live === undefined ? {} : cloneJson(live);
  const stale = [...previous].filter((p) => !appliedSet.has(p) && !ownedByOthers.has(p));
  removeFields(base, stale, schema);
  const merged = mergeApplied(base, view, schema) as JsonObject;

  const diff = diffFields(
    trackedView(live, writer.subresource),
    trackedView(merged, writer.subresource),
    schema,
  );
  const conflicts: { manager: ManagedEntry; path: string }[] = [];
  for (const e of others)
    for (const p of diff.modified)
      if (e.fields.has(p) && appliedSet.has(p)) conflicts.push({ manager: e, path: p });
  const allowed = writer.allowedConflicts;
  const blocking = allowed === undefined ? conflicts : conflicts.filter((c) => !allowed.has(c.path));
  if (blocking.length > 0 && !writer.force) throw conflictError(blocking);

  const taken = new Set(conflicts.map((c) => c.path));
  const result: ManagedEntry[] = others.map((e) => ({
    ...e,
    fields: new Set([...e.fields].filter((p) => !taken.has(p) && !diff.removed.has(p))),
  }));
  const unchanged = mineIndex >= 0 && sameSet(previous, appliedSet);
  const mine: ManagedEntry = {
    manager: writer.manager,
    operation: 'Apply',
    apiVersion: writer.apiVersion,
    time: unchanged ? (entries[mineIndex]?.time ?? writer.time) : writer.time,
    ...(writer.subresource === undefined ? {} : { subresource: writer.subresource }),
    fields: appliedSet,
  };
  if (mineIndex >= 0) result.splice(mineIndex, 0, mine);
  else result.push(mine);
  return { object: merged, entries: result };
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((p) => b.has(p));
}

function describeManager(e: ManagedEntry): string {
  let text = JSON.stringify(e.manager);
  if (e.subresource !== undefined) text += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') text += ` using ${e.apiVersion}`;
  return text;
}

/** The real server's 409 for apply conflicts, message and causes alike. */
function conflictError(conflicts: readonly { manager: ManagedEntry; path: string }[]): ApiError {
  const causes = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${describeManager(c.manager)}`,
    field: formatFieldPath(c.path),
  }));
  let message: string;
  const first = conflicts[0];
  if (conflicts.length === 1 && first !== undefined) {
    message = `Apply failed with 1 conflict: conflict with ${describeManager(first.manager)}: ${formatFieldPath(first.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const key = describeManager(c.manager);
      byManager.set(key, [...(byManager.get(key) ?? []), formatFieldPath(c.path)]);
    }
    const lines: string[] = [];
    for (const key of [...byManager.keys()].sort()) {
      lines.push(`conflict with ${key}:`);
      for (const p of byManager.get(key) ?? []) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError({ code: 409, reason: 'Conflict', message, details: { causes } });
}

import { badRequest } from './api-status.js';
import { cloneJson, isJsonObject, jsonEqual, type JsonObject, type JsonValue } from './json-value.js';
import { fieldSchema, itemSchema, type SchemaNode } from './schema.js';

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE = '$deleteFromPrimitiveList/';

/**
 * Strategic merge patch as the API server applies it to built-in types: lists with a merge key
 * (containers by name, ports by containerPort, env by name, ...) merge item by item, other lists are
 * replaced, and the directives `$patch` (replace, delete, merge), `$retainKeys`,
 * `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are honoured.
 */
export function applyStrategicMergePatch(
  original: JsonObject,
  patch: JsonObject,
  schema: SchemaNode,
): JsonObject {
  const result = mergeMap(original, patch, schema);
  if (result === undefined) throw badRequest('a strategic merge patch may not delete the whole object');
  return result;
}

function mergeMap(
  original: JsonObject | undefined,
  patch: JsonObject,
  schema: SchemaNode,
): JsonObject | undefined {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return stripDirectives(patch);
  if (directive !== undefined && directive !== 'merge')
    throw badRequest(`Unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(patch)}`);

  let result: JsonObject = isJsonObject(original) ? cloneJson(original) : {};
  const retainKeys = patch.$retainKeys;
  if (retainKeys !== undefined) {
    if (!Array.isArray(retainKeys)) throw badRequest('$retainKeys must be a list of field names');
    const keep = new Set(retainKeys.map(String));
    result = Object.fromEntries(Object.entries(result).filter(([k]) => keep.has(k)));
  }

  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value))
        result[field] = current.filter((item) => !value.some((v) => jsonEqual(v, item)));
      continue;
    }
    const child = fieldSchema(schema, key);
    if (value === null) {
      Reflect.deleteProperty(result, key);
    } else if (isJsonObject(value)) {
      const merged = mergeMap(isJsonObject(result[key]) ? result[key] : undefined, value, child);
      if (merged === undefined) Reflect.deleteProperty(result, key);
      else result[key] = merged;
    } else if (Array.isArray(value)) {
      result[key] = mergeList(result[key], value, child);
    } else {
      result[key] = value;
    }
  }

  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    const current = result[field];
    if (Array.isArray(current) && Array.isArray(order))
      result[field] = orderList(current, order, fieldSchema(schema, field));
  }
  return result;
}

function mergeList(original: JsonValue | undefined, patch: JsonValue[], schema: SchemaNode): JsonValue[] {
  const current = Array.isArray(original) ? original : [];
  if (schema.type === 'set') {
    const result = [...current];
    for (const v of patch) if (!result.some((item) => jsonEqual(item, v))) result.push(v);
    return result;
  }
  if (schema.type !== 'list') return patch.map((v) => (isJsonObject(v) ? stripDirectives(v) : v));

  const key = schema.mergeKey;
  if (patch.some((item) => isJsonObject(item) && item.$patch === 'replace' && Object.keys(item).length === 1))
    return patch
      .filter((item) => !(isJsonObject(item) && item.$patch === 'replace'))
      .map((v) => (isJsonObject(v) ? stripDirectives(v) : v));

  const result: JsonValue[] = [...current];
  for (const item of patch) {
    if (!isJsonObject(item))
      throw badRequest(`the list item ${JSON.stringify(item)} has no merge key "${key}"`);
    const itemKey = item[key];
    if (itemKey === undefined)
      throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const index = result.findIndex((existing) => isJsonObject(existing) && jsonEqual(existing[key], itemKey));
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    const existing = index >= 0 ? result[index] : undefined;
    const merged = mergeMap(isJsonObject(existing) ? existing : undefined, item, itemSchema(schema));
    if (merged === undefined) {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) result[index] = merged;
    else result.push(merged);
  }
  return result;
}

function orderList(list: JsonValue[], order: JsonValue[], schema: SchemaNode): JsonValue[] {
  const keyOf = (item: JsonValue): JsonValue | undefined => {
    if (schema.type === 'list') return isJsonObject(item) ? item[schema.mergeKey] : undefined;
    return item;
  };
  const wanted = order.map((o) => (schema.type === 'list' && isJsonObject(o) ? o[schema.mergeKey] : o));
  const rank = (item: JsonValue): number => {
    const k = keyOf(item);
    const i = wanted.findIndex((w) => jsonEqual(w, k));
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return list
    .map((item, index) => ({ item, index, rank: rank(item) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((e) => e.item);
}

function stripDirectives(value: JsonObject): JsonObject {
  const result: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$')) continue;
    result[k] = isJsonObject(v)
      ? stripDirectives(v)
      : Array.isArray(v)
        ? v.map((i) => (isJsonObject(i) ? stripDirectives(i) : i))
        : v;
  }
  return result;
}

/** A JSON value as the API server stores and sends it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/** A JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural equality of two JSON values; key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** A deep copy of a JSON value. */
export function cloneJson<T extends JsonValue>(value: T): T {
  return structuredClone(value);
}

/**
 * Freezes a JSON value and everything in it, in place, and returns it: a write to it anywhere then
 * throws a TypeError (ES modules run in strict mode), so a reader that changes a shared object
 * fails at once instead of changing the store behind its back.
 */
export function deepFreeze<T extends JsonValue>(value: T): T {
  freezeTree(value);
  return value;
}

function freezeTree(value: JsonValue): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Array.isArray(value) ? value : Object.values(value)) freezeTree(child);
}

/** The object at `obj[key]`, or undefined when it is absent or not an object. */
export function objectAt(obj: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = obj?.[key];
  return isJsonObject(value) ? value : undefined;
}

/** The object at `obj[key]`, created empty when it is absent or not an object. */
export function ensureObject(obj: JsonObject, key: string): JsonObject {
  const value = obj[key];
  if (isJsonObject(value)) return value;
  const created: JsonObject = {};
  obj[key] = created;
  return created;
}

/** The string at `obj[key]`, or undefined. */
export function stringAt(obj: JsonObject | undefined, key: string): string | undefined {
  const value = obj?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** The number at `obj[key]`, or undefined. */
export function numberAt(obj: JsonObject | undefined, key: string): number | undefined {
  const value = obj?.[key];
  return typeof value === 'number' ? value : undefined;
}

/** The array at `obj[key]`, or an empty array. */
export function arrayAt(obj: JsonObject | undefined, key: string): JsonValue[] {
  const value = obj?.[key];
  return Array.isArray(value) ? value : [];
}

/** The objects in the array at `obj[key]` (non-objects are skipped). */
export function objectsAt(obj: JsonObject | undefined, key: string): JsonObject[] {
  return arrayAt(obj, key).filter(isJsonObject);
}

/** A string-to-string map at `obj[key]` (labels, annotations, selectors); non-strings are skipped. */
export function stringMapAt(obj: JsonObject | undefined, key: string): Record<string, string> {
  const result: Record<string, string> = {};
  const value = objectAt(obj, key);
  if (value === undefined) return result;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') result[k] = v;
  return result;
}

/** A value as text for messages and table cells: scalars as themselves, the rest as JSON. */
export function textOf(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

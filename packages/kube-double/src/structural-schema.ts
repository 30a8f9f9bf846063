import type { StatusCause } from './api-status.js';
import {
  arrayAt,
  cloneJson,
  isJsonObject,
  jsonEqual,
  objectAt,
  stringAt,
  type JsonObject,
  type JsonValue,
} from './json-value.js';
import { UNKNOWN, type SchemaNode } from './schema.js';

/**
 * What the real API server does with a custom resource's structural schema (a CRD version's
 * `openAPIV3Schema`): defaults, pruning of unknown fields (or naming them, under
 * `fieldValidation=Strict`), validation of types, required fields, enums and bounds, and the merge
 * semantics server-side apply uses (`x-kubernetes-list-type`, `x-kubernetes-map-type`).
 */

/** The top-level fields every object has, whatever its schema says. */
const OBJECT_ROOT = ['apiVersion', 'kind', 'metadata'];

function propertiesOf(schema: JsonObject | undefined): JsonObject | undefined {
  return objectAt(schema, 'properties');
}

function preservesUnknown(schema: JsonObject | undefined): boolean {
  return schema?.['x-kubernetes-preserve-unknown-fields'] === true;
}

function isEmbedded(schema: JsonObject | undefined): boolean {
  return schema?.['x-kubernetes-embedded-resource'] === true;
}

/** The schema of one property of an object schema, or of its map values. */
function childSchema(schema: JsonObject | undefined, key: string): JsonObject | undefined {
  const properties = propertiesOf(schema);
  if (properties !== undefined && isJsonObject(properties[key])) return properties[key];
  const additional = schema?.additionalProperties;
  if (isJsonObject(additional)) return additional;
  return undefined;
}

/** Whether an object schema accepts `key` at all (declared, a map, or preserving unknown fields). */
function accepts(schema: JsonObject | undefined, key: string, root: boolean): boolean {
  if ((root || isEmbedded(schema)) && OBJECT_ROOT.includes(key)) return true;
  const properties = propertiesOf(schema);
  if (properties !== undefined && Object.hasOwn(properties, key)) return true;
  const additional = schema?.additionalProperties;
  if (isJsonObject(additional) || additional === true) return true;
  return preservesUnknown(schema);
}

/**
 * Walks an object against its schema, calling `onUnknown` for every field the schema does not
 * declare. Returns the object without those fields (the real server's pruning).
 */
function prune(
  value: JsonValue,
  schema: JsonObject | undefined,
  path: string,
  root: boolean,
  onUnknown: (path: string) => void,
): JsonValue {
  if (schema === undefined) return value;
  if (Array.isArray(value)) {
    const items = objectAt(schema, 'items');
    return value.map((item, i) => prune(item, items, `${path}[${i}]`, false, onUnknown));
  }
  if (!isJsonObject(value)) return value;
  const result: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    const childPath = path === '' ? key : `${path}.${key}`;
    if (!accepts(schema, key, root)) {
      onUnknown(childPath);
      continue;
    }
    // metadata of the root and of embedded resources is ObjectMeta, checked elsewhere.
    if ((root || isEmbedded(schema)) && key === 'metadata') {
      result[key] = child;
      continue;
    }
    const childNode = childSchema(schema, key);
    // A null where the schema does not allow one is dropped (and defaulted, if it has a default).
    if (child === null && childNode !== undefined && childNode.nullable !== true) continue;
    result[key] = prune(child, childNode, childPath, false, onUnknown);
  }
  return result;
}

/** The fields of `object` its schema does not declare (`spec.foo`), as Strict validation names them. */
export function undeclaredFields(schema: JsonObject, object: JsonObject): string[] {
  const found: string[] = [];
  prune(object, schema, '', true, (path) => found.push(path));
  return found;
}

/** `object` without the fields its schema does not declare. */
export function pruneUndeclared(schema: JsonObject, object: JsonObject): JsonObject {
  const pruned = prune(object, schema, '', true, () => undefined);
  return isJsonObject(pruned) ? pruned : object;
}

/** Fills in the schema's `default`s for absent properties of objects that are present. Mutates. */
export function applySchemaDefaults(schema: JsonObject, object: JsonObject): void {
  const walk = (value: JsonValue | undefined, node: JsonObject | undefined): void => {
    if (node === undefined || value === undefined) return;
    if (Array.isArray(value)) {
      const items = objectAt(node, 'items');
      for (const item of value) walk(item, items);
      return;
    }
    if (!isJsonObject(value)) return;
    const properties = propertiesOf(node);
    for (const [key, child] of Object.entries(properties ?? {})) {
      if (!isJsonObject(child)) continue;
      if (value[key] === undefined && child.default !== undefined) value[key] = cloneJson(child.default);
      walk(value[key], child);
    }
    const additional = node.additionalProperties;
    if (properties === undefined && isJsonObject(additional))
      for (const child of Object.values(value)) walk(child, additional);
  };
  walk(object, schema);
}

function typeName(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function goQuoted(value: JsonValue): string {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value);
}

function typeMatches(expected: string, value: JsonValue, node: JsonObject): boolean {
  if (node['x-kubernetes-int-or-string'] === true)
    return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
  switch (expected) {
    case 'object':
      return isJsonObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

/**
 * The 422 causes for a custom resource its schema refuses, with the real server's wording:
 * `spec.endpoints: Invalid value: "string": spec.endpoints in body must be of type array: "string"`,
 * `spec.selector: Required value`, `spec.scheme: Unsupported value: "ftp": supported values: ...`.
 */
export function validateAgainstSchema(schema: JsonObject, object: JsonObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const walk = (value: JsonValue, node: JsonObject | undefined, path: string, root: boolean): void => {
    if (node === undefined) return;
    if (value === null) {
      if (node.nullable !== true && stringAt(node, 'type') !== undefined && !root)
        causes.push({
          reason: 'FieldValueTypeInvalid',
          message: `Invalid value: "null": ${path} in body must be of type ${stringAt(node, 'type') ?? ''}: "null"`,
          field: path,
        });
      return;
    }
    const intOrString = node['x-kubernetes-int-or-string'] === true;
    const expected = intOrString ? 'integer,string' : stringAt(node, 'type');
    if (expected !== undefined && !typeMatches(expected, value, node)) {
      causes.push({
        reason: 'FieldValueTypeInvalid',
        message: `Invalid value: "${typeName(value)}": ${path} in body must be of type ${expected}: "${typeName(value)}"`,
        field: path,
      });
      return;
    }
    const allowed = arrayAt(node, 'enum');
    if (allowed.length > 0 && !allowed.some((a) => jsonEqual(a, value)))
      causes.push({
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${goQuoted(value)}: supported values: ${allowed.map(goQuoted).join(', ')}`,
        field: path,
      });
    if (typeof value === 'number') {
      const min = node.minimum;
      const max = node.maximum;
      if (typeof min === 'number' && value < min)
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${value}: ${path} in body should be greater than or equal to ${min}`,
          field: path,
        });
      if (typeof max === 'number' && value > max)
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${value}: ${path} in body should be less than or equal to ${max}`,
          field: path,
        });
    }
    if (typeof value === 'string') {
      const pattern = stringAt(node, 'pattern');
      if (pattern !== undefined && !safeRegExp(pattern).test(value))
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(value)}: ${path} in body should match '${pattern}'`,
          field: path,
        });
      const minLength = node.minLength;
      if (typeof minLength === 'number' && value.length < minLength)
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(value)}: ${path} in body should be at least ${minLength} chars long`,
          field: path,
        });
      const maxLength = node.maxLength;
      if (typeof maxLength === 'number' && value.length > maxLength)
        causes.push({
          reason: 'FieldValueTooLong',
          message: `Too long: may not be more than ${maxLength} bytes`,
          field: path,
        });
    }
    if (Array.isArray(value)) {
      const minItems = node.minItems;
      if (typeof minItems === 'number' && value.length < minItems)
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${value.length}: ${path} in body should have at least ${minItems} items`,
          field: path,
        });
      const maxItems = node.maxItems;
      if (typeof maxItems === 'number' && value.length > maxItems)
        causes.push({
          reason: 'FieldValueTooMany',
          message: `Too many: ${value.length}: must have at most ${maxItems} items`,
          field: path,
        });
      const items = objectAt(node, 'items');
      value.forEach((item, i) => {
        walk(item, items, `${path}[${i}]`, false);
      });
      return;
    }
    if (!isJsonObject(value)) return;
    for (const key of arrayAt(node, 'required'))
      if (typeof key === 'string' && value[key] === undefined)
        causes.push({
          reason: 'FieldValueRequired',
          message: 'Required value',
          field: path === '' ? key : `${path}.${key}`,
        });
    for (const [key, child] of Object.entries(value)) {
      if ((root || isEmbedded(node)) && OBJECT_ROOT.includes(key)) continue;
      walk(child, childSchema(node, key), path === '' ? key : `${path}.${key}`, false);
    }
  };
  walk(object, schema, '', true);
  return causes;
}

/** A pattern from a schema as a RegExp; one JavaScript cannot compile matches nothing but itself. */
function safeRegExp(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return /^(?!)/;
  }
}

/**
 * The merge semantics of a structural schema for server-side apply: objects with properties are
 * structs, `additionalProperties` makes a map, lists are atomic unless `x-kubernetes-list-type`
 * says `map` (keyed by `x-kubernetes-list-map-keys`) or `set`.
 */
export function mergeSchemaOf(schema: JsonObject | undefined): SchemaNode {
  if (schema === undefined) return UNKNOWN;
  const type = stringAt(schema, 'type');
  if (type === 'array') {
    const listType = stringAt(schema, 'x-kubernetes-list-type');
    if (listType === 'map') {
      const keys = arrayAt(schema, 'x-kubernetes-list-map-keys').filter(
        (k): k is string => typeof k === 'string',
      );
      return {
        type: 'list',
        keys,
        keyDefaults: {},
        mergeKey: keys[0] ?? 'name',
        item: mergeSchemaOf(objectAt(schema, 'items')),
      };
    }
    if (listType === 'set') return { type: 'set' };
    return { type: 'atomic' };
  }
  if (type === 'object' || propertiesOf(schema) !== undefined) {
    const atomic = stringAt(schema, 'x-kubernetes-map-type') === 'atomic';
    const properties = propertiesOf(schema);
    const additional = schema.additionalProperties;
    if (properties === undefined && isJsonObject(additional))
      return { type: 'map', values: mergeSchemaOf(additional), ...(atomic ? { atomic } : {}) };
    if (properties === undefined) return atomic ? { type: 'atomic' } : UNKNOWN;
    const fields: Record<string, SchemaNode> = {};
    for (const [key, child] of Object.entries(properties))
      if (isJsonObject(child)) fields[key] = mergeSchemaOf(child);
    return { type: 'struct', fields, ...(atomic ? { atomic } : {}) };
  }
  return UNKNOWN;
}

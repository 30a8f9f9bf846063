import { cloneJson, isJsonObject, jsonEqual, type JsonObject, type JsonValue } from './json-value.js';
import { fieldSchema, itemSchema, type SchemaNode } from './schema.js';

/**
 * A set of field paths in the notation of managedFields' FieldsV1: each path is a list of elements
 * `f:<field>`, `k:<json of the list keys>` (an item of an associative list) and `v:<json value>`
 * (an item of a set). Paths are kept joined by a separator that no element contains.
 */
export type FieldSet = Set<string>;

const SEP = '\u0001';

/** A path as its elements. */
export function pathElements(path: string): string[] {
  return path === '' ? [] : path.split(SEP);
}

function join(prefix: string, element: string): string {
  return prefix === '' ? element : `${prefix}${SEP}${element}`;
}

/** The key element of an associative list item: `k:{"name":"web"}`, missing keys defaulted. */
function keyElement(item: JsonObject, schema: SchemaNode & { type: 'list' }): string {
  const key: JsonObject = {};
  for (const k of [...schema.keys].sort()) {
    const v = item[k] ?? schema.keyDefaults[k];
    if (v !== undefined) key[k] = v;
  }
  return `k:${JSON.stringify(key)}`;
}

/** Every field path set in `value` (leaves, list items, atomic values), as server-side apply owns them. */
export function toFieldSet(value: JsonValue, schema: SchemaNode): FieldSet {
  const out: FieldSet = new Set();
  walk(value, schema, '', out);
  return out;
}

function walk(value: JsonValue, schema: SchemaNode, path: string, out: FieldSet): void {
  const add = (): void => {
    if (path !== '') out.add(path);
  };
  if (isJsonObject(value)) {
    const atomic =
      ((schema.type === 'struct' || schema.type === 'map') && schema.atomic === true) ||
      schema.type === 'atomic' ||
      schema.type === 'list' ||
      schema.type === 'set';
    const keys = Object.keys(value);
    if (atomic || keys.length === 0) {
      add();
      return;
    }
    for (const k of keys) walk(value[k] ?? null, fieldSchema(schema, k), join(path, `f:${k}`), out);
    return;
  }
  if (Array.isArray(value)) {
    if (schema.type === 'list' && value.every(isJsonObject)) {
      for (const item of value) {
        const itemPath = join(path, keyElement(item, schema));
        out.add(itemPath);
        const item_ = itemSchema(schema);
        for (const k of Object.keys(item))
          walk(item[k] ?? null, fieldSchema(item_, k), join(itemPath, `f:${k}`), out);
      }
      return;
    }
    if (schema.type === 'set') {
      for (const v of value) out.add(join(path, `v:${JSON.stringify(v)}`));
      return;
    }
  }
  add();
}

/** The value at a path, or undefined. */
export function valueAt(root: JsonValue, path: string, schema: SchemaNode): JsonValue | undefined {
  let current: JsonValue | undefined = root;
  let node = schema;
  for (const element of pathElements(path)) {
    if (current === undefined) return undefined;
    if (element.startsWith('f:')) {
      if (!isJsonObject(current)) return undefined;
      const field = element.slice(2);
      current = current[field];
      node = fieldSchema(node, field);
    } else if (element.startsWith('k:')) {
      if (!Array.isArray(current) || node.type !== 'list') return undefined;
      const listNode = node;
      current = current.find((item) => isJsonObject(item) && keyElement(item, listNode) === element);
      node = itemSchema(node);
    } else {
      if (!Array.isArray(current)) return undefined;
      const wanted = JSON.parse(element.slice(2)) as JsonValue;
      current = current.find((item) => jsonEqual(item, wanted));
    }
  }
  return current;
}

/** Whether a path names a list item (its presence matters, not its value). */
function isItemPath(path: string): boolean {
  const elements = pathElements(path);
  const last = elements[elements.length - 1] ?? '';
  return last.startsWith('k:') || last.startsWith('v:');
}

/** What changed between two objects, as field paths. */
export interface FieldDiff {
  readonly added: FieldSet;
  readonly removed: FieldSet;
  readonly modified: FieldSet;
}

/** The fields added, removed and changed from `before` to `after`. */
export function diffFields(before: JsonValue, after: JsonValue, schema: SchemaNode): FieldDiff {
  const old = toFieldSet(before, schema);
  const now = toFieldSet(after, schema);
  const added: FieldSet = new Set([...now].filter((p) => !old.has(p)));
  const removed: FieldSet = new Set([...old].filter((p) => !now.has(p)));
  const modified: FieldSet = new Set(
    [...now].filter(
      (p) =>
        old.has(p) && !isItemPath(p) && !jsonEqual(valueAt(before, p, schema), valueAt(after, p, schema)),
    ),
  );
  return { added, removed, modified };
}

/** Removes the fields at `paths` from `root` (in place), pruning containers the removal left empty. */
export function removeFields(root: JsonObject, paths: Iterable<string>, schema: SchemaNode): void {
  // Removing an item or a field removes everything under it: drop paths whose ancestor goes too
  // (removing children first would lose the key fields that find their list item).
  const all = new Set(paths);
  const roots = [...all].filter((path) => {
    const elements = pathElements(path);
    for (let i = 1; i < elements.length; i++) if (all.has(elements.slice(0, i).join(SEP))) return false;
    return true;
  });
  const sorted = roots.sort((a, b) => pathElements(b).length - pathElements(a).length);
  for (const path of sorted) {
    const elements = pathElements(path);
    // containers[i] holds elements[i]; nodes[i] is the schema of containers[i].
    const containers: JsonValue[] = [];
    const nodes: SchemaNode[] = [];
    let current: JsonValue | undefined = root;
    let node = schema;
    for (const element of elements) {
      if (current === undefined) break;
      containers.push(current);
      nodes.push(node);
      current = childOf(current, element, node);
      node = element.startsWith('f:') ? fieldSchema(node, element.slice(2)) : itemSchema(node);
    }
    if (current === undefined || containers.length !== elements.length) continue;
    for (let i = elements.length - 1; i >= 0; i--) {
      const container = containers[i];
      const element = elements[i];
      const containerNode = nodes[i];
      if (container === undefined || element === undefined || containerNode === undefined) break;
      removeElement(container, element, containerNode);
      // Stop unless the removal emptied a container below the top-level fields.
      if (i <= 1 || !isEmptyContainer(container)) break;
    }
  }
}

function childOf(container: JsonValue, element: string, node: SchemaNode): JsonValue | undefined {
  if (element.startsWith('f:')) return isJsonObject(container) ? container[element.slice(2)] : undefined;
  if (!Array.isArray(container)) return undefined;
  if (element.startsWith('k:'))
    return node.type === 'list'
      ? container.find((item) => isJsonObject(item) && keyElement(item, node) === element)
      : undefined;
  const wanted = JSON.parse(element.slice(2)) as JsonValue;
  return container.find((item) => jsonEqual(item, wanted));
}

function removeElement(container: JsonValue, element: string, node: SchemaNode): void {
  if (element.startsWith('f:')) {
    if (isJsonObject(container)) Reflect.deleteProperty(container, element.slice(2));
    return;
  }
  if (!Array.isArray(container)) return;
  const target = childOf(container, element, node);
  const index = container.findIndex((item) => item === target);
  if (index >= 0) container.splice(index, 1);
}

function isEmptyContainer(value: JsonValue): boolean {
  return Array.isArray(value) ? value.length === 0 : isJsonObject(value) && Object.keys(value).length === 0;
}

/**
 * Merges an applied configuration into the live object the way server-side apply does: objects
 * merge field by field, associative lists item by item (matched on their keys), sets by value;
 * atomic fields and scalars take the applied value.
 */
export function mergeApplied(live: JsonValue | undefined, applied: JsonValue, schema: SchemaNode): JsonValue {
  if (isJsonObject(applied)) {
    const atomic = (schema.type === 'struct' || schema.type === 'map') && schema.atomic === true;
    if (atomic || schema.type === 'atomic') return cloneJson(applied);
    const result: JsonObject = isJsonObject(live) ? cloneJson(live) : {};
    for (const [k, v] of Object.entries(applied))
      result[k] = mergeApplied(result[k], v, fieldSchema(schema, k));
    return result;
  }
  if (Array.isArray(applied)) {
    if (schema.type === 'list' && applied.every(isJsonObject)) {
      const result: JsonValue[] = Array.isArray(live) ? cloneJson(live) : [];
      for (const item of applied) {
        const element = keyElement(item, schema);
        const index = result.findIndex(
          (existing) => isJsonObject(existing) && keyElement(existing, schema) === element,
        );
        if (index >= 0) result[index] = mergeApplied(result[index], item, itemSchema(schema));
        else result.push(cloneJson(item));
      }
      return result;
    }
    if (schema.type === 'set') {
      const result: JsonValue[] = Array.isArray(live) ? cloneJson(live) : [];
      for (const v of applied) if (!result.some((existing) => jsonEqual(existing, v))) result.push(v);
      return result;
    }
  }
  return cloneJson(applied);
}

/** FieldsV1 JSON (`{"f:spec":{"f:replicas":{}}}`, `"."` marking a member that also has children). */
export function encodeFieldsV1(set: FieldSet): JsonObject {
  const root: JsonObject = {};
  const paths = [...set].sort();
  for (const path of paths) {
    let node = root;
    for (const element of pathElements(path)) {
      const next = node[element];
      if (isJsonObject(next)) node = next;
      else {
        const created: JsonObject = {};
        node[element] = created;
        node = created;
      }
    }
  }
  // Mark members that have children with ".".
  for (const path of paths) {
    let node: JsonObject | undefined = root;
    for (const element of pathElements(path)) {
      const child: JsonValue | undefined = node?.[element];
      node = isJsonObject(child) ? child : undefined;
    }
    if (node !== undefined && Object.keys(node).some((k) => k !== '.')) node['.'] = {};
  }
  return root;
}

/** The paths of a FieldsV1 JSON object. */
export function decodeFieldsV1(fields: JsonValue | undefined): FieldSet {
  const out: FieldSet = new Set();
  const visit = (node: JsonObject, path: string): void => {
    for (const [element, child] of Object.entries(node)) {
      if (element === '.') {
        if (path !== '') out.add(path);
        continue;
      }
      const childPath = join(path, element);
      if (!isJsonObject(child) || Object.keys(child).length === 0) out.add(childPath);
      else visit(child, childPath);
    }
  };
  if (isJsonObject(fields)) visit(fields, '');
  return out;
}

/**
 * A path as the real server prints it in conflict messages: `.spec.replicas`,
 * `.spec.template.spec.containers[name="web"].image`.
 */
export function formatFieldPath(path: string): string {
  return pathElements(path)
    .map((element) => {
      if (element.startsWith('f:')) return `.${element.slice(2)}`;
      if (element.startsWith('k:')) {
        const key = JSON.parse(element.slice(2)) as JsonObject;
        return `[${Object.entries(key)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      return `[=${element.slice(2)}]`;
    })
    .join('');
}

import { objectAt, objectsAt, stringAt, type JsonObject } from './json-value.js';

/** The controlling owner reference of an object (`controller: true`), if any. */
export function controllerOf(object: JsonObject): { kind: string; name: string; uid: string } | undefined {
  const ref = objectsAt(objectAt(object, 'metadata'), 'ownerReferences').find((r) => r.controller === true);
  if (ref === undefined) return undefined;
  return {
    kind: stringAt(ref, 'kind') ?? '',
    name: stringAt(ref, 'name') ?? '',
    uid: stringAt(ref, 'uid') ?? '',
  };
}

/** An owner reference that makes `owner` the controller of what carries it. */
export function controllerReference(owner: JsonObject): JsonObject {
  const metadata = objectAt(owner, 'metadata');
  return {
    apiVersion: stringAt(owner, 'apiVersion') ?? '',
    kind: stringAt(owner, 'kind') ?? '',
    name: stringAt(metadata, 'name') ?? '',
    uid: stringAt(metadata, 'uid') ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

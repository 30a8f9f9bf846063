import { QueueController } from './controller.js';
import {
  cloneJson,
  jsonEqual,
  arrayAt,
  objectAt,
  objectsAt,
  stringAt,
  type JsonObject,
} from './json-value.js';
import { nameOf, type StoreChange } from './object-store.js';
import { customResourceTypes } from './resource-catalog.js';
import { builtInType, type ResourceType } from './resource-table.js';

const CRD_KIND = 'CustomResourceDefinition';

/**
 * The apiextensions controller: a CustomResourceDefinition written through the API is served at once
 * (discovery, OpenAPI and routing read the catalog, so kubectl finds the kind without a restart),
 * then marked NamesAccepted and Established; a deleted one stops being served and its objects go.
 */
export class CustomResourceDefinitionController extends QueueController {
  private readonly crdType = builtInType(CRD_KIND);
  /** Types of deleted CRDs whose objects are still to be removed. */
  private readonly retired = new Map<string, readonly ResourceType[]>();

  protected onChange(change: StoreChange): void {
    if (change.resourceType !== this.crdType) return;
    const name = nameOf(change.object);
    if (change.type === 'DELETED') {
      this.retired.set(name, this.api.catalog.customTypesOf(name));
      this.api.catalog.setCustom(name, []);
    } else {
      // Served synchronously: a `kubectl get` right after the apply already finds the kind.
      this.retired.delete(name);
      this.api.catalog.setCustom(name, customResourceTypes(change.object));
    }
    this.queue.add(name);
  }

  protected sync(name: string): void {
    const retired = this.retired.get(name);
    if (retired !== undefined) {
      this.retired.delete(name);
      const [first] = retired;
      if (first !== undefined) this.api.store.removeAll(first);
      return;
    }
    const crd = this.api.store.peek(this.crdType, '', name);
    if (crd === undefined) return;
    const status = establishedStatus(crd, this.api.timestamp());
    if (jsonEqual(status, crd.status)) return;
    const next = cloneJson(crd);
    next.status = status;
    this.api.writeInternal(this.crdType, crd, next, 'status');
  }
}

/** The status the real controllers give a CRD whose names are free: accepted, established. */
function establishedStatus(crd: JsonObject, now: string): JsonObject {
  const spec = objectAt(crd, 'spec');
  const names = cloneJson(objectAt(spec, 'names') ?? {});
  const previous = objectAt(crd, 'status');
  const keep = (type: string, reason: string, message: string): JsonObject => {
    const old = objectsAt(previous, 'conditions').find((c) => c.type === type && c.status === 'True');
    return old ?? { type, status: 'True', lastTransitionTime: now, reason, message };
  };
  const storage = objectsAt(spec, 'versions').find((v) => v.storage === true);
  const stored = arrayAt(previous, 'storedVersions').filter((v): v is string => typeof v === 'string');
  const storageName = stringAt(storage, 'name');
  if (storageName !== undefined && !stored.includes(storageName)) stored.push(storageName);
  return {
    acceptedNames: names,
    conditions: [
      keep('NamesAccepted', 'NoConflicts', 'no conflicts found'),
      keep('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
    ],
    storedVersions: stored,
  };
}

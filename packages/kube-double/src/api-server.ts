import type { Clock } from '@dreamscape/core';
import jsonPatch, { type Operation } from 'fast-json-patch';
import { load as loadYaml } from 'js-yaml';
import { admitCreate, admitUpdate } from './admission.js';
import {
  ApiError,
  type StatusCause,
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  notFound,
  successStatus,
  unsupportedMediaType,
} from './api-status.js';
import { applyDefaults } from './defaults.js';
import { matchesFields, parseFieldSelector } from './field-selector.js';
import {
  cloneJson,
  isJsonObject,
  jsonEqual,
  objectAt,
  textOf,
  objectsAt,
  stringAt,
  stringMapAt,
  type JsonObject,
  type JsonValue,
} from './json-value.js';
import {
  formatLabelSelector,
  fromLabelSelectorObject,
  matchesLabels,
  parseLabelSelector,
} from './label-selector.js';
import { toFieldSet, valueAt } from './field-set.js';
import {
  applyConfiguration,
  readManagedFields,
  recordUpdate,
  trackedView,
  writeManagedFields,
  type ManagedEntry,
} from './managed-fields.js';
import { applyMergePatch } from './merge-patch.js';
import { nameOf, namespaceOf, uidOf, type ObjectStore } from './object-store.js';
import { ResourceCatalog } from './resource-catalog.js';
import { apiVersionOf, resourceTypeOfKind, type ResourceType } from './resource-table.js';
import { schemaOfKind, type SchemaNode } from './schema.js';
import type { SeededRandom } from './seeded-random.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';
import {
  applySchemaDefaults,
  mergeSchemaOf,
  pruneUndeclared,
  undeclaredFields,
  validateAgainstSchema,
} from './structural-schema.js';
import { unknownFields, validateObject } from './validation.js';

/** How the server treats fields it does not know. */
export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** The query parameters every write takes. */
export interface WriteOptions {
  readonly dryRun: boolean;
  readonly fieldManager: string;
  readonly fieldValidation: FieldValidation;
  /** Server-side apply only: take fields from other managers. */
  readonly force?: boolean;
}

/** The body and status code of a successful write. */
export interface WriteResult {
  readonly code: number;
  readonly object: JsonObject;
  /** Texts for `Warning:` headers. */
  readonly warnings: readonly string[];
  /** Whether a new version was stored (false for a dry run, and for a write that changed nothing). */
  readonly changed: boolean;
}

/** A DELETE's options (the body kubectl sends, or the query). */
export interface DeleteOptions {
  readonly propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  readonly dryRun: boolean;
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
}

/** Selectors of a LIST or WATCH. */
export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/** The content types PATCH accepts. */
export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** Where a write happens: the object itself, or one of its subresources. */
export type WriteTarget = undefined | 'status' | 'scale';

const SERVICE_CIDR_BASE = [10, 96, 0, 0] as const;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The API server's semantics, independent of HTTP: the verbs over the store with defaulting,
 * validation, resourceVersion preconditions, generation, managedFields, dry runs and deletion with
 * propagation. Controllers write through it too (as `kube-controller-manager`), so that every
 * change looks the same to watches and to the invariant monitor.
 */
export class ApiServer {
  private nextServiceIp = 1;
  /** Dependents removal in flight, so background deletion can be awaited in tests. */
  private readonly pendingDeletions = new Set<Promise<void>>();

  constructor(
    readonly store: ObjectStore,
    private readonly clock: Clock,
    private readonly random: SeededRandom,
    /** The types served: built-in ones and those of established CustomResourceDefinitions. */
    readonly catalog: ResourceCatalog = new ResourceCatalog(),
  ) {}

  /** The merge semantics of a type's fields (its CRD's structural schema for a custom resource). */
  schemaOf(type: ResourceType): SchemaNode {
    if (type.custom === undefined) return schemaOfKind(type.kind);
    let node = CUSTOM_SCHEMAS.get(type.custom.schema);
    if (node === undefined) {
      node = mergeSchemaOf(type.custom.schema);
      CUSTOM_SCHEMAS.set(type.custom.schema, node);
    }
    return node;
  }

  /** Defaults, as the real server fills them in on every write. Mutates `object`. */
  private defaults(type: ResourceType, object: JsonObject): void {
    if (type.custom === undefined) {
      applyDefaults(type.kind, object);
      return;
    }
    applySchemaDefaults(type.custom.schema, object);
  }

  /** The 422 causes for an object (`old` on update). */
  private validate(type: ResourceType, object: JsonObject, old: JsonObject | undefined): StatusCause[] {
    if (type.custom === undefined) return validateObject(type.kind, object, old);
    // Names and labels as for every object, then the CRD's schema.
    return [...validateObject('', object, old), ...validateAgainstSchema(type.custom.schema, object)];
  }

  /** The fields a generation counts: everything but metadata and status for custom resources. */
  private generationFields(type: ResourceType, object: JsonObject): JsonValue | undefined {
    if (type.custom === undefined) return object.spec;
    const { metadata: _metadata, status: _status, ...rest } = object;
    return rest;
  }

  /** RFC 3339 (seconds) of the current real time, as the server stamps objects. */
  timestamp(): string {
    return new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  /** GET one object. */
  get(type: ResourceType, namespace: string, name: string): JsonObject {
    const found = this.store.get(type, namespace, name);
    if (found === undefined) throw notFound(type, name);
    return found;
  }

  /** LIST with selectors; the list's resourceVersion is the store's current one. */
  list(
    type: ResourceType,
    namespace: string | undefined,
    options: ListOptions,
  ): { items: JsonObject[]; resourceVersion: string } {
    const matches = this.matcher(type, options);
    const items = this.store
      .view(type, namespace)
      .filter(matches)
      .map((object) => cloneJson(object));
    return { items, resourceVersion: String(this.store.currentResourceVersion()) };
  }

  /** A predicate for the label and field selectors of a LIST or WATCH. */
  matcher(type: ResourceType, options: ListOptions): (object: JsonObject) => boolean {
    const labels = options.labelSelector === undefined ? [] : parseLabelSelector(options.labelSelector);
    const fields =
      options.fieldSelector === undefined ? [] : parseFieldSelector(options.fieldSelector, type.kind);
    return (object) =>
      matchesLabels(labels, stringMapAt(objectAt(object, 'metadata'), 'labels')) &&
      matchesFields(fields, object);
  }

  /** POST: create an object. */
  create(type: ResourceType, namespace: string, body: JsonValue, options: WriteOptions): WriteResult {
    const object = this.decodeBody(type, namespace, body, undefined);
    const warnings = this.checkFields(type, object, options.fieldValidation, 'create');
    return { ...this.commitCreate(type, namespace, object, options.fieldManager, options.dryRun), warnings };
  }

  /** PUT: replace an object (or its status, or its scale). */
  update(
    type: ResourceType,
    namespace: string,
    name: string,
    body: JsonValue,
    options: WriteOptions,
    target: WriteTarget,
  ): WriteResult {
    const before = this.get(type, namespace, name);
    if (target === 'scale') {
      const scale = this.decodeScale(body, name);
      return this.commitScale(type, before, scale, options);
    }
    const object = this.decodeBody(type, namespace, body, name);
    const warnings =
      target === undefined ? this.checkFields(type, object, options.fieldValidation, 'update') : [];
    const result = this.commitUpdate(type, before, object, {
      manager: options.fieldManager,
      dryRun: options.dryRun,
      target,
    });
    return { ...result, warnings };
  }

  /** PATCH in any of the four content types. */
  patch(
    type: ResourceType,
    namespace: string,
    name: string,
    contentType: string,
    raw: string,
    options: WriteOptions,
    target: WriteTarget,
  ): WriteResult {
    const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
    if (mediaType === PATCH_TYPES.apply) return this.apply(type, namespace, name, raw, options, target);
    if (
      mediaType !== PATCH_TYPES.json &&
      mediaType !== PATCH_TYPES.merge &&
      mediaType !== PATCH_TYPES.strategic
    )
      throw unsupportedMediaType(contentType);
    // Custom resources have no patch strategies to merge by, so the real server refuses these.
    if (mediaType === PATCH_TYPES.strategic && type.custom !== undefined)
      throw unsupportedMediaType(contentType, { strategic: false });
    const before = this.get(type, namespace, name);
    const current = target === 'scale' ? this.scaleOf(before) : before;
    let patchBody: JsonValue;
    try {
      patchBody = JSON.parse(raw) as JsonValue;
    } catch (error) {
      throw badRequest(`error decoding patch: ${(error as Error).message}`);
    }
    let patched: JsonValue;
    if (mediaType === PATCH_TYPES.json) patched = applyJsonPatch(current, patchBody);
    else if (!isJsonObject(patchBody)) throw badRequest('a merge patch must be a JSON object');
    else if (mediaType === PATCH_TYPES.merge) patched = applyMergePatch(current, patchBody);
    else
      patched = applyStrategicMergePatch(
        current,
        patchBody,
        target === 'scale' ? schemaOfKind('Scale') : this.schemaOf(type),
      );
    if (!isJsonObject(patched)) throw badRequest('the patch did not produce an object');
    if (target === 'scale') return this.commitScale(type, before, patched, options);
    const warnings =
      target === undefined ? this.checkFields(type, patched, options.fieldValidation, 'patch') : [];
    const result = this.commitUpdate(type, before, patched, {
      manager: options.fieldManager,
      dryRun: options.dryRun,
      target,
    });
    return { ...result, warnings };
  }

  private apply(
    type: ResourceType,
    namespace: string,
    name: string,
    raw: string,
    options: WriteOptions,
    target: WriteTarget,
  ): WriteResult {
    if (options.fieldManager === '')
      throw badRequest('PATCH request with apply patch type requires fieldManager');
    if (target === 'scale')
      throw badRequest(
        'server-side apply to the scale subresource is not supported by kube-double; use a merge patch',
      );
    let parsed: unknown;
    try {
      parsed = loadYaml(raw);
    } catch (error) {
      throw badRequest(`error decoding YAML: ${(error as Error).message}`);
    }
    if (!isJsonObject(parsed)) throw badRequest('an apply patch must be an object');
    const applied = withoutNulls(parsed);
    const expected = apiVersionOf(type);
    if (applied.apiVersion !== expected || applied.kind !== type.kind)
      throw badRequest(
        `the API version in the data (${textOf(applied.apiVersion)}) does not match the expected API version (${expected}), or the kind ${textOf(applied.kind)} is not ${type.kind}`,
      );
    const metadata = objectAt(applied, 'metadata') ?? {};
    if (stringAt(metadata, 'name') !== undefined && metadata.name !== name)
      throw badRequest(
        `the name of the object (${textOf(metadata.name)}) does not match the name on the URL (${name})`,
      );
    const warnings = this.checkFields(type, applied, options.fieldValidation, 'apply');
    const before = this.store.get(type, namespace, name);
    const precondition = stringAt(metadata, 'resourceVersion');
    if (
      before !== undefined &&
      precondition !== undefined &&
      precondition !== stringAt(objectAt(before, 'metadata'), 'resourceVersion')
    )
      throw conflict(type, name);
    const allowedConflicts =
      options.fieldManager === 'kubectl' && before !== undefined && target === undefined
        ? clientSideAppliedFields(before, type)
        : undefined;
    const outcome = applyConfiguration(before, applied, this.schemaOf(type), {
      manager: options.fieldManager,
      apiVersion: expected,
      time: this.timestamp(),
      force: options.force === true,
      ...(target === 'status' ? { subresource: 'status' } : {}),
      ...(allowedConflicts === undefined ? {} : { allowedConflicts }),
    });
    if (before === undefined) {
      if (target !== undefined) throw notFound(type, name);
      const object = outcome.object;
      object.apiVersion = expected;
      object.kind = type.kind;
      const meta = objectAt(object, 'metadata') ?? {};
      meta.name = name;
      if (type.namespaced) meta.namespace = namespace;
      object.metadata = meta;
      return {
        ...this.commitCreate(type, namespace, object, options.fieldManager, options.dryRun, outcome.entries),
        warnings,
      };
    }
    const result = this.commitUpdate(type, before, outcome.object, {
      manager: options.fieldManager,
      dryRun: options.dryRun,
      target,
      entries: outcome.entries,
    });
    return { ...result, warnings };
  }

  /** The `autoscaling/v1 Scale` view of a Deployment or ReplicaSet. */
  scaleOf(object: JsonObject): JsonObject {
    const metadata = objectAt(object, 'metadata') ?? {};
    const spec = objectAt(object, 'spec');
    const status = objectAt(object, 'status');
    const selector = fromLabelSelectorObject(objectAt(spec, 'selector')) ?? [];
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: metadata.name ?? '',
        namespace: metadata.namespace ?? '',
        uid: metadata.uid ?? '',
        resourceVersion: metadata.resourceVersion ?? '',
        creationTimestamp: metadata.creationTimestamp ?? null,
      },
      spec: { replicas: typeof spec?.replicas === 'number' ? spec.replicas : 0 },
      status: {
        replicas: typeof status?.replicas === 'number' ? status.replicas : 0,
        selector: formatLabelSelector(selector),
      },
    };
  }

  private decodeScale(body: JsonValue, name: string): JsonObject {
    if (!isJsonObject(body)) throw badRequest('the body must be an autoscaling/v1 Scale');
    if (stringAt(objectAt(body, 'metadata'), 'name') !== name)
      throw badRequest(
        `the name of the object (${textOf(objectAt(body, 'metadata')?.name)}) does not match the name on the URL (${name})`,
      );
    return body;
  }

  private commitScale(
    type: ResourceType,
    before: JsonObject,
    scale: JsonObject,
    options: WriteOptions,
  ): WriteResult {
    const replicas = objectAt(scale, 'spec')?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
      throw invalid({ ...type, kind: 'Scale', group: 'autoscaling' }, nameOf(before), [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
          field: 'spec.replicas',
        },
      ]);
    const precondition = stringAt(objectAt(scale, 'metadata'), 'resourceVersion');
    if (
      precondition !== undefined &&
      precondition !== '' &&
      precondition !== stringAt(objectAt(before, 'metadata'), 'resourceVersion')
    )
      throw conflict(type, nameOf(before));
    const after = cloneJson(before);
    const spec = objectAt(after, 'spec') ?? {};
    spec.replicas = replicas;
    after.spec = spec;
    const result = this.commitUpdate(type, before, after, {
      manager: options.fieldManager,
      dryRun: options.dryRun,
      target: 'scale',
    });
    return { ...result, object: this.scaleOf(result.object) };
  }

  private decodeBody(
    type: ResourceType,
    namespace: string,
    body: JsonValue,
    urlName: string | undefined,
  ): JsonObject {
    if (!isJsonObject(body)) throw badRequest(`the body of the request must be a ${type.kind} object`);
    const object = cloneJson(body);
    const expected = apiVersionOf(type);
    if (object.apiVersion !== undefined && object.apiVersion !== expected)
      throw badRequest(
        `the API version in the data (${textOf(object.apiVersion)}) does not match the expected API version (${expected})`,
      );
    if (object.kind !== undefined && object.kind !== type.kind)
      throw badRequest(
        `the kind in the data (${textOf(object.kind)}) does not match the expected kind (${type.kind})`,
      );
    object.apiVersion = expected;
    object.kind = type.kind;
    const metadata = objectAt(object, 'metadata') ?? {};
    object.metadata = metadata;
    const bodyNamespace = stringAt(metadata, 'namespace');
    if (type.namespaced) {
      if (bodyNamespace !== undefined && bodyNamespace !== '' && bodyNamespace !== namespace)
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      metadata.namespace = namespace;
    } else Reflect.deleteProperty(metadata, 'namespace');
    if (urlName !== undefined) {
      const bodyName = stringAt(metadata, 'name');
      if (bodyName !== undefined && bodyName !== urlName)
        throw badRequest(
          `the name of the object (${bodyName}) does not match the name on the URL (${urlName})`,
        );
      metadata.name = urlName;
    }
    return object;
  }

  private checkFields(
    type: ResourceType,
    object: JsonObject,
    validation: FieldValidation,
    verb: string,
  ): string[] {
    if (validation === 'Ignore') return [];
    const unknown =
      type.custom === undefined
        ? unknownFields(type.kind, object)
        : [
            ...unknownFields('', object).filter((f) => f.startsWith('metadata.')),
            ...undeclaredFields(type.custom.schema, object),
          ];
    if (unknown.length === 0) return [];
    if (validation === 'Warn') return unknown.map((f) => `unknown field "${f}"`);
    const detail = unknown.map((f) => `unknown field "${f}"`).join(', ');
    if (verb === 'apply')
      throw badRequest(
        `failed to create typed patch object (${namespaceOf(object)}/${nameOf(object)}; ${apiVersionOf(type)}, Kind=${type.kind}): ${unknown.map((f) => `.${f}: field not declared in schema`).join(', ')}`,
      );
    throw badRequest(
      `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: strict decoding error: ${detail}`,
    );
  }

  private ensureNamespace(type: ResourceType, namespace: string): void {
    if (!type.namespaced) return;
    const ns = resourceTypeOfKind('Namespace');
    if (ns === undefined) return;
    const found = this.store.peek(ns, '', namespace);
    if (found === undefined) throw notFound(ns, namespace);
    if (objectAt(found, 'metadata')?.deletionTimestamp !== undefined)
      throw new ApiError({
        code: 403,
        reason: 'Forbidden',
        message: `${type.plural} "${namespace}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        details: { name: namespace, kind: type.plural },
      });
  }

  private commitCreate(
    type: ResourceType,
    namespace: string,
    input: JsonObject,
    manager: string,
    dryRun: boolean,
    applyEntries?: ManagedEntry[],
  ): WriteResult {
    this.ensureNamespace(type, namespace);
    const object = cloneJson(input);
    const metadata = objectAt(object, 'metadata') ?? {};
    object.metadata = metadata;
    let name = stringAt(metadata, 'name') ?? '';
    const generateName = stringAt(metadata, 'generateName');
    if (name === '' && generateName !== undefined && generateName !== '') {
      name = `${generateName}${this.random.nameSuffix()}`;
      metadata.name = name;
    }
    for (const k of [
      'resourceVersion',
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'generation',
      'managedFields',
      'selfLink',
    ])
      Reflect.deleteProperty(metadata, k);
    // Clients cannot set the status of a type that has a status subresource.
    if (type.subresources.includes('status') && type.kind !== 'Pod') Reflect.deleteProperty(object, 'status');
    if (type.custom !== undefined) {
      const pruned = pruneUndeclared(type.custom.schema, object);
      for (const k of Object.keys(object)) if (!Object.hasOwn(pruned, k)) Reflect.deleteProperty(object, k);
      Object.assign(object, pruned);
    }
    // A Job's generated selector carries its uid, so the uid comes before admission for Jobs.
    const early = type.kind === 'Job' ? this.random.uuid() : undefined;
    admitCreate(this.store, type, object, early ?? '');
    this.defaults(type, object);
    const causes = this.validate(type, object, undefined);
    if (causes.length > 0) throw invalid(type, name, causes);
    if (this.store.peek(type, namespace, name) !== undefined) throw alreadyExists(type, name);
    metadata.uid = early ?? this.random.uuid();
    metadata.creationTimestamp = this.timestamp();
    if (type.tracksGeneration) metadata.generation = 1;
    if (type.kind === 'Service') this.allocateClusterIp(object);
    const entries =
      applyEntries ??
      recordUpdate([], undefined, object, this.schemaOf(type), {
        manager,
        apiVersion: apiVersionOf(type),
        time: this.timestamp(),
      });
    writeManagedFields(object, entries);
    const ordered = orderTopLevel(object);
    if (dryRun) return { code: 201, object: ordered, warnings: [], changed: false };
    return { code: 201, object: this.store.put(type, ordered), warnings: [], changed: true };
  }

  private allocateClusterIp(service: JsonObject): void {
    const spec = objectAt(service, 'spec') ?? {};
    if (spec.type === 'ExternalName') return;
    if (spec.clusterIP === 'None') {
      // Headless: no virtual IP; DNS answers with the pods (a StatefulSet's stable names).
      spec.clusterIPs = ['None'];
      service.spec = spec;
      return;
    }
    if (typeof spec.clusterIP !== 'string' || spec.clusterIP === '') {
      const n = this.nextServiceIp++;
      spec.clusterIP = `${SERVICE_CIDR_BASE[0]}.${SERVICE_CIDR_BASE[1]}.${Math.floor(n / 250)}.${(n % 250) + 1}`;
    }
    spec.clusterIPs = [spec.clusterIP];
    service.spec = spec;
  }

  /**
   * The shared update path (PUT, every PATCH, controller writes): keeps what clients may not change,
   * defaults, validates, bumps generation on spec changes, records field ownership, and stores the
   * result under a new resourceVersion unless nothing changed.
   */
  commitUpdate(
    type: ResourceType,
    before: JsonObject,
    input: JsonObject,
    options: {
      manager: string;
      dryRun: boolean;
      target: WriteTarget;
      entries?: ManagedEntry[];
      skipValidation?: boolean;
    },
  ): WriteResult {
    const name = nameOf(before);
    const beforeMeta = objectAt(before, 'metadata') ?? {};
    const precondition = stringAt(objectAt(input, 'metadata'), 'resourceVersion');
    if (
      precondition !== undefined &&
      precondition !== '' &&
      precondition !== stringAt(beforeMeta, 'resourceVersion')
    )
      throw conflict(type, name);

    let after: JsonObject;
    if (options.target === 'status') {
      after = cloneJson(before);
      if (input.status !== undefined) after.status = cloneJson(input.status);
      else Reflect.deleteProperty(after, 'status');
    } else {
      after = cloneJson(input);
      if (type.subresources.includes('status')) {
        if (before.status !== undefined) after.status = cloneJson(before.status);
        else Reflect.deleteProperty(after, 'status');
      }
    }
    after.apiVersion = apiVersionOf(type);
    after.kind = type.kind;
    const metadata = objectAt(after, 'metadata') ?? {};
    after.metadata = metadata;
    for (const k of [
      'name',
      'namespace',
      'uid',
      'creationTimestamp',
      'generation',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'resourceVersion',
    ]) {
      if (beforeMeta[k] !== undefined) metadata[k] = beforeMeta[k];
      else Reflect.deleteProperty(metadata, k);
    }
    Reflect.deleteProperty(metadata, 'managedFields');
    if (type.custom !== undefined && options.target === undefined)
      after = pruneTopLevel(after, pruneUndeclared(type.custom.schema, after));
    this.defaults(type, after);
    if (options.target === undefined && options.skipValidation !== true) {
      const causes = this.validate(type, after, before);
      if (causes.length > 0) throw invalid(type, name, causes);
      admitUpdate(this.store, type, before, after);
    }
    if (
      type.tracksGeneration &&
      !jsonEqual(this.generationFields(type, before), this.generationFields(type, after))
    ) {
      const generation = typeof beforeMeta.generation === 'number' ? beforeMeta.generation : 0;
      metadata.generation = generation + 1;
    }
    // A write that changes managedFields itself (kubectl's client-side to server-side apply
    // migration patches them) replaces them; `[{}]` clears them; otherwise they are kept.
    const givenManaged = objectAt(input, 'metadata')?.managedFields;
    let baseEntries = readManagedFields(before);
    if (Array.isArray(givenManaged) && !jsonEqual(givenManaged, beforeMeta.managedFields))
      baseEntries =
        givenManaged.length === 1 && jsonEqual(givenManaged[0], {}) ? [] : readManagedFields(input);
    const entries =
      options.entries ??
      recordUpdate(baseEntries, before, after, this.schemaOf(type), {
        manager: options.manager,
        apiVersion: apiVersionOf(type),
        time: this.timestamp(),
        ...(options.target === undefined ? {} : { subresource: options.target }),
      });
    writeManagedFields(after, entries);
    const ordered = orderTopLevel(after);
    if (jsonEqual(ordered, before)) return { code: 200, object: before, warnings: [], changed: false };
    if (options.dryRun) return { code: 200, object: ordered, warnings: [], changed: false };
    const deleting = metadata.deletionTimestamp !== undefined && objectsAtFinalizers(ordered).length === 0;
    if (deleting) {
      const last = this.store.remove(type, namespaceOf(before), name) ?? ordered;
      this.collectDependents(uidOf(before), 'Background');
      return { code: 200, object: last, warnings: [], changed: true };
    }
    return { code: 200, object: this.store.put(type, ordered), warnings: [], changed: true };
  }

  /** DELETE one object, with propagation to what it owns. */
  delete(
    type: ResourceType,
    namespace: string,
    name: string,
    options: DeleteOptions,
  ): { code: number; body: JsonObject } {
    const object = this.get(type, namespace, name);
    const metadata = objectAt(object, 'metadata') ?? {};
    const uid = uidOf(object);
    const pre = options.preconditions;
    if (pre?.uid !== undefined && pre.uid !== uid)
      throw new ApiError({
        code: 409,
        reason: 'Conflict',
        message: `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${uid}`,
        details: { name, group: type.group, kind: type.plural },
      });
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== metadata.resourceVersion)
      throw conflict(type, name);
    if (options.dryRun) return { code: 200, body: successStatus(type, name, uid) };

    const policy = options.propagationPolicy ?? 'Background';
    const finalizers = objectsAtFinalizers(object);
    if (type.kind === 'Namespace') {
      if (metadata.deletionTimestamp === undefined) {
        metadata.deletionTimestamp = this.timestamp();
        metadata.deletionGracePeriodSeconds = 0;
        const status = objectAt(object, 'status') ?? {};
        status.phase = 'Terminating';
        object.status = status;
        const stored = this.store.put(type, object);
        this.track(this.emptyNamespace(name));
        return { code: 200, body: stored };
      }
      return { code: 200, body: object };
    }
    if (policy === 'Foreground' || finalizers.length > 0) {
      if (metadata.deletionTimestamp === undefined) {
        metadata.deletionTimestamp = this.timestamp();
        metadata.deletionGracePeriodSeconds = 0;
      }
      if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion'))
        metadata.finalizers = [...finalizers, 'foregroundDeletion'];
      const stored = this.store.put(type, object);
      if (policy === 'Foreground') this.track(this.foregroundDelete(type, namespace, name, uid));
      return { code: 200, body: stored };
    }
    this.store.remove(type, namespace, name);
    if (policy === 'Orphan') this.orphanDependents(uid);
    else this.collectDependents(uid, 'Background');
    return { code: 200, body: successStatus(type, name, uid) };
  }

  /** DELETE on a collection: every matching object, one by one. */
  deleteCollection(
    type: ResourceType,
    namespace: string | undefined,
    list: ListOptions,
    options: DeleteOptions,
  ): JsonObject {
    const { items } = this.list(type, namespace, list);
    for (const item of items) {
      try {
        this.delete(type, namespaceOf(item), nameOf(item), options);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status.code !== 404) throw error;
      }
    }
    return {
      kind: type.listKind,
      apiVersion: apiVersionOf(type),
      metadata: { resourceVersion: String(this.store.currentResourceVersion()) },
      items,
    };
  }

  /** Resolves once every background deletion started so far has finished. */
  async settled(): Promise<void> {
    while (this.pendingDeletions.size > 0) await Promise.all([...this.pendingDeletions]);
  }

  private track(work: Promise<void>): void {
    this.pendingDeletions.add(work);
    void work.finally(() => this.pendingDeletions.delete(work));
  }

  /** Background propagation: the owner is gone; its dependents follow on the next turns. */
  private collectDependents(uid: string, policy: 'Background' | 'Foreground'): void {
    this.track(
      (async () => {
        await nextTurn();
        for (const { type, object } of this.store.dependentsOf(uid)) {
          try {
            this.delete(type, namespaceOf(object), nameOf(object), {
              propagationPolicy: policy,
              dryRun: false,
            });
          } catch (error) {
            if (!(error instanceof ApiError) || error.status.code !== 404) throw error;
          }
        }
      })(),
    );
  }

  private async foregroundDelete(
    type: ResourceType,
    namespace: string,
    name: string,
    uid: string,
  ): Promise<void> {
    for (;;) {
      await nextTurn();
      const dependents = this.store.dependentsOf(uid);
      for (const { type: t, object } of dependents) {
        if (objectAt(object, 'metadata')?.deletionTimestamp !== undefined) continue;
        try {
          this.delete(t, namespaceOf(object), nameOf(object), {
            propagationPolicy: 'Foreground',
            dryRun: false,
          });
        } catch (error) {
          if (!(error instanceof ApiError) || error.status.code !== 404) throw error;
        }
      }
      if (this.store.dependentsOf(uid).length === 0) break;
    }
    const owner = this.store.get(type, namespace, name);
    if (owner === undefined || uidOf(owner) !== uid) return;
    const metadata = objectAt(owner, 'metadata') ?? {};
    metadata.finalizers = objectsAtFinalizers(owner).filter((f) => f !== 'foregroundDeletion');
    if (metadata.finalizers.length === 0) {
      Reflect.deleteProperty(metadata, 'finalizers');
      this.store.remove(type, namespace, name);
    } else this.store.put(type, owner);
  }

  private orphanDependents(uid: string): void {
    for (const dependent of this.store.dependentsOf(uid)) {
      const { type } = dependent;
      const object = cloneJson(dependent.object);
      const metadata = objectAt(object, 'metadata') ?? {};
      const refs = objectsAt(metadata, 'ownerReferences').filter((r) => r.uid !== uid);
      if (refs.length === 0) Reflect.deleteProperty(metadata, 'ownerReferences');
      else metadata.ownerReferences = refs;
      this.store.put(type, object);
    }
  }

  private async emptyNamespace(namespace: string): Promise<void> {
    await nextTurn();
    for (const type of this.catalog.all()) {
      if (!type.namespaced) continue;
      for (const object of this.store.view(type, namespace))
        this.store.remove(type, namespace, nameOf(object));
    }
    const ns = resourceTypeOfKind('Namespace');
    if (ns !== undefined) this.store.remove(ns, '', namespace);
  }

  /** A controller's write: no validation, no faults, recorded under the controller's field manager. */
  writeInternal(type: ResourceType, before: JsonObject, after: JsonObject, target: WriteTarget): JsonObject {
    return this.commitUpdate(type, before, after, {
      manager: 'kube-controller-manager',
      dryRun: false,
      target,
      skipValidation: true,
    }).object;
  }

  /** A controller's create. */
  createInternal(type: ResourceType, object: JsonObject): JsonObject {
    return this.commitCreate(type, namespaceOf(object), object, 'kube-controller-manager', false).object;
  }

  /** A controller's delete (no error when it is already gone). */
  deleteInternal(type: ResourceType, namespace: string, name: string): void {
    if (this.store.peek(type, namespace, name) === undefined) return;
    this.delete(type, namespace, name, { propagationPolicy: 'Background', dryRun: false });
  }
}

const CUSTOM_SCHEMAS = new WeakMap<JsonObject, SchemaNode>();

/** The merge schema of a type without an ApiServer at hand. */
function schemaOf(type: ResourceType): SchemaNode {
  if (type.custom === undefined) return schemaOfKind(type.kind);
  return mergeSchemaOf(type.custom.schema);
}

/** `pruned`, keeping the object identity of `object` (metadata is never pruned). */
function pruneTopLevel(object: JsonObject, pruned: JsonObject): JsonObject {
  return { ...pruned, metadata: object.metadata ?? {} };
}

function objectsAtFinalizers(object: JsonObject): string[] {
  const finalizers = objectAt(object, 'metadata')?.finalizers;
  return Array.isArray(finalizers) ? finalizers.filter((f): f is string => typeof f === 'string') : [];
}

function withoutNulls(value: JsonObject): JsonObject {
  const result: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null) continue;
    if (isJsonObject(v)) result[k] = withoutNulls(v);
    else if (Array.isArray(v))
      result[k] = v.filter((i) => i !== null).map((i) => (isJsonObject(i) ? withoutNulls(i) : i));
    else result[k] = v;
  }
  return result;
}

/**
 * The fields kubectl set with client-side apply and nobody has changed since: those in the
 * last-applied-configuration annotation whose live value is still the applied one. The real server
 * lets `kubectl apply --server-side` take them over without a conflict (its "last applied manager").
 */
function clientSideAppliedFields(live: JsonObject, type: ResourceType): ReadonlySet<string> | undefined {
  const annotation = stringAt(objectAt(objectAt(live, 'metadata'), 'annotations'), LAST_APPLIED);
  if (annotation === undefined || annotation === '') return undefined;
  let lastApplied: unknown;
  try {
    lastApplied = JSON.parse(annotation);
  } catch {
    return undefined;
  }
  if (!isJsonObject(lastApplied)) return undefined;
  const schema = schemaOf(type);
  const view = trackedView(lastApplied, undefined);
  const liveView = trackedView(live, undefined);
  return new Set(
    [...toFieldSet(view, schema)].filter((path) =>
      jsonEqual(valueAt(view, path, schema), valueAt(liveView, path, schema)),
    ),
  );
}

/** Fields the real server's omitempty drops when empty (a patch that removes the last label leaves none). */
const OMIT_WHEN_EMPTY = {
  metadata: ['labels', 'annotations', 'finalizers', 'ownerReferences'],
  top: ['data', 'binaryData', 'stringData'],
} as const;

function isEmpty(value: JsonValue | undefined): boolean {
  return Array.isArray(value) ? value.length === 0 : isJsonObject(value) && Object.keys(value).length === 0;
}

/** apiVersion, kind, metadata, then the rest: the order the real server writes, empty maps dropped. */
function orderTopLevel(object: JsonObject): JsonObject {
  const metadataObject = objectAt(object, 'metadata');
  if (metadataObject !== undefined)
    for (const k of OMIT_WHEN_EMPTY.metadata)
      if (isEmpty(metadataObject[k])) Reflect.deleteProperty(metadataObject, k);
  for (const k of OMIT_WHEN_EMPTY.top) if (isEmpty(object[k])) Reflect.deleteProperty(object, k);
  const { apiVersion, kind, metadata, ...rest } = object;
  const ordered: JsonObject = {};
  if (apiVersion !== undefined) ordered.apiVersion = apiVersion;
  if (kind !== undefined) ordered.kind = kind;
  if (metadata !== undefined) ordered.metadata = metadata;
  return Object.assign(ordered, rest);
}

function applyJsonPatch(document: JsonObject, patch: JsonValue): JsonValue {
  if (!Array.isArray(patch)) throw badRequest('a JSON patch must be a list of operations');
  try {
    return jsonPatch.applyPatch(cloneJson(document), patch as unknown as Operation[], true, true).newDocument;
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? 'invalid patch';
    throw new ApiError({
      code: 422,
      reason: 'Invalid',
      message: `the server rejected our request due to an error in our request: ${message}`,
    });
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

import { ApiError } from './api-status.js';
import { ensureObject, objectAt, stringAt, type JsonObject } from './json-value.js';
import type { ObjectStore } from './object-store.js';
import { resourceTypeOfKind, type ResourceType } from './resource-table.js';

/** The annotation that makes a StorageClass the default for claims that name none. */
export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

/** The labels the real server puts on a Job's pods and selects them by. */
export const JOB_LABELS = {
  controllerUid: 'batch.kubernetes.io/controller-uid',
  jobName: 'batch.kubernetes.io/job-name',
  legacyControllerUid: 'controller-uid',
  legacyJobName: 'job-name',
} as const;

function typeOf(kind: string): ResourceType {
  const type = resourceTypeOfKind(kind);
  if (type === undefined) throw new Error(`${kind} is not served`);
  return type;
}

/**
 * What the real server's admission chain does to an object being created, before defaults and
 * validation: a Job gets its generated selector and pod labels, a claim without a class gets the
 * default StorageClass, and a pod naming a ServiceAccount that does not exist is refused.
 * Mutates `object`; throws an ApiError when admission refuses it.
 */
export function admitCreate(store: ObjectStore, type: ResourceType, object: JsonObject, uid: string): void {
  switch (type.kind) {
    case 'Job':
      generateJobSelector(object, uid);
      break;
    case 'PersistentVolumeClaim':
      defaultStorageClass(store, object);
      protect(object, CLAIM_PROTECTION);
      break;
    case 'PersistentVolume':
      protect(object, VOLUME_PROTECTION);
      break;
    case 'Pod':
      requireServiceAccount(store, object);
      resolvePriority(store, object);
      break;
    default:
      break;
  }
}

/** The finalizers that keep a claim (or volume) while a pod still uses it. */
export const CLAIM_PROTECTION = 'kubernetes.io/pvc-protection';
export const VOLUME_PROTECTION = 'kubernetes.io/pv-protection';

function protect(object: JsonObject, finalizer: string): void {
  const metadata = ensureObject(object, 'metadata');
  const finalizers = Array.isArray(metadata.finalizers) ? metadata.finalizers : [];
  if (!finalizers.includes(finalizer)) metadata.finalizers = [...finalizers, finalizer];
}

/**
 * What admission checks on an update a client makes: a bound claim may grow only if its
 * StorageClass allows expansion (the real PersistentVolumeClaimResize plugin).
 */
export function admitUpdate(
  store: ObjectStore,
  type: ResourceType,
  before: JsonObject,
  after: JsonObject,
): void {
  if (type.kind !== 'PersistentVolumeClaim') return;
  const size = (o: JsonObject): string | undefined =>
    stringAt(objectAt(objectAt(objectAt(o, 'spec'), 'resources'), 'requests'), 'storage');
  if (size(before) === size(after) || stringAt(objectAt(before, 'status'), 'phase') !== 'Bound') return;
  const className = stringAt(objectAt(before, 'spec'), 'storageClassName') ?? '';
  const storageClass = className === '' ? undefined : store.peek(typeOf('StorageClass'), '', className);
  if (storageClass?.allowVolumeExpansion === true) return;
  const name = stringAt(objectAt(before, 'metadata'), 'name') ?? '';
  throw new ApiError({
    code: 403,
    reason: 'Forbidden',
    message: `persistentvolumeclaims "${name}" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`,
    details: { name, kind: 'persistentvolumeclaims' },
  });
}

function generateJobSelector(job: JsonObject, uid: string): void {
  const spec = ensureObject(job, 'spec');
  if (spec.manualSelector === true) return;
  const name = stringAt(objectAt(job, 'metadata'), 'name') ?? '';
  // A selector the user wrote without manualSelector is kept (and refused by validation, as the real
  // server does); a missing one is generated.
  if (spec.selector === undefined) spec.selector = { matchLabels: { [JOB_LABELS.controllerUid]: uid } };
  const template = ensureObject(spec, 'template');
  const metadata = ensureObject(template, 'metadata');
  metadata.labels = {
    ...(objectAt(metadata, 'labels') ?? {}),
    [JOB_LABELS.controllerUid]: uid,
    [JOB_LABELS.jobName]: name,
    [JOB_LABELS.legacyControllerUid]: uid,
    [JOB_LABELS.legacyJobName]: name,
  };
}

function defaultStorageClass(store: ObjectStore, claim: JsonObject): void {
  const spec = ensureObject(claim, 'spec');
  if (spec.storageClassName !== undefined) return;
  const found = store
    .view(typeOf('StorageClass'))
    .find(
      (c) => stringAt(objectAt(objectAt(c, 'metadata'), 'annotations'), DEFAULT_CLASS_ANNOTATION) === 'true',
    );
  const name = stringAt(objectAt(found, 'metadata'), 'name');
  if (name !== undefined) spec.storageClassName = name;
}

function requireServiceAccount(store: ObjectStore, pod: JsonObject): void {
  const metadata = objectAt(pod, 'metadata');
  const namespace = stringAt(metadata, 'namespace') ?? '';
  const account =
    stringAt(objectAt(pod, 'spec'), 'serviceAccountName') ??
    stringAt(objectAt(pod, 'spec'), 'serviceAccount') ??
    'default';
  if (store.peek(typeOf('ServiceAccount'), namespace, account) !== undefined) return;
  const name = stringAt(metadata, 'name') ?? stringAt(metadata, 'generateName') ?? '';
  throw new ApiError({
    code: 403,
    reason: 'Forbidden',
    message: `pods "${name}" is forbidden: error looking up service account ${namespace}/${account}: serviceaccount "${account}" not found`,
    details: { name, kind: 'pods' },
  });
}

/** The priority admission plugin: a pod's priorityClassName must exist; its value becomes the priority. */
function resolvePriority(store: ObjectStore, pod: JsonObject): void {
  const spec = ensureObject(pod, 'spec');
  const className = stringAt(spec, 'priorityClassName');
  if (className === undefined || className === '') return;
  const found = store.peek(typeOf('PriorityClass'), '', className);
  if (found === undefined) {
    const name = stringAt(objectAt(pod, 'metadata'), 'name') ?? '';
    throw new ApiError({
      code: 403,
      reason: 'Forbidden',
      message: `pods "${name}" is forbidden: no PriorityClass with name ${className} was found`,
      details: { name, kind: 'pods' },
    });
  }
  if (typeof found.value === 'number') spec.priority = found.value;
  const policy = stringAt(found, 'preemptionPolicy');
  if (policy !== undefined) spec.preemptionPolicy = policy;
}

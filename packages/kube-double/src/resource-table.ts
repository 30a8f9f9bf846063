import type { JsonObject } from './json-value.js';

/** A subresource the double serves. */
export type Subresource = 'status' | 'scale' | 'proxy' | 'log';

/** One resource type the double serves, with what discovery says about it. */
export interface ResourceType {
  /** `''` for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  /** The plural, as it appears in paths (`deployments`). */
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly subresources: readonly Subresource[];
  /** Whether `metadata.generation` tracks spec changes (the real server does this per type). */
  readonly tracksGeneration: boolean;
  /** The verbs served. */
  readonly verbs: readonly string[];
  /** Not stored: a POST is answered and forgotten (access reviews). */
  readonly virtual: boolean;
  /** Set for a custom resource: what its CustomResourceDefinition says about this version. */
  readonly custom?: CustomResourceVersion;
}

/** A column of `kubectl get` for a custom resource (`additionalPrinterColumns`). */
export interface PrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly jsonPath: string;
  readonly priority: number;
  readonly description: string;
}

/** One served version of a CustomResourceDefinition. */
export interface CustomResourceVersion {
  /** The CRD's name (`servicemonitors.monitoring.coreos.com`). */
  readonly crd: string;
  /** The version objects are stored in; every served version reads and writes the same objects. */
  readonly storageVersion: string;
  /** The version's `schema.openAPIV3Schema`. */
  readonly schema: JsonObject;
  readonly printerColumns: readonly PrinterColumn[];
}

/** The verbs every resource supports. */
export const RESOURCE_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
] as const;

/** What {@link resource} needs to describe a type. */
export interface ResourceSpec {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced?: boolean;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  readonly subresources?: readonly Subresource[];
  readonly tracksGeneration?: boolean;
  readonly verbs?: readonly string[];
  readonly virtual?: boolean;
}

/** Builds a resource type from the fields that differ between types. */
export function resource(spec: ResourceSpec & { readonly singular?: string }): ResourceType {
  return {
    group: spec.group,
    version: spec.version,
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    plural: spec.plural,
    singular: spec.singular ?? spec.kind.toLowerCase(),
    namespaced: spec.namespaced ?? true,
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    subresources: spec.subresources ?? [],
    tracksGeneration: spec.tracksGeneration ?? false,
    verbs: spec.verbs ?? RESOURCE_VERBS,
    virtual: spec.virtual ?? false,
  };
}

/** Every resource type the double serves, in discovery order. */
export const RESOURCE_TYPES: readonly ResourceType[] = [
  resource({
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    subresources: ['status'],
  }),
  resource({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', shortNames: ['cm'] }),
  resource({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets' }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status', 'proxy'],
  }),
  resource({ group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', shortNames: ['ep'] }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status', 'log'],
  }),
  resource({ group: '', version: 'v1', kind: 'Event', plural: 'events', shortNames: ['ev'] }),
  resource({
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    shortNames: ['sa'],
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    shortNames: ['pvc'],
    subresources: ['status'],
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'PersistentVolume',
    plural: 'persistentvolumes',
    namespaced: false,
    shortNames: ['pv'],
    subresources: ['status'],
  }),
  resource({ group: '', version: 'v1', kind: 'LimitRange', plural: 'limitranges', shortNames: ['limits'] }),
  resource({
    group: '',
    version: 'v1',
    kind: 'ResourceQuota',
    plural: 'resourcequotas',
    shortNames: ['quota'],
    subresources: ['status'],
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Node',
    plural: 'nodes',
    namespaced: false,
    shortNames: ['no'],
    subresources: ['status'],
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    tracksGeneration: true,
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    plural: 'replicasets',
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    tracksGeneration: true,
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'StatefulSet',
    plural: 'statefulsets',
    shortNames: ['sts'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    tracksGeneration: true,
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    plural: 'daemonsets',
    shortNames: ['ds'],
    categories: ['all'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  resource({ group: 'apps', version: 'v1', kind: 'ControllerRevision', plural: 'controllerrevisions' }),
  resource({
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    plural: 'jobs',
    categories: ['all'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  resource({
    group: 'batch',
    version: 'v1',
    kind: 'CronJob',
    plural: 'cronjobs',
    shortNames: ['cj'],
    categories: ['all'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  resource({
    group: 'autoscaling',
    version: 'v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    shortNames: ['hpa'],
    categories: ['all'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  resource({
    group: 'policy',
    version: 'v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    shortNames: ['pdb'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  resource({
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'Ingress',
    plural: 'ingresses',
    shortNames: ['ing'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  resource({
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    shortNames: ['netpol'],
    tracksGeneration: true,
  }),
  resource({
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'IngressClass',
    plural: 'ingressclasses',
    namespaced: false,
    tracksGeneration: true,
  }),
  resource({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases' }),
  resource({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles' }),
  resource({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'RoleBinding',
    plural: 'rolebindings',
  }),
  resource({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRole',
    plural: 'clusterroles',
    namespaced: false,
  }),
  resource({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    namespaced: false,
  }),
  resource({
    group: 'scheduling.k8s.io',
    version: 'v1',
    kind: 'PriorityClass',
    plural: 'priorityclasses',
    namespaced: false,
    shortNames: ['pc'],
  }),
  resource({
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'StorageClass',
    plural: 'storageclasses',
    namespaced: false,
    shortNames: ['sc'],
  }),
  resource({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  resource({ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices' }),
  resource({
    group: 'authorization.k8s.io',
    version: 'v1',
    kind: 'SelfSubjectAccessReview',
    plural: 'selfsubjectaccessreviews',
    namespaced: false,
    verbs: ['create'],
    virtual: true,
  }),
];

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** `deployments.apps`, or `pods` for the core group: how the real server names a resource in messages. */
export function qualifiedName(type: ResourceType): string {
  return type.group === '' ? type.plural : `${type.plural}.${type.group}`;
}

/**
 * Where a type's objects live in the store: every version of a resource shares them
 * (`statefulsets.apps`, `httproutes.gateway.networking.k8s.io`).
 */
export function storageKey(type: ResourceType): string {
  let key = STORAGE_KEYS.get(type);
  if (key === undefined) {
    key = qualifiedName(type);
    STORAGE_KEYS.set(type, key);
  }
  return key;
}
const STORAGE_KEYS = new WeakMap<ResourceType, string>();

/** The resource type served at `group/version/plural`, if any. */
export function findResourceType(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
}

/** The resource type of a kind (the first group serving it). */
export function resourceTypeOfKind(kind: string, apiVersion?: string): ResourceType | undefined {
  return RESOURCE_TYPES.find(
    (t) => t.kind === kind && (apiVersion === undefined || apiVersionOf(t) === apiVersion),
  );
}

/** The group/versions served, core first, as `{group, version}` pairs. */
export function groupVersions(): { readonly group: string; readonly version: string }[] {
  const seen = new Set<string>();
  const result: { group: string; version: string }[] = [];
  for (const t of RESOURCE_TYPES) {
    const key = `${t.group}/${t.version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    result.push({ group: t.group, version: t.version });
  }
  return result;
}

/** A built-in type by kind; throws for a kind the table does not have (a programming error). */
export function builtInType(kind: string): ResourceType {
  const type = resourceTypeOfKind(kind);
  if (type === undefined) throw new Error(`${kind} is not served`);
  return type;
}

import { ActionError } from '@dreamscape/core';

/** Where a built-in resource lives in the API. */
export interface ResourceInfo {
  readonly kind: string;
  /** Lowercase plural, e.g. `deployments`. */
  readonly plural: string;
  /** API group; empty for the core group. */
  readonly group: string;
  readonly version: string;
  readonly namespaced: boolean;
}

const r = (
  kind: string,
  plural: string,
  group: string,
  version: string,
  namespaced = true,
): ResourceInfo => ({
  kind,
  plural,
  group,
  version,
  namespaced,
});

/** The built-in resources this suite works with (and a few neighbours users put in overlays). */
const KNOWN: readonly ResourceInfo[] = [
  r('Namespace', 'namespaces', '', 'v1', false),
  r('Pod', 'pods', '', 'v1'),
  r('Service', 'services', '', 'v1'),
  r('Endpoints', 'endpoints', '', 'v1'),
  r('ConfigMap', 'configmaps', '', 'v1'),
  r('Secret', 'secrets', '', 'v1'),
  r('ServiceAccount', 'serviceaccounts', '', 'v1'),
  r('PersistentVolumeClaim', 'persistentvolumeclaims', '', 'v1'),
  r('Event', 'events', '', 'v1'),
  r('Deployment', 'deployments', 'apps', 'v1'),
  r('ReplicaSet', 'replicasets', 'apps', 'v1'),
  r('StatefulSet', 'statefulsets', 'apps', 'v1'),
  r('DaemonSet', 'daemonsets', 'apps', 'v1'),
  r('Job', 'jobs', 'batch', 'v1'),
  r('CronJob', 'cronjobs', 'batch', 'v1'),
  r('HorizontalPodAutoscaler', 'horizontalpodautoscalers', 'autoscaling', 'v2'),
  r('PodDisruptionBudget', 'poddisruptionbudgets', 'policy', 'v1'),
  r('Lease', 'leases', 'coordination.k8s.io', 'v1'),
  r('Ingress', 'ingresses', 'networking.k8s.io', 'v1'),
  r('NetworkPolicy', 'networkpolicies', 'networking.k8s.io', 'v1'),
  r('EndpointSlice', 'endpointslices', 'discovery.k8s.io', 'v1'),
  r('Role', 'roles', 'rbac.authorization.k8s.io', 'v1'),
  r('RoleBinding', 'rolebindings', 'rbac.authorization.k8s.io', 'v1'),
  r('ClusterRole', 'clusterroles', 'rbac.authorization.k8s.io', 'v1', false),
  r('ClusterRoleBinding', 'clusterrolebindings', 'rbac.authorization.k8s.io', 'v1', false),
  r('LimitRange', 'limitranges', '', 'v1'),
  r('ResourceQuota', 'resourcequotas', '', 'v1'),
  r('PersistentVolume', 'persistentvolumes', '', 'v1', false),
  r('Node', 'nodes', '', 'v1', false),
  r('ControllerRevision', 'controllerrevisions', 'apps', 'v1'),
  r('IngressClass', 'ingressclasses', 'networking.k8s.io', 'v1', false),
  r('PriorityClass', 'priorityclasses', 'scheduling.k8s.io', 'v1', false),
  r('StorageClass', 'storageclasses', 'storage.k8s.io', 'v1', false),
  r('CustomResourceDefinition', 'customresourcedefinitions', 'apiextensions.k8s.io', 'v1', false),
];

/** Which object a call is about: a kind (or an explicit resource), a name and usually a namespace. */
export interface ObjectRef {
  /** The object's kind, e.g. `Deployment`; mapped to its resource name. */
  readonly kind?: string;
  /** The resource as kubectl takes it (`deployments.apps`, `svc`); wins over `kind`. */
  readonly resource?: string;
  /** Used with an unknown `kind` to qualify the guessed plural with its group. */
  readonly apiVersion?: string;
  readonly name: string;
  readonly namespace?: string;
}

/** The English plural the API server uses for a lowercased kind. */
function pluralize(lower: string): string {
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}

function qualified(info: ResourceInfo): string {
  return info.group === '' ? info.plural : `${info.plural}.${info.group}`;
}

/**
 * The resource name for a kind as kubectl takes it, group-qualified (`Deployment` →
 * `deployments.apps`) so that a custom resource with the same plural can never be picked instead of
 * the built-in one. Kinds not in the table are lowercased and pluralized the way the API server
 * does, and qualified with the group of `apiVersion` when it has one.
 */
export function resourceForKind(kind: string, apiVersion?: string): string {
  const known = KNOWN.find((k) => k.kind === kind);
  if (known !== undefined) return qualified(known);
  const plural = pluralize(kind.toLowerCase());
  const slash = apiVersion?.indexOf('/') ?? -1;
  return apiVersion !== undefined && slash > 0 ? `${plural}.${apiVersion.slice(0, slash)}` : plural;
}

/** The resource argument for a reference (`resource` when given, else from `kind`). */
export function resourceOf(ref: Pick<ObjectRef, 'kind' | 'resource' | 'apiVersion'>): string {
  if (ref.resource !== undefined && ref.resource !== '') return ref.resource;
  if (ref.kind !== undefined && ref.kind !== '') return resourceForKind(ref.kind, ref.apiVersion);
  throw new ActionError('An object reference needs a kind or a resource.');
}

/**
 * A built-in resource by kind (`Deployment`), plural (`deployments`) or qualified plural
 * (`deployments.apps`); undefined for anything else (short names, custom resources).
 */
export function knownResource(kindOrResource: string): ResourceInfo | undefined {
  return KNOWN.find(
    (k) => k.kind === kindOrResource || k.plural === kindOrResource || qualified(k) === kindOrResource,
  );
}

/** Whether the built-in table has a resource of this API group. */
export function knownResourceInGroup(group: string): boolean {
  return KNOWN.some((k) => k.group === group);
}

/** The REST path of a collection, e.g. `/apis/apps/v1/namespaces/prod/deployments`. */
export function collectionPath(info: ResourceInfo, namespace?: string): string {
  const root = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  const ns = info.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${ns}/${info.plural}`;
}

/** `apiVersion` of a built-in resource (`apps/v1`, `v1`). */
export function apiVersionOf(info: ResourceInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** `resource/name (namespace ns)` for messages. */
export function describeRef(ref: ObjectRef): string {
  const where = ref.namespace === undefined ? '' : ` in namespace ${ref.namespace}`;
  return `${resourceOf(ref)}/${ref.name}${where}`;
}

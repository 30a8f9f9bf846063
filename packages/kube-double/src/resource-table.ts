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

interface ResourceSpec {
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

function resource(spec: ResourceSpec): ResourceType {
  return {
    group: spec.group,
    version: spec.version,
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    plural: spec.plural,
    singular: spec.kind.toLowerCase(),
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
  resource({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases' }),
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

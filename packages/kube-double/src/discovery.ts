import type { JsonObject } from './json-value.js';
import type { ResourceCatalog } from './resource-catalog.js';
import type { ResourceType } from './resource-table.js';

/** The content type kubectl requires before it reads a body as aggregated discovery. */
export const AGGREGATED_DISCOVERY_CONTENT_TYPE =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** The version the double reports by default: kubectl 1.32 is what tests and runners use. */
export const DEFAULT_SERVER_VERSION = 'v1.32.3';

/** The `/version` answer of the default version. */
export const SERVER_VERSION: JsonObject = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.3',
  gitCommit: '32cc146f75aad04beaaa245a7157eb35063a9f99',
  gitTreeState: 'clean',
  buildDate: '2025-03-11T19:52:21Z',
  goVersion: 'go1.23.6',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/**
 * The `/version` answer for a server version (`v1.35.2`): the default's exactly, or for another
 * version its major, minor and gitVersion (build fields left empty, as no real build is claimed).
 * Throws for a version that is not `v<major>.<minor>.<patch>`.
 */
export function serverVersionInfo(gitVersion: string): JsonObject {
  if (gitVersion === DEFAULT_SERVER_VERSION) return SERVER_VERSION;
  const m = /^v(\d+)\.(\d+)\.(\d+)$/.exec(gitVersion);
  if (m === null) throw new Error(`serverVersion must look like v1.35.2, got ${JSON.stringify(gitVersion)}`);
  return {
    ...SERVER_VERSION,
    major: m[1] ?? '',
    minor: m[2] ?? '',
    gitVersion,
    gitCommit: '',
    buildDate: '',
    goVersion: '',
  };
}

const SCALE_KIND = { group: 'autoscaling', version: 'v1', kind: 'Scale' };

function subresourceDiscovery(type: ResourceType): JsonObject[] {
  return type.subresources.map((sub) => {
    if (sub === 'scale')
      return { subresource: 'scale', responseKind: SCALE_KIND, verbs: ['get', 'patch', 'update'] };
    if (sub === 'log')
      return { subresource: 'log', responseKind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get'] };
    if (sub === 'proxy')
      return {
        subresource: 'proxy',
        responseKind: { group: '', version: '', kind: 'ServiceProxyOptions' },
        verbs: ['create', 'delete', 'get', 'patch', 'update'],
      };
    return {
      subresource: 'status',
      responseKind: { group: type.group, version: type.version, kind: type.kind },
      verbs: ['get', 'patch', 'update'],
    };
  });
}

function resourceDiscovery(type: ResourceType): JsonObject {
  const doc: JsonObject = {
    resource: type.plural,
    responseKind: { group: '', version: '', kind: type.kind },
    scope: type.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: type.singular,
    verbs: [...type.verbs],
  };
  if (type.shortNames.length > 0) doc.shortNames = [...type.shortNames];
  if (type.categories.length > 0) doc.categories = [...type.categories];
  if (type.subresources.length > 0) doc.subresources = subresourceDiscovery(type);
  return doc;
}

function groupDiscovery(catalog: ResourceCatalog, group: string): JsonObject {
  const versions = catalog
    .groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({
      version: gv.version,
      freshness: 'Current',
      resources: catalog
        .all()
        .filter((t) => t.group === group && t.version === gv.version)
        .map(resourceDiscovery),
    }));
  return { metadata: { name: group }, versions };
}

/**
 * The aggregated discovery document (`apidiscovery.k8s.io/v2`) for `/api` (core group only) or
 * `/apis` (every named group).
 */
export function aggregatedDiscovery(catalog: ResourceCatalog, core: boolean): JsonObject {
  const groups = [...new Set(catalog.groupVersions().map((gv) => gv.group))].filter(
    (g) => (g === '') === core,
  );
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map((g) => groupDiscovery(catalog, g)),
  };
}

/** Legacy `/api`: APIVersions. */
export function legacyCoreVersions(): JsonObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
  };
}

function legacyGroup(catalog: ResourceCatalog, group: string): JsonObject {
  const versions = catalog
    .groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] ?? {} };
}

/** Legacy `/apis`: APIGroupList. */
export function legacyGroupList(catalog: ResourceCatalog): JsonObject {
  const groups = [...new Set(catalog.groupVersions().map((gv) => gv.group))].filter((g) => g !== '');
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => legacyGroup(catalog, g)) };
}

/** Legacy `/apis/<group>`: APIGroup, or undefined when the group is not served. */
export function legacyGroupDocument(catalog: ResourceCatalog, group: string): JsonObject | undefined {
  if (!catalog.groupVersions().some((gv) => gv.group === group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...legacyGroup(catalog, group) };
}

/** Legacy `/api/v1` or `/apis/<group>/<version>`: APIResourceList, or undefined when not served. */
export function legacyResourceList(
  catalog: ResourceCatalog,
  group: string,
  version: string,
): JsonObject | undefined {
  const types = catalog.all().filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const resources: JsonObject[] = [];
  for (const t of types) {
    const entry: JsonObject = {
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: [...t.verbs],
    };
    if (t.shortNames.length > 0) entry.shortNames = [...t.shortNames];
    if (t.categories.length > 0) entry.categories = [...t.categories];
    resources.push(entry);
    for (const sub of t.subresources) {
      const kind =
        sub === 'scale' ? 'Scale' : sub === 'proxy' ? 'ServiceProxyOptions' : sub === 'log' ? 'Pod' : t.kind;
      const subEntry: JsonObject = {
        name: `${t.plural}/${sub}`,
        singularName: '',
        namespaced: t.namespaced,
        kind,
        verbs:
          sub === 'proxy'
            ? ['create', 'delete', 'get', 'patch', 'update']
            : sub === 'log'
              ? ['get']
              : ['get', 'patch', 'update'],
      };
      if (sub === 'scale') Object.assign(subEntry, { group: 'autoscaling', version: 'v1' });
      resources.push(subEntry);
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources,
  };
}

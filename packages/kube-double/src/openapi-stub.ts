import type { JsonObject } from './json-value.js';
import type { ResourceCatalog } from './resource-catalog.js';

/**
 * The OpenAPI v3 documents kubectl needs to validate with `fieldValidation=Strict`: it only looks for
 * the group-version-kind extension and the `fieldValidation` query parameter on each resource's
 * operations, and leaves the validation itself to the server. No schemas are served, so client-side
 * apply falls back to the types compiled into kubectl for strategic merge.
 */
function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

/** A stable hash for the `?hash=` of each group/version document, so caches key on content. */
function hashOf(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).toUpperCase().padStart(8, '0');
}

/** `GET /openapi/v3`: the root listing every group/version served. */
export function openApiRoot(catalog: ResourceCatalog): JsonObject {
  const paths: JsonObject = {};
  for (const gv of catalog.groupVersions()) {
    const path = gvPath(gv.group, gv.version);
    const hash = hashOf(JSON.stringify(openApiGroupVersion(catalog, gv.group, gv.version)));
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}

const FIELD_VALIDATION = {
  name: 'fieldValidation',
  in: 'query',
  description: 'How the server treats unknown or duplicate fields: Ignore, Warn or Strict.',
  schema: { type: 'string', uniqueItems: true },
};

/** `GET /openapi/v3/<gv>` for a served group/version, or undefined. */
export function openApiGroupVersion(
  catalog: ResourceCatalog,
  group: string,
  version: string,
): JsonObject | undefined {
  const types = catalog.all().filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const paths: JsonObject = {};
  for (const t of types) {
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    const base = `/${gvPath(group, version)}`;
    const collection = t.namespaced ? `${base}/namespaces/{namespace}/${t.plural}` : `${base}/${t.plural}`;
    const operation = (action: string): JsonObject => ({
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      parameters: [FIELD_VALIDATION],
    });
    paths[collection] = { post: operation('post') };
    paths[`${collection}/{name}`] = { put: operation('put'), patch: operation('patch') };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.3' }, paths };
}

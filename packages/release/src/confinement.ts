import { ActionError, InputError, previewName } from '@dreamscape/core';
import type { KubeObject } from '@dreamscape/kube';

/**
 * One entry of `allow-cluster-objects`: a cluster-scoped kind and a name, or `*` for any name of
 * that kind ([ADR 6](../../../docs/adr/0006-render-and-release-confinement.md)).
 */
export interface AllowedClusterObject {
  readonly kind: string;
  /** A name, or `*`. */
  readonly name: string;
}

/** Where a kind lives: in a namespace, at cluster scope, or not known (offline, a kind nobody serves). */
export type Scope = 'namespaced' | 'cluster' | 'unknown';

/** What the server's discovery says about a kind; `ProxyApi` answers it. */
export interface DiscoveryApi {
  resourceOf(kind: string, apiVersion?: string): Promise<{ readonly namespaced: boolean }>;
}

/** How {@link checkConfinement} words its refusal: the input the objects came from and the allow input. */
export interface ConfinementSource {
  /** `'overlay'`, or `revision 12 (its recorded manifest)`. */
  readonly what: string;
  /** The input that loosens the rule. Default `allow-cluster-objects`. */
  readonly allowInput?: string;
}

const ALLOW_INPUT = 'allow-cluster-objects';
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;
const NAME = /^[a-z0-9]([-a-z0-9.:@]{0,251}[a-z0-9])?$/;
const ALLOW_ACCEPTED =
  'one Kind/name per line for each cluster-scoped object the release may apply, such as Namespace/team-a, ClusterRole/* or IngressClass/nginx (the kind as manifests write it; * for any name of that kind)';

/**
 * Well-known cluster-scoped kinds, by API group: their scope is known without asking a cluster
 * (a plan without credentials, and before discovery is asked).
 */
const CLUSTER_SCOPED: Readonly<Record<string, readonly string[]>> = {
  '': ['Namespace', 'Node', 'PersistentVolume', 'ComponentStatus'],
  'rbac.authorization.k8s.io': ['ClusterRole', 'ClusterRoleBinding'],
  'apiextensions.k8s.io': ['CustomResourceDefinition'],
  'apiregistration.k8s.io': ['APIService'],
  'admissionregistration.k8s.io': [
    'MutatingWebhookConfiguration',
    'ValidatingWebhookConfiguration',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
    'MutatingAdmissionPolicy',
    'MutatingAdmissionPolicyBinding',
  ],
  'scheduling.k8s.io': ['PriorityClass'],
  'storage.k8s.io': ['StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment', 'VolumeAttributesClass'],
  'networking.k8s.io': ['IngressClass', 'IPAddress', 'ServiceCIDR'],
  'node.k8s.io': ['RuntimeClass'],
  policy: ['PodSecurityPolicy'],
  'certificates.k8s.io': ['CertificateSigningRequest', 'ClusterTrustBundle'],
  'flowcontrol.apiserver.k8s.io': ['FlowSchema', 'PriorityLevelConfiguration'],
  'resource.k8s.io': ['DeviceClass'],
  'gateway.networking.k8s.io': ['GatewayClass'],
  'cert-manager.io': ['ClusterIssuer'],
};

/** Reads `allow-cluster-objects` (one `Kind/name` per line; `#` comments); every mistake names the input. */
export function parseAllowedClusterObjects(text: string, input = ALLOW_INPUT): AllowedClusterObject[] {
  const allowed: AllowedClusterObject[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [kind = '', name = '', ...rest] = line.split('/');
    if (rest.length > 0 || !KIND.test(kind) || (name !== '*' && !NAME.test(name)))
      throw new InputError(input, line, ALLOW_ACCEPTED, {
        reason:
          rest.length > 0
            ? 'an object in another namespace cannot be allowed: a release lives in one namespace'
            : undefined,
      });
    allowed.push({ kind, name });
  }
  return allowed;
}

/** The group of an apiVersion (`rbac.authorization.k8s.io/v1` → `rbac.authorization.k8s.io`, `v1` → ``). */
function groupOf(apiVersion: string | undefined): string {
  const v = apiVersion ?? '';
  const slash = v.indexOf('/');
  return slash < 0 ? '' : v.slice(0, slash);
}

/**
 * The scope of every kind of `objects` from what needs no cluster: the built-in table, and the
 * CustomResourceDefinitions among the objects themselves (`spec.scope`). `unknown` for the rest.
 */
export function offlineScopes(objects: readonly KubeObject[]): (o: KubeObject) => Scope {
  const fromCrds = new Map<string, Scope>();
  for (const o of objects) {
    if (o.kind !== 'CustomResourceDefinition') continue;
    const spec = (o as { spec?: { group?: unknown; names?: { kind?: unknown }; scope?: unknown } }).spec;
    if (typeof spec?.group !== 'string' || typeof spec.names?.kind !== 'string') continue;
    fromCrds.set(`${spec.group}/${spec.names.kind}`, spec.scope === 'Cluster' ? 'cluster' : 'namespaced');
  }
  return (o) => {
    const group = groupOf(o.apiVersion);
    if (CLUSTER_SCOPED[group]?.includes(o.kind) === true) return 'cluster';
    const crd = fromCrds.get(`${group}/${o.kind}`);
    if (crd !== undefined) return crd;
    return 'unknown';
  };
}

/**
 * The scope of every kind of `objects`: the built-in table and the objects' own CRDs first, then
 * the server's discovery (which lists `namespaced` for every resource it serves). A kind the server
 * does not serve stays `unknown`: its apply fails in the dry run, before any write.
 */
export async function clusterScopes(
  api: DiscoveryApi,
  objects: readonly KubeObject[],
): Promise<(o: KubeObject) => Scope> {
  const offline = offlineScopes(objects);
  const asked = new Map<string, Scope>();
  for (const o of objects) {
    if (offline(o) !== 'unknown') continue;
    const key = `${o.apiVersion}|${o.kind}`;
    if (asked.has(key)) continue;
    let scope: Scope;
    try {
      scope = (await api.resourceOf(o.kind, o.apiVersion)).namespaced ? 'namespaced' : 'cluster';
    } catch (error) {
      if (error instanceof ActionError && /does not serve|does not know/.test(error.message))
        scope = 'unknown';
      else throw error;
    }
    asked.set(key, scope);
  }
  return (o) => {
    const known = offline(o);
    return known !== 'unknown' ? known : (asked.get(`${o.apiVersion}|${o.kind}`) ?? 'unknown');
  };
}

/**
 * The namespace a release lives in: the `namespace` input when given, else the namespace its
 * namespaced objects name; when they name several, the one the overlay ships a Namespace object
 * for, else the most named one (so the others are the ones refused); `default` when none.
 */
export function releaseNamespace(
  objects: readonly KubeObject[],
  override: string | undefined,
  scopeOf: (o: KubeObject) => Scope,
): string {
  if (override !== undefined && override !== '') return override;
  const counts = new Map<string, number>();
  for (const o of objects) {
    const ns = o.metadata.namespace;
    if (scopeOf(o) !== 'cluster' && ns !== undefined && ns !== '') counts.set(ns, (counts.get(ns) ?? 0) + 1);
  }
  const shipped = objects.filter((o) => o.kind === 'Namespace' && counts.has(o.metadata.name));
  if (counts.size > 1 && shipped.length === 1 && shipped[0] !== undefined) return shipped[0].metadata.name;
  let best: string | undefined;
  for (const [ns, n] of counts) if (best === undefined || n > (counts.get(best) ?? 0)) best = ns;
  return best ?? 'default';
}

/** Why an object is outside the release, or undefined when it is inside (or allowed). */
function outside(
  o: KubeObject,
  namespace: string,
  scope: Scope,
  allowed: readonly AllowedClusterObject[],
): string | undefined {
  const name = o.metadata.name;
  // Kind, name and namespace come from the manifest (a record anyone who may write Secrets can
  // edit): shown bounded and quoted unless they look like names.
  const shown = `${previewName(o.kind)}/${previewName(name)}`;
  if (scope === 'cluster') {
    if (o.kind === 'Namespace' && name === namespace) return undefined; // the release's own
    if (allowed.some((a) => a.kind === o.kind && (a.name === '*' || a.name === name))) return undefined;
    return o.kind === 'Namespace'
      ? `${shown} is another namespace than the release's (${namespace})`
      : `${shown} is cluster-scoped`;
  }
  const ns = o.metadata.namespace;
  if (ns !== undefined && ns !== '' && ns !== namespace)
    return `${shown} is in namespace ${previewName(ns)}, not the release's (${namespace})`;
  return undefined;
}

/**
 * Refuses, before any write (dry runs included), a release that reaches outside its namespace:
 * every cluster-scoped object not listed in `allow-cluster-objects` (the release's own Namespace
 * is always allowed) and every object in another namespace (never allowed: a release lives in one).
 * The error lists every such object and says how to allow the cluster-scoped ones.
 */
export function checkConfinement(
  objects: readonly KubeObject[],
  options: {
    readonly namespace: string;
    readonly allowed: readonly AllowedClusterObject[];
    readonly scopeOf: (o: KubeObject) => Scope;
    readonly source: ConfinementSource;
  },
): void {
  const { namespace, allowed, scopeOf, source } = options;
  const refused = objects
    .map((o) => ({ o, why: outside(o, namespace, scopeOf(o), allowed) }))
    .filter((x): x is { o: KubeObject; why: string } => x.why !== undefined);
  if (refused.length === 0) return;
  const allowInput = source.allowInput ?? ALLOW_INPUT;
  const clusterWide = refused.filter((r) => !/ is in namespace /.test(r.why));
  const listed = refused.slice(0, 10).map((r) => r.why);
  const more = refused.length > listed.length ? ` (and ${refused.length - listed.length} more)` : '';
  const howTo =
    clusterWide.length > 0
      ? `To apply a cluster-scoped object, list it in '${allowInput}', one Kind/name per line (${[
          ...new Set(clusterWide.map((r) => `${previewName(r.o.kind)}/${previewName(r.o.metadata.name)}`)),
        ]
          .slice(0, 3)
          .join(', ')}), or Kind/* for every name of a kind. `
      : '';
  throw new ActionError(
    `${source.what} reaches outside the release's namespace ${namespace}: ${listed.join('; ')}${more}. Refused before anything was written, not even a dry run (allowed in '${allowInput}': ${allowed.length === 0 ? 'nothing' : allowed.map((a) => `${a.kind}/${a.name}`).join(', ')}).`,
    {
      hint: `${howTo}An object in another namespace is never applied by this release: deploy it from an overlay of that namespace.`,
    },
  );
}

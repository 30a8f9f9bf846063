import { describe, expect, it } from '@jest/globals';
import { ActionError } from '@dreamscape/core';
import type { KubeObject } from '@dreamscape/kube';
import {
  checkConfinement,
  clusterScopes,
  offlineScopes,
  parseAllowedClusterObjects,
  releaseNamespace,
  type DiscoveryApi,
} from '../src/index.js';

const obj = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
});
const cm = obj('v1', 'ConfigMap', 'app', 'shop');
const ownNs = obj('v1', 'Namespace', 'shop');
const source = { what: "The overlay in 'overlay' (k8s/prod)" };

function check(objects: KubeObject[], allow = ''): void {
  checkConfinement(objects, {
    namespace: 'shop',
    allowed: parseAllowedClusterObjects(allow),
    scopeOf: offlineScopes(objects),
    source,
  });
}

describe('checkConfinement', () => {
  it("accepts the release's own objects and its own Namespace without any allow entry", () => {
    expect(() => {
      check([ownNs, cm, obj('rbac.authorization.k8s.io/v1', 'Role', 'r', 'shop')]);
    }).not.toThrow();
  });

  it('refuses every cluster-scoped object and every other namespace, listing them all and how to allow', () => {
    const error = (() => {
      try {
        check([
          ownNs,
          cm,
          obj('v1', 'Namespace', 'team-a'),
          obj('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'admin'),
          obj('v1', 'Secret', 's', 'kube-system'),
        ]);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ActionError);
    const { message, hint } = error as ActionError;
    expect(message).toBe(
      "The overlay in 'overlay' (k8s/prod) reaches outside the release's namespace shop: Namespace/team-a is another namespace than the release's (shop); ClusterRoleBinding/admin is cluster-scoped; Secret/s is in namespace kube-system, not the release's (shop). Refused before anything was written, not even a dry run (allowed in 'allow-cluster-objects': nothing).",
    );
    expect(hint).toContain(
      "list it in 'allow-cluster-objects', one Kind/name per line (Namespace/team-a, ClusterRoleBinding/admin)",
    );
  });

  it('shows a kind, name or namespace that is not a name quoted and cut: no new line, no megabyte', () => {
    let message = '';
    try {
      check([
        obj('v1', 'Secret', `s\n::warning::injected${'x'.repeat(100_000)}`, 'kube-system'),
        obj('v1', 'ConfigMap', 'c', `evil\n::error::${'n'.repeat(100_000)}`),
      ]);
    } catch (e) {
      message = (e as ActionError).message;
    }
    expect(message).toContain('Secret/"s\\n::warning::injected');
    expect(message).toContain('ConfigMap/c is in namespace "evil\\n::error::');
    expect(message).not.toContain('\n');
    expect(message.length).toBeLessThan(1000);
  });

  it('lets through exactly what the allow list names: a name, or every name of a kind', () => {
    const objects = [
      cm,
      obj('v1', 'Namespace', 'team-a'),
      obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'a'),
      obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'b'),
    ];
    expect(() => {
      check(objects, 'Namespace/team-a\nClusterRole/*');
    }).not.toThrow();
    expect(() => {
      check(objects, 'Namespace/team-b\nClusterRole/*');
    }).toThrow(/Namespace\/team-a is another namespace/);
    expect(() => {
      check(objects, 'Namespace/team-a, ClusterRole/a');
    }).toThrow(/Input 'allow-cluster-objects' has an invalid value/);
  });

  it("knows a custom resource's scope from a CRD in the same release", () => {
    const crd: KubeObject = {
      ...obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'policies.example.com'),
      spec: { group: 'example.com', scope: 'Cluster', names: { kind: 'Policy' } },
    };
    expect(() => {
      check([cm, crd, obj('example.com/v1', 'Policy', 'p')], 'CustomResourceDefinition/*');
    }).toThrow(/Policy\/p is cluster-scoped/);
  });
});

describe('clusterScopes', () => {
  it('asks discovery once per kind the table does not know, and an unserved kind stays unknown', async () => {
    const asked: string[] = [];
    const api: DiscoveryApi = {
      resourceOf: (kind, apiVersion) => {
        asked.push(`${apiVersion ?? ''}/${kind}`);
        if (kind === 'Gone')
          return Promise.reject(new ActionError('The cluster does not serve Gone in x/v1.'));
        return Promise.resolve({ namespaced: kind !== 'Widget' });
      },
    };
    const widget = obj('example.com/v1', 'Widget', 'w');
    const objects = [cm, widget, obj('example.com/v1', 'Widget', 'w2'), obj('x/v1', 'Gone', 'g')];
    const scopeOf = await clusterScopes(api, objects);
    expect(scopeOf(widget)).toBe('cluster');
    expect(scopeOf(cm)).toBe('namespaced');
    expect(scopeOf(obj('x/v1', 'Gone', 'g'))).toBe('unknown');
    expect(asked).toEqual(['v1/ConfigMap', 'example.com/v1/Widget', 'x/v1/Gone']);
  });
});

describe('releaseNamespace', () => {
  const scopeOf = offlineScopes([]);
  it('is the input when given, else the namespace the overlay ships, else the most named', () => {
    const objects = [obj('v1', 'ConfigMap', 'a', 'x'), obj('v1', 'ConfigMap', 'b', 'x'), cm, ownNs];
    expect(releaseNamespace(objects, 'given', scopeOf)).toBe('given');
    expect(releaseNamespace(objects, undefined, scopeOf)).toBe('shop');
    expect(releaseNamespace(objects.slice(0, 3), undefined, scopeOf)).toBe('x');
    expect(releaseNamespace([], undefined, scopeOf)).toBe('default');
  });
});

import { describe, expect, it } from '@jest/globals';
import { applyDefaults } from '../src/defaults.js';
import type { JsonObject } from '../src/json-value.js';
import { validateObject } from '../src/validation.js';

/** Defaults then validation, as the server runs them; the causes as kubectl prints them. */
function refusals(kind: string, object: JsonObject, old?: JsonObject): string[] {
  applyDefaults(kind, object);
  return validateObject(kind, object, old).map((c) => `${c.field ?? ''}: ${c.message}`);
}

const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'c:1' }] } };

describe('validateObject', () => {
  it('names a missing workload selector twice, as the real server does (once for a DaemonSet)', () => {
    expect(refusals('Deployment', { metadata: { name: 'd' }, spec: { template } })).toEqual([
      'spec.selector: Required value',
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
    ]);
    expect(refusals('DaemonSet', { metadata: { name: 'd' }, spec: { template } })).toEqual([
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
    ]);
  });

  it('prints an immutable selector as Go prints a LabelSelector', () => {
    const old: JsonObject = {
      metadata: { name: 'd' },
      spec: { selector: { matchLabels: { app: 'x' } }, template },
    };
    const changed: JsonObject = {
      metadata: { name: 'd' },
      spec: {
        selector: { matchLabels: { app: 'x', tier: 'web' } },
        template: { ...template, metadata: { labels: { app: 'x', tier: 'web' } } },
      },
    };
    expect(refusals('Deployment', changed, old)).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"x", "tier":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ]);
  });

  it('defaults a binding`s API groups, and refuses a changed roleRef in Go`s words', () => {
    const binding: JsonObject = {
      metadata: { name: 'b' },
      roleRef: { kind: 'Role', name: 'reader' },
      subjects: [
        { kind: 'ServiceAccount', name: 'web', namespace: 'ns' },
        { kind: 'User', name: 'ann' },
      ],
    };
    expect(refusals('RoleBinding', binding)).toEqual([]);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' });
    expect((binding.subjects as JsonObject[]).map((s) => s.apiGroup)).toEqual([
      '',
      'rbac.authorization.k8s.io',
    ]);
    const changed: JsonObject = {
      ...binding,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'writer' },
    };
    expect(refusals('RoleBinding', changed, binding)).toEqual([
      'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"writer"}: cannot change roleRef',
    ]);
    expect(refusals('RoleBinding', { metadata: { name: 'b' } })).toEqual([
      'roleRef.apiGroup: Unsupported value: "": supported values: "rbac.authorization.k8s.io"',
      'roleRef.kind: Unsupported value: "": supported values: "Role", "ClusterRole"',
      'roleRef.name: Required value',
    ]);
  });

  it('needs api groups and resources in every resource rule', () => {
    expect(refusals('Role', { metadata: { name: 'r' }, rules: [{ verbs: ['get'] }] })).toEqual([
      'rules[0].apiGroups: Required value: resource rules must supply at least one api group',
      'rules[0].resources: Required value: resource rules must supply at least one resource',
    ]);
    expect(
      refusals('ClusterRole', {
        metadata: { name: 'r' },
        rules: [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }],
      }),
    ).toEqual([]);
  });

  it('checks StatefulSet names and policies with the real messages', () => {
    const set: JsonObject = {
      metadata: { name: 'db.primary' },
      spec: {
        selector: { matchLabels: { app: 'x' } },
        template,
        podManagementPolicy: 'Fast',
        updateStrategy: { type: 'Sometimes' },
      },
    };
    const causes = refusals('StatefulSet', set);
    expect(causes[0]).toMatch(
      /^metadata\.name: Invalid value: "db\.primary": a lowercase RFC 1123 label must consist of/,
    );
    expect(causes).toContain(
      "spec.podManagementPolicy: Invalid value: \"Fast\": must be 'OrderedReady' or 'Parallel'",
    );
    expect(causes).toContain(
      "spec.updateStrategy: Invalid value: apps.StatefulSetUpdateStrategy{Type:\"Sometimes\", RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}: must be 'RollingUpdate' or 'OnDelete'",
    );
  });

  it('gives a StatefulSet a partition only when its update strategy was left empty', () => {
    const empty: JsonObject = { metadata: { name: 's' }, spec: {} };
    applyDefaults('StatefulSet', empty);
    expect((empty.spec as JsonObject).updateStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { partition: 0 },
    });
    const explicit: JsonObject = {
      metadata: { name: 's' },
      spec: { updateStrategy: { type: 'RollingUpdate' } },
    };
    applyDefaults('StatefulSet', explicit);
    expect((explicit.spec as JsonObject).updateStrategy).toEqual({ type: 'RollingUpdate' });
  });

  it('refuses a Job selector written by hand without manualSelector', () => {
    const job: JsonObject = {
      metadata: { name: 'j' },
      spec: {
        selector: { matchLabels: { app: 'x' } },
        template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } },
      },
    };
    expect(refusals('Job', job)).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` not auto-generated',
    ]);
  });
});

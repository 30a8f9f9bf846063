import { describe, expect, it } from '@jest/globals';
import { ApiError } from '../src/api-status.js';
import { decodeFieldsV1, encodeFieldsV1, formatFieldPath, toFieldSet } from '../src/field-set.js';
import type { JsonObject } from '../src/json-value.js';
import {
  applyConfiguration,
  readManagedFields,
  recordUpdate,
  writeManagedFields,
} from '../src/managed-fields.js';
import { schemaOfKind } from '../src/schema.js';

const schema = schemaOfKind('Deployment');
const time = '2025-01-01T00:00:00Z';

function config(replicas: number | undefined, image: string, extraEnv = false): JsonObject {
  const container: JsonObject = { name: 'web', image, ports: [{ containerPort: 8080 }] };
  if (extraEnv) container.env = [{ name: 'DEBUG', value: '1' }];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } },
    },
  };
}

function apply(
  live: JsonObject | undefined,
  applied: JsonObject,
  manager: string,
  force = false,
): JsonObject {
  const outcome = applyConfiguration(live, applied, schema, { manager, apiVersion: 'apps/v1', time, force });
  writeManagedFields(outcome.object, outcome.entries);
  return outcome.object;
}

describe('field sets', () => {
  it('owns leaves, list items by key (defaults filled in) and atomic selectors whole', () => {
    const set = toFieldSet(config(2, 'web:1'), schema);
    expect([...set].map(formatFieldPath).sort()).toEqual([
      '.apiVersion',
      '.kind',
      '.metadata.labels.app',
      '.metadata.name',
      '.spec.replicas',
      '.spec.selector',
      '.spec.template.metadata.labels.app',
      '.spec.template.spec.containers[name="web"]',
      '.spec.template.spec.containers[name="web"].image',
      '.spec.template.spec.containers[name="web"].name',
      '.spec.template.spec.containers[name="web"].ports[containerPort=8080,protocol="TCP"]',
      '.spec.template.spec.containers[name="web"].ports[containerPort=8080,protocol="TCP"].containerPort',
    ]);
  });

  it('round-trips through FieldsV1', () => {
    const set = toFieldSet(config(2, 'web:1'), schema);
    const encoded = encodeFieldsV1(set);
    expect(((encoded['f:spec'] as JsonObject)['f:template'] as JsonObject)['f:spec']).toEqual({
      'f:containers': {
        'k:{"name":"web"}': {
          '.': {},
          'f:image': {},
          'f:name': {},
          'f:ports': { 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
        },
      },
    });
    expect(decodeFieldsV1(encoded)).toEqual(set);
  });
});

describe('server-side apply', () => {
  it('records an Apply entry without server-owned metadata', () => {
    const created = apply(undefined, config(2, 'web:1'), 'deployer');
    const [entry] = readManagedFields(created);
    expect(entry).toMatchObject({ manager: 'deployer', operation: 'Apply', apiVersion: 'apps/v1', time });
    expect([...(entry?.fields ?? [])].map(formatFieldPath)).not.toContain('.metadata.name');
    expect([...(entry?.fields ?? [])].map(formatFieldPath)).toContain('.spec.replicas');
  });

  it('fails with a FieldManagerConflict per field another manager owns with another value', () => {
    const live = apply(undefined, config(2, 'web:1'), 'deployer');
    let caught: unknown;
    try {
      apply(live, config(5, 'web:2'), 'autoscaler');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ApiError);
    const status = (caught as ApiError).status;
    expect(status.code).toBe(409);
    expect(status.reason).toBe('Conflict');
    expect(status.message).toBe(
      'Apply failed with 2 conflicts: conflict with "deployer":\n- .spec.replicas\n- .spec.template.spec.containers[name="web"].image',
    );
    expect(status.details?.causes).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "deployer"', field: '.spec.replicas' },
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "deployer"',
        field: '.spec.template.spec.containers[name="web"].image',
      },
    ]);
  });

  it('shares fields applied with the same value, and force takes the others', () => {
    const live = apply(undefined, config(2, 'web:1'), 'deployer');
    const shared = apply(live, config(2, 'web:1'), 'second');
    const owners = (path: string, object: JsonObject): string[] =>
      readManagedFields(object)
        .filter((e) => [...e.fields].map(formatFieldPath).includes(path))
        .map((e) => e.manager);
    expect(owners('.spec.replicas', shared)).toEqual(['deployer', 'second']);
    const forced = apply(shared, config(3, 'web:1'), 'second', true);
    expect((forced.spec as JsonObject).replicas).toBe(3);
    expect(owners('.spec.replicas', forced)).toEqual(['second']);
  });

  it('removes what a manager stops applying unless someone else owns it', () => {
    const live = apply(undefined, config(2, 'web:1', true), 'deployer');
    const without = apply(live, config(2, 'web:1'), 'deployer');
    const container = (((without.spec as JsonObject).template as JsonObject).spec as JsonObject)
      .containers as JsonObject[];
    expect(container[0]?.env).toBeUndefined();

    const sharedLive = apply(apply(undefined, config(2, 'web:1'), 'deployer'), config(2, 'web:1'), 'second');
    const stillThere = apply(sharedLive, config(undefined, 'web:1'), 'deployer');
    expect((stillThere.spec as JsonObject).replicas).toBe(2);
    const gone = apply(
      apply(undefined, config(2, 'web:1'), 'deployer'),
      config(undefined, 'web:1'),
      'deployer',
    );
    expect((gone.spec as JsonObject).replicas).toBeUndefined();
  });

  it('lets an update take fields from an apply manager', () => {
    const live = apply(undefined, config(2, 'web:1'), 'deployer');
    const after = structuredClone(live);
    (after.spec as JsonObject).replicas = 7;
    const entries = recordUpdate(readManagedFields(live), live, after, schema, {
      manager: 'kubectl-scale',
      apiVersion: 'apps/v1',
      time,
    });
    const byManager = Object.fromEntries(entries.map((e) => [e.manager, [...e.fields].map(formatFieldPath)]));
    expect(byManager['kubectl-scale']).toEqual(['.spec.replicas']);
    expect(byManager.deployer).not.toContain('.spec.replicas');
    expect(entries.find((e) => e.manager === 'kubectl-scale')?.operation).toBe('Update');
  });
});

import { describe, expect, it } from '@jest/globals';
import type { JsonObject } from '../src/json-value.js';
import {
  applySchemaDefaults,
  mergeSchemaOf,
  pruneUndeclared,
  undeclaredFields,
  validateAgainstSchema,
} from '../src/structural-schema.js';

const schema: JsonObject = {
  type: 'object',
  required: ['spec'],
  properties: {
    spec: {
      type: 'object',
      required: ['replicas'],
      properties: {
        replicas: { type: 'integer', minimum: 0, maximum: 10 },
        mode: { type: 'string', enum: ['fast', 'safe'], default: 'safe' },
        port: { 'x-kubernetes-int-or-string': true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        items: {
          type: 'array',
          maxItems: 2,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: {
            type: 'object',
            properties: {
              name: { type: 'string', pattern: '^[a-z]+$' },
              weight: { type: 'integer', default: 1 },
            },
          },
        },
        tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
      },
    },
  },
};

const object = (spec: JsonObject): JsonObject => ({
  apiVersion: 'example.com/v1',
  kind: 'Thing',
  metadata: { name: 'a', annotations: { any: 'thing' } },
  spec,
});

describe('undeclaredFields and pruneUndeclared', () => {
  it('name and drop what the schema does not declare, keeping maps, preserved subtrees and metadata', () => {
    const thing = object({
      replicas: 1,
      typo: true,
      labels: { anything: 'goes' },
      extra: { free: { form: 1 } },
      items: [{ name: 'a', unknown: 1 }],
    });
    expect(undeclaredFields(schema, thing)).toEqual(['spec.typo', 'spec.items[0].unknown']);
    expect(pruneUndeclared(schema, thing)).toEqual(
      object({
        replicas: 1,
        labels: { anything: 'goes' },
        extra: { free: { form: 1 } },
        items: [{ name: 'a' }],
      }),
    );
    expect(undeclaredFields(schema, { ...thing, status: {} })).toContain('status');
  });
});

describe('applySchemaDefaults', () => {
  it('fills absent properties of present objects, inside list items too', () => {
    const thing = object({ replicas: 1, items: [{ name: 'a' }, { name: 'b', weight: 5 }] });
    applySchemaDefaults(schema, thing);
    expect(thing.spec).toEqual({
      replicas: 1,
      mode: 'safe',
      items: [
        { name: 'a', weight: 1 },
        { name: 'b', weight: 5 },
      ],
    });
  });
});

describe('validateAgainstSchema', () => {
  it('accepts a valid object', () => {
    expect(validateAgainstSchema(schema, object({ replicas: 3, port: 'http', tags: ['x'] }))).toEqual([]);
    expect(validateAgainstSchema(schema, object({ replicas: 3, port: 8080 }))).toEqual([]);
  });

  it('names every refusal as the real server does', () => {
    const causes = validateAgainstSchema(
      schema,
      object({ replicas: 11, mode: 'slow', port: 1.5, labels: { a: 1 }, items: [{ name: 'A1' }, {}, {}] }),
    );
    expect(causes.map((c) => `${c.field ?? ''}: ${c.message}`)).toEqual([
      'spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10',
      'spec.mode: Unsupported value: "slow": supported values: "fast", "safe"',
      'spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"',
      'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
      'spec.items: Too many: 3: must have at most 2 items',
      'spec.items[0].name: Invalid value: "A1": spec.items[0].name in body should match \'^[a-z]+$\'',
    ]);
    expect(validateAgainstSchema(schema, object({}))).toEqual([
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.replicas' },
    ]);
    expect(validateAgainstSchema(schema, { apiVersion: 'v', kind: 'K', metadata: {} })[0]?.field).toBe(
      'spec',
    );
  });
});

describe('mergeSchemaOf', () => {
  it('gives server-side apply the list and map semantics the schema declares', () => {
    const node = mergeSchemaOf(schema);
    if (node.type !== 'struct') throw new Error('expected a struct');
    const spec = node.fields.spec;
    if (spec?.type !== 'struct') throw new Error('expected a struct');
    expect(spec.fields.items).toMatchObject({ type: 'list', keys: ['name'] });
    expect(spec.fields.tags).toEqual({ type: 'set' });
    expect(spec.fields.labels).toMatchObject({ type: 'map' });
    expect(mergeSchemaOf({ type: 'array', items: { type: 'string' } })).toEqual({ type: 'atomic' });
  });
});

import { describe, expect, it } from '@jest/globals';
import type { JsonObject } from '../src/json-value.js';
import { schemaOfKind } from '../src/schema.js';
import { applyStrategicMergePatch } from '../src/strategic-merge-patch.js';

const deployment = (): JsonObject => ({
  metadata: { name: 'web', finalizers: ['a', 'b'] },
  spec: {
    replicas: 2,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: {
      spec: {
        containers: [
          {
            name: 'web',
            image: 'web:1',
            args: ['--a', '--b'],
            ports: [
              { containerPort: 8080, name: 'http' },
              { containerPort: 9090, name: 'metrics' },
            ],
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
          { name: 'sidecar', image: 'proxy:1' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    },
  },
});

const patch = (p: JsonObject): JsonObject =>
  applyStrategicMergePatch(deployment(), p, schemaOfKind('Deployment'));
const podSpec = (d: JsonObject): JsonObject =>
  ((d.spec as JsonObject).template as JsonObject).spec as JsonObject;
const containers = (d: JsonObject): JsonObject[] => podSpec(d).containers as JsonObject[];

describe('applyStrategicMergePatch', () => {
  it('merges containers by name, keeping the others and the fields not mentioned', () => {
    const result = patch({ spec: { template: { spec: { containers: [{ name: 'web', image: 'web:2' }] } } } });
    expect(containers(result).map((c) => [c.name, c.image])).toEqual([
      ['web', 'web:2'],
      ['sidecar', 'proxy:1'],
    ]);
    expect(containers(result)[0]?.env).toHaveLength(2);
  });

  it('merges ports by containerPort, env by name and volumeMounts by mountPath; replaces atomic lists', () => {
    const result = patch({
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'web',
                args: ['--c'],
                ports: [{ containerPort: 8080, name: 'web' }],
                env: [
                  { name: 'B', value: '3' },
                  { name: 'C', value: '4' },
                ],
                volumeMounts: [{ mountPath: '/data', readOnly: true }],
              },
            ],
          },
        },
      },
    });
    const [web] = containers(result);
    expect(web?.args).toEqual(['--c']);
    expect(web?.ports).toEqual([
      { containerPort: 8080, name: 'web' },
      { containerPort: 9090, name: 'metrics' },
    ]);
    expect(web?.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '3' },
      { name: 'C', value: '4' },
    ]);
    expect(web?.volumeMounts).toEqual([{ name: 'data', mountPath: '/data', readOnly: true }]);
  });

  it('orders with $setElementOrder, as client-side apply sends it', () => {
    const result = patch({
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'web' }],
            containers: [{ name: 'web', image: 'web:3' }],
          },
        },
      },
    });
    expect(containers(result).map((c) => c.name)).toEqual(['sidecar', 'web']);
    expect(containers(result)[1]?.image).toBe('web:3');
  });

  it('deletes list items with $patch: delete, and fields with null', () => {
    const result = patch({
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'sidecar', $patch: 'delete' },
              { name: 'web', args: null },
            ],
          },
        },
      },
    });
    expect(containers(result).map((c) => c.name)).toEqual(['web']);
    expect(containers(result)[0]?.args).toBeUndefined();
  });

  it('replaces a list or a map with $patch: replace', () => {
    const list = patch({
      spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x:1' }] } } },
    });
    expect(containers(list)).toEqual([{ name: 'only', image: 'x:1' }]);
    const map = patch({ spec: { strategy: { $patch: 'replace', type: 'Recreate' } } });
    expect((map.spec as JsonObject).strategy).toEqual({ type: 'Recreate' });
  });

  it('drops keys not in $retainKeys (switching the strategy type)', () => {
    const result = patch({ spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } });
    expect((result.spec as JsonObject).strategy).toEqual({ type: 'Recreate' });
  });

  it('removes from a primitive list with $deleteFromPrimitiveList', () => {
    const result = patch({ metadata: { '$deleteFromPrimitiveList/finalizers': ['a'], finalizers: ['c'] } });
    expect((result.metadata as JsonObject).finalizers).toEqual(['b', 'c']);
  });

  it('merges Service ports by port', () => {
    const service: JsonObject = {
      spec: {
        ports: [
          { name: 'http', port: 80, targetPort: 8080 },
          { name: 'https', port: 443 },
        ],
      },
    };
    const result = applyStrategicMergePatch(
      service,
      { spec: { ports: [{ port: 80, targetPort: 9090 }] } },
      schemaOfKind('Service'),
    );
    expect((result.spec as JsonObject).ports).toEqual([
      { name: 'http', port: 80, targetPort: 9090 },
      { name: 'https', port: 443 },
    ]);
  });

  it('refuses list items without their merge key', () => {
    expect(() => patch({ spec: { template: { spec: { containers: [{ image: 'x' }] } } } })).toThrow(
      'does not contain declared merge key: name',
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import { kubectlFor, ok, yaml, type Kubectl } from './support/manifests.js';

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({ timeScale: 20, namespaces: ['storage'] });
  k = kubectlFor(double);
});

afterAll(async () => {
  expect(double.errors()).toEqual([]);
  await double.close();
});

const meta = (o: JsonObject): JsonObject => o.metadata as JsonObject;

function claim(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'storage' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } }, ...spec },
  };
}

async function getJson(args: readonly string[]): Promise<JsonObject> {
  return JSON.parse(ok(await k(['get', ...args, '-o', 'json']))) as JsonObject;
}

describe('PersistentVolumeClaim', () => {
  it('is bound at once to a simulated volume of the default StorageClass', async () => {
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(claim('data')) }));
    ok(
      await k(['wait', '--for=jsonpath={.status.phase}=Bound', 'pvc/data', '-n', 'storage', '--timeout=30s']),
    );
    const live = await getJson(['pvc', 'data', '-n', 'storage']);
    const spec = live.spec as JsonObject;
    expect(spec.storageClassName).toBe('standard');
    expect(spec.volumeName).toBe(`pvc-${meta(live).uid as string}`);
    expect(live.status).toEqual({
      phase: 'Bound',
      accessModes: ['ReadWriteOnce'],
      capacity: { storage: '5Gi' },
    });
    expect(meta(live).finalizers).toEqual(['kubernetes.io/pvc-protection']);
    const volume = await getJson(['pv', spec.volumeName as string]);
    expect((volume.spec as JsonObject).claimRef).toMatchObject({ namespace: 'storage', name: 'data' });
    expect((volume.spec as JsonObject).persistentVolumeReclaimPolicy).toBe('Delete');
    expect((volume.status as JsonObject).phase).toBe('Bound');
    // Applying the same claim again changes nothing: the binder's fields are not the applier's.
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(claim('data')) }));
    expect(
      double
        .writes()
        .filter((w) => w.name === 'data')
        .map((w) => w.changed),
    ).toEqual([true, false]);
  });

  it('stays while a running pod mounts it; goes with its volume once the pod is gone', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'user', namespace: 'storage' },
      spec: {
        containers: [{ name: 'c', image: 'c:1', volumeMounts: [{ name: 'v', mountPath: '/data' }] }],
        volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data' } }],
      },
    };
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(pod) }));
    const bound = await getJson(['pvc', 'data', '-n', 'storage']);
    const volumeName = (bound.spec as JsonObject).volumeName as string;
    ok(await k(['delete', 'pvc', 'data', '-n', 'storage', '--wait=false']));
    await double.settle();
    const terminating = await getJson(['pvc', 'data', '-n', 'storage']);
    expect(typeof meta(terminating).deletionTimestamp).toBe('string');
    expect(ok(await k(['get', 'pvc', 'data', '-n', 'storage', '--no-headers']))).toMatch(
      /^data\s+Terminating\s+pvc-/,
    );
    ok(await k(['delete', 'pod', 'user', '-n', 'storage']));
    ok(await k(['wait', '--for=delete', 'pvc/data', '-n', 'storage', '--timeout=30s']));
    await double.settle();
    expect(double.objects('persistentvolumes').map((v) => meta(v).name)).not.toContain(volumeName);
  });

  it('refuses a claim without access modes or size, and a changed spec', async () => {
    const bare = { ...claim('bare'), spec: {} };
    const refused = await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(bare) });
    expect(refused.stderr).toContain('spec.accessModes: Required value: at least 1 access mode is required');
    expect(refused.stderr).toContain('spec.resources[storage]: Required value');
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(claim('fixed')) }));
    const changed = await k(['apply', '--server-side', '-f', '-'], {
      stdin: yaml(claim('fixed', { accessModes: ['ReadWriteMany'] })),
    });
    expect(changed.stderr).toContain(
      'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    );
  });
});

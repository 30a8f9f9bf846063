import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildRecords, deploy, healthChecks, startCluster, type ExampleCluster } from '@dreamscape/testkit';

let cluster: ExampleCluster;
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await cluster.double.close();
});

function configMaps(): string[] {
  return cluster.double
    .objects('configmaps', 'dreamscape-dev')
    .map((o) => (o.metadata as { name: string }).name)
    .filter((n) => n.startsWith('dreamscape-config-'))
    .sort();
}

/** The generated ConfigMap each color's gateway mounts (through envFrom or a volume). */
function mountedBy(deployment: string): string | undefined {
  const d = cluster.double
    .objects('deployments', 'dreamscape-dev')
    .find((o) => (o.metadata as { name: string }).name === deployment);
  return JSON.stringify(d).match(/dreamscape-config-[a-z0-9]+/)?.[0];
}

describe('generated config across a release', () => {
  it('keeps the ConfigMap the previous color mounts when the new release generates another', async () => {
    const v1 = await deploy(cluster, { images: buildRecords('v1'), 'health-checks': healthChecks() });
    expect(v1.outputs.result).toBe('promoted');
    const before = configMaps();
    expect(before).toHaveLength(1);
    const v2 = await deploy(cluster, {
      overlay: 'action-deploy/__tests__/fixtures/config-change-overlay',
      images: buildRecords('v2'),
      'health-checks': healthChecks(),
    });
    expect(v2.errors).toEqual([]);
    expect(v2.outputs).toMatchObject({ result: 'promoted', 'active-color': 'green' });
    const after = configMaps();
    expect(after).toHaveLength(2);
    expect(after).toEqual(expect.arrayContaining(before));
    // Blue, kept for an instant rollback, still finds the ConfigMap it mounts; green has the new one.
    expect(mountedBy('gateway-blue')).toBe(before[0]);
    expect(mountedBy('gateway-green')).not.toBe(before[0]);
    expect(after).toContain(mountedBy('gateway-green'));
  }, 180_000);
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeDouble } from '@dreamscape/kube-double';
import {
  buildRecords,
  deploy,
  healthChecks,
  OVERLAYS,
  replicasOf,
  serviceColors,
  SERVICES,
  startCluster,
} from '@dreamscape/testkit';

let cluster: { double: KubeDouble; path: string };
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await cluster.double.close();
});

function names(resource: string, ns: string): string[] {
  return cluster.double
    .objects(resource, ns)
    .map((o) => (o.metadata as { name: string }).name)
    .sort();
}

describe.each(['dev', 'staging', 'prod'])('the example %s overlay', (env) => {
  const ns = `dreamscape-${env}`;
  it('deploys all seven services blue-green with per-color HPA and PDB and generated config, twice', async () => {
    for (const [version, color] of [
      ['v1', 'blue'],
      ['v2', 'green'],
    ] as const) {
      const r = await deploy(cluster, {
        overlay: `${OVERLAYS}/${env}`,
        environment: env,
        images: buildRecords(`${env}-${version}`),
        'health-checks': healthChecks(),
      });
      expect(r.errors).toEqual([]);
      expect(r.outputs).toMatchObject({ result: 'promoted', 'active-color': color });
      const colors = serviceColors(cluster.double, ns);
      for (const s of SERVICES) {
        expect([s, colors[s]]).toEqual([s, color]);
        expect([s, colors[`${s}-preview`]]).toEqual([s, color]);
      }
    }
    const hpas = names('horizontalpodautoscalers', ns);
    for (const s of SERVICES) expect(hpas).toEqual(expect.arrayContaining([`${s}-blue`, `${s}-green`]));
    expect(names('poddisruptionbudgets', ns)).toEqual(
      expect.arrayContaining(['payment-blue', 'payment-green']),
    );
    const configs = names('configmaps', ns).filter((n) => n.startsWith('dreamscape-config-'));
    expect(configs.length).toBeGreaterThanOrEqual(1);
    // The previous color stays at full scale for an instant rollback.
    expect(replicasOf(cluster.double, 'gateway-blue', ns)).toBeGreaterThanOrEqual(1);
    expect(cluster.double.violations()).toEqual([]);
  }, 300_000);
});

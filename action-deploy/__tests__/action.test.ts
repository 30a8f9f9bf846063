import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { KubeDouble } from '@dreamscape/kube-double';
import { buildRecords, deploy, digest, healthChecks, SERVICES, startCluster } from '@dreamscape/testkit';

let cluster: { double: KubeDouble; path: string };
beforeEach(async () => {
  cluster = await startCluster();
});
afterEach(async () => {
  await cluster.double.close();
});

function serviceColor(name: string, ns = 'dreamscape-dev'): string | undefined {
  const svc = cluster.double
    .objects('services', ns)
    .find((s) => (s.metadata as { name: string }).name === name) as
    { spec?: { selector?: Record<string, string> } } | undefined;
  return svc?.spec?.selector?.['dreamscape.io/color'];
}

describe('action-deploy, run as the runner runs it, against the double with the real kubectl', () => {
  it('first deploy, second deploy switches colors, third reuses the idle color', async () => {
    const first = await deploy(cluster, { images: buildRecords('v1'), 'health-checks': healthChecks() });
    expect(first.errors).toEqual([]);
    expect(first.outputs).toMatchObject({
      result: 'promoted',
      revision: '1',
      'active-color': 'blue',
      'previous-color': '',
    });
    for (const s of SERVICES) expect(serviceColor(s)).toBe('blue');

    const second = await deploy(cluster, { images: buildRecords('v2'), 'health-checks': healthChecks() });
    expect(second.errors).toEqual([]);
    expect(second.outputs).toMatchObject({
      result: 'promoted',
      revision: '2',
      'active-color': 'green',
      'previous-color': 'blue',
    });
    for (const s of SERVICES) expect(serviceColor(s)).toBe('green');
    const release = JSON.parse(second.outputs.release ?? '{}') as {
      services: { service: string; before: { images: string[] }; after: { images: string[] } }[];
    };
    const gateway = release.services.find((s) => s.service === 'gateway');
    expect(gateway?.before.images).toEqual([`ghcr.io/dreamscape/gateway@${digest('gateway', 'v1')}`]);
    expect(gateway?.after.images).toEqual([`ghcr.io/dreamscape/gateway@${digest('gateway', 'v2')}`]);
    expect(second.summary).toContain('green');
    expect(second.outputs.url).toBe('https://dev.dreamscape.example.com');

    const third = await deploy(cluster, { images: buildRecords('v3'), 'health-checks': healthChecks() });
    expect(third.outputs).toMatchObject({
      result: 'promoted',
      revision: '3',
      'active-color': 'blue',
      'previous-color': 'green',
    });
    expect(cluster.double.violations()).toEqual([]);
  }, 300_000);
});

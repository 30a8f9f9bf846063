import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { formatManifests, type Deployment, type KubeObject, type Service } from '@dreamscape/kube';
import {
  assertNotServing,
  BlueGreenDeploy,
  parseHealthChecks,
  planBlueGreen,
  type ReleaseOutcome,
} from '../src/index.js';
import { FakeClusterApi } from './support/fake-api.js';
import { clock, startTestCluster, type TestCluster } from './support/cluster.js';
import { shopObjects } from './support/fixture.js';

let cluster: TestCluster;

beforeEach(async () => {
  cluster = await startTestCluster();
});
afterEach(async () => {
  await cluster.close();
});

async function deploy(
  objects: KubeObject[],
  checksYaml = '',
  overrides: { verifyWindowMs?: number; previous?: 'keep' | 'scale-down' } = {},
): Promise<ReleaseOutcome> {
  const manifestText = formatManifests(objects);
  const plan = planBlueGreen(objects, { app: 'shop', environment: 'dev', manifestText });
  const checks = parseHealthChecks(
    checksYaml === '' ? undefined : (await import('js-yaml')).load(checksYaml),
    plan.services.map((s) => s.name),
  );
  return new BlueGreenDeploy({
    plan,
    manifestText,
    checks,
    checksText: checksYaml,
    kubectl: cluster.kubectl,
    api: cluster.api,
    http: cluster.http,
    proxyBaseUrl: cluster.proxy.baseUrl,
    logger: cluster.logger,
    clock,
    holder: { id: 'test-run-1', runUrl: 'https://github.com/o/r/actions/runs/1' },
    run: { commit: 'abc', runId: '1', runUrl: 'https://github.com/o/r/actions/runs/1', actor: 'me' },
    rolloutTimeoutMs: 30_000,
    verifyWindowMs: overrides.verifyWindowMs ?? 500,
    previous: overrides.previous ?? 'keep',
    lockWaitMs: 5000,
  }).run();
}

function selectorColor(name: string): string | undefined {
  const svc = cluster.double
    .objects('services', 'shop')
    .find((s) => (s.metadata as { name: string }).name === name) as unknown as Service | undefined;
  return svc?.spec?.selector?.['dreamscape.io/color'];
}

const HEALTH = `
- name: web
  service: web
  port: http
  path: /health
  interval: 100ms
  successes: 2
- name: api
  service: api
  path: /health
  interval: 100ms
  successes: 2
`;

describe('blue-green deploy against the double with the real kubectl', () => {
  it('first deploy, a switch to green, then back to blue, with zero invariant violations', async () => {
    const first = await deploy(shopObjects('v1'), HEALTH);
    expect(first.result).toBe('promoted');
    expect(first.revision).toBe(1);
    expect(first.activeColor).toBe('blue');
    expect(selectorColor('web')).toBe('blue');
    expect(selectorColor('web-preview')).toBe('blue');

    const second = await deploy(shopObjects('v2'), HEALTH);
    expect(second.result).toBe('promoted');
    expect(second.revision).toBe(2);
    expect(second.activeColor).toBe('green');
    expect(second.previousColor).toBe('blue');
    expect(selectorColor('web')).toBe('green');
    expect(selectorColor('api')).toBe('green');
    // The previous color is kept at full scale for an instant rollback.
    const blue = cluster.double
      .objects('deployments', 'shop')
      .find((d) => (d.metadata as { name: string }).name === 'web-blue') as unknown as Deployment;
    expect(blue.spec?.replicas).toBe(2);

    const third = await deploy(shopObjects('v3'), HEALTH);
    expect(third.activeColor).toBe('blue');
    expect(third.revision).toBe(3);
    expect(cluster.double.violations()).toEqual([]);
  }, 120_000);

  it('a failed preview switch waits for the other preview patches before it points them back and scales down', async () => {
    expect((await deploy(shopObjects('v1'), HEALTH)).result).toBe('promoted');
    // The apply of the Services passes (after: 1); then api-preview's selector patch is refused at once; web-preview's gets a 500 and its fourth attempt lands 1.4 s
    // later, after the failure.
    cluster.double.setFaults([
      {
        verbs: ['patch'],
        resources: ['services'],
        names: ['api-preview'],
        conflict: true,
        after: 1,
        limit: 1,
      },
      { verbs: ['patch'], resources: ['services'], names: ['web-preview'], error: 500, after: 1, limit: 3 },
    ]);
    const second = await deploy(shopObjects('v2'), HEALTH);
    expect(second.result).toBe('failed');
    expect(cluster.double.faultCounts()).toEqual([1, 3]);
    cluster.double.setFaults([]);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (const name of ['web', 'api', 'web-preview', 'api-preview']) expect(selectorColor(name)).toBe('blue');
    expect(cluster.double.violations()).toEqual([]);
  }, 120_000);
});

describe('assertNotServing, the last guard before a color is scaled down', () => {
  const plan = {
    namespace: 'shop',
    services: [
      { name: 'web', deployment: 'web', ports: [], selector: { app: 'web' }, manifest: {} as Service },
      { name: 'api', deployment: 'api', ports: [], selector: { app: 'api' }, manifest: {} as Service },
    ],
  };
  const svc = (name: string, color: string): Service => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { selector: { app: name, 'dreamscape.io/color': color } },
  });

  it('refuses, loudly, to scale down a color a live Service selects', async () => {
    const api = new FakeClusterApi();
    api.seed(svc('web', 'green'), svc('api', 'blue'), svc('web-preview', 'blue'));
    await expect(assertNotServing(api, plan, 'blue')).rejects.toThrow(
      'Refusing to scale blue down: the Service api still selects it, and scaling it down would leave it with no endpoints.',
    );
    api.seed(svc('web', 'blue'));
    await expect(assertNotServing(api, plan, 'blue')).rejects.toThrow(
      'Refusing to scale blue down: the Services web, api still select it',
    );
  });

  it('lets a color no live Service selects go (a preview Service does not count)', async () => {
    const api = new FakeClusterApi();
    api.seed(svc('web', 'green'), svc('api', 'green'), svc('web-preview', 'blue'));
    await expect(assertNotServing(api, plan, 'blue')).resolves.toBeUndefined();
  });
});

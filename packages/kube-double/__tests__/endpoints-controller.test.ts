import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import { deployment, failed, kubectlFor, ok, yaml, type Kubectl } from './support/manifests.js';

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({ timeScale: 20, namespaces: ['svc'] });
  k = kubectlFor(double);
  ok(
    await k(['apply', '--server-side', '-f', '-'], {
      stdin: yaml(deployment('api', 'api:1', { namespace: 'svc', replicas: 2 })),
    }),
  );
  ok(await k(['rollout', 'status', 'deploy/api', '-n', 'svc', '--timeout=60s']));
});

afterAll(async () => {
  expect(double.errors()).toEqual([]);
  await double.close();
});

async function getJson(args: readonly string[]): Promise<JsonObject> {
  return JSON.parse(ok(await k(['get', ...args, '-o', 'json']))) as JsonObject;
}

function svc(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'svc' }, spec };
}

describe('Services as the real API handles them', () => {
  it('headless: no cluster IP, and Endpoints for the pods it selects', async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(
          svc('api-headless', { clusterIP: 'None', selector: { app: 'api' }, ports: [{ port: 8080 }] }),
        ),
      }),
    );
    await double.settle();
    const live = await getJson(['svc', 'api-headless', '-n', 'svc']);
    expect([(live.spec as JsonObject).clusterIP, (live.spec as JsonObject).clusterIPs]).toEqual([
      'None',
      ['None'],
    ]);
    const endpoints = await getJson(['endpoints', 'api-headless', '-n', 'svc']);
    expect(((endpoints.subsets as JsonObject[])[0]?.addresses as JsonObject[]).length).toBe(2);
  });

  it('without a selector: the Endpoints are the user`s, the controller leaves them alone', async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(svc('external-db', { ports: [{ port: 5432 }] }), {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name: 'external-db', namespace: 'svc' },
          subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 5432 }] }],
        }),
      }),
    );
    await double.settle();
    const endpoints = await getJson(['endpoints', 'external-db', '-n', 'svc']);
    expect(endpoints.subsets).toEqual([
      { addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 5432, protocol: 'TCP' }] },
    ]);
    expect(
      double.objects('endpointslices', 'svc').map((s) => (s.metadata as JsonObject).name),
    ).not.toContainEqual(expect.stringMatching(/^external-db-/));
  });

  it('ExternalName: a DNS alias with no cluster IP; externalName is required', async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(svc('payments', { type: 'ExternalName', externalName: 'payments.example.com' })),
      }),
    );
    const live = await getJson(['svc', 'payments', '-n', 'svc']);
    expect((live.spec as JsonObject).clusterIP).toBeUndefined();
    expect(ok(await k(['get', 'svc', 'payments', '-n', 'svc', '--no-headers']))).toMatch(
      /^payments\s+ExternalName\s+<none>\s+<none>\s+<none>/,
    );
    expect(
      failed(
        await k(['apply', '--server-side', '-f', '-'], {
          stdin: yaml(svc('alias', { type: 'ExternalName' })),
        }),
      ),
    ).toContain('The Service "alias" is invalid: spec.externalName: Required value');
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import { deployment, kubectlFor, namespace, ok, yaml, type Kubectl } from './support/manifests.js';

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({ timeScale: 20 });
  k = kubectlFor(double);
});

afterAll(async () => {
  expect(double.errors()).toEqual([]);
  await double.close();
});

describe('ServiceAccounts', () => {
  it('every namespace has a default one from the moment it exists', async () => {
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(namespace('accounts')) }));
    expect(ok(await k(['get', 'sa', '-n', 'accounts', '--no-headers'])).trim()).toMatch(/^default\s+0\s+/);
    expect(ok(await k(['get', 'sa', 'default', '-n', 'kube-system', '-o', 'name']))).toBe(
      'serviceaccount/default\n',
    );
  });

  it('a pod naming a missing one is refused: the ReplicaSet says FailedCreate, and starts it once it exists', async () => {
    const web = deployment('web', 'web:1', { namespace: 'accounts', replicas: 1 });
    const template = ((web.spec as Record<string, unknown>).template as Record<string, unknown>)
      .spec as Record<string, unknown>;
    template.serviceAccountName = 'web';
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(web) }));
    await double.settle();
    expect(double.objects('pods', 'accounts')).toEqual([]);
    const events = ok(
      await k(['get', 'events', '-n', 'accounts', '--field-selector', 'reason=FailedCreate']),
    );
    expect(events).toContain('Error creating: pods "web-');
    expect(events).toContain(
      'is forbidden: error looking up service account accounts/web: serviceaccount "web" not found',
    );

    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'direct', namespace: 'accounts' },
      spec: { serviceAccountName: 'web', containers: [{ name: 'c', image: 'c:1' }] },
    };
    const refused = await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(pod) });
    expect(refused.stderr).toContain(
      'Error from server (Forbidden): pods "direct" is forbidden: error looking up service account accounts/web: serviceaccount "web" not found',
    );

    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'web', namespace: 'accounts' },
        }),
      }),
    );
    ok(await k(['rollout', 'status', 'deploy/web', '-n', 'accounts', '--timeout=60s']));
    const pods = double.objects('pods', 'accounts');
    expect(pods.map((p) => (p.spec as JsonObject).serviceAccountName)).toEqual(['web']);
  });
});

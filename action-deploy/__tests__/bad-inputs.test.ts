import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeDouble } from '@dreamscape/kube-double';
import { freePort } from '@dreamscape/testkit';
import { buildRecords, deploy, digest, healthChecks, startCluster } from '@dreamscape/testkit';

let cluster: { double: KubeDouble; path: string };
let unreachableKubeconfig: string;
beforeAll(async () => {
  cluster = await startCluster();
  const port = await freePort();
  unreachableKubeconfig = join(mkdtempSync(join(tmpdir(), 'ds-kubeconfig-')), 'config');
  writeFileSync(
    unreachableKubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: gone, cluster: {server: "http://127.0.0.1:' + String(port) + '"}}]',
      'users: [{name: u, user: {}}]',
      'contexts: [{name: gone, context: {cluster: gone, user: u}}]',
      'current-context: gone',
    ].join('\n'),
  );
});
afterAll(async () => {
  await cluster.double.close();
});

const good = (): Record<string, string> => ({ images: buildRecords('v1'), 'health-checks': healthChecks() });
const check = (yaml: string): Record<string, string> => ({ ...good(), 'health-checks': yaml });

const CASES: [string, () => Record<string, string>, RegExp][] = [
  ['missing overlay input', () => ({ ...good(), overlay: '' }), /Input 'overlay' is required/],
  [
    'overlay that does not exist',
    () => ({ ...good(), overlay: 'k8s/nowhere' }),
    /Input 'overlay'.*does not exist/,
  ],
  [
    'overlay outside the workspace',
    () => ({ ...good(), overlay: '../../etc' }),
    /Input 'overlay'.*leads outside the workspace/,
  ],
  [
    'overlay without a kustomization',
    () => ({ ...good(), overlay: 'examples/dreamscape/services' }),
    /Input 'overlay'.*has no kustomization.yaml/,
  ],
  [
    'overlay that does not render',
    () => ({ ...good(), overlay: 'action-deploy/__tests__/fixtures/broken-overlay' }),
    /broken-overlay.*deployment-that-does-not-exist/s,
  ],
  [
    'image without a digest',
    () => ({ ...good(), images: 'ghcr.io/dreamscape/gateway=ghcr.io/dreamscape/gateway:v2' }),
    /Input 'images'.*has no digest/,
  ],
  [
    'image name not in the manifests',
    () => ({ ...good(), images: `ghcr.io/dreamscape/nope=ghcr.io/dreamscape/nope@${digest('nope', 'v1')}` }),
    /ghcr.io\/dreamscape\/nope/,
  ],
  ['images that are not JSON', () => ({ ...good(), images: '{"image": ' }), /Input 'images'.*not valid JSON/],
  [
    'a build record without image',
    () => ({ ...good(), images: '{"digest": "sha256:1"}' }),
    /Input 'images'.*needs an `image` field/,
  ],
  [
    'one image with two digests',
    () => ({ ...good(), images: `a/b=a/b@${digest('a', '1')}\na/b=a/b@${digest('a', '2')}` }),
    /given twice with different digests/,
  ],
  ['no images: nothing pinned by digest', () => ({ ...good(), images: '' }), /not pinned by digest/],
  [
    'a check naming an unknown Service',
    () => check('- name: x\n  service: billing\n  path: /health'),
    /Input 'health-checks'.*Service 'billing' is not in the overlay/,
  ],
  ['check YAML that does not parse', () => check('- name: [x'), /Input 'health-checks'.*YAML error/],
  ['a check that is not a list', () => check('name: x'), /Input 'health-checks'.*is not a list/],
  [
    'a check without a target',
    () => check('- name: x\n  path: /health'),
    /needs one of `service`, `url` or `prometheus`/,
  ],
  [
    'a check with two targets',
    () => check('- name: x\n  service: gateway\n  url: http://x'),
    /has service and url; choose one/,
  ],
  [
    'a check with a bad count',
    () => check('- name: x\n  service: gateway\n  successes: 0'),
    /`successes` is 0; expected an integer from 1/,
  ],
  [
    'a check with a bad interval',
    () => check('- name: x\n  service: gateway\n  interval: often'),
    /`interval` is "often"/,
  ],
  [
    'a check with an unknown field',
    () => check('- name: x\n  service: gateway\n  retries: 3'),
    /unknown field `retries`/,
  ],
  [
    'a prometheus check without bounds',
    () => check('- name: x\n  prometheus: http://prom:9090\n  query: up'),
    /needs `max`, `min` or both/,
  ],
  [
    'a bad rollout-timeout',
    () => ({ ...good(), 'rollout-timeout': 'soon' }),
    /Input 'rollout-timeout' has an invalid value "soon"/,
  ],
  ['a bad verify-window', () => ({ ...good(), 'verify-window': '-1s' }), /Input 'verify-window'/],
  [
    'an unknown strategy',
    () => ({ ...good(), strategy: 'recreate' }),
    /Input 'strategy' has an invalid value "recreate". Accepted: 'blue-green', 'canary', 'rolling'/,
  ],
  ['an unknown previous policy', () => ({ ...good(), previous: 'delete' }), /Input 'previous'/],
  ['an unknown mode', () => ({ ...good(), mode: 'yolo' }), /Input 'mode'/],
  [
    'an environment name with capitals',
    () => ({ ...good(), environment: 'Prod' }),
    /Input 'environment' has an invalid value "Prod"/,
  ],
  ['a missing environment', () => ({ ...good(), environment: '' }), /Input 'environment' is required/],
  [
    'an app name with shell characters',
    () => ({ ...good(), app: 'shop;rm -rf /' }),
    /Input 'app' has an invalid value/,
  ],
  [
    'a namespace that is not a name',
    () => ({ ...good(), namespace: 'Not_A_Namespace' }),
    /Input 'namespace'/,
  ],
  [
    'a kubeconfig that does not exist',
    () => ({ ...good(), kubeconfig: 'nowhere/config' }),
    /Input 'kubeconfig'.*does not exist/,
  ],
  [
    'a namespace that does not exist',
    () => ({ ...good(), overlay: 'action-deploy/__tests__/fixtures/no-namespace-overlay' }),
    /Namespace ghost does not exist/,
  ],
];

describe('action-deploy refuses bad input before writing anything', () => {
  it.each(CASES)(
    '%s',
    async (_name, inputs, expected) => {
      cluster.double.clearLogs();
      const r = await deploy(cluster, inputs());
      expect(r.exitCode).toBe(1);
      expect(r.errors.join('\n')).toMatch(expected);
      expect(cluster.double.writes()).toEqual([]);
    },
    60_000,
  );

  it('credentials without the RBAC a release needs: the denied permissions are listed', async () => {
    cluster.double.clearLogs();
    cluster.double.setAccess([
      { verbs: ['create', 'update'], resources: ['leases'], groups: ['coordination.k8s.io'], allowed: false },
      { verbs: ['patch'], resources: ['deployments/scale'], allowed: false },
    ]);
    try {
      const r = await deploy(cluster, good());
      expect(r.exitCode).toBe(1);
      const message = r.errors.join('\n');
      expect(message).toMatch(/may not do everything a release needs in namespace dreamscape-dev/);
      expect(message).toContain('create leases.coordination.k8s.io');
      expect(message).toContain('update leases.coordination.k8s.io');
      expect(message).toContain('patch deployments.apps/scale');
      expect(cluster.double.writes()).toEqual([]);
    } finally {
      cluster.double.setAccess([]);
    }
  }, 60_000);

  it('an unreachable cluster: a clear error naming the kubeconfig, after bounded retries', async () => {
    const r = await deploy(cluster, good(), { env: { KUBECONFIG: unreachableKubeconfig } });
    expect(r.exitCode).toBe(1);
    expect(r.errors.join('\n')).toMatch(
      new RegExp(`cluster could not be reached with the kubeconfig ${unreachableKubeconfig}`),
    );
    // Bounded: a few retries whose waits add up to seconds (read from the log, not timed, so a
    // slow machine cannot fail it).
    const retries = [...r.stdout.matchAll(/GET \/version failed \(HTTP 500\); retry (\d+) in (\d+)ms/g)];
    expect(retries.map((m) => Number(m[1]))).toEqual(retries.map((_, i) => i + 1));
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.reduce((sum, m) => sum + Number(m[2]), 0)).toBeLessThan(60_000);
  }, 90_000);
});

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { KubeObject } from '@dreamscape/kube';
import { runKubectl, startLoad } from '@dreamscape/testkit';
import { dump } from 'js-yaml';
import { COLOR_LABEL } from '../src/colors.js';
import {
  GatewayApiRouter,
  NginxRouter,
  ServiceRouter,
  type RouterContext,
  type TrafficRouter,
} from '../src/traffic-routers.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const crds = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'examples',
  'storefront',
  'cluster',
  'crds',
);
const NS = 'shop';

let cluster: TestCluster;

const deployment = (color: string, image: string, replicas: number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: `web-${color}`, namespace: NS },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web', [COLOR_LABEL]: color } },
    template: {
      metadata: { labels: { app: 'web', [COLOR_LABEL]: color } },
      spec: { containers: [{ name: 'web', image, ports: [{ name: 'http', containerPort: 8080 }] }] },
    },
  },
});
const service = (name: string, color: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: NS },
  spec: {
    selector: { app: 'web', [COLOR_LABEL]: color },
    ports: [{ name: 'http', port: 80, targetPort: 'http' }],
  },
});
const USER_INGRESS: KubeObject = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'web', namespace: NS },
  spec: {
    ingressClassName: 'nginx',
    rules: [
      {
        host: 'shop.example.com',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
          ],
        },
      },
    ],
  },
};
const USER_ROUTE: KubeObject = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'web', namespace: NS },
  spec: {
    parentRefs: [{ name: 'public' }],
    hostnames: ['routes.example.com'],
    rules: [{ backendRefs: [{ name: 'web', port: 80 }] }],
  },
};

const context = (header?: string): RouterContext => ({
  api: cluster.api,
  namespace: NS,
  app: 'shop',
  services: ['web'],
  header,
});

/** 400 requests through the data plane; the share answered by the candidate (green). */
async function greenShare(host: string, headers: Record<string, string> = {}): Promise<number> {
  const seen = await startLoad({
    url: cluster.double.gateway.url,
    host,
    headers,
    rps: 1000,
    maxRequests: 400,
    maxInFlight: 400,
  }).done;
  expect(seen.byStatus).toEqual({ '200': 400 });
  return (seen.byColor.green ?? 0) / 400;
}

/** An object as the double holds it (the fields these tests read). */
interface LiveView {
  readonly metadata: { readonly name: string };
  readonly spec?: { readonly selector?: Record<string, string> };
}

function live(kind: string, name: string): LiveView | undefined {
  return cluster.double
    .objects(kind, NS)
    .map((o) => o as unknown as LiveView)
    .find((o) => o.metadata.name === name);
}

beforeAll(async () => {
  cluster = await startTestCluster({
    namespaces: [NS],
    behaviours: [{ image: '*', ready: '1s', http: { '/': { status: 200, body: 'ok' } } }],
    timeScale: 20,
  });
  const kubeconfig = cluster.double.kubeconfigPath;
  const applied = await runKubectl(
    ['apply', '--server-side', '-f', join(crds, 'gateways.yaml'), '-f', join(crds, 'httproutes.yaml')],
    {
      kubeconfig,
    },
  );
  expect(applied.exitCode).toBe(0);
  const objects = [
    deployment('blue', 'web:1', 2),
    deployment('green', 'web:2', 2),
    service('web', 'blue'),
    service('web-preview', 'green'),
    USER_INGRESS,
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'public', namespace: NS },
      spec: { gatewayClassName: 'x', listeners: [{ name: 'http', protocol: 'HTTP', port: 80 }] },
    },
    USER_ROUTE,
  ];
  const created = await runKubectl(['apply', '--server-side', '-f', '-'], {
    kubeconfig,
    stdin: objects.map((o) => dump(o)).join('---\n'),
  });
  expect(created.exitCode).toBe(0);
  const ready = await runKubectl(
    ['-n', NS, 'rollout', 'status', 'deploy/web-blue', 'deploy/web-green', '--timeout=60s'],
    {
      kubeconfig,
    },
  );
  expect(ready.exitCode).toBe(0);
}, 120_000);

beforeEach(() => {
  cluster.double.clearLogs();
});

afterAll(async () => {
  await cluster.close();
});

describe('the nginx router', () => {
  it('splits through a canary Ingress of its own, honours the tester header, and leaves the user’s Ingress untouched', async () => {
    const before = live('ingresses', 'web');
    const router: TrafficRouter = new NginxRouter(context('X-Canary'), USER_INGRESS);
    await router.prepare();
    expect(await greenShare('shop.example.com')).toBe(0);
    expect(await greenShare('shop.example.com', { 'X-Canary': 'always' })).toBe(1);
    expect(await router.setWeight(25)).toBe(25);
    expect(Math.abs((await greenShare('shop.example.com')) - 0.25)).toBeLessThanOrEqual(0.03);
    await router.setWeight(100);
    expect(await greenShare('shop.example.com')).toBe(1);
    await router.setWeight(0);
    expect(await greenShare('shop.example.com')).toBe(0);
    // A second prepare (a resumed run) starts again at 0.
    await router.setWeight(50);
    await router.prepare();
    expect(await greenShare('shop.example.com')).toBe(0);
    await router.remove('aborted');
    expect(live('ingresses', 'web-canary')).toBeUndefined();
    expect(live('ingresses', 'web')).toEqual(before);
    expect(cluster.double.violations()).toEqual([]);
    expect(cluster.double.gateway.traffic().shareWindows).toBeGreaterThan(0);
  }, 60_000);

  it('refuses an Ingress that sends nothing to the release', () => {
    const router = new NginxRouter({ ...context(), services: ['api'] }, USER_INGRESS);
    expect(() => router.canaryIngress(0)).toThrow(
      'Ingress web sends no path to a Service of this release (api): nothing to split',
    );
  });
});

describe('the gateway-api router', () => {
  it('writes the weights of the user’s HTTPRoute and gives its rules back as they were', async () => {
    const before = live('httproutes', 'web')?.spec;
    const router: TrafficRouter = new GatewayApiRouter(context('X-Canary'), 'web');
    await router.prepare();
    expect(await greenShare('routes.example.com')).toBe(0);
    expect(await greenShare('routes.example.com', { 'X-Canary': 'always' })).toBe(1);
    await router.setWeight(30);
    expect(Math.abs((await greenShare('routes.example.com')) - 0.3)).toBeLessThanOrEqual(0.03);
    expect(await greenShare('routes.example.com', { 'X-Canary': 'always' })).toBe(1);
    await router.setWeight(100);
    expect(await greenShare('routes.example.com')).toBe(1);
    await router.remove('promoted');
    expect(live('httproutes', 'web')?.spec).toEqual(before);
    expect(cluster.double.violations()).toEqual([]);
  }, 60_000);

  it('gives the HTTPRoute’s rules back to the release’s apply once it removes its weights', async () => {
    const router = new GatewayApiRouter(context(), 'web', USER_ROUTE);
    await router.prepare();
    await router.setWeight(30);
    await router.remove();
    // The next release applies the HTTPRoute as the overlay writes it: no conflict with the router.
    await expect(cluster.api.applyServerSide([USER_ROUTE])).resolves.toHaveLength(1);
  }, 60_000);

  it('names the HTTPRoute when it does not exist', async () => {
    await expect(new GatewayApiRouter(context(), 'nope').prepare()).rejects.toThrow(
      'HTTPRoute shop/nope does not exist',
    );
  });
});

describe('the service router', () => {
  it('rounds each step to what the replicas can give, at least one pod, and says which weights it uses', () => {
    expect(ServiceRouter.reachable(10, 4)).toEqual({ weight: 25, candidate: 1 });
    expect(ServiceRouter.reachable(50, 4)).toEqual({ weight: 50, candidate: 2 });
    expect(ServiceRouter.reachable(60, 4)).toEqual({ weight: 50, candidate: 2 });
    expect(ServiceRouter.reachable(90, 4)).toEqual({ weight: 100, candidate: 4 });
    expect(ServiceRouter.reachable(100, 4)).toEqual({ weight: 100, candidate: 4 });
    expect(ServiceRouter.reachable(0, 4)).toEqual({ weight: 0, candidate: 0 });
    expect(ServiceRouter.reachable(1, 3)).toEqual({ weight: 33, candidate: 1 });
    expect(ServiceRouter.reachable(5, 1)).toEqual({ weight: 100, candidate: 1 });
    expect(() => ServiceRouter.reachable(101, 4)).toThrow(
      'a canary weight is a whole number from 0 to 100, got 101',
    );
    const side = (deployment: string, replicas: number) => ({
      deployment,
      services: [deployment],
      replicas,
      liveReplicas: replicas,
    });
    expect(ServiceRouter.weightFor(10, [side('web', 4), side('api', 2)])).toBe(50);
    expect(ServiceRouter.describe([10, 50, 100], [side('web', 4)])).toBe(
      'The service router shares by Ready replicas: web: 4 replicas, weights in steps of 25 % (25, 50, 100). Steps 10, 50, 100 are rounded to 25, 50, 100 %.',
    );
    expect(ServiceRouter.describe([25, 100], [side('web', 4), side('api', 2)])).toBe(
      'The service router shares by Ready replicas: api: 2 replicas, weights in steps of 50 % (50, 100); web: 4 replicas, weights in steps of 25 % (25, 100). Steps 25, 100 are rounded to 50, 100 % (the largest share a Service gives the canary).',
    );
  });

  it('shares the Service by Ready pods, keeps the preview off a growing candidate, and ends on one color', async () => {
    const kubeconfig = cluster.double.kubeconfigPath;
    const scale = async (color: string, name: string, replicas: number): Promise<void> => {
      const r = await runKubectl(
        ['-n', NS, 'scale', `deploy/${name}-${color}`, `--replicas=${String(replicas)}`],
        {
          kubeconfig,
        },
      );
      expect(r.exitCode).toBe(0);
      const s = await runKubectl(
        ['-n', NS, 'rollout', 'status', `deploy/${name}-${color}`, '--timeout=60s'],
        {
          kubeconfig,
        },
      );
      expect(s.exitCode).toBe(0);
    };
    // Both colors at the release's full size, as the engine has them when the canary starts.
    await scale('blue', 'web', 4);
    await scale('green', 'web', 4);
    cluster.double.clearLogs();
    const router = new ServiceRouter(
      context(),
      { live: 'blue', candidate: 'green' },
      [{ deployment: 'web', services: ['web'], replicas: 4, liveReplicas: 4 }],
      scale,
    );
    await router.prepare();
    expect(live('services', 'web')?.spec?.selector).toEqual({ app: 'web', [COLOR_LABEL]: 'blue' });
    expect(await greenShare('shop.example.com')).toBe(0);
    expect(await router.setWeight(25)).toBe(25);
    expect(live('services', 'web')?.spec?.selector).toEqual({ app: 'web' });
    expect(await greenShare('shop.example.com')).toBe(0.25);
    expect(await router.setWeight(60)).toBe(50);
    expect(await greenShare('shop.example.com')).toBe(0.5);
    expect(live('services', 'web-preview')?.spec?.selector).toEqual({ app: 'web', [COLOR_LABEL]: 'green' });
    // 0 from a shared step: the live color back at its full size first, then the Services on it.
    expect(await router.setWeight(0)).toBe(0);
    expect(live('services', 'web')?.spec?.selector).toEqual({ app: 'web', [COLOR_LABEL]: 'blue' });
    expect(await greenShare('shop.example.com')).toBe(0);
    // 100: the Services select the candidate, as a blue-green switch leaves them, the live color warm.
    expect(await router.setWeight(100)).toBe(100);
    expect(live('services', 'web')?.spec?.selector).toEqual({ app: 'web', [COLOR_LABEL]: 'green' });
    expect(await greenShare('shop.example.com')).toBe(1);
    expect((live('deployments', 'web-blue')?.spec as { replicas?: number } | undefined)?.replicas).toBe(4);
    // Neither the shared Service nor the preview ever selected a pod that was not Ready, or none.
    expect(cluster.double.violations()).toEqual([]);
  }, 120_000);
});

import { Agent, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type KubeDouble } from '../src/index.js';
import { TrafficMonitor } from '../src/traffic-monitor.js';
import { deployment, kubectlFor, ok, service, yaml, type Kubectl } from './support/manifests.js';

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
const TRACK = 'dreamscape.io/track';

let double: KubeDouble;
let k: Kubectl;

/** What a client saw over a batch of requests: counts by the Service and status that answered. */
interface Seen {
  readonly byService: Record<string, number>;
  readonly byStatus: Record<string, number>;
  readonly byColor: Record<string, number>;
}

/** Sends `count` GETs through the data plane with `host`, 16 at a time over keep-alive connections. */
async function send(
  count: number,
  host: string,
  path = '/',
  headers: Record<string, string> = {},
): Promise<Seen> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const url = new URL(double.gateway.url);
  const seen: Seen = { byService: {}, byStatus: {}, byColor: {} };
  const bump = (m: Record<string, number>, key: string): void => {
    m[key] = (m[key] ?? 0) + 1;
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      await new Promise<void>((resolve, reject) => {
        const req = request(
          { agent, host: url.hostname, port: url.port, path, headers: { host, ...headers } },
          (res) => {
            res.resume();
            res.on('end', () => {
              bump(seen.byStatus, String(res.statusCode));
              bump(seen.byService, String(res.headers['x-kube-double-service'] ?? '(none)'));
              bump(seen.byColor, String(res.headers['x-kube-double-color'] ?? '(none)'));
              resolve();
            });
          },
        );
        req.on('error', reject);
        req.end();
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  agent.destroy();
  return seen;
}

function share(seen: Seen, service: string): number {
  const total = Object.values(seen.byService).reduce((a, b) => a + b, 0);
  return (seen.byService[service] ?? 0) / total;
}

const tracked = (name: string, track: string, image: string, replicas: number): Record<string, unknown> =>
  deployment(`${name}-${track}`, image, { namespace: NS, replicas, labels: { app: name, [TRACK]: track } });

const ingress = (
  name: string,
  host: string,
  backend: string,
  annotations: Record<string, string> = {},
): Record<string, unknown> => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: NS, annotations },
  spec: {
    ingressClassName: 'nginx',
    rules: [
      {
        host,
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: backend, port: { name: 'http' } } },
            },
          ],
        },
      },
    ],
  },
});

beforeAll(async () => {
  double = await startKubeDouble({
    timeScale: 20,
    namespaces: [NS],
    behaviours: [
      // The canary answers after a declared latency: every test through it waits for its answers.
      {
        image: 'web:2',
        ready: '1s',
        http: { '/': { status: 200, body: 'ok', latency: { min: '1ms', max: '5ms' } } },
      },
      { image: '*', ready: '1s', http: { '/': { status: 200, body: 'ok' } } },
    ],
  });
  k = kubectlFor(double);
  ok(
    await k([
      'apply',
      '--server-side',
      '-f',
      join(crds, 'gateways.yaml'),
      '-f',
      join(crds, 'httproutes.yaml'),
    ]),
  );
  ok(
    await k(['apply', '--server-side', '-f', '-'], {
      stdin: yaml(
        tracked('web', 'stable', 'web:1', 3),
        tracked('web', 'canary', 'web:2', 1),
        service('web-stable', { app: 'web', [TRACK]: 'stable' }, { namespace: NS }),
        service('web-canary', { app: 'web', [TRACK]: 'canary' }, { namespace: NS }),
        // Both Deployments behind one selector: kube-proxy shares by Ready pod count.
        service('web', { app: 'web' }, { namespace: NS }),
        service('nobody', { app: 'nobody' }, { namespace: NS }),
        ingress('web', 'shop.example.com', 'web-stable'),
        ingress('web-canary', 'shop.example.com', 'web-canary', {
          'nginx.ingress.kubernetes.io/canary': 'true',
          'nginx.ingress.kubernetes.io/canary-weight': '20',
          'nginx.ingress.kubernetes.io/canary-by-header': 'X-Canary',
        }),
        ingress('both', 'both.example.com', 'web'),
        ingress('empty', 'empty.example.com', 'nobody'),
        ingress('missing', 'missing.example.com', 'not-there'),
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          metadata: { name: 'public', namespace: NS },
          spec: { gatewayClassName: 'double', listeners: [{ name: 'http', protocol: 'HTTP', port: 80 }] },
        },
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'web', namespace: NS },
          spec: {
            parentRefs: [{ name: 'public' }],
            hostnames: ['routes.example.com'],
            rules: [
              {
                matches: [
                  { path: { type: 'PathPrefix', value: '/' }, headers: [{ name: 'x-canary', value: 'yes' }] },
                ],
                backendRefs: [{ name: 'web-canary', port: 80 }],
              },
              {
                backendRefs: [
                  { name: 'web-stable', port: 80, weight: 90 },
                  { name: 'web-canary', port: 80, weight: 10 },
                ],
              },
            ],
          },
        },
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'orphan', namespace: NS },
          spec: {
            parentRefs: [{ name: 'no-such-gateway' }],
            hostnames: ['orphan.example.com'],
            rules: [{ backendRefs: [{ name: 'web-stable', port: 80 }] }],
          },
        },
      ),
    }),
  );
  ok(await k(['-n', NS, 'rollout', 'status', 'deploy/web-stable', 'deploy/web-canary', '--timeout=60s']));
}, 120_000);

beforeEach(() => {
  double.clearLogs();
});

afterAll(async () => {
  await double.close();
});

describe('data plane', () => {
  it('splits an Ingress with an NGINX canary Ingress at weight 20 within 3 points over 2,000 requests', async () => {
    const seen = await send(2000, 'shop.example.com');
    expect(seen.byStatus).toEqual({ '200': 2000 });
    expect(Math.abs(share(seen, 'web-canary') - 0.2)).toBeLessThanOrEqual(0.03);
    expect(seen.byColor).toEqual({
      canary: seen.byService['web-canary'],
      stable: seen.byService['web-stable'],
    });
    // The monitor judges a share window when a request comes after it ended (1 s): a fast machine
    // sends all 2,000 within one, so one more request, a window later, makes it judged.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await send(1, 'shop.example.com');
    expect(double.gateway.traffic().shareWindows).toBeGreaterThan(0);
    expect(double.violations()).toEqual([]);
  });

  it('splits an HTTPRoute with backend weights 90/10 within 3 points over 2,000 requests', async () => {
    const seen = await send(2000, 'routes.example.com');
    expect(seen.byStatus).toEqual({ '200': 2000 });
    expect(Math.abs(share(seen, 'web-canary') - 0.1)).toBeLessThanOrEqual(0.03);
    expect(double.violations()).toEqual([]);
  });

  it('sends every request marked with the canary header to the canary, and `never` to the main backend', async () => {
    expect((await send(200, 'shop.example.com', '/', { 'X-Canary': 'always' })).byService).toEqual({
      'web-canary': 200,
    });
    expect((await send(200, 'shop.example.com', '/', { 'X-Canary': 'never' })).byService).toEqual({
      'web-stable': 200,
    });
    expect((await send(200, 'routes.example.com', '/', { 'x-canary': 'yes' })).byService).toEqual({
      'web-canary': 200,
    });
  });

  it('shares a Service that selects two Deployments by their Ready pod counts (3 to 1)', async () => {
    const seen = await send(400, 'both.example.com');
    expect(seen.byColor).toEqual({ stable: 300, canary: 100 });
  });

  it('follows a weight written through the API from the next request on', async () => {
    ok(
      await k([
        '-n',
        NS,
        'annotate',
        'ingress',
        'web-canary',
        '--overwrite',
        'nginx.ingress.kubernetes.io/canary-weight=0',
      ]),
    );
    expect((await send(300, 'shop.example.com')).byService).toEqual({ 'web-stable': 300 });
    ok(
      await k([
        '-n',
        NS,
        'annotate',
        'ingress',
        'web-canary',
        '--overwrite',
        'nginx.ingress.kubernetes.io/canary-weight=100',
      ]),
    );
    expect((await send(300, 'shop.example.com')).byService).toEqual({ 'web-canary': 300 });
    ok(
      await k([
        '-n',
        NS,
        'annotate',
        'ingress',
        'web-canary',
        '--overwrite',
        'nginx.ingress.kubernetes.io/canary-weight=20',
      ]),
    );
  });

  it('answers 503 for a Service with no Ready endpoint, and records the outage', async () => {
    const seen = await send(10, 'empty.example.com');
    expect(seen.byStatus).toEqual({ '503': 10 });
    const violations = double.violations();
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ kind: 'routing-503', service: `${NS}/nobody`, requests: 10 });
    expect(double.gateway.traffic().routing503s).toBe(10);
  });

  it('answers 404 when no route matches, 503 for an Ingress naming no Service, and ignores routes of a missing Gateway', async () => {
    expect((await send(5, 'nowhere.example.com')).byStatus).toEqual({ '404': 5 });
    expect((await send(5, 'missing.example.com')).byStatus).toEqual({ '503': 5 });
    expect((await send(5, 'orphan.example.com')).byStatus).toEqual({ '404': 5 });
    expect(double.violations()).toEqual([]);
  });

  it('serves a host on a listener of its own, for clients that cannot set Host', async () => {
    const url = await double.gateway.hostUrl('routes.example.com');
    const res = await fetch(`${url}/health`, { headers: { 'x-canary': 'yes' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-kube-double-service')).toBe('web-canary');
    expect(await double.gateway.hostUrl('ROUTES.example.com')).toBe(url);
  });

  it('exposes request counts and a latency histogram in Prometheus text format', async () => {
    await send(50, 'routes.example.com');
    const text = await (await fetch(double.gateway.metricsUrl)).text();
    const canary = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('http_requests_total{') &&
          l.includes('route="web"') &&
          l.includes('service="web-canary"'),
      );
    expect(canary).toMatch(
      /namespace="shop",ingress="",route="web",service="web-canary",backend="web-canary",pod_template_hash="[a-z0-9]+",color="canary",method="GET",code="200"\} \d+$/,
    );
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{namespace="shop",ingress="web",.*le="\+Inf"\} \d+/,
    );
    expect((await fetch(double.gateway.metricsUrl.replace('/metrics', '/other'))).status).toBe(404);
  });
});

describe('traffic monitor', () => {
  it('records requests whose shares stray from the weights in force', () => {
    // The data plane keeps to its weights (the tests above); this feeds the monitor records that
    // do not, as a data plane that missed a weight change would produce.
    const monitor = new TrafficMonitor(double.api, { windowMs: 60_000 });
    const weights = [
      { service: 'web-stable', port: 80, weight: 90 },
      { service: 'web-canary', port: 80, weight: 10 },
    ];
    for (let i = 0; i < 100; i++)
      monitor.observe({
        at: Date.now(),
        namespace: NS,
        route: { kind: 'HTTPRoute', name: 'web', key: 'r' },
        decidedBy: 'weight',
        weights,
        service: i % 2 === 0 ? 'web-stable' : 'web-canary',
        pod: undefined,
        status: 200,
        outcome: 'answered',
      });
    const [violation] = monitor.violations();
    expect(violation).toMatchObject({ kind: 'weight-share', requests: 100 });
    expect(violation?.message).toContain('web-canary 50.0% (weight 10.0%)');
  });

  it('records a request answered by a pod that is not Ready', () => {
    const monitor = new TrafficMonitor(double.api);
    monitor.observe({
      at: Date.now(),
      namespace: NS,
      route: undefined,
      decidedBy: undefined,
      weights: [],
      service: 'web-stable',
      pod: 'web-stable-gone',
      status: 200,
      outcome: 'answered',
    });
    expect(monitor.violations()).toMatchObject([{ kind: 'unready-answer', pods: ['web-stable-gone'] }]);
    expect(monitor.summary().unreadyAnswers).toBe(1);
  });
});

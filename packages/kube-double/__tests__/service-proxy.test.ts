import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type KubeDouble } from '../src/index.js';
import { splitServiceId } from '../src/service-proxy.js';
import { deployment, failed, kubectlFor, ok, service, yaml, type Kubectl } from './support/manifests.js';

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({
    timeScale: 20,
    behaviours: [
      { image: 'shop@sha256:bad*', ready: 'never' },
      {
        image: 'shop:*',
        http: {
          '/slow': { status: 200, body: 'late', latency: '800ms' },
          '/api/*': { status: 201, body: { created: true } },
        },
      },
    ],
  });
  k = kubectlFor(double);
  ok(
    await k(['apply', '--server-side', '-f', '-'], {
      stdin: yaml(deployment('shop', 'shop:2.0', { replicas: 3 }), service('shop', { app: 'shop' })),
    }),
  );
  ok(await k(['rollout', 'status', 'deploy/shop', '--timeout=30s']));
});

afterAll(async () => {
  await double.close();
});

const proxied = (id: string, path: string): string =>
  `${double.url}/api/v1/namespaces/default/services/${id}/proxy${path}`;

describe('service proxy', () => {
  it('round-robins across the Ready pods behind the Service', async () => {
    const pods: string[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await fetch(proxied('shop:http', '/health'));
      expect(response.status).toBe(200);
      pods.push(response.headers.get('x-kube-double-pod') ?? '');
    }
    expect(new Set(pods).size).toBe(3);
    expect(pods.slice(0, 3)).toEqual(pods.slice(3));
  });

  it('finds the port by name or number, with or without a scheme', async () => {
    for (const id of ['shop', 'shop:80', 'shop:http', 'http:shop:80', 'http:shop:http']) {
      const response = await fetch(proxied(id, '/health'));
      expect([id, response.status]).toEqual([id, 200]);
      expect(await response.json()).toEqual({ status: 'ok', image: 'shop:2.0' });
    }
    expect((await fetch(proxied('shop:9999', '/health'))).status).toBe(503);
  });

  it('answers paths by exact match or glob, 404 otherwise, and waits out latency', async () => {
    const created = await fetch(proxied('shop:http', '/api/orders'));
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ created: true });
    expect((await fetch(proxied('shop:http', '/nothing'))).status).toBe(404);
    const started = Date.now();
    const slow = await fetch(proxied('shop:http', '/slow'));
    expect(await slow.text()).toBe('late');
    expect(Date.now() - started).toBeGreaterThanOrEqual(750);
    expect(ok(await k(['get', '--raw', '/api/v1/namespaces/default/services/shop:http/proxy/api/x']))).toBe(
      '{"created":true}',
    );
  });

  it('answers 404 for a Service that does not exist and 503 when its pods are not Ready', async () => {
    expect(
      failed(await k(['get', '--raw', '/api/v1/namespaces/default/services/ghost/proxy/health'])),
    ).toContain('Error from server (NotFound): services "ghost" not found');
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(
          deployment('broken', 'shop@sha256:bad0', { replicas: 1 }),
          service('broken', { app: 'broken' }),
        ),
      }),
    );
    await double.settle();
    expect(
      failed(await k(['get', '--raw', '/api/v1/namespaces/default/services/broken:http/proxy/health'])),
    ).toContain('no endpoints available for service "broken"');
  });

  it('follows behaviours replaced at run time', async () => {
    double.setBehaviours([{ image: 'shop:*', http: { '/health': { status: 503, body: 'draining' } } }]);
    const response = await fetch(proxied('shop:http', '/health'));
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('draining');
    double.setBehaviours([]);
    expect((await fetch(proxied('shop:http', '/health'))).status).toBe(200);
  });

  it('answers the declared share of requests with the error, counted across the pods of an image', async () => {
    double.setBehaviours([
      {
        image: 'shop:*',
        http: { '/flaky': { body: 'fine', errors: { rate: 0.25, status: 502, body: 'bad gateway' } } },
      },
    ]);
    try {
      const answers: string[] = [];
      for (let i = 0; i < 20; i++) {
        const response = await fetch(proxied('shop:http', '/flaky'));
        answers.push(`${String(response.status)} ${await response.text()}`);
      }
      expect(answers.flatMap((a, i) => (a === '502 bad gateway' ? [i + 1] : []))).toEqual([4, 8, 12, 16, 20]);
      expect(answers.filter((a) => a === '200 fine')).toHaveLength(15);
    } finally {
      double.setBehaviours([]);
    }
  });
});

describe('splitServiceId', () => {
  it.each([
    ['web', { name: 'web', port: '' }],
    ['web:80', { name: 'web', port: '80' }],
    ['https:web:443', { scheme: 'https', name: 'web', port: '443' }],
  ])('splits %s', (id, expected) => {
    expect(splitServiceId(id)).toEqual(expected);
  });
});

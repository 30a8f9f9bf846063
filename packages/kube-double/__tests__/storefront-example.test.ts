import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadAll } from 'js-yaml';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import { kubectlFor, ok, type Kubectl } from './support/manifests.js';

// examples/storefront: an application in the shape of the well-known open-source microservice shops
// (a dozen services, each with its ServiceAccount and NetworkPolicy, a worker with no Service, a
// redis StatefulSet behind a headless Service with a volume, a CronJob, an Ingress, a ServiceMonitor
// custom resource), written as a consumer's kustomize overlay. It applies to the double as it would
// to a cluster, and every workload gets to its ready state.

const example = fileURLToPath(new URL('../../../examples/storefront/', import.meta.url));
const cluster = `${example}cluster`;
const overlay = `${example}k8s/overlays/prod`;

let double: KubeDouble;
let k: Kubectl;
let rendered: JsonObject[];

beforeAll(async () => {
  double = await startKubeDouble({ timeScale: 20 });
  k = kubectlFor(double);
  rendered = loadAll(ok(await k(['kustomize', overlay]))) as JsonObject[];
});

afterAll(async () => {
  expect(double.errors()).toEqual([]);
  await double.close();
});

const nameOf = (o: JsonObject): string => (o.metadata as JsonObject).name as string;
const ofKind = (kind: string): JsonObject[] => rendered.filter((o) => o.kind === kind);
const podSpecOf = (o: JsonObject): JsonObject =>
  ((o.spec as JsonObject).template as JsonObject).spec as JsonObject;

describe('examples/storefront', () => {
  it('has the shape of a real microservice application', () => {
    const deployments = ofKind('Deployment');
    const services = ofKind('Service');
    const accounts = new Set(ofKind('ServiceAccount').map(nameOf));
    expect(deployments.length).toBeGreaterThanOrEqual(12);
    // Every workload runs as its own ServiceAccount.
    for (const d of [...deployments, ...ofKind('StatefulSet')])
      expect(accounts).toContain(podSpecOf(d).serviceAccountName);
    // A worker that no Service selects.
    const selected = (d: JsonObject): boolean => {
      const labels = (((d.spec as JsonObject).template as JsonObject).metadata as JsonObject)
        .labels as JsonObject;
      return services.some((s) => {
        const selector = ((s.spec as JsonObject).selector ?? {}) as JsonObject;
        return (
          Object.keys(selector).length > 0 && Object.entries(selector).every(([key, v]) => labels[key] === v)
        );
      });
    };
    expect(deployments.filter((d) => !selected(d)).map(nameOf)).toEqual(['order-worker']);
    const [redis] = ofKind('StatefulSet');
    expect(((redis?.spec as JsonObject).volumeClaimTemplates as JsonObject[]).length).toBe(1);
    const headless = services.find((s) => nameOf(s) === (redis?.spec as JsonObject).serviceName);
    expect((headless?.spec as JsonObject).clusterIP).toBe('None');
    expect(ofKind('NetworkPolicy').length).toBeGreaterThan(deployments.length);
    expect(ofKind('CronJob').map(nameOf)).toEqual(['catalog-sync']);
    expect(ofKind('Ingress').map(nameOf)).toEqual(['storefront']);
    expect(ofKind('ServiceMonitor').map(nameOf)).toEqual(['storefront']);
    expect(ofKind('HorizontalPodAutoscaler')).toEqual([]);
  });

  it('applies with kubectl apply --server-side -k, and every workload reaches its ready state', async () => {
    ok(await k(['apply', '--server-side', '-k', cluster]));
    const applied = ok(await k(['apply', '--server-side', '-k', overlay]));
    expect(applied.trim().split('\n')).toHaveLength(rendered.length);
    for (const d of ofKind('Deployment'))
      expect(
        ok(await k(['rollout', 'status', `deploy/${nameOf(d)}`, '-n', 'storefront', '--timeout=60s'])),
      ).toContain('successfully rolled out');
    expect(
      ok(await k(['rollout', 'status', 'sts/cart-redis', '-n', 'storefront', '--timeout=60s'])),
    ).toContain('partitioned roll out complete: 1 new pods have been updated...');
    const deployments = JSON.parse(
      ok(await k(['get', 'deploy', '-n', 'storefront', '-o', 'json'])),
    ) as JsonObject;
    for (const d of deployments.items as JsonObject[]) {
      const status = d.status as JsonObject;
      expect([nameOf(d), status.readyReplicas]).toEqual([nameOf(d), (d.spec as JsonObject).replicas]);
    }
    const claim = JSON.parse(
      ok(await k(['get', 'pvc', 'data-cart-redis-0', '-n', 'storefront', '-o', 'json'])),
    ) as JsonObject;
    expect((claim.status as JsonObject).phase).toBe('Bound');
    const redis = JSON.parse(
      ok(await k(['get', 'pod', 'cart-redis-0', '-n', 'storefront', '-o', 'json'])),
    ) as JsonObject;
    expect((redis.spec as JsonObject).priority).toBe(100000);
    expect(ok(await k(['get', 'servicemonitors', '-n', 'storefront', '-o', 'name']))).toBe(
      'servicemonitor.monitoring.coreos.com/storefront\n',
    );
    expect(double.violations()).toEqual([]);
  });

  it('applies a second time without changing anything', async () => {
    const before = double.writes().length;
    ok(await k(['apply', '--server-side', '-k', overlay]));
    const second = double.writes().slice(before);
    expect(second).toHaveLength(rendered.length);
    expect(second.filter((w) => w.changed).map((w) => `${w.kind}/${w.name}`)).toEqual([]);
  });
});

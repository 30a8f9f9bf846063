import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import { failed, kubectlFor, ok, yaml, type Kubectl } from './support/manifests.js';

// Custom resources the way kubectl meets them on a real cluster: a CRD applied through the API is
// served at once (discovery, OpenAPI, tables), its structural schema decides defaults, pruning and
// validation (strict), status is a subresource when declared, every served version reads the same
// objects, and deleting the CRD takes its objects with it. The CRDs are the ones examples/storefront
// installs: in the shape of the Prometheus operator's ServiceMonitor and the Gateway API's HTTPRoute.

const crds = fileURLToPath(new URL('../../../examples/storefront/cluster/crds/', import.meta.url));
const crd = (file: string): string => readFileSync(`${crds}${file}`, 'utf8');

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({ timeScale: 20, namespaces: ['shop'] });
  k = kubectlFor(double);
});

afterAll(async () => {
  expect(double.errors()).toEqual([]);
  await double.close();
});

function monitor(spec: Record<string, unknown>, name = 'web'): Record<string, unknown> {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name, namespace: 'shop' },
    spec,
  };
}

function route(apiVersion: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion, kind: 'HTTPRoute', metadata: { name, namespace: 'shop' }, spec };
}

async function getJson(args: readonly string[]): Promise<JsonObject> {
  return JSON.parse(ok(await k(['get', ...args, '-o', 'json']))) as JsonObject;
}

describe('a CustomResourceDefinition', () => {
  it('serves its kind right after it is applied, in discovery and by short name', async () => {
    expect(failed(await k(['get', 'servicemonitors', '-n', 'shop']))).toContain(
      'the server doesn\'t have a resource type "servicemonitors"',
    );
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: crd('servicemonitors.yaml') }));
    expect(ok(await k(['get', 'smon', '-n', 'shop']))).toBe('');
    const resources = ok(await k(['api-resources', '--api-group=monitoring.coreos.com', '--no-headers']));
    expect(resources.trim().split(/\s+/)).toEqual([
      'servicemonitors',
      'smon',
      'monitoring.coreos.com/v1',
      'true',
      'ServiceMonitor',
    ]);
    // The status is the CRD controller's to write: read it once kubectl has seen it Established.
    ok(
      await k([
        'wait',
        '--for=condition=Established',
        'crd/servicemonitors.monitoring.coreos.com',
        '--timeout=10s',
      ]),
    );
    const live = await getJson(['crd', 'servicemonitors.monitoring.coreos.com']);
    const conditions = ((live.status as JsonObject).conditions as JsonObject[]).map((c) => [
      c.type,
      c.status,
    ]);
    expect(conditions).toEqual([
      ['NamesAccepted', 'True'],
      ['Established', 'True'],
    ]);
    expect((live.status as JsonObject).storedVersions).toEqual(['v1']);
  });

  it('creates custom resources with the schema`s defaults; a second apply changes nothing', async () => {
    const manifest = yaml(
      monitor({ selector: { matchLabels: { app: 'web' } }, endpoints: [{ port: 'http', interval: '30s' }] }),
    );
    expect(ok(await k(['apply', '--server-side', '-f', '-'], { stdin: manifest }))).toContain(
      'servicemonitor.monitoring.coreos.com/web serverside-applied',
    );
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: manifest }));
    expect(
      double
        .writes()
        .filter((w) => w.kind === 'ServiceMonitor')
        .map((w) => w.changed),
    ).toEqual([true, false]);
    const diff = await k(['diff', '--server-side', '-f', '-'], { stdin: manifest });
    expect(diff.exitCode).toBe(0);
    expect((await getJson(['smon', 'web', '-n', 'shop'])).metadata).toMatchObject({ generation: 1 });
  });

  it('refuses, under Strict, a field the schema does not declare, and prunes it under Ignore', async () => {
    const extra = yaml(monitor({ selector: {}, endpoints: [{ port: 'http', color: 'blue' }] }, 'extra'));
    expect(failed(await k(['apply', '--server-side', '-f', '-'], { stdin: extra }))).toContain(
      'Error from server (BadRequest): failed to create typed patch object (shop/extra; monitoring.coreos.com/v1, Kind=ServiceMonitor): .spec.endpoints[0].color: field not declared in schema',
    );
    expect(failed(await k(['create', '-f', '-'], { stdin: extra }))).toContain(
      'strict decoding error: unknown field "spec.endpoints[0].color"',
    );
    ok(await k(['create', '--validate=false', '-f', '-'], { stdin: extra }));
    const pruned = await getJson(['smon', 'extra', '-n', 'shop']);
    expect((pruned.spec as JsonObject).endpoints).toEqual([{ port: 'http' }]);
  });

  it('validates types, required fields, enums and patterns with the real server`s words', async () => {
    const bad = yaml(monitor({ endpoints: [{ port: 8080, scheme: 'ftp', interval: '30 seconds' }] }, 'bad'));
    const stderr = failed(await k(['apply', '--server-side', '-f', '-'], { stdin: bad }));
    expect(stderr).toContain('The ServiceMonitor "bad" is invalid: ');
    expect(stderr).toContain('spec.selector: Required value');
    expect(stderr).toContain(
      'spec.endpoints[0].port: Invalid value: "integer": spec.endpoints[0].port in body must be of type string: "integer"',
    );
    expect(stderr).toContain(
      'spec.endpoints[0].scheme: Unsupported value: "ftp": supported values: "http", "https"',
    );
    expect(stderr).toContain(
      'spec.endpoints[0].interval: Invalid value: "30 seconds": spec.endpoints[0].interval in body should match',
    );
    expect(failed(await k(['get', 'smon', 'bad', '-n', 'shop']))).toContain('(NotFound)');
  });

  it('merges with merge and JSON patches, and refuses strategic merge as the real server does', async () => {
    ok(await k(['patch', 'smon', 'web', '-n', 'shop', '--type=merge', '-p', '{"spec":{"jobLabel":"app"}}']));
    expect(((await getJson(['smon', 'web', '-n', 'shop'])).spec as JsonObject).jobLabel).toBe('app');
    expect(
      failed(await k(['patch', 'smon', 'web', '-n', 'shop', '-p', '{"spec":{"jobLabel":"x"}}'])),
    ).toContain(
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    );
    expect((await getJson(['smon', 'web', '-n', 'shop'])).metadata).toMatchObject({ generation: 2 });
  });

  it('serves every version of a multi-version CRD from the same objects, with its printer columns', async () => {
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: crd('httproutes.yaml') }));
    const created = route('gateway.networking.k8s.io/v1beta1', 'shop', {
      parentRefs: [{ name: 'public' }],
      hostnames: ['shop.example.com'],
      rules: [
        {
          backendRefs: [
            { name: 'frontend-blue', port: 80, weight: 90 },
            { name: 'frontend-green', port: 80, weight: 10 },
          ],
        },
      ],
    });
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(created) }));
    const v1 = await getJson(['httproutes.v1.gateway.networking.k8s.io', 'shop', '-n', 'shop']);
    expect(v1.apiVersion).toBe('gateway.networking.k8s.io/v1');
    const beta = await getJson(['httproutes.v1beta1.gateway.networking.k8s.io', 'shop', '-n', 'shop']);
    expect(beta.apiVersion).toBe('gateway.networking.k8s.io/v1beta1');
    expect(beta.spec).toEqual(v1.spec);
    // Defaults from the schema: parentRef group and kind, the match of every path, backend kind.
    const spec = v1.spec as JsonObject;
    expect((spec.parentRefs as JsonObject[])[0]).toEqual({
      group: 'gateway.networking.k8s.io',
      kind: 'Gateway',
      name: 'public',
    });
    const rule = (spec.rules as JsonObject[])[0] as JsonObject;
    expect(rule.matches).toEqual([{ path: { type: 'PathPrefix', value: '/' } }]);
    expect((rule.backendRefs as JsonObject[])[1]).toEqual({
      group: '',
      kind: 'Service',
      name: 'frontend-green',
      port: 80,
      weight: 10,
    });
    const table = ok(await k(['get', 'httproutes', '-n', 'shop'])).split('\n');
    expect(table[0]?.trim().split(/\s{2,}/)).toEqual(['NAME', 'HOSTNAMES', 'AGE']);
    expect(table[1]).toMatch(/^shop\s+\["shop\.example\.com"\]\s+\d+s$/);
  });

  it('keeps status for the status subresource: a main write cannot change it', async () => {
    const status = { parents: [{ parentRef: { name: 'public' }, controllerName: 'example.com/gateway' }] };
    ok(
      await k([
        'patch',
        'httproute',
        'shop',
        '-n',
        'shop',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status }),
      ]),
    );
    ok(
      await k([
        'patch',
        'httproute',
        'shop',
        '-n',
        'shop',
        '--type=merge',
        '-p',
        '{"status":{"parents":[]}}',
      ]),
    );
    expect((await getJson(['httproute', 'shop', '-n', 'shop'])).status).toEqual(status);
  });

  it('stops being served when deleted, and its objects go with it', async () => {
    ok(await k(['delete', 'crd', 'servicemonitors.monitoring.coreos.com']));
    await double.settle();
    expect(failed(await k(['get', 'smon', '-n', 'shop']))).toContain(
      'the server doesn\'t have a resource type "smon"',
    );
    expect(double.objects('httproutes', 'shop')).toHaveLength(1);
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: crd('servicemonitors.yaml') }));
    expect(ok(await k(['get', 'smon', '-n', 'shop']))).toBe('');
  });

  it('refuses a CRD the real server refuses', async () => {
    const wrong = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'shop.example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', kind: 'Widget' },
        versions: [
          { name: 'v1', served: true, storage: true },
          { name: 'v2', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } },
        ],
      },
    };
    const stderr = failed(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(wrong) }));
    expect(stderr).toContain('The CustomResourceDefinition "widgets.example.com" is invalid: ');
    expect(stderr).toContain(
      'metadata.name: Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group',
    );
    expect(stderr).toContain('spec.versions: Invalid value: ');
    expect(stderr).toContain('must have exactly one version marked as storage version');
    expect(stderr).toContain('spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required');
  });
});

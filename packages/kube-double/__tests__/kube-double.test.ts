import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { requireTool } from '@dreamscape/testkit';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import {
  deployment,
  failed,
  kubectlFor,
  namespace,
  ok,
  service,
  yaml,
  type Kubectl,
} from './support/manifests.js';

// The conformance suite: every command of docs/kubectl-wire.md, run by the real pinned kubectl with
// default flags (validation on), against the double. Simulated time runs 20x faster.

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({
    timeScale: 20,
    behaviours: [
      { image: '*:never', ready: 'never' },
      { image: '*:deadline', ready: 'deadline' },
      { image: '*:sick', http: { '/health': { status: 500, body: 'down' } } },
    ],
  });
  k = kubectlFor(double);
});

afterAll(async () => {
  expect(double.errors()).toEqual([]);
  await double.close();
});

function json(stdout: string): JsonObject {
  return JSON.parse(stdout) as JsonObject;
}

async function getJson(args: readonly string[]): Promise<JsonObject> {
  return json(ok(await k(['get', ...args, '-o', 'json'])));
}

function meta(object: JsonObject): JsonObject {
  return object.metadata as JsonObject;
}

async function createNamespace(name: string): Promise<void> {
  ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(namespace(name)) }));
}

describe('discovery', () => {
  it('reports a 1.32 server version', async () => {
    const out = ok(await k(['version']));
    expect(out).toContain('Client Version: v1.32.3');
    expect(out).toContain('Server Version: v1.32.3');
  });

  it('lists every served resource in api-resources, from aggregated discovery', async () => {
    const lines = ok(await k(['api-resources', '--no-headers'])).split('\n');
    const rows = lines.map((l) => l.trim().split(/\s+/));
    const expected: [string, string, string][] = [
      ['namespaces', 'v1', 'Namespace'],
      ['configmaps', 'v1', 'ConfigMap'],
      ['secrets', 'v1', 'Secret'],
      ['services', 'v1', 'Service'],
      ['endpoints', 'v1', 'Endpoints'],
      ['pods', 'v1', 'Pod'],
      ['events', 'v1', 'Event'],
      ['deployments', 'apps/v1', 'Deployment'],
      ['replicasets', 'apps/v1', 'ReplicaSet'],
      ['horizontalpodautoscalers', 'autoscaling/v2', 'HorizontalPodAutoscaler'],
      ['poddisruptionbudgets', 'policy/v1', 'PodDisruptionBudget'],
      ['ingresses', 'networking.k8s.io/v1', 'Ingress'],
      ['leases', 'coordination.k8s.io/v1', 'Lease'],
      ['endpointslices', 'discovery.k8s.io/v1', 'EndpointSlice'],
    ];
    for (const [name, apiVersion, kind] of expected) {
      const row = rows.find((r) => r[0] === name);
      expect(row).toBeDefined();
      expect(row).toContain(apiVersion);
      expect(row?.at(-1)).toBe(kind);
    }
    const discovery = double
      .requests()
      .filter((r) => r.path.startsWith('/apis?') || r.path.startsWith('/api?'));
    expect(discovery.length).toBeGreaterThanOrEqual(2);
    expect(discovery.every((r) => r.status === 200)).toBe(true);
  });
});

describe('server-side apply', () => {
  it('creates, updates, and leaves nothing behind on --dry-run=server', async () => {
    await createNamespace('ssa');
    const manifest = yaml(deployment('web', 'nginx:1.27', { namespace: 'ssa' }));
    const dry = ok(await k(['apply', '--server-side', '--dry-run=server', '-f', '-'], { stdin: manifest }));
    expect(dry).toContain('deployment.apps/web serverside-applied (server dry run)');
    expect(failed(await k(['get', 'deploy', 'web', '-n', 'ssa']))).toContain(
      'Error from server (NotFound): deployments.apps "web" not found',
    );

    expect(ok(await k(['apply', '--server-side', '-f', '-'], { stdin: manifest }))).toContain(
      'deployment.apps/web serverside-applied',
    );
    const created = await getJson(['deploy', 'web', '-n', 'ssa']);
    expect(meta(created).generation).toBe(1);
    const patch = double
      .requests()
      .find(
        (r) => r.method === 'PATCH' && r.path.startsWith('/apis/apps/v1/namespaces/ssa/deployments/web?'),
      );
    expect(patch?.contentType).toBe('application/apply-patch+yaml');
    expect(patch?.path).toContain('fieldValidation=Strict');
    expect(
      double.writes().some((w) => w.verb === 'apply' && w.name === 'web' && w.fieldManager === 'kubectl'),
    ).toBe(true);

    // The same manifest again changes nothing: the server stores no new version. (Not compared by
    // resourceVersion: the deployment controller writes status in between.)
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: manifest }));
    const applies = double
      .writes()
      .filter((w) => w.verb === 'apply' && w.namespace === 'ssa' && w.name === 'web' && !w.dryRun);
    expect(applies.map((w) => w.changed)).toEqual([true, false]);
    const again = await getJson(['deploy', 'web', '-n', 'ssa']);
    expect(again.spec).toEqual(created.spec);
    expect(meta(again).generation).toBe(1);

    const scaled = yaml(deployment('web', 'nginx:1.27', { namespace: 'ssa', replicas: 4 }));
    ok(await k(['apply', '--server-side', '--dry-run=server', '-f', '-'], { stdin: scaled }));
    expect(((await getJson(['deploy', 'web', '-n', 'ssa'])).spec as JsonObject).replicas).toBe(2);
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: scaled }));
    const updated = await getJson(['deploy', 'web', '-n', 'ssa']);
    expect((updated.spec as JsonObject).replicas).toBe(4);
    expect(meta(updated).generation).toBe(2);
  });

  it('accepts a piped `create --dry-run=client -o yaml` (creationTimestamp: null)', async () => {
    const generated = ok(
      await k(['create', 'configmap', 'piped', '--from-literal=a=1', '--dry-run=client', '-o', 'yaml']),
    );
    expect(generated).toContain('creationTimestamp: null');
    expect(ok(await k(['apply', '--server-side', '-f', '-'], { stdin: generated }))).toContain(
      'configmap/piped serverside-applied',
    );
    expect(((await getJson(['cm', 'piped'])).data as JsonObject).a).toBe('1');
  });

  it('refuses a second manager with 409 and kubectl`s advice, then takes over with --force-conflicts', async () => {
    await createNamespace('conflicts');
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(deployment('api', 'nginx:1.27', { namespace: 'conflicts' })),
      }),
    );
    const other = yaml(deployment('api', 'nginx:1.27', { namespace: 'conflicts', replicas: 5 }));
    const stderr = failed(
      await k(['apply', '--server-side', '--field-manager=other', '-f', '-'], { stdin: other }),
    );
    expect(stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas');
    expect(stderr).toContain('--force-conflicts');
    expect(((await getJson(['deploy', 'api', '-n', 'conflicts'])).spec as JsonObject).replicas).toBe(2);

    ok(
      await k(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], {
        stdin: other,
      }),
    );
    const taken = json(
      ok(await k(['get', 'deploy', 'api', '-n', 'conflicts', '-o', 'json', '--show-managed-fields'])),
    );
    expect((taken.spec as JsonObject).replicas).toBe(5);
    const managers = (meta(taken).managedFields as JsonObject[]).map((m) => [m.manager, m.operation]);
    expect(managers).toContainEqual(['other', 'Apply']);
    expect(managers).toContainEqual(['kubectl', 'Apply']);

    // The first manager stops applying replicas: the field stays, owned by "other".
    const withoutReplicas = deployment('api', 'nginx:1.27', { namespace: 'conflicts' });
    delete (withoutReplicas.spec as Record<string, unknown>).replicas;
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(withoutReplicas) }));
    expect(((await getJson(['deploy', 'api', '-n', 'conflicts'])).spec as JsonObject).replicas).toBe(5);
  });

  it('takes over what client-side apply set, as the real server lets kubectl do', async () => {
    ok(await k(['apply', '-f', '-'], { stdin: yaml(deployment('upgraded', 'nginx:1.27', { replicas: 2 })) }));
    const changed = yaml(deployment('upgraded', 'nginx:1.28', { replicas: 3 }));
    expect(ok(await k(['apply', '--server-side', '-f', '-'], { stdin: changed }))).toContain(
      'deployment.apps/upgraded serverside-applied',
    );
    const live = json(ok(await k(['get', 'deploy', 'upgraded', '-o', 'json', '--show-managed-fields'])));
    expect((live.spec as JsonObject).replicas).toBe(3);
    const managers = (meta(live).managedFields as JsonObject[]).map((m) => m.manager);
    expect(managers).toContain('kubectl');
    expect(managers).not.toContain('kubectl-client-side-apply');
    // A field changed by someone else since is a real conflict.
    ok(await k(['patch', 'deploy', 'upgraded', '--type=merge', '-p', '{"spec":{"replicas":4}}']));
    const stderr = failed(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(deployment('upgraded', 'nginx:1.28', { replicas: 5 })),
      }),
    );
    expect(stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1: .spec.replicas',
    );
  });

  it('removes a field its manager stops applying', async () => {
    const withLabel = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owned', labels: { keep: 'yes', drop: 'yes' } },
      data: { a: '1', b: '2' },
    };
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(withLabel) }));
    const smaller = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owned', labels: { keep: 'yes' } },
      data: { a: '1' },
    };
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(smaller) }));
    const cm = await getJson(['cm', 'owned']);
    expect(cm.data).toEqual({ a: '1' });
    expect(meta(cm).labels).toEqual({ keep: 'yes' });
  });
});

describe('client-side apply', () => {
  it('creates, reports unchanged, and configures with a strategic merge patch', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'csa' }, data: { a: '1', b: '2' } };
    expect(ok(await k(['apply', '-f', '-'], { stdin: yaml(cm) }))).toContain('configmap/csa created');
    expect(ok(await k(['apply', '-f', '-'], { stdin: yaml(cm) }))).toContain('configmap/csa unchanged');
    const changed = { ...cm, data: { a: '2' } };
    expect(ok(await k(['apply', '-f', '-'], { stdin: yaml(changed) }))).toContain('configmap/csa configured');
    const live = await getJson(['cm', 'csa']);
    expect(live.data).toEqual({ a: '2' });
    expect(Object.keys(meta(live).annotations as JsonObject)).toContain(
      'kubectl.kubernetes.io/last-applied-configuration',
    );
    const writes = double.writes().filter((w) => w.name === 'csa');
    expect(writes.map((w) => [w.verb, w.fieldManager])).toEqual([
      ['create', 'kubectl-client-side-apply'],
      ['patch', 'kubectl-client-side-apply'],
    ]);
    expect(writes[1]?.patchType).toBe('application/strategic-merge-patch+json');
  });

  it('updates a deployment`s container by name and keeps the list order', async () => {
    const d = deployment('csa-web', 'nginx:1.27', { replicas: 1 });
    ok(await k(['apply', '-f', '-'], { stdin: yaml(d) }));
    const changed = deployment('csa-web', 'nginx:1.28', { replicas: 1 });
    expect(ok(await k(['apply', '-f', '-'], { stdin: yaml(changed) }))).toContain(
      'deployment.apps/csa-web configured',
    );
    const live = await getJson(['deploy', 'csa-web']);
    const containers = ((live.spec as JsonObject).template as JsonObject).spec as JsonObject;
    expect((containers.containers as JsonObject[]).map((c) => [c.name, c.image])).toEqual([
      ['web', 'nginx:1.28'],
    ]);
  });
});

describe('create, get and list', () => {
  beforeAll(async () => {
    await createNamespace('lists');
    const cms = [
      ['front-a', { tier: 'front' }],
      ['front-b', { tier: 'front', canary: 'true' }],
      ['back-a', { tier: 'back' }],
      ['plain', {}],
    ] as const;
    const docs = cms.map(([name, labels]) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'lists', labels },
      data: { name },
    }));
    expect(ok(await k(['create', '-f', '-'], { stdin: yaml(...docs) }))).toContain(
      'configmap/front-a created',
    );
  });

  const names = async (args: readonly string[]): Promise<string[]> =>
    ok(await k(['get', 'cm', '-n', 'lists', '-o', 'name', ...args]))
      .split('\n')
      .filter((l) => l !== '' && !l.includes('kube-root-ca'))
      .sort();

  it.each([
    ['tier=front', ['configmap/front-a', 'configmap/front-b']],
    ['tier==back', ['configmap/back-a']],
    ['tier!=front', ['configmap/back-a', 'configmap/plain']],
    ['tier in (front,back)', ['configmap/back-a', 'configmap/front-a', 'configmap/front-b']],
    ['tier notin (front)', ['configmap/back-a', 'configmap/plain']],
    ['canary', ['configmap/front-b']],
    ['!tier', ['configmap/plain']],
    ['tier=front,!canary', ['configmap/front-a']],
  ])('selects with -l %s', async (selector, expected) => {
    expect(await names(['-l', selector])).toEqual(expected);
  });

  it('selects with field selectors', async () => {
    expect(await names(['--field-selector', 'metadata.name=back-a'])).toEqual(['configmap/back-a']);
    expect(await names(['--field-selector', 'metadata.name!=back-a,metadata.namespace=lists'])).toEqual([
      'configmap/front-a',
      'configmap/front-b',
      'configmap/plain',
    ]);
  });

  it('says AlreadyExists on a second create', async () => {
    const stderr = failed(
      await k(['create', '-f', '-'], {
        stdin: yaml({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'plain', namespace: 'lists' } }),
      }),
    );
    expect(stderr).toContain(
      'Error from server (AlreadyExists): error when creating "STDIN": configmaps "plain" already exists',
    );
  });

  it('prints a List for -o json and keeps the list resourceVersion', async () => {
    const list = await getJson(['cm', '-n', 'lists', '-l', 'tier']);
    expect(list.kind).toBe('List');
    expect((list.items as JsonObject[]).map((i) => meta(i).name).sort()).toEqual([
      'back-a',
      'front-a',
      'front-b',
    ]);
    const request = double
      .requests()
      .find((r) => r.path.startsWith('/api/v1/namespaces/lists/configmaps?labelSelector=tier'));
    expect(request?.path).toContain('limit=500');
  });

  it('prints real table columns', async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(
          deployment('table', 'nginx:1.27', { namespace: 'lists', replicas: 1 }),
          service('table', { app: 'table' }, { namespace: 'lists' }),
        ),
      }),
    );
    ok(await k(['rollout', 'status', 'deploy/table', '-n', 'lists', '--timeout=30s']));
    const deploy = ok(await k(['get', 'deploy', '-n', 'lists']));
    expect(deploy).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/);
    expect(deploy).toMatch(/\ntable\s+1\/1\s+1\s+1\s+\d+s\n/);
    const svc = ok(await k(['get', 'svc', 'table', '-n', 'lists']));
    expect(svc).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\n/);
    expect(svc).toMatch(/\ntable\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP\s+\d+s\n/);
    const cms = ok(await k(['get', 'cm', 'plain', '-n', 'lists']));
    expect(cms).toMatch(/^NAME\s+DATA\s+AGE\nplain\s+1\s+\d+s\n$/);
    const table = double
      .requests()
      .find((r) => r.path.startsWith('/apis/apps/v1/namespaces/lists/deployments?limit=500'));
    expect(table?.status).toBe(200);
  });

  it('answers validation errors as kubectl expects', async () => {
    const bad = deployment('bad', 'nginx:1.27');
    ((bad.spec as Record<string, unknown>).selector as Record<string, unknown>).matchLabels = {
      app: 'other',
    };
    const stderr = failed(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(bad) }));
    expect(stderr).toContain('The Deployment "bad" is invalid: spec.template.metadata.labels: Invalid value');
    expect(stderr).toContain('`selector` does not match template `labels`');

    const typo = deployment('typo', 'nginx:1.27');
    (typo.spec as Record<string, unknown>).replicaz = 2;
    expect(failed(await k(['create', '-f', '-'], { stdin: yaml(typo) }))).toContain(
      'unknown field "spec.replicaz"',
    );
  });
});

describe('patch', () => {
  beforeAll(async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(
          deployment('patched', 'nginx:1.27', { replicas: 1 }),
          service('patched', { app: 'patched' }),
        ),
      }),
    );
  });

  it('merges with --type=merge and says "no change" without a new resourceVersion', async () => {
    expect(
      ok(
        await k([
          'patch',
          'svc',
          'patched',
          '--type=merge',
          '-p',
          '{"metadata":{"labels":{"tier":"front"}}}',
        ]),
      ),
    ).toContain('service/patched patched');
    const first = await getJson(['svc', 'patched']);
    expect(
      ok(
        await k([
          'patch',
          'svc',
          'patched',
          '--type=merge',
          '-p',
          '{"metadata":{"labels":{"tier":"front"}}}',
        ]),
      ),
    ).toContain('service/patched patched (no change)');
    const second = await getJson(['svc', 'patched']);
    expect(meta(second).resourceVersion).toBe(meta(first).resourceVersion);
    expect(meta(second).labels).toEqual({ tier: 'front' });
    ok(await k(['patch', 'svc', 'patched', '--type=merge', '-p', '{"metadata":{"labels":{"tier":null}}}']));
    expect(meta(await getJson(['svc', 'patched'])).labels).toBeUndefined();
  });

  it('applies RFC 6902 patches, test operation included', async () => {
    ok(
      await k([
        'patch',
        'svc',
        'patched',
        '--type=json',
        '-p',
        '[{"op":"add","path":"/metadata/labels","value":{"color":"blue"}}]',
      ]),
    );
    ok(
      await k([
        'patch',
        'svc',
        'patched',
        '--type=json',
        '-p',
        '[{"op":"test","path":"/metadata/labels/color","value":"blue"},{"op":"replace","path":"/metadata/labels/color","value":"green"}]',
      ]),
    );
    expect(meta(await getJson(['svc', 'patched'])).labels).toEqual({ color: 'green' });
    const stderr = failed(
      await k([
        'patch',
        'svc',
        'patched',
        '--type=json',
        '-p',
        '[{"op":"test","path":"/metadata/labels/color","value":"blue"},{"op":"remove","path":"/metadata/labels"}]',
      ]),
    );
    expect(stderr).toContain('The request is invalid');
    expect(meta(await getJson(['svc', 'patched'])).labels).toEqual({ color: 'green' });
  });

  it('merges containers by name with a strategic merge patch (the default type)', async () => {
    ok(
      await k([
        'patch',
        'deploy',
        'patched',
        '-p',
        '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"MODE","value":"fast"}]}]}}}}',
      ]),
    );
    const spec = (((await getJson(['deploy', 'patched'])).spec as JsonObject).template as JsonObject)
      .spec as JsonObject;
    const [container] = spec.containers as JsonObject[];
    expect(container?.image).toBe('nginx:1.27');
    expect(container?.env).toEqual([{ name: 'MODE', value: 'fast' }]);
    const write = double
      .writes()
      .filter((w) => w.name === 'patched' && w.kind === 'Deployment')
      .at(-1);
    expect(write).toMatchObject({
      verb: 'patch',
      fieldManager: 'kubectl-patch',
      patchType: 'application/strategic-merge-patch+json',
    });
  });
});

describe('subresources, preconditions and names', () => {
  it('writes status only through /status, and reads a Scale from /scale', async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(service('lb', { app: 'lb' }), deployment('lb', 'nginx:1.27', { replicas: 2 })),
      }),
    );
    const status = JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } });
    ok(await k(['patch', 'svc', 'lb', '--type=merge', '-p', status]));
    expect(ok(await k(['get', 'svc', 'lb', '-o', 'jsonpath={.status.loadBalancer}']))).toBe('{}');
    ok(await k(['patch', 'svc', 'lb', '--subresource=status', '--type=merge', '-p', status]));
    expect(ok(await k(['get', 'svc', 'lb', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']))).toBe(
      '203.0.113.7',
    );
    const scale = json(ok(await k(['get', 'deploy', 'lb', '--subresource=scale', '-o', 'json'])));
    expect(scale).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 2 } });
    expect((scale.status as JsonObject).selector).toBe('app=lb');
  });

  it('refuses a PUT with a stale resourceVersion with 409', async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cas' }, data: { v: '1' } }),
      }),
    );
    const stale = ok(await k(['get', 'cm', 'cas', '-o', 'json']));
    ok(await k(['patch', 'cm', 'cas', '--type=merge', '-p', '{"data":{"v":"2"}}']));
    const edited = stale.replace('"v": "1"', '"v": "3"');
    const stderr = failed(await k(['replace', '-f', '-'], { stdin: edited }));
    expect(stderr).toContain(
      'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on configmaps "cas": the object has been modified',
    );
    expect(((await getJson(['cm', 'cas'])).data as JsonObject).v).toBe('2');
  });

  it('names objects from generateName', async () => {
    const out = ok(
      await k(['create', '-f', '-', '-o', 'name'], {
        stdin: yaml({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'job-' } }),
      }),
    );
    expect(out.trim()).toMatch(/^configmap\/job-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('deletes a namespace with everything in it', async () => {
    await createNamespace('doomed');
    ok(
      await k(['apply', '--server-side', '-n', 'doomed', '-f', '-'], {
        stdin: yaml(deployment('app', 'nginx:1.27', { replicas: 1 })),
      }),
    );
    ok(await k(['rollout', 'status', 'deploy/app', '-n', 'doomed', '--timeout=30s']));
    expect(ok(await k(['delete', 'namespace', 'doomed']))).toContain('namespace "doomed" deleted');
    await double.settle();
    expect(double.objects('pods', 'doomed')).toEqual([]);
    expect(double.objects('deployments', 'doomed')).toEqual([]);
    expect(failed(await k(['get', 'ns', 'doomed']))).toContain('namespaces "doomed" not found');
  });
});

describe('rollouts', () => {
  beforeAll(async () => {
    await createNamespace('rollouts');
  });
  const inNs = (args: readonly string[]): string[] => [...args, '-n', 'rollouts'];

  it('scales through the scale subresource and waits for the rollout', async () => {
    ok(
      await k(inNs(['apply', '--server-side', '-f', '-']), {
        stdin: yaml(deployment('scaled', 'nginx:1.27', { replicas: 1 })),
      }),
    );
    expect(ok(await k(inNs(['scale', 'deploy', 'scaled', '--replicas=3'])))).toContain(
      'deployment.apps/scaled scaled',
    );
    expect(
      double
        .requests()
        .some(
          (r) =>
            r.method === 'PATCH' && r.path === '/apis/apps/v1/namespaces/rollouts/deployments/scaled/scale',
        ),
    ).toBe(true);
    expect(ok(await k(inNs(['rollout', 'status', 'deploy/scaled', '--timeout=30s'])))).toContain(
      'deployment "scaled" successfully rolled out',
    );
    const status = (await getJson(inNs(['deploy', 'scaled']))).status as JsonObject;
    expect(status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(
      double.objects('pods', 'rollouts').filter((p) => (meta(p).name as string).startsWith('scaled-')),
    ).toHaveLength(3);
  });

  it('times out waiting for pods that never become Ready', async () => {
    ok(
      await k(inNs(['apply', '--server-side', '-f', '-']), {
        stdin: yaml(deployment('stuck', 'nginx:never', { replicas: 1 })),
      }),
    );
    const result = await k(inNs(['rollout', 'status', 'deploy/stuck', '--timeout=2s']));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('error: timed out waiting for the condition');
    expect(result.stdout).toContain(
      'Waiting for deployment "stuck" rollout to finish: 0 of 1 updated replicas are available...',
    );
  });

  it('fails at once on ProgressDeadlineExceeded, from the deadline behaviour or progressDeadlineSeconds', async () => {
    ok(
      await k(inNs(['apply', '--server-side', '-f', '-']), {
        stdin: yaml(deployment('dead', 'nginx:deadline', { replicas: 1 })),
      }),
    );
    const dead = await k(inNs(['rollout', 'status', 'deploy/dead', '--timeout=30s']));
    expect(dead.exitCode).toBe(1);
    expect(dead.stderr).toContain('error: deployment "dead" exceeded its progress deadline');

    // 20 simulated seconds at 20x: the deadline passes after about one real second.
    ok(
      await k(inNs(['apply', '--server-side', '-f', '-']), {
        stdin: yaml(
          deployment('late', 'nginx:never', { replicas: 1, spec: { progressDeadlineSeconds: 20 } }),
        ),
      }),
    );
    // Were the deadline counted in real time (20 s), kubectl would give up first and say it timed out.
    const late = await k(inNs(['rollout', 'status', 'deploy/late', '--timeout=10s']));
    expect(late.stderr).toContain('error: deployment "late" exceeded its progress deadline');
    const progressing = (
      ((await getJson(inNs(['deploy', 'late']))).status as JsonObject).conditions as JsonObject[]
    ).find((c) => c.type === 'Progressing');
    expect(progressing).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
  });

  it('keeps a revision per template; undo and --to-revision bring one back', async () => {
    ok(
      await k(inNs(['apply', '--server-side', '-f', '-']), {
        stdin: yaml(deployment('hist', 'nginx:1.27', { replicas: 2 })),
      }),
    );
    ok(await k(inNs(['rollout', 'status', 'deploy/hist', '--timeout=30s'])));
    ok(await k(inNs(['set', 'image', 'deploy/hist', 'web=nginx:1.28'])));
    ok(await k(inNs(['rollout', 'status', 'deploy/hist', '--timeout=30s'])));
    ok(await k(inNs(['set', 'image', 'deploy/hist', 'web=nginx:never'])));
    failed(await k(inNs(['rollout', 'status', 'deploy/hist', '--timeout=1s'])));

    const history = ok(await k(inNs(['rollout', 'history', 'deploy/hist'])));
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n3\s+<none>/);
    // The old ReplicaSets keep serving while the new one is stuck.
    const stuck = (await getJson(inNs(['deploy', 'hist']))).status as JsonObject;
    expect(stuck.availableReplicas).toBe(2);

    expect(ok(await k(inNs(['rollout', 'undo', 'deploy/hist'])))).toContain(
      'deployment.apps/hist rolled back',
    );
    ok(await k(inNs(['rollout', 'status', 'deploy/hist', '--timeout=30s'])));
    const image = async (): Promise<unknown> =>
      (
        (
          (((await getJson(inNs(['deploy', 'hist']))).spec as JsonObject).template as JsonObject)
            .spec as JsonObject
        ).containers as JsonObject[]
      )[0]?.image;
    expect(await image()).toBe('nginx:1.28');
    expect(ok(await k(inNs(['rollout', 'history', 'deploy/hist'])))).toMatch(
      /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n3\s+<none>\n4\s+<none>/,
    );

    ok(await k(inNs(['rollout', 'undo', 'deploy/hist', '--to-revision=1'])));
    ok(await k(inNs(['rollout', 'status', 'deploy/hist', '--timeout=30s'])));
    expect(await image()).toBe('nginx:1.27');
    const sets = double
      .objects('replicasets', 'rollouts')
      .filter((rs) => (meta(rs).name as string).startsWith('hist-'));
    expect(sets).toHaveLength(3);
    const active = sets.filter((rs) => ((rs.spec as JsonObject).replicas as number) > 0);
    expect(active).toHaveLength(1);
    expect((meta(active[0] ?? {}).annotations as JsonObject)['deployment.kubernetes.io/revision']).toBe('5');
    expect((meta(active[0] ?? {}).labels as JsonObject)['pod-template-hash']).toMatch(/^[a-z0-9]+$/);
  });

  it('waits for condition=Available, and times out when it never comes', async () => {
    ok(
      await k(inNs(['apply', '--server-side', '-f', '-']), {
        stdin: yaml(
          deployment('avail', 'nginx:1.27', { replicas: 1 }),
          deployment('unavail', 'nginx:never', { replicas: 1 }),
        ),
      }),
    );
    expect(
      ok(await k(inNs(['wait', '--for=condition=Available', 'deploy/avail', '--timeout=30s']))),
    ).toContain('deployment.apps/avail condition met');
    const stderr = failed(
      await k(inNs(['wait', '--for=condition=Available', 'deploy/unavail', '--timeout=2s'])),
    );
    expect(stderr).toContain('error: timed out waiting for the condition on deployments/unavail');
  });

  it('shows pod logs for a deployment', async () => {
    const out = ok(await k(inNs(['logs', 'deploy/scaled'])));
    expect(out).toMatch(/^\S+ container web started from image nginx:1\.27\n\S+ container web is ready\n$/);
    expect(failed(await k(inNs(['logs', 'deploy/scaled', '-c', 'nope'])))).toContain(
      'container nope is not valid for pod scaled-',
    );
  });

  it('describes a deployment with its ReplicaSets and events', async () => {
    const out = ok(await k(inNs(['describe', 'deploy', 'scaled'])));
    expect(out).toMatch(/Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable/);
    expect(out).toMatch(/NewReplicaSet:\s+scaled-[a-z0-9]+ \(3\/3 replicas created\)/);
    expect(out).toMatch(/Available\s+True\s+MinimumReplicasAvailable/);
    expect(out).toMatch(
      /Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set scaled-[a-z0-9]+ from 1 to 3/,
    );
  });
});

describe('diff --server-side', () => {
  it('exits 0 when equal and 1 with a diff when not', async () => {
    requireTool('diff');
    const manifest = deployment('differ', 'nginx:1.27', { replicas: 2 });
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(manifest) }));
    // Settled first: a rollout in progress writes status between kubectl's read and its dry run.
    ok(await k(['rollout', 'status', 'deploy/differ', '--timeout=30s']));
    const same = await k(['diff', '--server-side', '-f', '-'], { stdin: yaml(manifest) });
    expect(same.exitCode).toBe(0);
    expect(same.stdout).toBe('');
    const different = await k(['diff', '--server-side', '-f', '-'], {
      stdin: yaml(deployment('differ', 'nginx:1.27', { replicas: 4 })),
    });
    expect(different.exitCode).toBe(1);
    expect(different.stdout).toMatch(/^-\s+replicas: 2$/m);
    expect(different.stdout).toMatch(/^\+\s+replicas: 4$/m);
    expect(((await getJson(['deploy', 'differ'])).spec as JsonObject).replicas).toBe(2);
  });
});

describe('diff (client-side)', () => {
  it('exits 0 when the applied configuration matches and 1 when it does not', async () => {
    requireTool('diff');
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'csa-diff' }, data: { a: '1' } };
    ok(await k(['apply', '-f', '-'], { stdin: yaml(cm) }));
    expect((await k(['diff', '-f', '-'], { stdin: yaml(cm) })).exitCode).toBe(0);
    const changed = await k(['diff', '-f', '-'], { stdin: yaml({ ...cm, data: { a: '2' } }) });
    expect(changed.exitCode).toBe(1);
    expect(changed.stdout).toMatch(/^\+\s+a: "2"$/m);
    const patch = double
      .requests()
      .filter((r) => r.method === 'PATCH' && r.path.includes('/configmaps/csa-diff?'))
      .at(-1);
    expect(patch?.path).toContain('dryRun=All');
    expect(((await getJson(['cm', 'csa-diff'])).data as JsonObject).a).toBe('1');
  });
});

describe('service proxy through get --raw', () => {
  beforeAll(async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(
          deployment('healthy', 'shop:1.0'),
          service('healthy', { app: 'healthy' }),
          deployment('sick', 'shop:sick', { replicas: 1 }),
          service('sick', { app: 'sick' }),
          service('empty', { app: 'nothing-here' }),
        ),
      }),
    );
    ok(await k(['rollout', 'status', 'deploy/healthy', '--timeout=30s']));
    ok(await k(['rollout', 'status', 'deploy/sick', '--timeout=30s']));
  });

  it('answers from a Ready pod`s image behaviour', async () => {
    const out = ok(
      await k(['get', '--raw', '/api/v1/namespaces/default/services/healthy:http/proxy/health']),
    );
    expect(JSON.parse(out)).toEqual({ status: 'ok', image: 'shop:1.0' });
    expect(
      ok(await k(['get', '--raw', '/api/v1/namespaces/default/services/http:healthy:80/proxy/health'])),
    ).toContain('shop:1.0');
  });

  it('passes a 500 behaviour through', async () => {
    const stderr = failed(
      await k(['get', '--raw', '/api/v1/namespaces/default/services/sick:http/proxy/health']),
    );
    expect(stderr).toContain(
      'Error from server (InternalError): an error on the server ("down") has prevented the request from succeeding',
    );
  });

  it('answers 503 when no Ready pod is behind the Service', async () => {
    const stderr = failed(
      await k(['get', '--raw', '/api/v1/namespaces/default/services/empty:http/proxy/health']),
    );
    expect(stderr).toContain(
      'Error from server (ServiceUnavailable): no endpoints available for service "empty"',
    );
  });
});

describe('delete', () => {
  const owned = (prefix: string, resource: 'replicasets' | 'pods'): JsonObject[] =>
    double.objects(resource, 'default').filter((o) => (meta(o).name as string).startsWith(`${prefix}-`));

  it('propagates to ReplicaSets and pods (background and foreground)', async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(
          deployment('gone', 'nginx:1.27', { replicas: 2 }),
          deployment('fg', 'nginx:1.27', { replicas: 1 }),
        ),
      }),
    );
    ok(await k(['rollout', 'status', 'deploy/gone', '--timeout=30s']));
    ok(await k(['rollout', 'status', 'deploy/fg', '--timeout=30s']));
    expect(owned('gone', 'pods')).toHaveLength(2);
    expect(ok(await k(['delete', 'deploy', 'gone']))).toContain('deployment.apps "gone" deleted');
    await double.settle();
    expect(owned('gone', 'replicasets')).toHaveLength(0);
    expect(owned('gone', 'pods')).toHaveLength(0);

    expect(ok(await k(['delete', 'deploy', 'fg', '--cascade=foreground']))).toContain(
      'deployment.apps "fg" deleted',
    );
    await double.settle();
    expect(owned('fg', 'replicasets')).toHaveLength(0);
    expect(owned('fg', 'pods')).toHaveLength(0);
    expect(double.objects('deployments', 'default').some((d) => meta(d).name === 'fg')).toBe(false);
  });

  it('orphans with --cascade=orphan', async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(deployment('orphan', 'nginx:1.27', { replicas: 1 })),
      }),
    );
    ok(await k(['rollout', 'status', 'deploy/orphan', '--timeout=30s']));
    ok(await k(['delete', 'deploy', 'orphan', '--cascade=orphan']));
    await double.settle();
    const [rs] = owned('orphan', 'replicasets');
    expect(rs).toBeDefined();
    expect(meta(rs ?? {}).ownerReferences).toBeUndefined();
    expect(owned('orphan', 'pods')).toHaveLength(1);
  });

  it('says NotFound for what is not there, and nothing with --ignore-not-found', async () => {
    expect(failed(await k(['delete', 'deploy', 'nope']))).toContain(
      'Error from server (NotFound): deployments.apps "nope" not found',
    );
    const ignored = await k(['delete', 'deploy', 'nope', '--ignore-not-found']);
    expect(ignored.exitCode).toBe(0);
  });
});

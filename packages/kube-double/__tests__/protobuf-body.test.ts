import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ApiError } from '../src/api-status.js';
import { decodeProtobufBody } from '../src/protobuf-body.js';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import { kubectlFor, ok, type Kubectl } from './support/manifests.js';

// kubectl's typed clients (`kubectl create namespace|configmap|secret|service|deployment`) send
// Kubernetes protobuf bodies; these run them for real and read back what the double stored.

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({ timeScale: 20 });
  k = kubectlFor(double);
});

afterAll(async () => {
  await double.close();
});

const getJson = async (args: readonly string[]): Promise<JsonObject> =>
  JSON.parse(ok(await k(['get', ...args, '-o', 'json']))) as JsonObject;

describe('protobuf bodies from kubectl create', () => {
  it('creates a namespace, a configmap and a secret', async () => {
    expect(ok(await k(['create', 'namespace', 'typed']))).toContain('namespace/typed created');
    expect(
      ok(
        await k([
          'create',
          'configmap',
          'settings',
          '-n',
          'typed',
          '--from-literal=mode=fast',
          '--from-literal=level=3',
        ]),
      ),
    ).toContain('configmap/settings created');
    expect(
      ok(await k(['create', 'secret', 'generic', 'token', '-n', 'typed', '--from-literal=value=s3cr3t'])),
    ).toContain('secret/token created');
    expect((await getJson(['cm', 'settings', '-n', 'typed'])).data).toEqual({ mode: 'fast', level: '3' });
    const secret = await getJson(['secret', 'token', '-n', 'typed']);
    expect(secret.type).toBe('Opaque');
    expect(Buffer.from((secret.data as JsonObject).value as string, 'base64').toString()).toBe('s3cr3t');
    const write = double.writes().find((w) => w.kind === 'Secret');
    expect(write).toMatchObject({
      verb: 'create',
      fieldManager: 'kubectl-create',
      namespace: 'typed',
      name: 'token',
    });
    expect(
      double
        .requests()
        .some((r) => r.contentType === 'application/vnd.kubernetes.protobuf' && r.status === 201),
    ).toBe(true);
  });

  it('creates a service and a deployment that rolls out', async () => {
    expect(ok(await k(['create', 'service', 'clusterip', 'front', '--tcp=80:8080']))).toContain(
      'service/front created',
    );
    const spec = (await getJson(['svc', 'front'])).spec as JsonObject;
    expect(spec.ports).toEqual([{ name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 }]);
    expect(spec.selector).toEqual({ app: 'front' });

    expect(
      ok(await k(['create', 'deployment', 'front', '--image=front:1', '--replicas=2', '--port=8080'])),
    ).toContain('deployment.apps/front created');
    ok(await k(['rollout', 'status', 'deploy/front', '--timeout=30s']));
    const deployment = await getJson(['deploy', 'front']);
    const template = (deployment.spec as JsonObject).template as JsonObject;
    expect((deployment.spec as JsonObject).replicas).toBe(2);
    expect((template.metadata as JsonObject).labels).toEqual({ app: 'front' });
    expect(((template.spec as JsonObject).containers as JsonObject[])[0]).toMatchObject({
      name: 'front',
      image: 'front:1',
      ports: [{ containerPort: 8080, protocol: 'TCP' }],
    });

    ok(await k(['create', 'deployment', 'worker', '--image=busybox:1', '--', 'sleep', '100']));
    const worker = await getJson(['deploy', 'worker']);
    const [container] = (((worker.spec as JsonObject).template as JsonObject).spec as JsonObject)
      .containers as JsonObject[];
    expect(container?.command).toEqual(['sleep', '100']);
  });
});

describe('decodeProtobufBody', () => {
  it('refuses kinds it does not describe with 415, and bodies without the magic with 400', () => {
    const typeMeta = Buffer.from([0x0a, 0x02, 0x76, 0x31, 0x12, 0x04, 0x4e, 0x6f, 0x64, 0x65]); // apiVersion v1, kind Node
    const envelope = Buffer.concat([
      Buffer.from('k8s\0', 'latin1'),
      Buffer.from([0x0a, typeMeta.length]),
      typeMeta,
    ]);
    const status = (fn: () => unknown): number => {
      try {
        fn();
      } catch (error) {
        return (error as ApiError).status.code;
      }
      return 0;
    };
    expect(status(() => decodeProtobufBody(envelope, 'application/vnd.kubernetes.protobuf'))).toBe(415);
    expect(status(() => decodeProtobufBody(Buffer.from('{}'), 'application/vnd.kubernetes.protobuf'))).toBe(
      400,
    );
  });
});

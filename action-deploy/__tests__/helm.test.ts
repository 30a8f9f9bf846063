import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JsonObject } from '@dreamscape/kube-double';
import {
  deploy,
  digest,
  findSecretLeaks,
  realWrites,
  releaseRecords,
  repoRoot,
  resolveHelm,
  rollback,
  runKubectl,
  serviceColors,
  startCluster,
  startRegistry,
  type ActionRunResult,
  type ExampleCluster,
  type RunningRegistry,
} from '@dreamscape/testkit';

// Helm charts as the release source, rendered by the real helm v3.17.2 and deployed by the real
// bundle against the double: our payment chart (Deployment, Service, HPA, ServiceAccount, a
// ConfigMap from values, a migration Job hook) from a folder, from a .tgz and from an OCI registry
// with credentials; the chart `helm create` makes; and inputs that must be refused before any write.

const NS = 'payment';
const PASSWORD = 'chart-pull-secret-9c1d';
const CHECKS = [
  '- name: payment\n  service: payment\n  port: http\n  path: /health\n  interval: 100ms\n  successes: 2',
  '- name: smoke\n  service: payment\n  port: http\n  path: /smoke\n  when: post-switch\n  interval: 100ms\n  successes: 1',
].join('\n');

let cluster: ExampleCluster;
let registry: RunningRegistry;
let workspace: string;
let helmHome: string;
let helm: string;

function helmEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: helmHome,
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_DATA_HOME: join(helmHome, 'data'),
    DOCKER_CONFIG: join(helmHome, 'docker'),
  };
}

function helmTool(args: string[], input?: string): string {
  return execFileSync(helm, args, {
    cwd: workspace,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(input === undefined ? {} : { input }),
    env: helmEnv(),
  });
}

/** helm without blocking this process: for a registry whose token service runs in this process. */
function helmAsync(args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(helm, args, { cwd: workspace, env: helmEnv() }, (error, _out, stderr) => {
      if (error === null) resolve();
      else reject(new Error(`helm ${args[0] ?? ''} failed: ${stderr}`));
    });
    child.stdin?.end(input ?? '');
  });
}

beforeAll(async () => {
  helm = await resolveHelm();
  workspace = mkdtempSync(join(tmpdir(), 'ds-helm-ws-'));
  helmHome = mkdtempSync(join(tmpdir(), 'ds-helm-home-'));
  mkdirSync(join(workspace, 'charts'));
  cpSync(join(repoRoot, 'examples/dreamscape/charts/payment'), join(workspace, 'charts/payment'), {
    recursive: true,
  });
  helmTool(['create', 'charts/starter']);
  helmTool(['package', 'charts/payment', '--destination', 'dist']);
  mkdirSync(join(workspace, 'values'));
  writeFileSync(join(workspace, 'values/staging.yaml'), 'config:\n  PAYMENT_PROVIDER: staging-bank\n');
  writeFileSync(join(workspace, 'values/broken.yaml'), 'config:\n  LOG_LEVEL: [unclosed\n');
  cpSync(join(workspace, 'charts/payment'), join(workspace, 'charts/broken'), { recursive: true });
  writeFileSync(
    join(workspace, 'charts/broken/templates/configmap.yaml'),
    '{{ required "config.DATABASE_URL is required" .Values.config.DATABASE_URL }}\n',
  );

  // helm v3.17 reaches a registry on a loopback address over plain HTTP, whatever it is told.
  registry = await startRegistry({ auth: { mode: 'htpasswd', users: { deployer: PASSWORD } } });
  helmTool(['registry', 'login', registry.host, '--username', 'deployer', '--password-stdin'], PASSWORD);
  helmTool(['push', 'dist/payment-1.4.0.tgz', `oci://${registry.host}/charts`]);
  helmTool(['registry', 'logout', registry.host]);

  cluster = await startCluster([
    // v3: the migration fails (the Job runs the service's own image); the pods would be fine.
    {
      image: `*@${digest('payment', 'v3')}`,
      ready: '200ms',
      exitCode: 1,
      duration: '300ms',
      logs: ['running 0012_add_currency', 'ERROR: column "currency" of relation "payments" does not exist'],
    },
    // v4: migrates, comes up, and fails the smoke test after the switch.
    {
      image: `*@${digest('payment', 'v4')}`,
      ready: '200ms',
      exitCode: 0,
      duration: '200ms',
      http: { '/smoke': { status: 500, body: 'checkout broken' } },
    },
    {
      image: '*',
      ready: '200ms',
      exitCode: 0,
      duration: '200ms',
      http: { '/smoke': { status: 200, body: 'ok' } },
    },
  ]);
  // A chart is released into an existing namespace, as helm does without --create-namespace.
  for (const ns of [NS, 'starter', 'fresh'])
    expect(
      (await runKubectl(['create', 'namespace', ns], { kubeconfig: cluster.double.kubeconfigPath })).exitCode,
    ).toBe(0);
}, 120_000);

afterAll(async () => {
  await cluster.double.close();
  await registry.close();
  rmSync(workspace, { recursive: true, force: true });
  rmSync(helmHome, { recursive: true, force: true });
});

function pin(version: string): string {
  return `ghcr.io/dreamscape/payment=ghcr.io/dreamscape/payment@${digest('payment', version)}`;
}

function release(inputs: Record<string, string>, runId = '200'): Promise<ActionRunResult> {
  return deploy(
    cluster,
    {
      overlay: '',
      app: 'payment',
      environment: 'staging',
      namespace: NS,
      'health-checks': CHECKS,
      'verify-window': '300ms',
      ...inputs,
    },
    { env: { GITHUB_WORKSPACE: workspace }, runId },
  );
}

function named(resource: string, name: string, namespace = NS): JsonObject | undefined {
  return cluster.double.objects(resource, namespace).find((o) => (o.metadata as JsonObject).name === name);
}

function paymentImage(color: string): string {
  const spec = (
    (named('deployments', `payment-${color}`)?.spec as JsonObject | undefined)?.template as JsonObject
  ).spec as JsonObject;
  return ((spec.containers as JsonObject[])[0]?.image as string | undefined) ?? '';
}

function jobResult(name: string): string | undefined {
  const conditions = ((named('jobs', name)?.status as JsonObject | undefined)?.conditions ??
    []) as JsonObject[];
  return conditions.find((c) => c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed'))
    ?.type as string | undefined;
}

describe('a service chart released blue-green', () => {
  it('v1 from the chart folder, with a values file and a set value: migrated, then promoted', async () => {
    const r = await release({
      chart: 'charts/payment',
      values: 'values/staging.yaml',
      set: 'config.LOG_LEVEL=debug',
      images: pin('v1'),
    });
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({ result: 'promoted', 'active-color': 'blue' });
    expect(paymentImage('blue')).toBe(`ghcr.io/dreamscape/payment@${digest('payment', 'v1')}`);
    // The chart's objects, each released as its class says: HPA per color, configuration shared.
    expect(named('horizontalpodautoscalers', 'payment-blue')).toBeDefined();
    expect(named('serviceaccounts', 'payment')).toBeDefined();
    expect(named('configmaps', 'payment')?.data).toMatchObject({
      LOG_LEVEL: 'debug',
      PAYMENT_PROVIDER: 'staging-bank',
      CURRENCY: 'EUR',
    });
    expect(jobResult('payment-migrate-r1')).toBe('Complete');
    const record = releaseRecords(cluster.double, NS).find((x) => x.revision === 1);
    expect(record?.source).toMatchObject({
      kind: 'chart',
      name: 'payment',
      version: '1.4.0',
      reference: 'charts/payment',
    });
    expect(record?.source?.valuesDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.summary).toMatch(/\| Chart \| `payment` 1\.4\.0 from `charts\/payment`/);
    expect(r.stdout).toContain('::notice::No Helm release Secret is written');
    expect(cluster.double.violations()).toEqual([]);
  }, 180_000);

  it('v2 from the packaged .tgz: blue-green to green', async () => {
    const r = await release({ chart: 'dist/payment-1.4.0.tgz', images: pin('v2') });
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({
      result: 'promoted',
      'active-color': 'green',
      'previous-color': 'blue',
    });
    expect(paymentImage('green')).toContain(digest('payment', 'v2'));
    expect(serviceColors(cluster.double, NS)).toMatchObject({ payment: 'green' });
    expect(releaseRecords(cluster.double, NS)[0]?.source).toMatchObject({
      reference: 'dist/payment-1.4.0.tgz',
    });
  }, 180_000);

  const oci = (): Record<string, string> => ({
    chart: `oci://${registry.host}/charts/payment`,
    'chart-version': '1.4.0',
    'registry-username': 'deployer',
    'registry-password': PASSWORD,
  });

  it('v3 from oci:// with credentials, whose migration fails: no switch, the live color untouched', async () => {
    const r = await release({ ...oci(), images: pin('v3') });
    expect(r.outputs.result).toBe('failed');
    expect(r.errors.join('\n')).toMatch(/pre-deploy Job payment-migrate-r3 failed/);
    expect(serviceColors(cluster.double, NS)).toMatchObject({ payment: 'green' });
    expect(paymentImage('green')).toContain(digest('payment', 'v2'));
    expect(paymentImage('blue')).not.toContain(digest('payment', 'v3'));
    expect(r.summary).toContain('ERROR: column "currency" of relation "payments" does not exist');
    expect(findSecretLeaks(r, { password: PASSWORD })).toEqual([]);
    expect(cluster.double.violations()).toEqual([]);
  }, 180_000);

  it('v4 from oci:// whose post-switch gate fails: switched back to the live color', async () => {
    const r = await release({ ...oci(), images: pin('v4') });
    expect(r.outputs.result).toBe('rolled-back');
    expect(r.errors.join('\n')).toMatch(/post-switch health gates failed/);
    expect(serviceColors(cluster.double, NS)).toMatchObject({ payment: 'green' });
    expect(jobResult('payment-migrate-r4')).toBe('Complete');
    expect(findSecretLeaks(r, { password: PASSWORD })).toEqual([]);
    expect(cluster.double.violations()).toEqual([]);
  }, 180_000);

  it('a rollback re-applies the bytes recorded with revision 1, without rendering or running the migration', async () => {
    const jobsBefore = cluster.double.objects('jobs', NS).length;
    const r = await rollback(
      cluster,
      { app: 'payment', environment: 'staging', 'health-checks': CHECKS },
      { env: { GITHUB_WORKSPACE: workspace } },
    );
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({ result: 'rolled-back', 'to-revision': '1', 'active-color': 'blue' });
    expect(paymentImage('blue')).toContain(digest('payment', 'v1'));
    const records = releaseRecords(cluster.double, NS);
    const target = records.find((x) => x.revision === 1);
    const back = records[0];
    expect(back?.kind).toBe('rollback');
    expect((back as { manifestHash?: string } | undefined)?.manifestHash).toBe(
      (target as { manifestHash?: string } | undefined)?.manifestHash,
    );
    expect(back?.source).toMatchObject({ kind: 'chart', reference: 'charts/payment' });
    expect(cluster.double.objects('jobs', NS).length).toBe(jobsBefore);
    expect(cluster.double.violations()).toEqual([]);
  }, 180_000);

  it('plan mode names the chart, its version and the diff', async () => {
    const r = await release({ chart: 'charts/payment', images: pin('v5'), mode: 'plan' });
    expect(r.errors).toEqual([]);
    expect(r.outputs.plan).toMatch(/Chart `payment` 1\.4\.0 from `charts\/payment`/);
    expect(r.outputs.plan).toMatch(/`payment-migrate` \| before the candidate comes up/);
    expect(r.outputs.plan).toContain(digest('payment', 'v5'));
  }, 180_000);
});

describe('the chart `helm create` makes', () => {
  it('deploys blue-green; its test hook is never applied', async () => {
    const r = await deploy(
      cluster,
      {
        overlay: '',
        chart: 'charts/starter',
        app: 'starter',
        environment: 'dev',
        namespace: 'starter',
        images: `nginx=ghcr.io/acme/nginx@${digest('nginx', 'v1')}`,
        'verify-window': '300ms',
      },
      { env: { GITHUB_WORKSPACE: workspace } },
    );
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({ result: 'promoted', 'active-color': 'blue' });
    expect(serviceColors(cluster.double, 'starter')).toMatchObject({ starter: 'blue' });
    expect(r.stdout).toMatch(/Pod\/starter-test-connection is not applied: a Helm test hook/);
    expect(
      cluster.double.objects('pods', 'starter').map((p) => (p.metadata as JsonObject).name),
    ).not.toContain('starter-test-connection');
  }, 180_000);
});

describe('chart inputs refused before any write', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['a chart path outside the workspace', { chart: '../outside', images: pin('v9') }, /chart/],
    [
      'an oci:// registry that refuses the credentials',
      {
        chart: 'oci://REGISTRY/charts/payment',
        'chart-version': '1.4.0',
        'registry-username': 'deployer',
        'registry-password': 'wrong-password-42',
        images: pin('v9'),
      },
      /REGISTRY/,
    ],
    [
      'a values file that does not parse',
      { chart: 'charts/payment', values: 'values/broken.yaml', images: pin('v9') },
      /values\/broken\.yaml/,
    ],
    [
      'a chart whose templates fail',
      { chart: 'charts/broken', images: pin('v9') },
      /config\.DATABASE_URL is required/,
    ],
    [
      'an image left without a digest',
      { chart: 'charts/payment', app: 'fresh', namespace: 'fresh' },
      /The chart cannot be deployed blue-green: [^]*not pinned by digest/,
    ],
  ];

  it.each(cases)(
    '%s',
    async (_what, inputs, message) => {
      const resolved = Object.fromEntries(
        Object.entries(inputs).map(([k, v]) => [k, v.replace('REGISTRY', registry.host)]),
      );
      const before = realWrites(cluster.double).length;
      const r = await release(resolved, `refused-${_what.length}`);
      expect(r.exitCode).not.toBe(0);
      expect(r.errors.join('\n')).toMatch(
        new RegExp(message.source.replace('REGISTRY', registry.host.replace(/\./g, '\\.'))),
      );
      expect(realWrites(cluster.double).length).toBe(before);
      expect(findSecretLeaks(r, { password: 'wrong-password-42' })).toEqual([]);
    },
    120_000,
  );
});

describe('an oci:// chart beside require-scan', () => {
  // The credentials are scan-registry's: with require-scan, an oci:// chart of another registry is
  // pulled anonymously, never handed them (a public chart registry must not see a workflow token).
  let charts: RunningRegistry;
  beforeAll(async () => {
    charts = await startRegistry({
      auth: { mode: 'token', users: { publisher: 'publisher-secret-7c1d' }, anonymousPull: true },
    });
    await helmAsync(
      ['registry', 'login', charts.host, '--username', 'publisher', '--password-stdin'],
      'publisher-secret-7c1d',
    );
    await helmAsync(['push', 'dist/payment-1.4.0.tgz', `oci://${charts.host}/public`]);
    await helmAsync(['registry', 'logout', charts.host]);
  }, 60_000);
  afterAll(async () => {
    await charts.close();
  });

  it("plans a public chart of another registry, pulled anonymously, scan-registry's credentials kept from it", async () => {
    const before = realWrites(cluster.double).length;
    const r = await release(
      {
        mode: 'plan',
        chart: `oci://${charts.host}/public/payment`,
        'chart-version': '1.4.0',
        images: pin('v9'),
        'require-scan': 'true',
        'scan-registry': registry.host,
        // The images are ghcr.io's: asked no verdict here, so no registry outside the test is read.
        'scan-exempt': 'ghcr.io/dreamscape/*',
        'registry-username': 'deployer',
        'registry-password': PASSWORD,
      },
      'plan-public-chart',
    );
    expect(r.errors).toEqual([]);
    expect(r.outputs.result).toBe('planned');
    expect(r.stdout).toContain(
      `– ghcr.io/dreamscape/payment@${digest('payment', 'v9')}: exempt: exempted by scan-exempt entry 'ghcr.io/dreamscape/*'`,
    );
    expect(realWrites(cluster.double).length).toBe(before);
    expect(findSecretLeaks(r, { password: PASSWORD })).toEqual([]);
  }, 180_000);
});

import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ActionError,
  CommandError,
  MemoryLogger,
  ProcessCommandRunner,
  type CommandResult,
  type CommandRunner,
  type CommandSpec,
} from '@dreamscape/core';
import { pathWithPinnedTools, resolveHelm, startRegistry, type RunningRegistry } from '@dreamscape/testkit';
import {
  HELM_VERSION,
  NO_RELEASE_SECRET_NOTICE,
  isPinnedByDigest,
  parseManifests,
  renderChart,
  type ImagePin,
  type KubeObject,
  type RenderChartOptions,
  type RenderedChart,
} from '../src/index.js';
import { FakeRunner } from './support/fake-runner.js';

const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;
const PASSWORD = 'chart-reader-password-7f3a';

let helm: string;
let path: string;
/** A private helm home for the charts the tests make, package and push. */
let helmHome: string;
let workspace: string;
let outside: string;

/** Runs the real pinned helm as a test's own tool (making charts, packaging, pushing). */
function helmTool(
  args: string[],
  options: { cwd?: string; input?: string; env?: Record<string, string> } = {},
): string {
  return execFileSync(helm, args, {
    cwd: options.cwd ?? workspace,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.input === undefined ? {} : { input: options.input }),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: helmHome,
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_DATA_HOME: join(helmHome, 'data'),
      ...options.env,
    },
  });
}

/** Every helm command renderChart ran, passed on to the real runner (or answered by `intercept`). */
class RecordingRunner implements CommandRunner {
  readonly calls: CommandSpec[] = [];
  private readonly inner: CommandRunner;

  constructor(
    readonly logger = new MemoryLogger(),
    baseEnv?: Record<string, string | undefined>,
    private readonly intercept?: (spec: CommandSpec) => Promise<CommandResult> | undefined,
  ) {
    this.inner = new ProcessCommandRunner({ logger, ...(baseEnv === undefined ? {} : { baseEnv }) });
  }

  run(spec: CommandSpec): Promise<CommandResult> {
    this.calls.push(spec);
    return this.intercept?.(spec) ?? this.inner.run(spec);
  }

  /** The helm subcommands run, such as `version`, `template`, `registry login`. */
  commands(): string[] {
    return this.calls.map((c) =>
      (c.args[0] === 'registry' || c.args[0] === 'show' ? c.args.slice(0, 2) : c.args.slice(0, 1)).join(' '),
    );
  }
}

function options(runner: RecordingRunner, more: Partial<RenderChartOptions> = {}): RenderChartOptions {
  return {
    chart: 'charts/demo',
    valuesFiles: [],
    set: [],
    releaseName: 'web',
    namespace: 'shop',
    images: [],
    path,
    runner,
    logger: runner.logger,
    tempDir: mkdtempSync(join(tmpdir(), 'helm-render-temp-')),
    workspace,
    ...more,
  };
}

function find(rendered: RenderedChart, kind: string, name: string): KubeObject {
  const found = rendered.objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined)
    throw new Error(
      `no ${kind}/${name} in ${rendered.objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  return found;
}

function containers(object: KubeObject): { image: string }[] {
  const spec = (object as { spec?: { template?: { spec?: { containers?: { image: string }[] } } } }).spec;
  return spec?.template?.spec?.containers ?? [];
}

/** The ActionError a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<ActionError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ActionError) return error;
    throw error;
  }
  throw new Error('expected the render to fail');
}

/** A copy of the demo chart under `charts/<name>`, changed by `change`. */
function chartCopy(name: string, change: (dir: string) => void): string {
  const dir = join(workspace, 'charts', name);
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(workspace, 'charts', 'demo'), dir, { recursive: true });
  writeFileSync(
    join(dir, 'Chart.yaml'),
    `apiVersion: v2\nname: ${name}\nversion: 0.1.0\nappVersion: "1.16.0"\n`,
  );
  change(dir);
  return `charts/${name}`;
}

beforeAll(async () => {
  helm = await resolveHelm();
  path = await pathWithPinnedTools('/usr/bin:/bin');
  helmHome = mkdtempSync(join(tmpdir(), 'helm-test-home-'));
  workspace = mkdtempSync(join(tmpdir(), 'helm-workspace-'));
  outside = mkdtempSync(join(tmpdir(), 'helm-outside-'));
  mkdirSync(join(workspace, 'charts'));
  helmTool(['create', 'demo'], { cwd: join(workspace, 'charts') });
  helmTool(['package', 'charts/demo', '--destination', 'charts']);
  writeFileSync(join(workspace, 'values-prod.yaml'), 'replicaCount: 3\nservice:\n  port: 8080\n');
  writeFileSync(join(workspace, 'same-values.yaml'), 'replicaCount: 3\nservice:\n  port: 8080\n');
});

afterAll(() => {
  for (const dir of [helmHome, workspace, outside]) rmSync(dir, { recursive: true, force: true });
});

describe('renderChart from a chart directory', () => {
  it('renders with the real helm, values files and --set, and keeps test hooks', async () => {
    const runner = new RecordingRunner();
    const opts = options(runner, { valuesFiles: ['values-prod.yaml'], set: ['image.tag=1.2.3'] });
    const rendered = await renderChart(opts);

    const deployment = find(rendered, 'Deployment', 'web-demo');
    expect((deployment['spec'] as { replicas: number }).replicas).toBe(3);
    expect(containers(deployment).map((c) => c.image)).toEqual(['nginx:1.2.3']);
    expect(
      (find(rendered, 'Service', 'web-demo')['spec'] as { ports: { port: number }[] }).ports[0]?.port,
    ).toBe(8080);
    // helm create's test Pod is a hook: it stays in the output for the release to classify.
    const test = find(rendered, 'Pod', 'web-demo-test-connection');
    expect(test.metadata.annotations?.['helm.sh/hook']).toBe('test');

    expect(rendered.chart).toEqual({
      name: 'demo',
      version: '0.1.0',
      appVersion: '1.16.0',
      source: 'directory',
      reference: 'charts/demo',
      valuesDigest: expect.stringMatching(/^sha256:[a-f0-9]{64}$/),
    });
    expect(rendered.renderer).toBe(`helm template (${HELM_VERSION})`);
    expect(rendered.images).toEqual(['nginx:1.2.3', 'busybox']);
    expect(rendered.unpinned).toEqual(['nginx:1.2.3', 'busybox']);
    expect(rendered.notices).toEqual([NO_RELEASE_SECRET_NOTICE]);
    // Returned for the caller to say once, not logged here.
    expect(runner.logger.text()).not.toContain(NO_RELEASE_SECRET_NOTICE);
    // The text is what is recorded and applied again on rollback: it must read back the same.
    expect(parseManifests(rendered.text, 'recorded')).toEqual(rendered.objects);

    expect(runner.commands()).toEqual(['version', 'template']);
    const template = runner.calls[1];
    expect(template?.args.slice(0, 5)).toEqual([
      'template',
      'web',
      join(workspace, 'charts/demo'),
      '--namespace=shop',
      '--include-crds',
    ]);
    expect(template?.args).toContain('--set=image.tag=1.2.3');
    expect(template?.args).not.toContain('--skip-tests');
    // helm reads a copy of the checked values file, inside its private home.
    const values = template?.args.filter((a) => a.startsWith('--values=')) ?? [];
    expect(values).toHaveLength(1);
    expect(values[0]?.startsWith(`--values=${opts.tempDir}`)).toBe(true);
    for (const call of runner.calls) {
      for (const key of [
        'HELM_CONFIG_HOME',
        'HELM_CACHE_HOME',
        'HELM_DATA_HOME',
        'HELM_REGISTRY_CONFIG',
        'DOCKER_CONFIG',
      ])
        expect(call.env?.[key]?.startsWith(opts.tempDir)).toBe(true);
    }
    // The private home is gone afterwards.
    expect(readdirSync(opts.tempDir)).toEqual([]);
  });

  it('pins every pod image by digest, test hook included, and the text carries the pins', async () => {
    const runner = new RecordingRunner();
    const pins: ImagePin[] = [
      { name: 'nginx', newName: 'ghcr.io/acme/web', digest: DIGEST_A },
      { name: 'busybox', digest: DIGEST_B },
    ];
    const rendered = await renderChart(options(runner, { images: pins }));
    expect(containers(find(rendered, 'Deployment', 'web-demo'))[0]?.image).toBe(
      `ghcr.io/acme/web@${DIGEST_A}`,
    );
    expect(rendered.images).toEqual([`ghcr.io/acme/web@${DIGEST_A}`, `busybox@${DIGEST_B}`]);
    expect(rendered.images.every(isPinnedByDigest)).toBe(true);
    expect(rendered.unpinned).toEqual([]);
    expect(rendered.text).toContain(`image: ghcr.io/acme/web@${DIGEST_A}`);
    expect(rendered.text).toContain(`image: busybox@${DIGEST_B}`);
    expect(rendered.text).not.toContain('nginx:1.16.0');
    expect(parseManifests(rendered.text, 'recorded')).toEqual(rendered.objects);
  });

  it('refuses a pin that matches no image, naming it and the images there', async () => {
    const runner = new RecordingRunner();
    const error = await failure(
      renderChart(options(runner, { images: [{ name: 'ghcr.io/acme/nothing', digest: DIGEST_A }] })),
    );
    expect(error.message).toBe(
      'Image pin ghcr.io/acme/nothing matches no container image in the manifests rendered from the chart charts/demo. Images found: nginx:1.16.0, busybox.',
    );
  });

  it('gives the same values digest for the same values, and another when a set value changes', async () => {
    const render = (valuesFiles: string[], set: string[]): Promise<RenderedChart> =>
      renderChart(options(new RecordingRunner(), { valuesFiles, set }));
    const a = await render(['values-prod.yaml'], ['image.tag=1.2.3']);
    const b = await render(['same-values.yaml'], ['image.tag=1.2.3']);
    const c = await render(['values-prod.yaml'], ['image.tag=1.2.4']);
    const d = await render(['values-prod.yaml'], []);
    expect(b.chart.valuesDigest).toBe(a.chart.valuesDigest);
    expect(c.chart.valuesDigest).not.toBe(a.chart.valuesDigest);
    expect(d.chart.valuesDigest).not.toBe(a.chart.valuesDigest);
  });

  it('refuses a chart-version that is not the one in Chart.yaml, before helm runs', async () => {
    const runner = new RecordingRunner();
    const error = await failure(renderChart(options(runner, { version: '0.2.0' })));
    expect(error.message).toContain(`Input 'chart-version' has an invalid value "0.2.0"`);
    expect(error.message).toContain('the chart charts/demo is version 0.1.0, not 0.2.0');
    expect(runner.calls).toHaveLength(0);
    await expect(renderChart(options(new RecordingRunner(), { version: '0.1.0' }))).resolves.toBeDefined();
  });

  it('reports a template that fails with helm’s own message', async () => {
    const failing = chartCopy('failing', (dir) => {
      writeFileSync(join(dir, 'templates', 'fail.yaml'), '{{ fail "boom: replicaCount must be odd" }}\n');
    });
    const error = await failure(renderChart(options(new RecordingRunner(), { chart: failing })));
    expect(error.message).toContain('Rendering the chart charts/failing with helm template failed:');
    expect(error.message).toContain(
      'execution error at (failing/templates/fail.yaml:1:3): boom: replicaCount must be odd',
    );
    expect(error.hint).toContain('helm template locally');

    const unknown = chartCopy('unknown-function', (dir) => {
      writeFileSync(join(dir, 'templates', 'bad.yaml'), 'x: {{ noSuchFunction .Values }}\n');
    });
    const bad = await failure(renderChart(options(new RecordingRunner(), { chart: unknown })));
    expect(bad.message).toContain('Rendering the chart charts/unknown-function with helm template failed:');
    expect(bad.message).toContain('function "noSuchFunction" not defined');
  });

  it('refuses rendered manifests with a YAML alias, and ones that are not Kubernetes objects', async () => {
    const aliased = chartCopy('aliased', (dir) => {
      writeFileSync(
        join(dir, 'templates', 'aliased.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aliased\n  labels: &labels {a: b}\n  annotations: *labels\n',
      );
    });
    const alias = await failure(renderChart(options(new RecordingRunner(), { chart: aliased })));
    expect(alias.message).toMatch(
      /^The manifests helm rendered from the chart charts\/aliased use a YAML alias \(\*name\) in document \d+: refused/,
    );
    expect(alias.message).not.toContain('kustomize');
    const nameless = chartCopy('nameless', (dir) => {
      writeFileSync(join(dir, 'templates', 'nameless.yaml'), 'apiVersion: v1\nkind: ConfigMap\ndata: {}\n');
    });
    const missing = await failure(renderChart(options(new RecordingRunner(), { chart: nameless })));
    expect(missing.message).toContain(
      'The manifests helm rendered from the chart charts/nameless cannot be read:',
    );
    expect(missing.message).toContain('missing metadata.name (kind ConfigMap)');
  });

  it('says what differs from helm install: lookup in templates and CRDs in crds/', async () => {
    const notable = chartCopy('notable', (dir) => {
      writeFileSync(
        join(dir, 'templates', 'secret.yaml'),
        [
          '{{- $old := (lookup "v1" "Secret" .Release.Namespace "web-password") }}',
          'apiVersion: v1',
          'kind: Secret',
          'metadata:',
          '  name: web-password',
          'stringData:',
          '  password: {{ if $old }}kept{{ else }}{{ randAlphaNum 16 }}{{ end }}',
          '',
        ].join('\n'),
      );
      // A comment that mentions lookup is not a call.
      writeFileSync(join(dir, 'templates', 'notes.yaml'), '{{/* lookup is not used here */}}\n');
      mkdirSync(join(dir, 'crds'));
      writeFileSync(
        join(dir, 'crds', 'widgets.yaml'),
        [
          'apiVersion: apiextensions.k8s.io/v1',
          'kind: CustomResourceDefinition',
          'metadata:',
          '  name: widgets.acme.io',
          'spec:',
          '  group: acme.io',
          '  names: {kind: Widget, plural: widgets}',
          '  scope: Namespaced',
          '  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]',
          '',
        ].join('\n'),
      );
    });
    // A vendored dependency (as helm dependency build leaves it) that calls lookup too.
    const cache = join(workspace, 'cache-src');
    mkdirSync(join(cache, 'templates'), { recursive: true });
    writeFileSync(join(cache, 'Chart.yaml'), 'apiVersion: v2\nname: cache\nversion: 0.3.0\n');
    writeFileSync(
      join(cache, 'templates', 'state.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache-state\ndata:\n  seen: {{ (lookup "v1" "ConfigMap" "" "x") | toString | quote }}\n',
    );
    helmTool(['package', 'cache-src', '--destination', join(notable, 'charts')]);

    const fromDirectory = await renderChart(options(new RecordingRunner(), { chart: notable }));
    find(fromDirectory, 'CustomResourceDefinition', 'widgets.acme.io');
    find(fromDirectory, 'Secret', 'web-password');
    find(fromDirectory, 'ConfigMap', 'cache-state');
    expect(fromDirectory.notices).toEqual([
      expect.stringMatching(
        /^lookup returns nothing when rendered with helm template: templates\/secret\.yaml, charts\/cache-0\.3\.0\/templates\/state\.yaml call lookup/,
      ),
      expect.stringMatching(
        /^CRDs in crds\/ are rendered with the release and applied like every other object \(they must be allowed by allow-cluster-objects\): crds\/widgets\.yaml\./,
      ),
      NO_RELEASE_SECRET_NOTICE,
    ]);

    // The same notices for the packaged chart, whose files are read from the archive (helm
    // package stores the dependency as a directory).
    helmTool(['package', notable, '--destination', 'charts']);
    const fromArchive = await renderChart(
      options(new RecordingRunner(), { chart: 'charts/notable-0.1.0.tgz' }),
    );
    expect(fromArchive.notices).toEqual(
      fromDirectory.notices.map((n) => n.replace('charts/cache-0.3.0/', 'charts/cache/')),
    );
  });
});

describe('renderChart from a chart archive', () => {
  it('renders the packaged chart like its directory, with metadata from helm show chart', async () => {
    const runner = new RecordingRunner();
    const rendered = await renderChart(
      options(runner, {
        chart: 'charts/demo-0.1.0.tgz',
        valuesFiles: ['values-prod.yaml'],
        version: '0.1.0',
      }),
    );
    const directory = await renderChart(
      options(new RecordingRunner(), { valuesFiles: ['values-prod.yaml'] }),
    );
    expect(rendered.objects).toEqual(directory.objects);
    expect(rendered.chart).toEqual({
      ...directory.chart,
      source: 'archive',
      reference: 'charts/demo-0.1.0.tgz',
    });
    expect(runner.commands()).toEqual(['version', 'show chart', 'template']);
  });

  it('refuses a chart-version that is not the archive’s', async () => {
    const error = await failure(
      renderChart(options(new RecordingRunner(), { chart: 'charts/demo-0.1.0.tgz', version: '1.0.0' })),
    );
    expect(error.message).toContain('the chart charts/demo-0.1.0.tgz is version 0.1.0, not 1.0.0');
  });
});

describe('renderChart from an OCI registry', () => {
  let registry: RunningRegistry;
  let chartRef: string;

  beforeAll(async () => {
    // helm v3.17 reaches registries on loopback addresses over plain HTTP, whatever it is told.
    registry = await startRegistry({ auth: { mode: 'htpasswd', users: { reader: PASSWORD } } });
    helmTool(['registry', 'login', registry.host, '--username', 'reader', '--password-stdin'], {
      input: PASSWORD,
    });
    helmTool(['push', 'charts/demo-0.1.0.tgz', `oci://${registry.host}/charts`]);
    helmTool(['registry', 'logout', registry.host]);
    chartRef = `oci://${registry.host}/charts/demo`;
  });

  afterAll(async () => {
    await registry.close();
  });

  it('logs in with the password on stdin, pulls the version once and renders it', async () => {
    const runner = new RecordingRunner();
    const opts = options(runner, {
      chart: chartRef,
      version: '0.1.0',
      registry: { username: 'reader', password: PASSWORD },
      valuesFiles: ['values-prod.yaml'],
    });
    const rendered = await renderChart(opts);
    const directory = await renderChart(
      options(new RecordingRunner(), { valuesFiles: ['values-prod.yaml'] }),
    );
    expect(rendered.objects).toEqual(directory.objects);
    expect(rendered.chart).toEqual({ ...directory.chart, source: 'oci', reference: chartRef });

    expect(runner.commands()).toEqual(['version', 'registry login', 'pull', 'show chart', 'template']);
    const login = runner.calls[1];
    expect(login?.args).toEqual([
      'registry',
      'login',
      registry.host,
      '--username=reader',
      '--password-stdin',
    ]);
    expect(login?.stdin).toBe(PASSWORD);
    expect(login?.secrets).toEqual([PASSWORD]);
    expect(runner.calls[2]?.args.slice(0, 3)).toEqual(['pull', chartRef, '--version=0.1.0']);
    for (const call of runner.calls) expect(call.args.join(' ')).not.toContain(PASSWORD);
    expect(runner.logger.text(true)).not.toContain(PASSWORD);
    // The login and the pulled chart went into the private home, which is gone.
    expect(runner.calls[1]?.env?.['HELM_REGISTRY_CONFIG']?.startsWith(opts.tempDir)).toBe(true);
    expect(readdirSync(opts.tempDir)).toEqual([]);
  });

  it('refuses wrong credentials with an error naming the registry, never the password', async () => {
    const wrong = `${PASSWORD}-wrong`;
    const runner = new RecordingRunner();
    const error = await failure(
      renderChart(
        options(runner, {
          chart: chartRef,
          version: '0.1.0',
          registry: { username: 'reader', password: wrong },
        }),
      ),
    );
    expect(error.message).toContain(`Logging in to the registry ${registry.host} as reader failed:`);
    expect(error.message).toContain('401 Unauthorized');
    expect(error.hint).toBe(
      `The registry ${registry.host} refused the credentials (unauthorized): check the registry username and password (a token with read access to the chart).`,
    );
    expect(`${error.message}\n${error.hint ?? ''}`).not.toContain(wrong);
    expect(`${error.message}\n${error.hint ?? ''}`).not.toContain(PASSWORD);
    expect(runner.commands()).toEqual(['version', 'registry login']);
  });

  it('says the registry needs credentials when none are given', async () => {
    const error = await failure(
      renderChart(options(new RecordingRunner(), { chart: chartRef, version: '0.1.0' })),
    );
    expect(error.message).toContain(
      `Pulling the chart ${chartRef} version 0.1.0 from the registry ${registry.host} failed:`,
    );
    expect(error.hint).toContain(`The registry ${registry.host} needs credentials (unauthorized)`);
  });

  it('uses only the credentials given, never a Docker login on the runner', async () => {
    const home = mkdtempSync(join(tmpdir(), 'helm-docker-home-'));
    mkdirSync(join(home, '.docker'));
    const auth = Buffer.from(`reader:${PASSWORD}`).toString('base64');
    writeFileSync(
      join(home, '.docker', 'config.json'),
      JSON.stringify({ auths: { [registry.host]: { auth } } }),
    );
    const runner = new RecordingRunner(new MemoryLogger(), { ...process.env, HOME: home });
    const error = await failure(renderChart(options(runner, { chart: chartRef, version: '0.1.0' })));
    expect(error.hint).toContain(`The registry ${registry.host} needs credentials (unauthorized)`);
    rmSync(home, { recursive: true, force: true });
  });

  it('says when the registry has no such version', async () => {
    const error = await failure(
      renderChart(
        options(new RecordingRunner(), {
          chart: chartRef,
          version: '9.9.9',
          registry: { username: 'reader', password: PASSWORD },
        }),
      ),
    );
    expect(error.message).toContain(
      `Pulling the chart ${chartRef} version 9.9.9 from the registry ${registry.host} failed:`,
    );
    expect(error.hint).toContain(
      `The registry ${registry.host} has no chart ${chartRef} at that version (not found)`,
    );
  });

  it('needs an exact chart-version for an oci:// chart, before helm runs', async () => {
    for (const version of [undefined, '^0.1.0', '0.1']) {
      const runner = new RecordingRunner();
      const error = await failure(
        renderChart(options(runner, { chart: chartRef, ...(version === undefined ? {} : { version }) })),
      );
      expect(error.message).toContain(`Input 'chart-version'`);
      expect(error.message).toContain('an exact semantic version');
      expect(runner.calls).toHaveLength(0);
    }
  });

  it('tries a loopback registry that answers plain HTTP once more with --plain-http (helm from v3.18)', async () => {
    // helm v3.17 already speaks plain HTTP here; a later helm speaks TLS first and gets this answer.
    let refused = 0;
    const runner = new RecordingRunner(new MemoryLogger(), undefined, (spec) => {
      if (spec.args[0] !== 'pull' || spec.args.includes('--plain-http')) return undefined;
      refused++;
      return Promise.reject(
        new CommandError({
          tool: spec.tool,
          args: spec.args,
          exitCode: 1,
          signal: null,
          stdout: '',
          stderrTail: `Error: Get "https://${registry.host}/v2/charts/demo/manifests/0.1.0": http: server gave HTTP response to HTTPS client\n`,
          timedOut: false,
          cancelled: false,
        }),
      );
    });
    const rendered = await renderChart(
      options(runner, {
        chart: chartRef,
        version: '0.1.0',
        registry: { username: 'reader', password: PASSWORD },
      }),
    );
    expect(rendered.chart.source).toBe('oci');
    expect(refused).toBe(1);
    expect(runner.commands()).toEqual([
      'version',
      'registry login',
      'pull',
      'pull',
      'show chart',
      'template',
    ]);
    expect(runner.calls[3]?.args).toContain('--plain-http');
    expect(runner.logger.text()).toContain(
      `The registry ${registry.host} on a loopback address answers plain HTTP: trying again with --plain-http.`,
    );
  });

  it('never retries a registry that is not on a loopback address without TLS', async () => {
    const fake = new FakeRunner([
      { stdout: HELM_VERSION },
      {
        exitCode: 1,
        stderr:
          'Error: Get "https://charts.example.com/v2/": http: server gave HTTP response to HTTPS client',
      },
    ]);
    const error = await failure(
      renderChart({
        ...options(new RecordingRunner()),
        runner: fake,
        chart: 'oci://charts.example.com/acme/demo',
        version: '0.1.0',
      }),
    );
    expect(fake.specs.map((s) => s.args[0])).toEqual(['version', 'pull']);
    expect(error.hint).toBe(
      'The registry charts.example.com answers plain HTTP; charts are pulled over TLS from every registry that is not on a loopback address.',
    );
  });
});

describe('renderChart from a TLS registry on a loopback address', () => {
  let registry: RunningRegistry;

  beforeAll(async () => {
    registry = await startRegistry({ tls: true, auth: { mode: 'htpasswd', users: { reader: PASSWORD } } });
  });

  afterAll(async () => {
    await registry.close();
  });

  it('explains that helm v3.17 speaks plain HTTP to it, with the CA trusted through SSL_CERT_FILE', async () => {
    // The login goes over TLS and succeeds (helm trusts the test CA from the inherited
    // SSL_CERT_FILE); the pull goes over plain HTTP, which the TLS registry answers with 400.
    const runner = new RecordingRunner(new MemoryLogger(), {
      ...process.env,
      SSL_CERT_FILE: registry.caCertPath,
    });
    const chart = `oci://${registry.host}/charts/demo`;
    const error = await failure(
      renderChart(
        options(runner, { chart, version: '0.1.0', registry: { username: 'reader', password: PASSWORD } }),
      ),
    );
    expect(runner.commands()).toEqual(['version', 'registry login', 'pull']);
    expect(error.message).toContain(
      `Pulling the chart ${chart} version 0.1.0 from the registry ${registry.host} failed:`,
    );
    expect(error.message).toContain('400 Bad Request');
    expect(error.hint).toContain(
      `helm v3.17 reaches a registry on a loopback address (localhost, 127.0.0.1, ::1) over plain HTTP; ${registry.host} answered 400`,
    );
    expect(`${error.message}\n${error.hint ?? ''}`).not.toContain(PASSWORD);
  });
});

describe('renderChart refuses hostile inputs before helm runs', () => {
  const refused = async (more: Partial<RenderChartOptions>): Promise<ActionError> => {
    const runner = new RecordingRunner();
    const error = await failure(renderChart(options(runner, more)));
    expect(runner.calls).toHaveLength(0);
    return error;
  };

  it('a chart path that leads outside the workspace', async () => {
    mkdirSync(join(outside, 'chart'), { recursive: true });
    writeFileSync(join(outside, 'chart', 'Chart.yaml'), 'apiVersion: v2\nname: outside\nversion: 0.1.0\n');
    const error = await refused({ chart: `../${join(outside, 'chart').split('/').pop() ?? ''}` });
    expect(error.message).toContain(
      `Input 'chart' has an invalid value "../chart": it leads outside the workspace`,
    );
    const absolute = await refused({ chart: join(outside, 'chart') });
    expect(absolute.message).toContain('it leads outside the workspace');
  });

  it('a chart directory that is a link to outside the workspace', async () => {
    symlinkSync(join(outside, 'chart'), join(workspace, 'charts', 'linked-away'));
    const error = await refused({ chart: 'charts/linked-away' });
    expect(error.message).toContain(`the chart resolves to ${join(outside, 'chart')}, outside the workspace`);
  });

  it('a link inside the chart that resolves outside the workspace', async () => {
    writeFileSync(
      join(outside, 'secret.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\n',
    );
    const linked = chartCopy('with-link', (dir) => {
      symlinkSync(join(outside, 'secret.yaml'), join(dir, 'templates', 'stolen.yaml'));
    });
    const error = await refused({ chart: linked });
    expect(error.message).toContain(
      `Input 'chart' has an invalid value "charts/with-link": templates/stolen.yaml in the chart resolves to ${join(outside, 'secret.yaml')}, outside the workspace`,
    );
  });

  it('a link inside the chart that resolves to nothing', async () => {
    const dangling = chartCopy('dangling', (dir) => {
      symlinkSync(join(outside, 'no-such-file.yaml'), join(dir, 'templates', 'gone.yaml'));
    });
    const error = await refused({ chart: dangling });
    expect(error.message).toContain(
      'templates/gone.yaml in the chart is a symbolic link that resolves to nothing',
    );
  });

  it('a directory without Chart.yaml, a file that is not an archive, a missing path', async () => {
    mkdirSync(join(workspace, 'not-a-chart'), { recursive: true });
    expect((await refused({ chart: 'not-a-chart' })).message).toContain(
      'the directory not-a-chart holds no Chart.yaml',
    );
    expect((await refused({ chart: 'values-prod.yaml' })).message).toContain(
      'values-prod.yaml is a file whose name does not end in .tgz or .tar.gz',
    );
    expect((await refused({ chart: 'charts/missing' })).message).toContain('does not exist');
  });

  it('chart URLs and repository references', async () => {
    for (const chart of [
      'http://charts.example.com/demo-0.1.0.tgz',
      'https://charts.example.com/demo-0.1.0.tgz',
    ]) {
      const error = await refused({ chart });
      expect(error.message).toContain(
        `Input 'chart' has an invalid value ${JSON.stringify(chart)}: chart URLs are refused`,
      );
      expect(error.hint).toContain('Vendor the chart into the repository');
      expect(error.hint).toContain('push it to an OCI registry');
    }
    const repo = await refused({ chart: 'bitnami/nginx' });
    expect(repo.message).toContain('repository references (repo/name) are refused');
    expect(repo.hint).toContain('push it to an OCI registry');
  });

  it('malformed oci:// references', async () => {
    expect((await refused({ chart: 'oci://ghcr.io/acme/demo:1.0.0', version: '1.0.0' })).message).toContain(
      'an OCI chart reference carries no tag or digest here',
    );
    expect((await refused({ chart: 'oci://user@ghcr.io/acme/demo', version: '1.0.0' })).message).toContain(
      'is not a registry host[:port]',
    );
    expect((await refused({ chart: 'oci://ghcr.io', version: '1.0.0' })).message).toContain(
      'is not an OCI repository path',
    );
  });

  it('a values file that does not parse, naming the file and the line', async () => {
    writeFileSync(join(workspace, 'broken.yaml'), 'replicaCount: 2\nimage:\n  tag: [unclosed\n');
    const error = await refused({ valuesFiles: ['values-prod.yaml', 'broken.yaml'] });
    expect(error.message).toMatch(
      /^Input 'values' has an invalid value "broken\.yaml": broken\.yaml is not valid YAML at line \d+/,
    );
    writeFileSync(join(workspace, 'list.yaml'), '- a\n- b\n');
    expect((await refused({ valuesFiles: ['list.yaml'] })).message).toContain(
      'list.yaml is a list, not a mapping of values',
    );
  });

  it('a values file outside the workspace, directly or through a link', async () => {
    writeFileSync(join(outside, 'values.yaml'), 'replicaCount: 1\n');
    const direct = await refused({ valuesFiles: [join(outside, 'values.yaml')] });
    expect(direct.message).toContain(
      `Input 'values' has an invalid value ${JSON.stringify(join(outside, 'values.yaml'))}`,
    );
    expect(direct.message).toContain('the path leads outside the workspace');
    symlinkSync(join(outside, 'values.yaml'), join(workspace, 'linked-values.yaml'));
    const linked = await refused({ valuesFiles: ['linked-values.yaml'] });
    expect(linked.message).toContain('the path leads outside the workspace through a symbolic link');
  });

  it('set entries without = or with a line break', async () => {
    const noEquals = await refused({ set: ['image.tag'] });
    expect(noEquals.message).toBe(
      `Input 'set' has an invalid value "image.tag": it has no = between the key and the value. Accepted: key=value entries in helm --set syntax (a.b=c, list[0]=x, a=1,b=2), one per line, without line breaks.`,
    );
    expect((await refused({ set: ['a=1\nb=2'] })).message).toContain('it holds a line break');
    expect((await refused({ set: ['=1'] })).message).toContain('the key before = is empty');
  });

  it('a release name or namespace helm would not take', async () => {
    expect((await refused({ releaseName: '--debug' })).message).toContain(
      `Input 'app' has an invalid value "--debug"`,
    );
    expect((await refused({ namespace: 'Shop Floor' })).message).toContain(
      `Input 'namespace' has an invalid value "Shop Floor"`,
    );
  });
});

describe('which helm renders', () => {
  /** A directory holding a `helm` script that reports `version` and renders one ConfigMap. */
  function fakeHelm(version: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'fake-helm-'));
    const script = join(dir, 'helm');
    writeFileSync(
      script,
      [
        '#!/bin/sh',
        `if [ "$1" = version ]; then printf '%s' '${version}'; exit 0; fi`,
        'if [ "$1" = template ]; then printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: from-fake\\n"; exit 0; fi',
        'exit 1',
        '',
      ].join('\n'),
    );
    chmodSync(script, 0o755);
    return dir;
  }

  it('helm: pinned refuses another version, saying which and how to fix it', async () => {
    const dir = fakeHelm('v3.14.4');
    const runner = new RecordingRunner();
    const error = await failure(renderChart(options(runner, { path: `${dir}:/usr/bin:/bin` })));
    expect(error.message).toBe(
      `helm: pinned needs helm ${HELM_VERSION}, but the helm on PATH (${join(dir, 'helm')}) reports v3.14.4.`,
    );
    expect(error.hint).toContain('azure/setup-helm');
    expect(error.hint).toContain(`version: ${HELM_VERSION}`);
    expect(error.hint).toContain('`helm: path`');
    expect(runner.commands()).toEqual(['version']);
  });

  it('helm: path renders with the helm on PATH whatever its version', async () => {
    const dir = fakeHelm('v3.14.4');
    const rendered = await renderChart(
      options(new RecordingRunner(), { path: `${dir}:/usr/bin:/bin`, helm: 'path' }),
    );
    expect(rendered.renderer).toBe('helm template (v3.14.4)');
    expect(rendered.objects.map((o) => o.metadata.name)).toEqual(['from-fake']);
  });

  it('says so when there is no helm on PATH', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-helm-'));
    for (const choice of ['pinned', 'path'] as const) {
      const runner = new RecordingRunner();
      const error = await failure(renderChart(options(runner, { path: empty, helm: choice })));
      expect(error.message).toBe('There is no helm on PATH to render the chart with.');
      expect(error.hint).toContain(`Install helm ${HELM_VERSION} before this step`);
      expect(runner.calls).toHaveLength(0);
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import {
  ActionError,
  FetchHttpClient,
  InputError,
  MemoryLogger,
  ProcessCommandRunner,
} from '@dreamscape/core';
import {
  ensureBaseImage,
  freePort,
  requireTool,
  startRegistry,
  waitForHttp,
  type RunningRegistry,
} from '@dreamscape/testkit';
import { parseSecretSpec } from '../src/builders/build-secrets.js';
import {
  BuildahBuilder,
  buildahBuildArgs,
  buildahPushArgs,
  type BuildahOptions,
} from '../src/builders/buildah.js';
import type { BuildRequest } from '../src/builders/builder.js';
import { buildOrReuse } from '../src/build-or-reuse.js';
import { parseReference } from '../src/reference.js';
import { RegistryClient } from '../src/registry-client.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const gateway = join(repoRoot, 'examples', 'dreamscape', 'services', 'gateway');

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

function request(overrides: Partial<BuildRequest> = {}): BuildRequest {
  return {
    context: '/src/app',
    dockerfile: '/src/app/Dockerfile',
    buildArgs: [],
    secrets: [],
    labels: {},
    tags: ['ghcr.io/dreamscape/gateway:1.4.0'],
    platforms: [],
    cacheFrom: [],
    cacheTo: [],
    push: true,
    provenance: false,
    sbom: false,
    ...overrides,
  };
}

describe('buildahBuildArgs', () => {
  const files = { secretSpecs: [], iidFile: '/tmp/run/iid' };

  it('maps a full single-platform request to bud flags, storage flags first', () => {
    expect(
      buildahBuildArgs(
        request({
          target: 'runtime',
          buildArgs: [
            ['VERSION', '1.4.0'],
            ['BASE_IMAGE', 'localhost/dreamscape/base:busybox'],
          ],
          labels: { 'org.opencontainers.image.revision': '3f9c2ab' },
          tags: ['ghcr.io/dreamscape/gateway:1.4.0', 'ghcr.io/dreamscape/gateway:sha-3f9c2ab'],
          platforms: ['linux/arm64'],
          cacheFrom: ['type=registry,ref=ghcr.io/dreamscape/cache', 'type=gha'],
          cacheTo: ['ghcr.io/dreamscape/cache'],
        }),
        { secretSpecs: ['id=npm_token,src=/tmp/s/npm_token'], iidFile: '/tmp/run/iid' },
        { root: '/tmp/st', runroot: '/tmp/rr', storageDriver: 'vfs', isolation: 'chroot', format: 'docker' },
      ),
    ).toEqual([
      '--root',
      '/tmp/st',
      '--runroot',
      '/tmp/rr',
      '--storage-driver',
      'vfs',
      'bud',
      '--isolation',
      'chroot',
      '--layers',
      '--format',
      'docker',
      '--file',
      '/src/app/Dockerfile',
      '--target',
      'runtime',
      '--build-arg',
      'VERSION=1.4.0',
      '--build-arg',
      'BASE_IMAGE=localhost/dreamscape/base:busybox',
      '--secret',
      'id=npm_token,src=/tmp/s/npm_token',
      '--label',
      'org.opencontainers.image.revision=3f9c2ab',
      '--tag',
      'ghcr.io/dreamscape/gateway:1.4.0',
      '--tag',
      'ghcr.io/dreamscape/gateway:sha-3f9c2ab',
      '--platform',
      'linux/arm64',
      '--cache-from',
      'ghcr.io/dreamscape/cache',
      '--cache-to',
      'ghcr.io/dreamscape/cache',
      '--iidfile',
      '/tmp/run/iid',
      '/src/app',
    ]);
  });

  it('leaves isolation, storage and format to buildah when not given; layers can be turned off', () => {
    expect(buildahBuildArgs(request(), files, { layers: false })).toEqual([
      'bud',
      '--file',
      '/src/app/Dockerfile',
      '--tag',
      'ghcr.io/dreamscape/gateway:1.4.0',
      '--iidfile',
      '/tmp/run/iid',
      '/src/app',
    ]);
  });

  it('builds several platforms into a manifest list instead of tags', () => {
    expect(
      buildahBuildArgs(request({ platforms: ['linux/amd64', 'linux/arm64'] }), {
        ...files,
        manifest: 'ghcr.io/dreamscape/gateway:1.4.0',
      }),
    ).toEqual([
      'bud',
      '--layers',
      '--file',
      '/src/app/Dockerfile',
      '--manifest',
      'ghcr.io/dreamscape/gateway:1.4.0',
      '--platform',
      'linux/amd64,linux/arm64',
      '/src/app',
    ]);
  });
});

describe('buildahBuildArgs and base images without TLS', () => {
  it('pulls with --tls-verify=false only when a base image comes from a registry without TLS', () => {
    const args = (insecurePulls: string[]): string[] =>
      buildahBuildArgs(
        request({ insecureRegistries: ['127.0.0.1:5000'], insecurePulls }),
        { secretSpecs: [], iidFile: '/tmp/run/iid' },
        {
          layers: false,
        },
      );
    expect(args(['127.0.0.1:5000']).slice(0, 4)).toEqual([
      'bud',
      '--tls-verify=false',
      '--file',
      '/src/app/Dockerfile',
    ]);
    // A push to an insecure registry alone does not turn the checks off for the build's pulls.
    expect(args([])).not.toContain('--tls-verify=false');
  });
});

describe('buildahPushArgs', () => {
  it('pushes an image by ID with a digest file, over plain HTTP when the registry is insecure', () => {
    expect(
      buildahPushArgs(
        {
          source: 'abc123',
          destination: '127.0.0.1:5000/app:1',
          digestFile: '/tmp/d',
          manifest: false,
          insecure: true,
        },
        { root: '/tmp/st', authFile: '/tmp/auth.json' },
      ),
    ).toEqual([
      '--root',
      '/tmp/st',
      'push',
      '--digestfile',
      '/tmp/d',
      '--tls-verify=false',
      '--authfile',
      '/tmp/auth.json',
      'abc123',
      'docker://127.0.0.1:5000/app:1',
    ]);
  });

  it('pushes a manifest list with all its images', () => {
    expect(
      buildahPushArgs({
        source: 'ghcr.io/o/app:1',
        destination: 'ghcr.io/o/app:1',
        digestFile: '/tmp/d',
        manifest: true,
        insecure: false,
      }),
    ).toEqual([
      'manifest',
      'push',
      '--all',
      '--digestfile',
      '/tmp/d',
      'ghcr.io/o/app:1',
      'docker://ghcr.io/o/app:1',
    ]);
  });
});

/** HEAD of a tag with the index and manifest Accept types: the digest the registry serves. */
async function registryDigest(
  registry: RunningRegistry,
  repository: string,
  tag: string,
  auth?: string,
): Promise<string> {
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { Accept: ACCEPT, ...(auth === undefined ? {} : { Authorization: auth }) },
  });
  expect(response.status).toBe(200);
  return response.headers.get('docker-content-digest') ?? '';
}

async function getJson(url: string, accept = ACCEPT): Promise<Record<string, unknown>> {
  const response = await fetch(url, { headers: { Accept: accept } });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/** Every file under `dir` (symlinks not followed), for searching a storage for bytes. */
function* filesUnder(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const info = lstatSync(path);
    if (info.isDirectory()) yield* filesUnder(path);
    else if (info.isFile()) yield path;
  }
}

describe('BuildahBuilder with real buildah and a real registry', () => {
  let registry: RunningRegistry;
  let work: string;
  let storage: Required<Pick<BuildahOptions, 'root' | 'runroot' | 'storageDriver'>>;
  let baseImage: string;
  const logger = new MemoryLogger();
  const runner = new ProcessCommandRunner({ logger });
  const secret = `npm_${randomBytes(18).toString('hex')}`;
  let firstDigest = '';

  const builder = (options: BuildahOptions = {}): BuildahBuilder =>
    new BuildahBuilder(
      { runner, logger, tempDir: mkdtempSync(join(work, 'tmp-')) },
      { ...storage, insecureRegistries: [registry.host], ...options },
    );
  const gatewayRequest = (overrides: Partial<BuildRequest> = {}): BuildRequest =>
    request({
      context: gateway,
      dockerfile: join(gateway, 'Dockerfile'),
      target: 'runtime',
      buildArgs: [
        ['BASE_IMAGE', baseImage],
        ['VERSION', '1.4.0-test'],
        ['REVISION', '3f9c2ab'],
      ],
      secrets: [{ id: 'npm_token', value: secret }],
      labels: { 'org.opencontainers.image.source': 'https://github.com/dreamscape/platform' },
      tags: [`${registry.host}/dreamscape/gateway:1.4.0`, `${registry.host}/dreamscape/gateway:sha-3f9c2ab`],
      ...overrides,
    });
  const buildah = (...args: string[]): string =>
    execFileSync(
      'buildah',
      [
        '--root',
        storage.root,
        '--runroot',
        storage.runroot,
        '--storage-driver',
        storage.storageDriver,
        ...args,
      ],
      { encoding: 'utf8' },
    );

  beforeAll(async () => {
    requireTool('buildah');
    work = mkdtempSync(join(tmpdir(), 'ds-buildah-test-'));
    // A storage of its own: the first build below is cold, the second one warm.
    storage = { root: join(work, 'storage'), runroot: join(work, 'run'), storageDriver: 'vfs' };
    baseImage = await ensureBaseImage(storage);
    registry = await startRegistry();
  }, 120_000);

  afterAll(async () => {
    await registry.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('builds the multi-stage example to its runtime target with a build arg and a secret, and reports the digest the registry serves', async () => {
    const result = await builder().build(gatewayRequest());
    firstDigest = result.digest;

    expect(result.builder).toBe('buildah');
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.platforms).toEqual(['linux/amd64']);
    // The digest pushed is the registry's (compressed layers), for every tag.
    expect(await registryDigest(registry, 'dreamscape/gateway', '1.4.0')).toBe(result.digest);
    expect(await registryDigest(registry, 'dreamscape/gateway', 'sha-3f9c2ab')).toBe(result.digest);
    // buildah's local digest differs: that is why the digest file is read.
    expect(
      buildah('inspect', '--type', 'image', '--format', '{{.FromImageDigest}}', result.imageId ?? '').trim(),
    ).not.toBe(result.digest);

    // The secret was there during the build: the deps step saw its exact length.
    expect(logger.text()).toContain(`npm_token secret: provided (${secret.length} bytes)`);
    // Build output was streamed as progress.
    expect(logger.text()).toMatch(
      /\[3\/3\] STEP \d+\/\d+: FROM localhost\/dreamscape\/base:busybox AS runtime/,
    );
  }, 180_000);

  it('leaves the secret in no pushed layer, label or history, and in no layer of any stage in the storage', async () => {
    const manifest = await getJson(`${registry.url}/v2/dreamscape/gateway/manifests/${firstDigest}`);
    const config = manifest.config as { digest: string };
    const layers = manifest.layers as { digest: string; mediaType: string }[];
    const configText = await (
      await fetch(`${registry.url}/v2/dreamscape/gateway/blobs/${config.digest}`)
    ).text();
    const image = JSON.parse(configText) as {
      config: { Labels: Record<string, string>; Env: string[]; User: string };
      history: { created_by?: string }[];
    };
    expect(image.config.Labels).toMatchObject({
      'org.opencontainers.image.version': '1.4.0-test',
      'org.opencontainers.image.revision': '3f9c2ab',
      'org.opencontainers.image.title': 'dreamscape-gateway',
      'org.opencontainers.image.source': 'https://github.com/dreamscape/platform',
    });
    expect(image.config.Env).toContain('APP_VERSION=1.4.0-test');
    expect(image.config.User).toBe('65534:65534');
    expect(image.history.some((h) => (h.created_by ?? '').includes('--mount=type=secret,id=npm_token'))).toBe(
      false,
    );
    expect(configText).not.toContain(secret);

    let versionBaked = false;
    for (const layer of layers) {
      const blob = Buffer.from(
        await (await fetch(`${registry.url}/v2/dreamscape/gateway/blobs/${layer.digest}`)).arrayBuffer(),
      );
      const tar = layer.mediaType.endsWith('gzip') ? gunzipSync(blob) : blob;
      expect(tar.includes(secret)).toBe(false);
      if (tar.includes('"version":"1.4.0-test","revision":"3f9c2ab"')) versionBaked = true;
    }
    expect(versionBaked).toBe(true);

    // Every layer of every stage (deps included) lives under the storage root: none holds the secret.
    let scanned = 0;
    for (const file of filesUnder(storage.root)) {
      scanned++;
      expect(readFileSync(file).includes(secret)).toBe(false);
    }
    expect(scanned).toBeGreaterThan(100);
  }, 120_000);

  it('reuses the layer cache when nothing changed, and pushes the same digest again', async () => {
    const before = logger.entries.length;
    const result = await builder().build(gatewayRequest());
    const lines = logger.entries.slice(before).map((e) => e.message);
    const steps = lines.filter((l) => /^\[\d\/3\] STEP \d+\/\d+: (RUN|COPY)/.test(l));
    const cached = lines.filter((l) => l.startsWith('--> Using cache '));
    expect(steps.length).toBeGreaterThanOrEqual(5);
    expect(cached.length).toBeGreaterThanOrEqual(steps.length);
    // The RUN that reads the secret did not run again.
    expect(lines.some((l) => l.startsWith('npm_token secret:'))).toBe(false);
    expect(result.digest).toBe(firstDigest);
    expect(await registryDigest(registry, 'dreamscape/gateway', '1.4.0')).toBe(firstDigest);
  }, 180_000);

  it('a cache registry that is down never fails the build: it is built without exporting, said in a warning', async () => {
    // Nothing listens on this port: buildah's cache push is refused.
    const dead = `127.0.0.1:${String(await freePort())}/dreamscape/cache`;
    const before = logger.entries.length;
    const result = await builder({ insecureRegistries: [registry.host, dead.split('/')[0] ?? ''] }).build(
      gatewayRequest({
        cacheTo: [`type=registry,ref=${dead}`],
        tags: [`${registry.host}/dreamscape/gateway:cache-down`],
      }),
    );
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await registryDigest(registry, 'dreamscape/gateway', 'cache-down')).toBe(result.digest);
    const warnings = logger.entries
      .slice(before)
      .filter((e) => e.level === 'warning')
      .map((e) => e.message);
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^The build with --cache-to ${dead.replace(/\./g, '\\.')} failed \\(.+\\) and succeeded without it: the cache was not exported\\.`,
        ),
      ),
    ]);
  }, 180_000);

  it('a step that fails still fails the build, with its own error, cache export or not', async () => {
    const dead = `127.0.0.1:${String(await freePort())}/dreamscape/cache`;
    const error = await builder()
      .build(
        gatewayRequest({
          cacheTo: [dead],
          buildArgs: [
            ['BASE_IMAGE', 'localhost/dreamscape/no-such-base:never'],
            ['VERSION', '1.4.0-test'],
          ],
          tags: [`${registry.host}/dreamscape/gateway:broken`],
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect((error as ActionError).message).toMatch(/no-such-base/);
  }, 180_000);

  it('builds another target without pushing and reports the local image', async () => {
    const result = await builder().build(
      gatewayRequest({ target: 'deps', push: false, tags: ['localhost/dreamscape/gateway-deps:test'] }),
    );
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.imageId).not.toBeUndefined();
    const inspected = JSON.parse(
      buildah('inspect', '--type', 'image', 'localhost/dreamscape/gateway-deps:test'),
    ) as {
      FromImageID: string;
      FromImageDigest: string;
      OCIv1: { config: { Labels?: Record<string, string> } };
    };
    const labels = inspected.OCIv1.config.Labels;
    // The deps stage ends before the runtime stage's labels and files.
    expect(labels?.['org.opencontainers.image.version']).toBeUndefined();
    expect(labels?.['org.opencontainers.image.source']).toBe('https://github.com/dreamscape/platform');
    expect(result.imageId).toBe(`sha256:${inspected.FromImageID}`);
    expect(result.digest).toBe(inspected.FromImageDigest);
  }, 180_000);

  it('builds an image that serves /health and /version with busybox alone', async () => {
    const container = buildah('from', '--pull=never', `${registry.host}/dreamscape/gateway:1.4.0`).trim();
    const port = await freePort();
    const child = spawn(
      'buildah',
      [
        '--root',
        storage.root,
        '--runroot',
        storage.runroot,
        '--storage-driver',
        'vfs',
        'run',
        '--isolation',
        'chroot',
        '--env',
        `PORT=${port}`,
        container,
        '--',
        '/bin/sh',
        '/app/docker-entrypoint.sh',
      ],
      { stdio: 'ignore' },
    );
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, 20_000);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', service: 'gateway', mode: 'static' });
      expect(await (await fetch(`http://127.0.0.1:${port}/version`)).json()).toEqual({
        service: 'gateway',
        version: '1.4.0-test',
        revision: '3f9c2ab',
        mode: 'static',
      });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      buildah('rm', container);
    }
  }, 120_000);

  it('builds several platforms into one index that the registry serves', async () => {
    const context = mkdtempSync(join(work, 'multi-'));
    writeFileSync(
      join(context, 'Dockerfile'),
      'FROM scratch\nARG VERSION=0\nCOPY hello.txt /hello.txt\nLABEL version=$VERSION\n',
    );
    writeFileSync(join(context, 'hello.txt'), 'hello\n');
    const result = await builder({ layers: false }).build(
      request({
        context,
        dockerfile: join(context, 'Dockerfile'),
        buildArgs: [['VERSION', '2']],
        platforms: ['linux/amd64', 'linux/arm64'],
        tags: [`${registry.host}/dreamscape/multi:2`],
      }),
    );
    expect(result.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(await registryDigest(registry, 'dreamscape/multi', '2')).toBe(result.digest);
    const index = await getJson(`${registry.url}/v2/dreamscape/multi/manifests/2`);
    const platforms = (index.manifests as { platform: { os: string; architecture: string } }[]).map(
      (m) => `${m.platform.os}/${m.platform.architecture}`,
    );
    expect(platforms.sort()).toEqual(['linux/amd64', 'linux/arm64']);
  }, 180_000);

  it('pushes to loopback registries as the registry client reached them: TLS with its CA checked, TLS listed as insecure, plain http', async () => {
    const [tls, plain] = await Promise.all([startRegistry({ tls: true }), startRegistry()]);
    try {
      const ca = readFileSync(tls.caCertPath ?? '', 'utf8');
      // The CA where buildah looks for one (--cert-dir), and where the registry client is given it.
      const certDir = mkdtempSync(join(work, 'certs-'));
      writeFileSync(join(certDir, 'ca.crt'), ca);
      const pushTo = async (target: RunningRegistry, client: RegistryClient): Promise<string[]> => {
        const before = logger.entries.length;
        const result = await buildOrReuse({
          source: gatewayRequest(),
          plan: {
            name: parseReference(`${target.host}/dreamscape/gateway`, { defaultTag: false }),
            tags: [`${target.host}/dreamscape/gateway:1.4.0`],
            labels: gatewayRequest().labels,
            push: true,
            registry: target.host,
            insecureRegistries: [],
            logins: [],
          },
          reuse: false,
          revision: '3f9c2ab',
          // Nothing listed up front: what the builder is told comes from the registry client.
          builder: builder({ insecureRegistries: [], certDir }),
          runner,
          registry: client,
          logger,
        });
        // buildOrReuse has read every tag back through the client: the registry holds this digest.
        expect(result.record.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
        return logger.entries
          .slice(before)
          .map((e) => e.message)
          .filter((m) => m.startsWith('$ buildah') && m.includes(' push '));
      };

      const checked = await pushTo(tls, new RegistryClient({ http: new FetchHttpClient({ ca }), logger }));
      expect(checked).toHaveLength(1);
      expect(checked[0]).toContain(`--cert-dir ${certDir}`);
      expect(checked[0]).not.toContain('--tls-verify=false');

      const unchecked = await pushTo(
        tls,
        new RegistryClient({ http: new FetchHttpClient(), logger, insecureRegistries: [tls.host] }),
      );
      expect(unchecked).toHaveLength(1);
      expect(unchecked[0]).toContain('--tls-verify=false');

      const overHttp = await pushTo(plain, new RegistryClient({ http: new FetchHttpClient(), logger }));
      expect(overHttp).toHaveLength(1);
      expect(overHttp[0]).toContain('--tls-verify=false');
      expect(await registryDigest(plain, 'dreamscape/gateway', '1.4.0')).toMatch(/^sha256:/);
    } finally {
      await Promise.all([tls.close(), plain.close()]);
    }
  }, 180_000);

  it('logs in with the password on stdin and pushes to a registry that requires it', async () => {
    const authDir = mkdtempSync(join(work, 'auth-'));
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const htpasswd = execFileSync(requireTool('htpasswd'), ['-niB', 'builder'], {
      input: password,
      encoding: 'utf8',
    });
    writeFileSync(join(authDir, 'htpasswd'), htpasswd);
    const locked = await startRegistry({
      extraConfig: [
        'auth:',
        '  htpasswd:',
        '    realm: dreamscape',
        `    path: ${join(authDir, 'htpasswd')}`,
      ].join('\n'),
    });
    try {
      const authFile = join(authDir, 'auth.json');
      const options: BuildahOptions = {
        authFile,
        insecureRegistries: [locked.host],
        pushRetry: { attempts: 2, initialDelayMs: 10 },
      };
      const tags = [`${locked.host}/dreamscape/gateway:1.4.0`];

      const refused = await builder(options)
        .build(gatewayRequest({ tags }))
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ActionError);
      expect((refused as Error).message).toMatch(/authentication required|unauthorized/i);

      const authed = builder(options);
      const before = logger.entries.length;
      await authed.login({ registry: locked.host, username: 'builder', password });
      const result = await authed.build(gatewayRequest({ tags }));
      expect(result.digest).toBe(firstDigest);
      const basic = `Basic ${Buffer.from(`builder:${password}`).toString('base64')}`;
      expect(await registryDigest(locked, 'dreamscape/gateway', '1.4.0', basic)).toBe(firstDigest);
      expect(readFileSync(authFile, 'utf8')).toContain(locked.host);
      expect(
        logger.entries
          .slice(before)
          .map((e) => e.message)
          .join('\n'),
      ).not.toContain(password);
      expect(logger.text(true)).toContain('buildah login --username builder --password-stdin');
    } finally {
      await locked.close();
    }
  }, 180_000);
});

describe('BuildahBuilder refuses bad inputs before building', () => {
  const logger = new MemoryLogger();
  const tempDir = mkdtempSync(join(tmpdir(), 'ds-buildah-bad-'));
  const calls: string[] = [];
  const builder = new BuildahBuilder(
    {
      runner: {
        run: (spec) => {
          calls.push(spec.args.join(' '));
          return Promise.reject(new Error('buildah must not run'));
        },
      },
      logger,
      tempDir,
    },
    {},
  );
  const base = request({ context: gateway, dockerfile: join(gateway, 'Dockerfile') });

  it.each([
    [
      'a missing context',
      { context: join(tempDir, 'nope') },
      `The build context ${join(tempDir, 'nope')} does not exist.`,
    ],
    [
      'a missing Dockerfile',
      { dockerfile: join(gateway, 'Containerfile') },
      `The Dockerfile ${join(gateway, 'Containerfile')} does not exist.`,
    ],
    [
      'an unknown target',
      { target: 'production' },
      `The build target 'production' is not a stage of ${join(gateway, 'Dockerfile')}. Its stages are: deps (0), build (1), runtime (2).`,
    ],
    [
      'a bad platform',
      { platforms: ['amd64'] },
      "The platform 'amd64' is not of the form os/arch[/variant].",
    ],
    ['an invalid tag', { tags: ['ghcr.io/DreamScape/gateway:1'] }, 'DreamScape'],
    [
      'a bad secret id',
      { secrets: [{ id: 'npm token', value: 'x' }] },
      "The build secret id 'npm token' is invalid",
    ],
    [
      'a duplicate secret',
      {
        secrets: [
          { id: 'a', value: 'x' },
          { id: 'a', env: 'A' },
        ],
      },
      "The build secret 'a' is given twice.",
    ],
    [
      'a missing secret file',
      { secrets: [{ id: 'npm_token', file: join(tempDir, 'token') }] },
      `The file for build secret 'npm_token' does not exist: ${join(tempDir, 'token')}.`,
    ],
  ] as [string, Partial<BuildRequest>, string][])('%s', async (_name, overrides, message) => {
    const error = await builder.build({ ...base, ...overrides }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect((error as Error).message).toContain(message);
    expect(calls).toEqual([]);
    expect(readdirSync(tempDir)).toEqual([]);
  });

  it('refuses a malformed secret spec, naming the input', () => {
    expect(() => parseSecretSpec('npm_token=/run/secrets/token', 'secret-files')).toThrow(InputError);
    expect(() => parseSecretSpec('id=npm_token', 'secret-files')).toThrow(
      /Input 'secret-files' has an invalid value "id=npm_token": give exactly one of src= or env=/,
    );
  });
});

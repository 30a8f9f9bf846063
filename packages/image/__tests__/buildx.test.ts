import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ActionError, MemoryLogger } from '@dreamscape/core';
import type { BuildRequest } from '../src/builders/builder.js';
import { BuildxBuilder, buildxBuildArgs, parseBuildxMetadata } from '../src/builders/buildx.js';
import { FakeRunner } from './builders-fake-runner.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'fixtures');
const context = join(fixtures, 'dockerfiles');
const dockerfile = join(context, 'multistage.Dockerfile');
const metadataFixture = (name: string): string => readFileSync(join(fixtures, 'buildx', name), 'utf8');

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

const files = { metadataFile: '/tmp/run/metadata.json', secretSpecs: [] };

describe('buildxBuildArgs', () => {
  const table: [string, Partial<BuildRequest>, Parameters<typeof buildxBuildArgs>[1], string[]][] = [
    [
      'a plain push: attestations off, metadata file, --push, context last',
      {},
      files,
      [
        'buildx',
        'build',
        '--progress=plain',
        '--file',
        '/src/app/Dockerfile',
        '--tag',
        'ghcr.io/dreamscape/gateway:1.4.0',
        '--provenance=false',
        '--sbom=false',
        '--metadata-file',
        '/tmp/run/metadata.json',
        '--push',
        '/src/app',
      ],
    ],
    [
      'target, build args in order, secrets as --secret, labels, every tag',
      {
        target: 'runtime',
        buildArgs: [
          ['VERSION', '1.4.0'],
          ['BASE_IMAGE', 'node:20-alpine'],
        ],
        labels: {
          'org.opencontainers.image.revision': '3f9c2ab',
          'org.opencontainers.image.source': 'https://github.com/dreamscape/platform',
        },
        tags: ['ghcr.io/dreamscape/gateway:1.4.0', 'ghcr.io/dreamscape/gateway:sha-3f9c2ab'],
      },
      {
        metadataFile: '/tmp/m.json',
        secretSpecs: ['id=npm_token,src=/tmp/s/npm_token', 'id=gh,env=GH_TOKEN'],
      },
      [
        'buildx',
        'build',
        '--progress=plain',
        '--file',
        '/src/app/Dockerfile',
        '--target',
        'runtime',
        '--build-arg',
        'VERSION=1.4.0',
        '--build-arg',
        'BASE_IMAGE=node:20-alpine',
        '--secret',
        'id=npm_token,src=/tmp/s/npm_token',
        '--secret',
        'id=gh,env=GH_TOKEN',
        '--label',
        'org.opencontainers.image.revision=3f9c2ab',
        '--label',
        'org.opencontainers.image.source=https://github.com/dreamscape/platform',
        '--tag',
        'ghcr.io/dreamscape/gateway:1.4.0',
        '--tag',
        'ghcr.io/dreamscape/gateway:sha-3f9c2ab',
        '--provenance=false',
        '--sbom=false',
        '--metadata-file',
        '/tmp/m.json',
        '--push',
        '/src/app',
      ],
    ],
    [
      'gha cache: scoped to the repository, cache-to never fails the build',
      { cacheFrom: ['type=gha'], cacheTo: ['type=gha,mode=max'] },
      files,
      [
        'buildx',
        'build',
        '--progress=plain',
        '--file',
        '/src/app/Dockerfile',
        '--tag',
        'ghcr.io/dreamscape/gateway:1.4.0',
        '--cache-from',
        'type=gha,scope=dreamscape-gateway',
        '--cache-to',
        'type=gha,mode=max,scope=dreamscape-gateway,ignore-error=true',
        '--provenance=false',
        '--sbom=false',
        '--metadata-file',
        '/tmp/run/metadata.json',
        '--push',
        '/src/app',
      ],
    ],
    [
      'an explicit scope and an explicit ignore-error are kept as given',
      {
        cacheFrom: ['type=gha,scope=shared', 'type=registry,ref=ghcr.io/dreamscape/cache:gateway'],
        cacheTo: ['type=registry,ref=ghcr.io/dreamscape/cache:gateway,mode=max,ignore-error=false'],
      },
      files,
      [
        'buildx',
        'build',
        '--progress=plain',
        '--file',
        '/src/app/Dockerfile',
        '--tag',
        'ghcr.io/dreamscape/gateway:1.4.0',
        '--cache-from',
        'type=gha,scope=shared',
        '--cache-from',
        'type=registry,ref=ghcr.io/dreamscape/cache:gateway',
        '--cache-to',
        'type=registry,ref=ghcr.io/dreamscape/cache:gateway,mode=max,ignore-error=false',
        '--provenance=false',
        '--sbom=false',
        '--metadata-file',
        '/tmp/run/metadata.json',
        '--push',
        '/src/app',
      ],
    ],
    [
      'several platforms, provenance mode=max and an SBOM when asked',
      { platforms: ['linux/amd64', 'linux/arm64'], provenance: 'mode=max', sbom: true },
      files,
      [
        'buildx',
        'build',
        '--progress=plain',
        '--file',
        '/src/app/Dockerfile',
        '--tag',
        'ghcr.io/dreamscape/gateway:1.4.0',
        '--platform',
        'linux/amd64,linux/arm64',
        '--provenance=mode=max',
        '--sbom=true',
        '--metadata-file',
        '/tmp/run/metadata.json',
        '--push',
        '/src/app',
      ],
    ],
    [
      'provenance true; no push with one platform loads into the daemon',
      { provenance: true, push: false, platforms: ['linux/arm64'] },
      files,
      [
        'buildx',
        'build',
        '--progress=plain',
        '--file',
        '/src/app/Dockerfile',
        '--tag',
        'ghcr.io/dreamscape/gateway:1.4.0',
        '--platform',
        'linux/arm64',
        '--provenance=true',
        '--sbom=false',
        '--metadata-file',
        '/tmp/run/metadata.json',
        '--load',
        '/src/app',
      ],
    ],
    [
      'no push with several platforms: neither --push nor --load',
      { push: false, platforms: ['linux/amd64', 'linux/arm64'], tags: [] },
      files,
      [
        'buildx',
        'build',
        '--progress=plain',
        '--file',
        '/src/app/Dockerfile',
        '--platform',
        'linux/amd64,linux/arm64',
        '--provenance=false',
        '--sbom=false',
        '--metadata-file',
        '/tmp/run/metadata.json',
        '/src/app',
      ],
    ],
  ];

  it.each(table)('%s', (_name, overrides, argvFiles, expected) => {
    expect(buildxBuildArgs(request(overrides), argvFiles)).toEqual(expected);
  });

  it('selects a builder instance with the global --builder flag', () => {
    expect(buildxBuildArgs(request(), files, { builderInstance: 'ds-builder' }).slice(0, 4)).toEqual([
      'buildx',
      '--builder',
      'ds-builder',
      'build',
    ]);
  });
});

describe('parseBuildxMetadata', () => {
  it('reads a single-platform push: manifest digest, config digest, image names, build ref', () => {
    const m = parseBuildxMetadata(metadataFixture('push-single-platform.json'));
    const raw = JSON.parse(metadataFixture('push-single-platform.json')) as Record<string, string>;
    expect(m.digest).toBe(raw['containerimage.digest']);
    expect(m.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(m.configDigest).toBe(raw['containerimage.config.digest']);
    expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(m.imageNames).toEqual([
      'ghcr.io/dreamscape/gateway:1.4.0',
      'ghcr.io/dreamscape/gateway:sha-3f9c2ab',
    ]);
    expect(m.buildRef).toMatch(/^builder-[0-9a-f-]+\/builder-[0-9a-f-]+0\/[a-z0-9]+$/);
    expect(m.warnings).toEqual([]);
  });

  it('reads a multi-platform push: the index digest, no single config', () => {
    const m = parseBuildxMetadata(metadataFixture('push-multi-platform.json'));
    const raw = JSON.parse(metadataFixture('push-multi-platform.json')) as Record<string, string>;
    expect(m.digest).toBe(raw['containerimage.digest']);
    expect(m.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(m.configDigest).toBeUndefined();
    expect(m.imageNames).toEqual(['ghcr.io/dreamscape/payment:1.4.0', 'ghcr.io/dreamscape/payment:latest']);
    expect(Object.keys(m.raw)).toContain('buildx.build.provenance/linux/arm64');
  });

  it('decodes build warnings, which buildx writes base64-encoded', () => {
    const m = parseBuildxMetadata(metadataFixture('load-with-warnings.json'));
    expect(m.warnings).toEqual([
      "FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 5) (https://docs.docker.com/go/dockerfile/rule/from-as-casing/)",
    ]);
  });

  it('has no digest for a cache-only build, and refuses what is not a JSON object', () => {
    expect(parseBuildxMetadata(metadataFixture('cache-only.json')).digest).toBeUndefined();
    expect(() => parseBuildxMetadata('{"containerimage.digest":', 'metadata file m.json')).toThrow(
      'The buildx metadata file m.json is not JSON.',
    );
    expect(() => parseBuildxMetadata('[]')).toThrow('is not a JSON object');
  });
});

/** A fake docker that writes `metadata` where --metadata-file says, as buildx does. */
function dockerWriting(
  metadata: string,
  seen: { secretFile?: string; secretText?: string; mode?: number },
): FakeRunner {
  return new FakeRunner((spec) => {
    const at = spec.args.indexOf('--metadata-file');
    if (at >= 0) {
      writeFileSync(spec.args[at + 1] ?? '', metadata);
      const secret = spec.args[spec.args.indexOf('--secret') + 1] ?? '';
      const src = /src=(.+)$/.exec(secret)?.[1];
      if (src !== undefined) {
        seen.secretFile = src;
        seen.secretText = readFileSync(src, 'utf8');
        seen.mode = statSync(src).mode & 0o777;
      }
      return { stderr: '#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s' };
    }
    return {};
  });
}

describe('BuildxBuilder', () => {
  const secretValue = 'npm_7f3c1d9e2b4a6f8c0e1d3b5a';

  it('builds, reports the digest from the metadata file, and cleans up the 0600 secret file', async () => {
    const tempDir = mkdtempSync(join(tmpdir(), 'ds-buildx-'));
    const seen: { secretFile?: string; secretText?: string; mode?: number } = {};
    const runner = dockerWriting(metadataFixture('push-single-platform.json'), seen);
    const logger = new MemoryLogger();
    const builder = new BuildxBuilder({ runner, logger, tempDir });
    const result = await builder.build(
      request({ context, dockerfile, target: 'runtime', secrets: [{ id: 'npm_token', value: secretValue }] }),
    );
    const raw = JSON.parse(metadataFixture('push-single-platform.json')) as Record<string, string>;
    expect(result).toMatchObject({
      builder: 'buildx',
      digest: raw['containerimage.digest'],
      imageId: raw['containerimage.config.digest'],
    });
    expect(seen.secretText).toBe(secretValue);
    expect(seen.mode).toBe(0o600);
    expect(seen.secretFile?.startsWith(tempDir)).toBe(true);
    expect(existsSync(seen.secretFile ?? '')).toBe(false);
    expect(readdirSync(tempDir)).toEqual([]);
    const argv = runner.calls[0]?.args ?? [];
    expect(argv.join(' ')).not.toContain(secretValue);
    expect(argv).not.toContain('--build-arg');
    expect(logger.text()).toContain('#1 [internal] load build definition from Dockerfile');
    logger.info(`token ${secretValue}`);
    expect(logger.text()).not.toContain(secretValue);
  });

  it('logs buildx warnings and uses the config digest when a loaded image has no manifest digest', async () => {
    const noManifest = JSON.stringify({
      ...(JSON.parse(metadataFixture('load-with-warnings.json')) as Record<string, unknown>),
      'containerimage.digest': undefined,
    });
    const logger = new MemoryLogger();
    const builder = new BuildxBuilder({
      runner: dockerWriting(noManifest, {}),
      logger,
      tempDir: mkdtempSync(join(tmpdir(), 'ds-buildx-')),
    });
    const result = await builder.build(request({ context, dockerfile, push: false }));
    expect(result.digest).toBe(
      (JSON.parse(metadataFixture('load-with-warnings.json')) as Record<string, string>)[
        'containerimage.config.digest'
      ],
    );
    expect(logger.entries).toContainEqual({
      level: 'warning',
      message: expect.stringContaining("buildx: FromAsCasing: 'as' and 'FROM'") as unknown as string,
    });
  });

  it('fails when a push reports no digest', async () => {
    const builder = new BuildxBuilder({
      runner: dockerWriting(metadataFixture('cache-only.json'), {}),
      logger: new MemoryLogger(),
      tempDir: mkdtempSync(join(tmpdir(), 'ds-buildx-')),
    });
    await expect(builder.build(request({ context, dockerfile }))).rejects.toThrow(
      'docker buildx build finished but reported no image digest (containerimage.digest).',
    );
  });

  it('fails on an unknown target before docker is run', async () => {
    const runner = new FakeRunner();
    const builder = new BuildxBuilder({ runner, logger: new MemoryLogger(), tempDir: tmpdir() });
    const error = await builder
      .build(request({ context, dockerfile, target: 'prod' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect((error as Error).message).toContain('Its stages are: deps (0), build (1), runtime (2)');
    expect(runner.calls).toEqual([]);
  });

  it('logs in with the password on stdin only, masked, retrying a transient failure', async () => {
    let attempts = 0;
    const runner = new FakeRunner(() => {
      attempts++;
      return attempts === 1
        ? {
            exitCode: 1,
            stderr: 'Error response from daemon: Get "https://ghcr.io/v2/": net/http: TLS handshake timeout',
          }
        : {};
    });
    const logger = new MemoryLogger();
    const builder = new BuildxBuilder(
      { runner, logger, tempDir: tmpdir() },
      { loginRetry: { attempts: 2, initialDelayMs: 1 } },
    );
    await builder.login({
      registry: 'ghcr.io',
      username: 'dreamscape-bot',
      password: 'ghp_s3cretT0kenValue',
    });
    expect(runner.lines()).toEqual([
      'docker login --username dreamscape-bot --password-stdin ghcr.io',
      'docker login --username dreamscape-bot --password-stdin ghcr.io',
    ]);
    expect(runner.calls[0]?.stdin).toBe('ghp_s3cretT0kenValue');
    expect(runner.calls[0]?.secrets).toEqual(['ghp_s3cretT0kenValue']);
    expect(logger.masker.redact('x ghp_s3cretT0kenValue')).toBe('x ***');
  });

  it('does not retry a login the registry refuses', async () => {
    const runner = new FakeRunner(() => ({
      exitCode: 1,
      stderr: 'Error response from daemon: denied: denied',
    }));
    const builder = new BuildxBuilder({ runner, logger: new MemoryLogger(), tempDir: tmpdir() });
    await expect(
      builder.login({ registry: 'ghcr.io', username: 'u', password: 'wrong-password' }),
    ).rejects.toThrow('denied');
    expect(runner.calls).toHaveLength(1);
  });
});

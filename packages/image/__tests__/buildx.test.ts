import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ActionError, CommandError, MemoryLogger, ProcessCommandRunner, type Clock } from '@dreamscape/core';
import { BUILDX_FAILURES, writeStandInDocker, type StandInDockerOptions } from '@dreamscape/testkit';
import type { BuildRequest } from '../src/builders/builder.js';
import {
  BuildxBuilder,
  buildxBuildArgs,
  parseBuildxMetadata,
  type BuildxOptions,
} from '../src/builders/buildx.js';
import { classifyBuildxFailure } from '../src/builders/buildx-failure.js';
import { driverNeeds, ownBuilderSpec, parseBuildxInspect } from '../src/builders/buildx-instance.js';
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

describe('classifyBuildxFailure', () => {
  const ref = 'ghcr.io/dreamscape/gateway:1.4.0';
  const args = [ref, 'ghcr.io', 'dreamscape/gateway'] as const;

  it.each([
    ['a 502 from a proxy', BUILDX_FAILURES.badGateway(...args), 'unexpected status from PUT request'],
    ['a 503 from the token service', BUILDX_FAILURES.tokenUnavailable(...args), 'failed to authorize'],
    ['a connection reset', BUILDX_FAILURES.connectionReset(...args), 'connection reset by peer'],
    ['a TLS handshake timeout', BUILDX_FAILURES.tlsHandshakeTimeout(...args), 'TLS handshake timeout'],
  ])('retries a push that failed on the way: %s', (_name, stderr, words) => {
    const failure = classifyBuildxFailure(stderr);
    expect(failure).toMatchObject({ push: true, transient: true });
    expect(failure.reason.startsWith(`failed to push ${ref}: `)).toBe(true);
    expect(failure.reason).toContain(words);
  });

  it('reads the older buildx summary line, which did not name the push', () => {
    expect(classifyBuildxFailure(BUILDX_FAILURES.legacyBadGateway())).toEqual({
      reason: 'unexpected status: 502 Bad Gateway',
      push: true,
      transient: true,
      refused: false,
    });
    expect(
      classifyBuildxFailure(
        'error: failed to solve: rpc error: code = Unknown desc = failed to copy: failed to do request: Put https://registry-1.docker.io/v2/x/blobs/uploads/abc: write tcp 10.1.0.4:51234->3.216.34.172:443: write: connection reset by peer',
      ),
    ).toMatchObject({ push: true, transient: true });
  });

  it.each([
    [
      'denied (GHCR without packages: write)',
      BUILDX_FAILURES.denied(ref),
      'denied: permission_denied: write_package',
    ],
    ['401 Unauthorized', BUILDX_FAILURES.unauthorized(...args), '401 Unauthorized'],
    ['name unknown', BUILDX_FAILURES.nameUnknown(...args), 'name unknown: The repository'],
    [
      'a token service refusing the credentials',
      `ERROR: failed to build: failed to solve: failed to push ${ref}: failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://ghcr.io/token: 403 Forbidden`,
      '403 Forbidden',
    ],
    [
      'a refusal that also speaks of a timeout (an expired token)',
      `ERROR: failed to build: failed to solve: failed to push ${ref}: unexpected status from PUT request to https://ghcr.io/v2/dreamscape/gateway/manifests/1.4.0: 401 Unauthorized: token timed out`,
      '401 Unauthorized',
    ],
  ])('never retries a refused push: %s', (_name, stderr, words) => {
    const failure = classifyBuildxFailure(stderr);
    expect(failure).toMatchObject({ push: true, transient: false, refused: true });
    expect(failure.reason).toContain(words);
  });

  it('never retries a failed step, even one whose own output speaks of a reset connection', () => {
    expect(classifyBuildxFailure(BUILDX_FAILURES.stepFailed())).toEqual({
      reason: 'process "/bin/sh -c npm ci --omit=dev" did not complete successfully: exit code: 1',
      push: false,
      transient: false,
      refused: false,
    });
    expect(
      classifyBuildxFailure(
        'ERROR: failed to build: Cache export is not supported for the docker driver.\nSwitch to a different driver, or turn on the containerd image store, and try again.\nLearn more at https://docs.docker.com/go/build-cache-backends/',
      ),
    ).toMatchObject({ push: false, transient: false });
  });
});

describe('parseBuildxInspect and driverNeeds', () => {
  const inspect = (name: string) => parseBuildxInspect(readFileSync(join(fixtures, 'buildx', name), 'utf8'));

  it('knows what each driver can do, from what buildx inspect prints', () => {
    expect(inspect('inspect-docker.txt')).toEqual({
      name: 'default',
      driver: 'docker',
      features: { cacheExport: false, multiPlatform: false },
    });
    expect(inspect('inspect-docker-containerd.txt').features).toEqual({
      cacheExport: true,
      multiPlatform: true,
    });
    expect(inspect('inspect-docker-debug.txt').features).toEqual({
      cacheExport: false,
      multiPlatform: false,
    });
    expect(inspect('inspect-docker-container.txt')).toEqual({
      name: 'builder-6e2f0c4a-91d3-4b7e-a5c8-3f1d2e9b7a60',
      driver: 'docker-container',
      features: { cacheExport: true, multiPlatform: true },
    });
  });

  it('names the inputs that need more than the docker driver: cache exports but inline, platforms, attestations', () => {
    expect(driverNeeds(request())).toEqual([]);
    expect(driverNeeds(request({ cacheTo: ['type=inline'], cacheFrom: ['type=gha'] }))).toEqual([]);
    expect(
      driverNeeds(
        request({
          cacheTo: ['type=gha,mode=max', 'ghcr.io/dreamscape/cache:gateway'],
          platforms: ['linux/amd64', 'linux/arm64'],
          provenance: 'mode=max',
          sbom: true,
        }),
      ),
    ).toEqual([
      { input: 'cache-to', what: 'cache-to type=gha,mode=max (a cache export)', feature: 'cacheExport' },
      {
        input: 'cache-to',
        what: 'cache-to ghcr.io/dreamscape/cache:gateway (a cache export)',
        feature: 'cacheExport',
      },
      {
        input: 'platforms',
        what: 'platforms linux/amd64,linux/arm64 (a multi-platform build)',
        feature: 'multiPlatform',
      },
      { input: 'provenance', what: 'provenance mode=max (an attestation)', feature: 'multiPlatform' },
      { input: 'sbom', what: 'sbom true (an attestation)', feature: 'multiPlatform' },
    ]);
  });
});

/** A clock whose sleeps return at once and are recorded. */
function fastClock(): Clock & { readonly slept: number[] } {
  const slept: number[] = [];
  let now = 1_764_000_000_000;
  return {
    slept,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

describe('BuildxBuilder with a stand-in docker that answers as docker and buildx do', () => {
  const ref = 'ghcr.io/dreamscape/gateway:1.4.0';
  const single = metadataFixture('push-single-platform.json');
  const singleDigest = (JSON.parse(single) as Record<string, string>)['containerimage.digest'];

  function setUp(
    options: Omit<StandInDockerOptions, 'metadata'> & { readonly metadata?: string },
    buildx: BuildxOptions = {},
  ) {
    const docker = writeStandInDocker({ metadata: single, ...options });
    const logger = new MemoryLogger();
    const clock = fastClock();
    const builder = new BuildxBuilder(
      {
        runner: new ProcessCommandRunner({ logger }),
        logger,
        tempDir: mkdtempSync(join(tmpdir(), 'ds-buildx-stand-in-')),
        // The stand-in comes first on PATH, as the real docker would be found there.
        env: { PATH: `${docker.binDir}:${process.env.PATH ?? ''}` },
        clock,
      },
      buildx,
    );
    /** Each docker invocation, without the build's long argv: `buildx build` for a build. */
    const lines = (): string[] =>
      docker.calls().map((c) => {
        const at = c.args.indexOf('build');
        return at >= 0 && c.args[0] === 'buildx' ? c.args.slice(0, at + 1).join(' ') : c.args.join(' ');
      });
    return { docker, logger, clock, builder, lines };
  }

  const warnings = (logger: MemoryLogger): string[] =>
    logger.entries.filter((e) => e.level === 'warning').map((e) => e.message);

  it('pushes again after a push that failed on the way, with a warning naming the attempt and the reason', async () => {
    const { docker, logger, clock, builder, lines } = setUp({
      builds: [
        { outcome: 'fail', stderr: BUILDX_FAILURES.badGateway(ref, 'ghcr.io', 'dreamscape/gateway') },
        { outcome: 'ok' },
      ],
    });
    const result = await builder.build(request({ context, dockerfile, target: 'runtime' }));
    expect(result.digest).toBe(singleDigest);
    expect(lines()).toEqual(['buildx inspect', 'buildx build', 'buildx build']);
    const [first, second] = docker.builds();
    expect(second?.args).toEqual(first?.args);
    expect(first?.args).toContain('--push');
    expect(warnings(logger)).toEqual([
      `The push of ${ref} failed on attempt 1 of 3: failed to push ${ref}: unexpected status from PUT request to https://ghcr.io/v2/dreamscape/gateway/manifests/1.4.0: 502 Bad Gateway. Running docker buildx build --push again in 5 s; the build itself comes from the builder's cache.`,
    ]);
    expect(clock.slept).toEqual([5000]);
  });

  it.each([
    ['a 503 from the token service', BUILDX_FAILURES.tokenUnavailable(ref, 'ghcr.io', 'dreamscape/gateway')],
    ['a connection reset', BUILDX_FAILURES.connectionReset(ref, 'ghcr.io', 'dreamscape/gateway')],
    ['a TLS handshake timeout', BUILDX_FAILURES.tlsHandshakeTimeout(ref, 'ghcr.io', 'dreamscape/gateway')],
    ['an older buildx reporting 502', BUILDX_FAILURES.legacyBadGateway()],
  ])('pushes again after %s', async (_name, stderr) => {
    const { docker, builder } = setUp({ builds: [{ outcome: 'fail', stderr }, { outcome: 'ok' }] });
    expect((await builder.build(request({ context, dockerfile }))).digest).toBe(singleDigest);
    expect(docker.builds()).toHaveLength(2);
  });

  it('gives up after three attempts, saying how often and why', async () => {
    const stderr = BUILDX_FAILURES.connectionReset(ref, 'ghcr.io', 'dreamscape/gateway');
    const { docker, logger, clock, builder } = setUp({ builds: [{ outcome: 'fail', stderr }] });
    const error = await builder.build(request({ context, dockerfile })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^The push of ${ref} failed 3 times; the last time: failed to push ${ref}: failed to copy: .*connection reset by peer\\.$`,
      ),
    );
    expect(docker.builds()).toHaveLength(3);
    expect(clock.slept).toEqual([5000, 10000]);
    expect(warnings(logger).map((w) => w.slice(0, w.indexOf(' of 3') + ' of 3'.length))).toEqual([
      `The push of ${ref} failed on attempt 1 of 3`,
      `The push of ${ref} failed on attempt 2 of 3`,
    ]);
  });

  it.each([
    ['denied', BUILDX_FAILURES.denied(ref), 'denied: permission_denied: write_package'],
    [
      '401 Unauthorized',
      BUILDX_FAILURES.unauthorized(ref, 'ghcr.io', 'dreamscape/gateway'),
      '401 Unauthorized',
    ],
    ['name unknown', BUILDX_FAILURES.nameUnknown(ref, 'ghcr.io', 'dreamscape/gateway'), 'name unknown'],
  ])('does not push again when the registry refuses: %s', async (_name, stderr, words) => {
    const { docker, logger, clock, builder } = setUp({
      builds: [{ outcome: 'fail', stderr }, { outcome: 'ok' }],
    });
    const error = await builder.build(request({ context, dockerfile })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect((error as ActionError).message).toContain(
      `The registry refused the push of ${ref}: failed to push ${ref}: `,
    );
    expect((error as ActionError).message).toContain(words);
    expect((error as ActionError).message).toContain('Not retried');
    expect((error as ActionError).hint).toContain('packages: write');
    expect(docker.builds()).toHaveLength(1);
    expect(warnings(logger)).toEqual([]);
    expect(clock.slept).toEqual([]);
  });

  it('does not push again after a failure it does not know, and does not call it a refusal', async () => {
    const stderr = `ERROR: failed to build: failed to solve: failed to push ${ref}: failed commit on ref "manifest-sha256:6d1f": unexpected commit digest sha256:0a9b, expected sha256:6d1f: failed precondition`;
    const { docker, builder } = setUp({ builds: [{ outcome: 'fail', stderr }, { outcome: 'ok' }] });
    const error = await builder.build(request({ context, dockerfile })).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `The push of ${ref} failed: failed to push ${ref}: failed commit on ref "manifest-sha256:6d1f": unexpected commit digest sha256:0a9b, expected sha256:6d1f: failed precondition. Not retried: it does not look like the passing failure of a registry or a network.`,
    );
    expect(docker.builds()).toHaveLength(1);
  });

  it('does not build again when a step of the Dockerfile fails', async () => {
    const { docker, builder } = setUp({
      builds: [{ outcome: 'fail', stderr: BUILDX_FAILURES.stepFailed() }, { outcome: 'ok' }],
    });
    const error = await builder.build(request({ context, dockerfile })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as Error).message).toContain('did not complete successfully: exit code: 1');
    expect(docker.builds()).toHaveLength(1);
  });

  it("fails before building when the docker driver cannot export a gha cache and 'buildx-builder' is 'current'", async () => {
    const { lines, builder } = setUp({ currentDriver: 'docker' }, { builder: 'current' });
    const error = await builder
      .build(request({ context, dockerfile, cacheTo: ['type=gha,mode=max'] }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect((error as ActionError).message).toBe(
      "The buildx builder 'default' uses the docker driver, which cannot do what this input asks: cache-to type=gha,mode=max (a cache export). It needs the docker-container driver (or the containerd image store of the Docker daemon). Input 'buildx-builder' is 'current', so none was created.",
    );
    expect((error as ActionError).hint).toContain('buildx-builder: auto');
    expect(lines()).toEqual(['buildx inspect']);
  });

  it('without a builder of its own, the build fails the way buildx refuses it (what happened before this check)', async () => {
    // The stand-in enforces buildx's own driver check: a build sent to the docker driver anyway.
    const docker = writeStandInDocker({ metadata: single, currentDriver: 'docker' });
    const run = await new ProcessCommandRunner({ logger: new MemoryLogger() })
      .run({
        tool: 'docker',
        args: ['buildx', 'build', '--cache-to', 'type=gha,mode=max', '--push', context],
        env: { PATH: `${docker.binDir}:${process.env.PATH ?? ''}` },
      })
      .catch((e: unknown) => e);
    expect((run as CommandError).stderrTail).toContain(
      'ERROR: failed to build: Cache export is not supported for the docker driver.\nSwitch to a different driver, or turn on the containerd image store, and try again.',
    );
  });

  it('creates a docker-container builder for a gha cache, several platforms and attestations, and builds with it', async () => {
    const multi = metadataFixture('push-multi-platform.json');
    const { docker, logger, builder, lines } = setUp({ currentDriver: 'docker', metadata: multi });
    const wanted = request({
      context,
      dockerfile,
      cacheTo: ['type=gha,mode=max'],
      platforms: ['linux/amd64', 'linux/arm64'],
      provenance: 'mode=max',
      sbom: true,
    });
    const name = ownBuilderSpec(wanted).name;
    expect(name).toMatch(/^dreamscape-buildx-[0-9a-f]{8}$/);
    const result = await builder.build(wanted);
    expect(result.digest).toBe((JSON.parse(multi) as Record<string, string>)['containerimage.digest']);
    expect(lines()).toEqual([
      'buildx inspect',
      `buildx inspect ${name}`,
      `buildx create --name ${name} --driver docker-container --bootstrap`,
      `buildx --builder ${name} build`,
    ]);
    expect(docker.builds()[0]?.args).toContain('--push');
    const text = logger.text();
    expect(text).toContain(
      `The buildx builder 'default' uses the docker driver, which cannot do what these inputs ask: cache-to type=gha,mode=max (a cache export); platforms linux/amd64,linux/arm64 (a multi-platform build); provenance mode=max (an attestation); sbom true (an attestation). They need the docker-container driver (or the containerd image store of the Docker daemon). Creating the docker-container builder '${name}' for it.`,
    );
    expect(text).toContain(`The builder 'default' stays the current one`);
    expect(text).toContain('#1 [internal] booting buildkit');
  });

  it('reuses the builder an earlier build created, without creating it again', async () => {
    const wanted = request({ context, dockerfile, cacheTo: ['type=gha,mode=max'] });
    const name = ownBuilderSpec(wanted).name;
    const { builder, lines, logger } = setUp({
      currentDriver: 'docker',
      existingBuilders: [{ name, driver: 'docker-container' }],
    });
    expect((await builder.build(wanted)).digest).toBe(singleDigest);
    expect(lines()).toEqual(['buildx inspect', `buildx inspect ${name}`, `buildx --builder ${name} build`]);
    expect(logger.text()).toContain(
      `Building with the docker-container builder '${name}' an earlier build created.`,
    );
  });

  it('builds with the current builder when it can: the docker driver on the containerd image store, or docker-container', async () => {
    for (const currentDriver of ['docker-containerd', 'docker-container'] as const) {
      const { builder, lines } = setUp({ currentDriver });
      await builder.build(
        request({
          context,
          dockerfile,
          cacheTo: ['type=gha,mode=max'],
          platforms: ['linux/amd64', 'linux/arm64'],
        }),
      );
      expect(lines()).toEqual(['buildx inspect', 'buildx build']);
    }
  });

  it('gives a builder it creates the host network and the settings of each registry reached without TLS or without checking it', async () => {
    const tag = '127.0.0.1:5000/dreamscape/gateway:1.4.0';
    const wanted = request({
      context,
      dockerfile,
      tags: [tag],
      cacheTo: ['type=registry,ref=registry.internal:5443/cache/gateway,mode=max'],
      insecureRegistries: ['127.0.0.1:5000', 'registry.internal:5443'],
      plainHttpRegistries: ['127.0.0.1:5000'],
    });
    const { docker, builder } = setUp({ currentDriver: 'docker' });
    await builder.build(wanted);
    const create = docker.calls().find((c) => c.args[1] === 'create');
    const name = ownBuilderSpec(wanted).name;
    expect(create?.args.slice(0, 8)).toEqual([
      'buildx',
      'create',
      '--name',
      name,
      '--driver',
      'docker-container',
      '--driver-opt',
      'network=host',
    ]);
    expect(create?.args.slice(8, 9)).toEqual(['--buildkitd-config']);
    expect(create?.buildkitdConfig).toBe(
      '[registry."127.0.0.1:5000"]\n  http = true\n\n[registry."registry.internal:5443"]\n  insecure = true\n',
    );
    // buildx before 0.13 called the flag --config.
    const older = setUp({
      currentDriver: 'docker',
      buildxVersion: 'github.com/docker/buildx v0.12.1 30feaa1',
    });
    await older.builder.build(wanted);
    const oldCreate = older.docker.calls().find((c) => c.args[1] === 'create');
    expect(oldCreate?.args[8]).toBe('--config');
    expect(oldCreate?.buildkitdConfig).toBe(create?.buildkitdConfig);
    // Other settings, another builder: one made for a registry is not taken for another.
    expect(ownBuilderSpec({ ...wanted, insecureRegistries: [], plainHttpRegistries: [] }).name).not.toBe(
      name,
    );
  });

  it('never replaces a builder named by the caller', async () => {
    const { builder, lines } = setUp(
      { currentDriver: 'docker-container', existingBuilders: [{ name: 'ci-builder', driver: 'docker' }] },
      { builderInstance: 'ci-builder' },
    );
    const error = await builder
      .build(request({ context, dockerfile, platforms: ['linux/amd64', 'linux/arm64'] }))
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      "The buildx builder 'ci-builder' uses the docker driver, which cannot do what this input asks: platforms linux/amd64,linux/arm64 (a multi-platform build). It needs the docker-container driver (or the containerd image store of the Docker daemon).",
    );
    expect(lines()).toEqual(['buildx inspect ci-builder']);
  });

  it('says where a registry reached without TLS must be declared when the builder is not its own', async () => {
    const { builder, logger } = setUp({ currentDriver: 'docker' });
    await builder.build(
      request({
        context,
        dockerfile,
        tags: ['registry.internal:5000/team/api:1.0', '127.0.0.1:5000/team/api:1.0'],
        insecureRegistries: ['registry.internal:5000', '127.0.0.1:5000'],
        plainHttpRegistries: ['registry.internal:5000', '127.0.0.1:5000'],
      }),
    );
    // The Docker daemon reaches loopback registries over plain http by itself; anything else it must be told.
    expect(warnings(logger)).toEqual([
      'registry.internal:5000 is reached over plain http; the docker driver pushes and pulls as the Docker daemon is configured, so its insecure-registries (daemon.json) must list registry.internal:5000.',
    ]);
  });
});

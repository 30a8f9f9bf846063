import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FetchHttpClient, MemoryLogger, type Clock } from '@dreamscape/core';
import { pushTestImage, startRegistry, type RunningRegistry } from '@dreamscape/testkit';
import {
  buildOrReuse,
  FINGERPRINT_LABEL,
  parseReference,
  RegistryClient,
  type Builder,
  type BuildRequest,
  type BuildResult,
  type BuildSource,
  type ImageBuildPlan,
  type LoginOptions,
  type RegistryCredentials,
} from '../src/index.js';
import { FakeRunner } from './builders-fake-runner.js';

const instantClock: Clock = { now: () => Date.now(), sleep: () => Promise.resolve() };

/**
 * A builder that pushes what it is asked to build (a tiny image whose config carries the request's
 * labels) through the registry API, so the registry holds what a real build would leave there.
 */
class PushingBuilder implements Builder {
  readonly name = 'buildx' as const;
  readonly requests: BuildRequest[] = [];
  readonly logins: RegistryCredentials[] = [];
  readonly loginOptions: (LoginOptions | undefined)[] = [];

  constructor(
    private readonly registry: RunningRegistry,
    private readonly reportDigest?: string,
  ) {}

  version(): Promise<string> {
    return Promise.resolve('pushing-builder 1.0');
  }

  login(credentials: RegistryCredentials, options?: LoginOptions): Promise<void> {
    this.logins.push(credentials);
    this.loginOptions.push(options);
    return Promise.resolve();
  }

  async build(request: BuildRequest): Promise<BuildResult> {
    this.requests.push(request);
    let digest = `sha256:${'0'.repeat(64)}`;
    if (request.push) {
      const content = request.buildArgs.map(([k, v]) => `${k}=${v}\n`).join('');
      for (const tag of request.tags) {
        const ref = parseReference(tag);
        digest = (
          await pushTestImage(this.registry, ref.repository, ref.tag ?? 'latest', {
            labels: request.labels,
            content,
          })
        ).digest;
      }
    }
    return {
      builder: 'buildx',
      digest: this.reportDigest ?? digest,
      platforms: request.platforms,
      durationMs: 1,
    };
  }
}

function groups(logger: MemoryLogger): string[] {
  return logger.entries.filter((e) => e.level === 'group').map((e) => e.message);
}

describe('buildOrReuse against docker-registry', () => {
  let registry: RunningRegistry;
  let contextDir: string;
  let source: BuildSource;

  beforeAll(async () => {
    registry = await startRegistry({ auth: { mode: 'none' } });
    await pushTestImage(registry, 'library/base', '1');
    contextDir = mkdtempSync(join(tmpdir(), 'ds-build-or-reuse-'));
    writeFileSync(
      join(contextDir, 'Dockerfile'),
      `FROM ${registry.host}/library/base:1\nCOPY app.txt /app.txt\n`,
    );
    writeFileSync(join(contextDir, 'app.txt'), 'hello\n');
    source = {
      context: contextDir,
      dockerfile: join(contextDir, 'Dockerfile'),
      target: undefined,
      buildArgs: [['VERSION', '1.0.0']],
      secrets: [],
      platforms: [],
      cacheFrom: [],
      cacheTo: [],
      provenance: false,
      sbom: false,
    };
  });
  afterAll(async () => {
    await registry.close();
    rmSync(contextDir, { recursive: true, force: true });
  });

  const plan = (repository: string, tags: readonly string[], push = true): ImageBuildPlan => ({
    name: parseReference(`${registry.host}/${repository}`, { defaultTag: false }),
    tags: tags.map((t) => `${registry.host}/${repository}:${t}`),
    labels: { 'org.opencontainers.image.title': repository.split('/').pop() ?? repository },
    push,
    registry: registry.host,
    insecureRegistries: [],
    logins: [],
  });
  const client = (logger: MemoryLogger): RegistryClient =>
    new RegistryClient({ http: new FetchHttpClient(), logger, clock: instantClock });

  it('builds, labels the image with its fingerprint, then reuses it for the same inputs under a new tag', async () => {
    const firstLog = new MemoryLogger();
    const firstBuilder = new PushingBuilder(registry);
    const first = await buildOrReuse({
      source,
      plan: plan('dreamscape/app', ['one']),
      reuse: true,
      revision: 'abc123',
      builder: firstBuilder,
      runner: new FakeRunner(),
      registry: client(firstLog),
      logger: firstLog,
    });
    const held = await client(new MemoryLogger()).digestOf(`${registry.host}/dreamscape/app:one`);
    expect(first.reused).toBe(false);
    expect(first.record).toEqual({
      image: `${registry.host}/dreamscape/app@${held}`,
      digest: held,
      tags: [`${registry.host}/dreamscape/app:one`],
      platforms: [],
      labels: { 'org.opencontainers.image.title': 'app' },
      builder: 'buildx',
      revision: 'abc123',
    });
    expect(first.fingerprint?.value).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(firstBuilder.requests.map((r) => r.labels[FINGERPRINT_LABEL])).toEqual([first.fingerprint?.value]);
    expect(first.sizeBytes).toBeGreaterThan(0);
    expect(groups(firstLog)).toEqual([
      'Build fingerprint',
      `Build ${registry.host}/dreamscape/app with buildx`,
      'Verify the pushed digest',
    ]);
    expect(firstLog.text()).toContain(`${registry.host}/dreamscape/app:one → ${held} ✓`);

    const againLog = new MemoryLogger();
    const againBuilder = new PushingBuilder(registry);
    const again = await buildOrReuse({
      source,
      plan: plan('dreamscape/app', ['one', 'two']),
      reuse: true,
      revision: 'abc123',
      builder: againBuilder,
      runner: new FakeRunner(),
      registry: client(againLog),
      logger: againLog,
    });
    expect(againBuilder.requests).toEqual([]);
    expect(again.reused).toBe(true);
    expect(again.record.digest).toBe(held);
    expect(again.record.builder).toBe('buildx (reused)');
    expect(again.fingerprint?.value).toBe(first.fingerprint?.value);
    expect(await client(new MemoryLogger()).digestOf(`${registry.host}/dreamscape/app:two`)).toBe(held);
    expect(groups(againLog)).toEqual([
      'Build fingerprint',
      `Reuse ${registry.host}/dreamscape/app:one`,
      'Verify the pushed digest',
    ]);
    expect(againLog.text()).toContain('built from identical inputs');
    expect(againLog.text()).toContain('not rebuilding');

    // A changed build argument is a different build.
    const changedBuilder = new PushingBuilder(registry);
    const changed = await buildOrReuse({
      source: { ...source, buildArgs: [['VERSION', '9.9.9']] },
      plan: plan('dreamscape/app', ['one']),
      reuse: true,
      revision: 'abc123',
      builder: changedBuilder,
      runner: new FakeRunner(),
      registry: client(new MemoryLogger()),
      logger: new MemoryLogger(),
    });
    expect(changedBuilder.requests).toHaveLength(1);
    expect(changed.reused).toBe(false);
    expect(changed.record.digest).not.toBe(held);
  });

  it('builds without a fingerprint when reuse is off, logging in the builder first', async () => {
    const logger = new MemoryLogger();
    const builder = new PushingBuilder(registry);
    const login = { registry: registry.host, username: 'ci-bot', password: 'pa55-word' };
    const result = await buildOrReuse({
      source,
      plan: { ...plan('dreamscape/noreuse', ['one']), logins: [login] },
      reuse: false,
      revision: 'abc123',
      builder,
      runner: new FakeRunner(),
      registry: client(logger),
      logger,
    });
    expect(builder.logins).toEqual([login]);
    expect(builder.requests[0]?.labels).toEqual({ 'org.opencontainers.image.title': 'noreuse' });
    expect(result.fingerprint).toBeUndefined();
    expect(groups(logger)).toEqual([
      `Build ${registry.host}/dreamscape/noreuse with buildx`,
      'Verify the pushed digest',
    ]);
  });

  it('fails when a tag holds another digest than the builder reported', async () => {
    const reported = `sha256:${'e'.repeat(64)}`;
    const logger = new MemoryLogger();
    const run = buildOrReuse({
      source,
      plan: plan('dreamscape/raced', ['one']),
      reuse: false,
      revision: 'abc123',
      builder: new PushingBuilder(registry, reported),
      runner: new FakeRunner(),
      registry: client(logger),
      logger,
    });
    await expect(run).rejects.toThrow(
      new RegExp(
        `^The registry holds sha256:[0-9a-f]{64} for ${registry.host}/dreamscape/raced:one, but buildx reported ${reported}\\.$`,
      ),
    );
  });

  it('tells the builder to reach a loopback registry without TLS over plain http, as the registry client found', async () => {
    const logger = new MemoryLogger();
    const builder = new PushingBuilder(registry);
    await buildOrReuse({
      source,
      plan: {
        ...plan('dreamscape/plain', ['one']),
        logins: [{ registry: registry.host, username: 'ci-bot', password: 'pa55-word' }],
      },
      reuse: false,
      revision: 'abc123',
      builder,
      runner: new FakeRunner(),
      registry: client(logger),
      logger,
    });
    expect(builder.requests[0]).toMatchObject({
      insecureRegistries: [registry.host],
      plainHttpRegistries: [registry.host],
    });
    expect(builder.loginOptions).toEqual([{ insecure: true }]);
  });

  it('without a push: builds under a local name, asks the registry nothing and logs in nowhere', async () => {
    const logger = new MemoryLogger();
    const builder = new PushingBuilder(registry);
    // Port 9 on loopback: any request to this registry would fail the build.
    const nowhere = new RegistryClient({
      http: new FetchHttpClient(),
      logger,
      clock: instantClock,
      retry: { attempts: 1 },
    });
    const result = await buildOrReuse({
      source,
      plan: {
        ...plan('dreamscape/local', [], false),
        name: parseReference('127.0.0.1:9/dreamscape/local', { defaultTag: false }),
        logins: [{ registry: '127.0.0.1:9', username: 'ci-bot', password: 'pa55-word' }],
      },
      reuse: true,
      revision: 'abc123',
      builder,
      runner: new FakeRunner(),
      registry: nowhere,
      logger,
    });
    expect(builder.requests.map((r) => [r.tags, r.push])).toEqual([
      [['127.0.0.1:9/dreamscape/local:build'], false],
    ]);
    expect(builder.logins).toEqual([]);
    expect(result.sizeBytes).toBeUndefined();
    expect(result.fingerprint).toBeUndefined();
    expect(result.record.image).toBe(`127.0.0.1:9/dreamscape/local@${'sha256:' + '0'.repeat(64)}`);
    expect(groups(logger)).toEqual(['Build 127.0.0.1:9/dreamscape/local with buildx']);
  });
});

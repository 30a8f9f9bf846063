import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ActionError, MemoryLogger } from '@dreamscape/core';
import { preflightBuild } from '../src/builders/build-preflight.js';
import type { BuildRequest } from '../src/builders/builder.js';

const context = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'dockerfiles');
const dockerfile = join(context, 'multistage.Dockerfile');

function request(overrides: Partial<BuildRequest> = {}): BuildRequest {
  return {
    context,
    dockerfile,
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

async function failure(overrides: Partial<BuildRequest>): Promise<ActionError> {
  const error = await preflightBuild(request(overrides), new MemoryLogger()).catch((e: unknown) => e);
  if (error instanceof ActionError) return error;
  throw new Error(`expected an ActionError, got ${String(error)}`);
}

describe('preflightBuild', () => {
  it('returns the parsed Dockerfile and the stage that will be built', async () => {
    const result = await preflightBuild(request({ target: 'build' }), new MemoryLogger());
    expect(result.stage).toEqual({ index: 1, name: 'build', from: 'deps', line: 12 });
    expect(result.dockerfile.stages).toHaveLength(3);
    expect((await preflightBuild(request(), new MemoryLogger())).stage.name).toBe('runtime');
  });

  it('warns about build args no ARG declares and secrets no RUN mounts, without failing', async () => {
    const logger = new MemoryLogger();
    await preflightBuild(
      request({
        buildArgs: [
          ['VERSION', '1'],
          ['VERSOIN', '1'],
          ['TARGETARCH', 'amd64'],
        ],
        secrets: [
          { id: 'npm_token', value: 'abcd1234' },
          { id: 'aws', env: 'AWS_SECRET' },
        ],
      }),
      logger,
    );
    expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
      `Build args VERSOIN are not declared by any ARG in ${dockerfile}; the builder will ignore them.`,
      `Build secrets aws are not used by any RUN --mount=type=secret in ${dockerfile}.`,
    ]);
  });

  it('fails on a context that is missing or is a file, naming the input', async () => {
    const missing = await failure({ context: join(context, 'nope') });
    expect(missing.message).toBe(`The build context ${join(context, 'nope')} does not exist.`);
    expect(missing.hint).toContain('`context` input');
    expect((await failure({ context: dockerfile })).message).toBe(
      `The build context ${dockerfile} is not a folder.`,
    );
  });

  it('fails on a missing Dockerfile and an unknown target', async () => {
    expect((await failure({ dockerfile: join(context, 'Dockerfile') })).message).toBe(
      `The Dockerfile ${join(context, 'Dockerfile')} does not exist.`,
    );
    expect((await failure({ target: 'test' })).message).toContain(
      'Its stages are: deps (0), build (1), runtime (2).',
    );
  });

  it('fails on a Dockerfile with no FROM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-preflight-'));
    writeFileSync(join(dir, 'Dockerfile'), 'ARG X=1\n');
    expect((await failure({ context: dir, dockerfile: join(dir, 'Dockerfile') })).message).toContain(
      'has no FROM instruction',
    );
  });

  it('fails on malformed platforms, invalid tags, and a push with no tags', async () => {
    expect((await failure({ platforms: ['linux/amd64', 'arm64', 'Linux/ARM64'] })).message).toBe(
      "The platform 'arm64', 'Linux/ARM64' is not of the form os/arch[/variant].",
    );
    expect(
      (await failure({ tags: ['ghcr.io/dreamscape/gateway:1.4.0', 'ghcr.io/dreamscape/gateway:bad tag'] }))
        .message,
    ).toContain('bad tag');
    expect((await failure({ tags: [] })).message).toBe('Nothing to push: the build has no tags.');
    await expect(
      preflightBuild(request({ tags: [], push: false }), new MemoryLogger()),
    ).resolves.toBeDefined();
  });
});

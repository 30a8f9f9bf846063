import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hashBuildContext, type BuildContextHashOptions } from '../src/build-context-hash.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function makeContext(files: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'ds-context-'));
  roots.push(root);
  const context = join(root, 'ctx');
  mkdirSync(context);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(context, path)), { recursive: true });
    writeFileSync(join(context, path), content);
  }
  return context;
}

async function digestOf(
  context: string,
  builder = 'buildah',
  dockerfile = join(context, 'Dockerfile'),
): Promise<string> {
  const options: BuildContextHashOptions = { context, dockerfile, builder };
  const result = await hashBuildContext(options);
  if (!result.hashable) throw new Error(result.reason);
  return result.digest;
}

/** Whether changing `path` (whose folder exists) changes the digest: whether the build could see it. */
async function seen(context: string, path: string, builder = 'buildah'): Promise<boolean> {
  const before = await digestOf(context, builder);
  mkdirSync(dirname(join(context, path)), { recursive: true });
  writeFileSync(join(context, path), `changed ${Math.random()}\n`);
  return (await digestOf(context, builder)) !== before;
}

describe('hashBuildContext', () => {
  it('applies .dockerignore with Docker semantics: root-anchored names, globs, exceptions under ignored folders', async () => {
    const context = makeContext({
      Dockerfile: 'FROM scratch\n',
      '.dockerignore': 'node_modules\n**/*.log\n!node_modules/keep/**\n/build\n',
      'src/app.js': '',
      // The folders exist already, so that only the files below change.
      'src/deep/trace.log': '',
      'node_modules/x/index.js': '',
      'build/out.js': '',
      'node_modules/keep/index.js': '',
      'src/node_modules/y.js': '',
      'src/build/out.js': '',
    });
    expect(await seen(context, 'node_modules/x/index.js')).toBe(false);
    expect(await seen(context, 'src/deep/trace.log')).toBe(false);
    expect(await seen(context, 'build/out.js')).toBe(false);
    expect(await seen(context, 'node_modules/keep/index.js')).toBe(true);
    // `node_modules` is anchored at the root, as Docker reads it (unlike .gitignore).
    expect(await seen(context, 'src/node_modules/y.js')).toBe(true);
    expect(await seen(context, 'src/build/out.js')).toBe(true);
    expect(await seen(context, 'src/app.js')).toBe(true);
  });

  it('prefers .containerignore to .dockerignore for buildah', async () => {
    const context = makeContext({
      Dockerfile: 'FROM scratch\n',
      '.containerignore': 'only-for-buildah\n',
      '.dockerignore': 'only-for-docker\n',
    });
    expect(await seen(context, 'only-for-buildah')).toBe(false);
    expect(await seen(context, 'only-for-docker')).toBe(true);
  });

  it('for buildx, ignores only what both the Dockerfile-specific and the context ignore file ignore', async () => {
    const context = makeContext({
      Dockerfile: 'FROM scratch\n',
      'Dockerfile.dockerignore': 'specific.log\nboth.log\n',
      '.dockerignore': 'context.log\nboth.log\n',
    });
    expect(await seen(context, 'both.log', 'buildx')).toBe(false);
    expect(await seen(context, 'specific.log', 'buildx')).toBe(true);
    expect(await seen(context, 'context.log', 'buildx')).toBe(true);
  });

  it('ignores nothing when a builder might read no ignore file at all', async () => {
    // Older builders do not read Dockerfile.dockerignore, and there is no .dockerignore to fall back on.
    const context = makeContext({ Dockerfile: 'FROM scratch\n', 'Dockerfile.dockerignore': 'secret.txt\n' });
    expect(await seen(context, 'secret.txt', 'buildx')).toBe(true);
  });

  it('records symbolic links by their target and never follows them', async () => {
    const outside = makeContext({ 'data.txt': 'one\n' });
    const context = makeContext({ Dockerfile: 'FROM scratch\n', 'other/data.txt': '' });
    symlinkSync(outside, join(context, 'shared'));
    const before = await digestOf(context);
    writeFileSync(join(outside, 'data.txt'), 'two\n');
    expect(await digestOf(context)).toBe(before);
    unlinkSync(join(context, 'shared'));
    symlinkSync(join(context, 'other'), join(context, 'shared'));
    expect(await digestOf(context)).not.toBe(before);
  });

  it('covers entries that are neither files nor folders', async () => {
    const context = makeContext({ Dockerfile: 'FROM scratch\n' });
    const before = await digestOf(context);
    execFileSync('mkfifo', [join(context, 'pipe')]);
    expect(await digestOf(context)).not.toBe(before);
  });

  it('counts what it covered and names the ignore files it read', async () => {
    const context = makeContext({
      Dockerfile: 'FROM scratch\n',
      '.dockerignore': 'tmp\n',
      'a/b/c.txt': '12345',
      'tmp/x': 'ignored',
    });
    const result = await hashBuildContext({
      context,
      dockerfile: join(context, 'Dockerfile'),
      builder: 'buildah',
    });
    expect(result).toEqual({
      hashable: true,
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) as unknown as string,
      // ., Dockerfile, .dockerignore, a, a/b, a/b/c.txt
      entries: 6,
      files: 3,
      bytes: 'FROM scratch\n'.length + 'tmp\n'.length + 5,
      ignoreFiles: [join(context, '.dockerignore')],
    });
  });

  it('refuses a file name that is not UTF-8 rather than guess how patterns match it', async () => {
    const context = makeContext({ Dockerfile: 'FROM scratch\n' });
    writeFileSync(Buffer.concat([Buffer.from(`${context}/caf`), Buffer.from([0xe9])]), '');
    const result = await hashBuildContext({
      context,
      dockerfile: join(context, 'Dockerfile'),
      builder: 'buildah',
    });
    expect(result).toEqual({
      hashable: false,
      reason: `a file name in ${context} is not valid UTF-8 (636166e9)`,
    });
  });

  it('refuses a context that is not a directory', async () => {
    const context = makeContext({ Dockerfile: 'FROM scratch\n' });
    const file = join(context, 'Dockerfile');
    expect(await hashBuildContext({ context: file, dockerfile: file, builder: 'buildx' })).toEqual({
      hashable: false,
      reason: `the context ${file} is not a directory`,
    });
  });
});

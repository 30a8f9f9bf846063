import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ActionError } from '@dreamscape/core';
import {
  describeStages,
  parseDockerfile,
  readDockerfile,
  resolveTarget,
  unknownBuildArgs,
} from '../src/dockerfile.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'dockerfiles');
const fixture = (name: string): string => join(fixtures, name);

async function failure(promise: Promise<unknown>): Promise<ActionError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ActionError) return error;
    throw error;
  }
  throw new Error('expected an ActionError');
}

describe('readDockerfile', () => {
  it('lists the stages of a multi-stage Dockerfile with their names, indexes, bases and lines', async () => {
    const info = await readDockerfile(fixture('multistage.Dockerfile'));
    expect(info.stages).toEqual([
      { index: 0, name: 'deps', from: '${BASE_IMAGE}', line: 5 },
      { index: 1, name: 'build', from: 'deps', line: 12 },
      { index: 2, name: 'runtime', from: '${BASE_IMAGE}', line: 19 },
    ]);
  });

  it('reports declared ARGs, global and per stage, with their defaults', async () => {
    const info = await readDockerfile(fixture('multistage.Dockerfile'));
    expect(info.args).toEqual([
      { name: 'BASE_IMAGE', defaultValue: 'node:20-alpine', stage: undefined, line: 2 },
      { name: 'REGISTRY_MIRROR', defaultValue: undefined, stage: undefined, line: 3 },
      { name: 'VERSION', defaultValue: '0.0.0-dev', stage: 1, line: 13 },
      { name: 'COMMIT', defaultValue: undefined, stage: 1, line: 14 },
      { name: 'VERSION', defaultValue: undefined, stage: 2, line: 20 },
    ]);
  });

  it('finds secret mounts by id, or by the target file name when no id is given', async () => {
    const info = await readDockerfile(fixture('multistage.Dockerfile'));
    expect(info.secretMounts).toEqual([
      { id: 'npm_token', required: false, stage: 0, line: 8 },
      { id: 'sentry_auth', required: true, stage: 1, line: 16 },
    ]);
  });

  it('keeps unnamed stages by index and honours the escape directive', async () => {
    const unnamed = await readDockerfile(fixture('unnamed-stages.Dockerfile'));
    expect(unnamed.stages.map((s) => [s.index, s.name])).toEqual([
      [0, undefined],
      [1, 'final'],
    ]);
    const escaped = await readDockerfile(fixture('escape-directive.Dockerfile'));
    expect(escaped.stages.map((s) => s.name)).toEqual(['base', 'app']);
    expect(escaped.args).toEqual([
      { name: 'INSTALLER', defaultValue: 'C:\\temp\\setup.exe', stage: 0, line: 3 },
    ]);
  });

  it('fails clearly when the Dockerfile is missing or is a folder', async () => {
    const missing = await failure(readDockerfile(fixture('nope.Dockerfile')));
    expect(missing.message).toBe(`The Dockerfile ${fixture('nope.Dockerfile')} does not exist.`);
    expect(missing.hint).toContain('dockerfile');
    const folder = mkdtempSync(join(tmpdir(), 'ds-dockerfile-'));
    expect((await failure(readDockerfile(folder))).message).toBe(`The Dockerfile ${folder} is not a file.`);
  });

  it('fails when the Dockerfile is empty or only comments', async () => {
    const error = await failure(readDockerfile(fixture('comments-only.Dockerfile')));
    expect(error.message).toContain('is empty: it has no instructions');
  });

  it('fails when there is no FROM, or an instruction other than ARG comes before it', async () => {
    expect((await failure(readDockerfile(fixture('no-from.Dockerfile')))).message).toContain(
      'has no FROM instruction',
    );
    expect((await failure(readDockerfile(fixture('run-before-from.Dockerfile')))).message).toContain(
      'has RUN on line 1, before the first FROM',
    );
  });

  it('fails on a FROM without an image', () => {
    expect(() => parseDockerfile('FROM\nRUN true\n', 'inline')).toThrow(
      'The Dockerfile inline has a FROM without an image on line 1.',
    );
  });
});

describe('resolveTarget', () => {
  it('returns the named stage, matching case-insensitively as builders do', async () => {
    const info = await readDockerfile(fixture('multistage.Dockerfile'));
    expect(resolveTarget(info, 'build').index).toBe(1);
    expect(resolveTarget(info, 'DEPS').index).toBe(0);
  });

  it('returns the last stage when no target is given', async () => {
    const info = await readDockerfile(fixture('multistage.Dockerfile'));
    expect(resolveTarget(info, undefined).name).toBe('runtime');
    expect(resolveTarget(info, '').name).toBe('runtime');
  });

  it('fails on an unknown target, listing the stages', async () => {
    const info = await readDockerfile(fixture('multistage.Dockerfile'));
    expect(() => resolveTarget(info, 'prod')).toThrow(
      `The build target 'prod' is not a stage of ${info.path}. Its stages are: deps (0), build (1), runtime (2).`,
    );
  });

  it('does not accept a stage index as a target, and shows unnamed stages', async () => {
    const info = await readDockerfile(fixture('unnamed-stages.Dockerfile'));
    expect(() => resolveTarget(info, '0')).toThrow(
      'Its stages are: #0 (unnamed, FROM golang:1.22), final (1).',
    );
    expect(describeStages(info)).toBe('#0 (unnamed, FROM golang:1.22), final (1)');
  });
});

describe('unknownBuildArgs', () => {
  it('names only the build args that no ARG declares and no builder predefines', async () => {
    const info = await readDockerfile(fixture('multistage.Dockerfile'));
    expect(
      unknownBuildArgs(info, [
        'VERSION',
        'BASE_IMAGE',
        'VERSOIN',
        'HTTPS_PROXY',
        'TARGETARCH',
        'BUILDKIT_INLINE_CACHE',
        'NODE_ENV',
      ]),
    ).toEqual(['VERSOIN', 'NODE_ENV']);
  });
});

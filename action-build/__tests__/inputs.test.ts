import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inputsFrom, InputError } from '@dreamscape/core';
import { readInputs } from '../src/inputs.js';

const ws = mkdtempSync(join(tmpdir(), 'ds-build-inputs-'));
mkdirSync(join(ws, 'svc'));
writeFileSync(join(ws, 'svc', 'Dockerfile'), 'FROM scratch\n');
writeFileSync(join(ws, 'token.txt'), 'file-secret');
const temp = mkdtempSync(join(tmpdir(), 'ds-build-temp-'));
symlinkSync(mkdtempSync(join(tmpdir(), 'ds-build-elsewhere-')), join(ws, 'linked'));
const env = {
  GITHUB_WORKSPACE: ws,
  GITHUB_REPOSITORY: 'Dream/App',
  GITHUB_ACTOR: 'octocat',
  GITHUB_EVENT_NAME: 'push',
};

function read(values: Record<string, string>, e: Record<string, string> = env) {
  return readInputs(inputsFrom(values), e);
}

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('action-build inputs', () => {
  it('fills the defaults a workflow expects', () => {
    const i = read({ context: 'svc' });
    expect(i.image).toBe('ghcr.io/Dream/App');
    expect(i.dockerfile).toBe(join(ws, 'svc', 'Dockerfile'));
    expect(i.push).toBe(true);
    expect(i.builder).toBe('auto');
    expect(i.buildxBuilder).toBe('auto');
    expect(i.insecureRegistries).toEqual([]);
    expect(i.provenance).toBe(false);
    expect(i.sbom).toBe(false);
    expect(i.username).toBe('octocat');
  });

  it('does not push on pull requests unless asked', () => {
    expect(read({ context: 'svc' }, { ...env, GITHUB_EVENT_NAME: 'pull_request' }).push).toBe(false);
    expect(read({ context: 'svc', push: 'true' }, { ...env, GITHUB_EVENT_NAME: 'pull_request' }).push).toBe(
      true,
    );
  });

  it.each(['push', 'release', 'workflow_dispatch', 'schedule'])(
    "push: auto pushes on %s, the repository's own code",
    (event) => {
      const i = read({ context: 'svc' }, { ...env, GITHUB_EVENT_NAME: event });
      expect(i.pushDecision).toEqual({
        push: true,
        automatic: true,
        reason: `push is 'auto' and this is a ${event} event`,
      });
    },
  );

  it.each([
    'pull_request',
    'pull_request_target',
    'merge_group',
    'workflow_run',
    'issue_comment',
    'repository_dispatch',
    'some_future_event',
  ])('push: auto does not push on %s, and says why; push: true still does', (event) => {
    const i = read({ context: 'svc' }, { ...env, GITHUB_EVENT_NAME: event });
    expect(i.push).toBe(false);
    expect(i.pushDecision.reason).toBe(
      `push is 'auto' and this is a ${event} event: the image is built but not pushed, because 'auto' pushes only on push, release, workflow_dispatch, schedule (the repository's own code). Set push: 'true' to push anyway.`,
    );
    expect(read({ context: 'svc', push: 'true' }, { ...env, GITHUB_EVENT_NAME: event }).push).toBe(true);
  });

  it('push: auto without an event name does not push', () => {
    const { GITHUB_EVENT_NAME: _ignored, ...noEvent } = env;
    expect(read({ context: 'svc' }, noEvent).pushDecision).toMatchObject({ push: false, automatic: true });
  });

  it('keeps a local cache directory inside the workspace or runner temp, passed on as an absolute path', () => {
    const i = read(
      {
        context: 'svc',
        'cache-from': 'type=local,src=.buildx-cache\ntype=gha',
        'cache-to': `type=local,dest=${join(temp, 'cache')},mode=max`,
      },
      { ...env, RUNNER_TEMP: temp },
    );
    expect(i.cacheFrom).toEqual([`type=local,src=${join(ws, '.buildx-cache')}`, 'type=gha']);
    expect(i.cacheTo).toEqual([`type=local,dest=${join(temp, 'cache')},mode=max`]);
    for (const [input, value] of [
      ['cache-to', 'type=local,dest=../../elsewhere'],
      ['cache-to', 'type=local,dest=/home/runner/.ssh'],
      ['cache-to', 'type=local,dest=linked/cache'],
      ['cache-from', 'type=local,src=/etc'],
      ['cache-to', 'type=local'],
      // As buildx reads them: keys in any case, the last of a repeated key, quotes as CSV.
      ['cache-to', 'TYPE=local,dest=/etc/x'],
      ['cache-to', 'type=LOCAL,DEST=/etc/x'],
      ['cache-to', 'type=local,dest=cache,DEST=/home/runner/.ssh'],
      ['cache-to', 'type=local,dest=cache,dest=/home/runner/.ssh'],
      ['cache-to', '"type=local",dest=/etc/x'],
      ['cache-from', 'type=local,src=cache,dest=/etc/x'],
    ] as const) {
      const error = errorOf(() => read({ context: 'svc', [input]: value }, { ...env, RUNNER_TEMP: temp }));
      expect([error.input, error.message]).toEqual([input, expect.stringContaining(`Input '${input}'`)]);
    }
  });

  it('reads build args, secrets and secret files', () => {
    const i = read({
      context: 'svc',
      'build-args': 'VERSION=1.2.3\nEMPTY=',
      secrets: 'npm_token=abc=def',
      'secret-files': 'git=token.txt',
    });
    expect(i.buildArgs).toEqual([
      ['VERSION', '1.2.3'],
      ['EMPTY', ''],
    ]);
    expect(i.secrets).toEqual([
      { id: 'npm_token', value: 'abc=def' },
      { id: 'git', file: join(ws, 'token.txt') },
    ]);
  });

  it('never echoes a secret value in an error', () => {
    const e = errorOf(() => read({ context: 'svc', secrets: 'bad id=hunter2secret' }));
    expect(e.message).toContain("Input 'secrets'");
    expect(e.message).not.toContain('hunter2secret');
    expect(errorOf(() => read({ context: 'svc', secrets: 'a=1\na=2' })).message).toContain('duplicate id');
  });

  it('reads buildx-builder and insecure-registries, naming them when a value is wrong', () => {
    const i = read({
      context: 'svc',
      'buildx-builder': 'current',
      'insecure-registries': 'Registry.Internal:5000\n127.0.0.1:5443',
    });
    expect(i.buildxBuilder).toBe('current');
    expect(i.insecureRegistries).toEqual(['registry.internal:5000', '127.0.0.1:5443']);
    expect(errorOf(() => read({ context: 'svc', 'buildx-builder': 'docker-container' })).message).toBe(
      "Input 'buildx-builder' has an invalid value \"docker-container\". Accepted: 'auto', 'current'.",
    );
    const bad = errorOf(() => read({ context: 'svc', 'insecure-registries': 'https://registry.internal' }));
    expect(bad.input).toBe('insecure-registries');
    expect(bad.message).toContain('give the host without http:// or https://');
  });

  it('names the input and what is accepted for bad values', () => {
    expect(errorOf(() => read({ context: 'missing' })).input).toBe('context');
    expect(errorOf(() => read({ context: '.' })).message).toMatch(
      /Input 'dockerfile' is required: no Dockerfile in the context/,
    );
    expect(errorOf(() => read({ context: 'svc', platforms: 'linux/amd64,arm64' })).message).toContain(
      'linux/amd64, linux/arm64/v8',
    );
    expect(errorOf(() => read({ context: 'svc', provenance: 'max' })).message).toContain("'mode=max'");
    expect(errorOf(() => read({ context: 'svc', push: 'maybe' })).input).toBe('push');
    expect(errorOf(() => read({ context: 'svc', 'secret-files': 'x=../../etc/passwd' })).message).toContain(
      'outside the workspace',
    );
    expect(errorOf(() => read({ context: 'svc', labels: 'bad key=1' })).input).toBe('labels');
    expect(errorOf(() => read({ context: 'svc' }, { GITHUB_WORKSPACE: ws })).input).toBe('image');
  });
});

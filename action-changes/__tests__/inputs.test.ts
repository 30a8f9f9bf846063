import { describe, expect, it } from '@jest/globals';
import { inputsFrom } from '@dreamscape/core';
import { readInputs } from '../src/inputs.js';
import { projectRoot } from './support/git-repo.js';

const env = {
  GITHUB_WORKSPACE: projectRoot,
  GITHUB_REPOSITORY: 'Dreamscape/Platform',
  GITHUB_REPOSITORY_OWNER: 'Dreamscape',
};

describe('readInputs, mode changes', () => {
  it('reads a services file and makes it a shared path', () => {
    const inputs = readInputs(
      inputsFrom({
        'services-file': './examples/dreamscape/services.json',
        'shared-paths': '.github/workflows/**',
      }),
      env,
    );
    if (inputs.mode !== 'changes') throw new Error('expected mode changes');
    expect(inputs.servicesFile).toBe('examples/dreamscape/services.json');
    expect(inputs.services).toHaveLength(7);
    expect(inputs.shared.map((p) => p.source)).toEqual([
      'examples/dreamscape/services.json',
      '.github/workflows/**',
    ]);
    expect(inputs).toMatchObject({ base: '', all: false, changedFiles: undefined });
  });

  it('describes a single service with defaults from the repository', () => {
    const root = readInputs(inputsFrom({}), env);
    expect(root.mode === 'changes' ? root.services : []).toEqual([
      {
        name: 'platform',
        context: '.',
        dockerfile: 'Dockerfile',
        target: '',
        image: 'ghcr.io/dreamscape/platform',
        paths: [],
      },
    ]);
    const sub = readInputs(
      inputsFrom({ context: 'examples/dreamscape/services/auth', image: 'registry.local/auth' }),
      env,
    );
    expect(sub.mode === 'changes' ? sub.services[0] : undefined).toMatchObject({
      name: 'auth',
      dockerfile: 'examples/dreamscape/services/auth/Dockerfile',
      image: 'registry.local/auth',
    });
  });

  it('reads changed files one per line, keeping an empty list apart from none', () => {
    const inputs = readInputs(
      inputsFrom({ 'changed-files': 'a b/c.txt\nd.txt', all: 'true', base: 'origin/main' }),
      env,
    );
    expect(inputs).toMatchObject({ changedFiles: ['a b/c.txt', 'd.txt'], all: true, base: 'origin/main' });
  });

  it.each([
    [
      { 'services-file': '../outside.json' },
      'Input \'services-file\' has an invalid value "../outside.json": the path leads outside the workspace',
    ],
    [
      { 'services-file': 'examples/dreamscape' },
      'Input \'services-file\' has an invalid value "examples/dreamscape"',
    ],
    [{ context: 'examples/dreamscape/services.json' }, 'is not a directory'],
    [{ name: 'Bad Name' }, 'Input \'name\' has an invalid value "Bad Name"'],
    [{ 'shared-paths': '{a,b}/**' }, 'Input \'shared-paths\' has an invalid value "{a,b}/**"'],
    [{ all: 'maybe' }, 'Input \'all\' has an invalid value "maybe"'],
    [{ mode: 'deploy' }, "Input 'mode' has an invalid value \"deploy\". Accepted: 'changes', 'comment'"],
  ])('refuses %j', (values, message) => {
    expect(() => readInputs(inputsFrom(values), env)).toThrow(message);
  });
});

describe('readInputs, mode comment', () => {
  it('reads key, body, token and an optional pull request', () => {
    expect(
      readInputs(
        inputsFrom({
          mode: 'comment',
          'comment-key': 'plan/prod',
          'comment-body': '# Plan',
          'github-token': 't',
          'pull-request': '12',
        }),
        env,
      ),
    ).toEqual({ mode: 'comment', key: 'plan/prod', body: '# Plan', token: 't', pullRequest: 12 });
  });

  it.each([
    [{ 'comment-body': 'x', 'github-token': 't' }, "Input 'comment-key' is required"],
    [
      { 'comment-key': 'a key', 'comment-body': 'x', 'github-token': 't' },
      'Input \'comment-key\' has an invalid value "a key"',
    ],
    [{ 'comment-key': 'k', 'github-token': 't' }, "Input 'comment-body' is required"],
    [{ 'comment-key': 'k', 'comment-body': 'x' }, "Input 'github-token' is required"],
    [
      { 'comment-key': 'k', 'comment-body': 'x', 'github-token': 't', 'pull-request': '#3' },
      "Input 'pull-request' has an invalid value",
    ],
  ])('refuses %j', (values, message) => {
    expect(() => readInputs(inputsFrom({ mode: 'comment', ...values }), env)).toThrow(message);
  });
});

import { describe, expect, it } from '@jest/globals';
import { ActionError, MemoryLogger } from '@dreamscape/core';
import { planImageBuild, type GitHubContext, type ImageBuildRequest } from '../src/index.js';

const SHA = '3f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a098';

const PUSH_TO_MAIN: GitHubContext = {
  eventName: 'push',
  sha: SHA,
  ref: 'refs/heads/main',
  refName: 'main',
  refType: 'branch',
  headRef: '',
  baseRef: '',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  runId: '7',
  runNumber: '7',
  runAttempt: '1',
  actor: 'octocat',
  workflow: 'Build',
  runUrl: 'https://github.com/octo-org/app/actions/runs/7',
  repository: {
    owner: 'octo-org',
    name: 'app',
    fullName: 'octo-org/app',
    htmlUrl: 'https://github.com/octo-org/app',
    description: undefined,
    license: undefined,
    defaultBranch: 'main',
  },
  pullRequest: undefined,
  payload: {},
};

function request(extra: Partial<ImageBuildRequest> = {}): ImageBuildRequest {
  return {
    image: '127.0.0.1:5000/dreamscape/gateway',
    tagRules: 'type=branch\ntype=sha\ntype=raw,value=stable',
    latest: 'auto',
    labels: [['org.opencontainers.image.vendor', 'DreamScape']],
    push: true,
    registry: undefined,
    username: 'ci-bot',
    password: 'pa55-word',
    ...extra,
  };
}

function failure(fn: () => unknown): ActionError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ActionError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('planImageBuild', () => {
  it('names, tags and labels the image from the rules and the run, and logs in to its registry', () => {
    const plan = planImageBuild(request(), PUSH_TO_MAIN, new MemoryLogger());
    expect(plan.name).toMatchObject({ registry: '127.0.0.1:5000', repository: 'dreamscape/gateway' });
    expect(plan.tags).toEqual([
      '127.0.0.1:5000/dreamscape/gateway:main',
      '127.0.0.1:5000/dreamscape/gateway:stable',
      '127.0.0.1:5000/dreamscape/gateway:sha-3f1c2a9',
    ]);
    expect(plan.labels).toMatchObject({
      'org.opencontainers.image.title': 'gateway',
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.version': 'main',
      'org.opencontainers.image.source': 'https://github.com/octo-org/app',
      'org.opencontainers.image.vendor': 'DreamScape',
    });
    expect(plan.push).toBe(true);
    expect(plan.registry).toBe('127.0.0.1:5000');
    // Nothing is assumed about a loopback registry: the registry client asks it (https first).
    expect(plan.insecureRegistries).toEqual([]);
    expect(plan.logins).toEqual([{ registry: '127.0.0.1:5000', username: 'ci-bot', password: 'pa55-word' }]);
  });

  it('lowercases a GHCR name with a notice, reaches GHCR over HTTPS and logs in to the registry input', () => {
    const logger = new MemoryLogger();
    const plan = planImageBuild(
      request({ image: 'ghcr.io/Octo-Org/App', registry: 'ghcr.io', latest: 'default-branch' }),
      PUSH_TO_MAIN,
      logger,
    );
    expect(plan.tags).toContain('ghcr.io/octo-org/app:main');
    expect(plan.tags).toContain('ghcr.io/octo-org/app:latest');
    expect(logger.text()).toContain("lowercased to 'ghcr.io/octo-org/app'");
    expect(plan.insecureRegistries).toEqual([]);
    expect(plan.logins.map((l) => l.registry)).toEqual(['ghcr.io']);
  });

  it('carries the registries the user listed as insecure, and nothing else', () => {
    const plan = planImageBuild(
      request({ image: 'registry.internal:5000/team/api', insecureRegistries: ['registry.internal:5000'] }),
      PUSH_TO_MAIN,
      new MemoryLogger(),
    );
    expect(plan.insecureRegistries).toEqual(['registry.internal:5000']);
  });

  it('uses the default tag rules and anonymous access when none are given', () => {
    const plan = planImageBuild(request({ tagRules: '', password: '' }), PUSH_TO_MAIN, new MemoryLogger());
    expect(plan.tags).toEqual([
      '127.0.0.1:5000/dreamscape/gateway:main',
      '127.0.0.1:5000/dreamscape/gateway:sha-3f1c2a9',
    ]);
    expect(plan.logins).toEqual([]);
  });

  it('refuses an image with a tag, naming the input', () => {
    const error = failure(() =>
      planImageBuild(
        request({ image: '127.0.0.1:5000/dreamscape/gateway:v1' }),
        PUSH_TO_MAIN,
        new MemoryLogger(),
      ),
    );
    expect(error.message).toBe(
      "Input 'image' must name a repository without a tag or digest, got '127.0.0.1:5000/dreamscape/gateway:v1'. Tags come from the 'tags' rules.",
    );
  });

  it('refuses a push whose rules give no tag, but builds without pushing under no tag', () => {
    const error = failure(() =>
      planImageBuild(request({ tagRules: 'type=pr' }), PUSH_TO_MAIN, new MemoryLogger()),
    );
    expect(error.message).toBe(
      "The 'tags' rules produced no tag for this push, so there is nothing to push.",
    );
    expect(error.hint).toContain('type=sha');
    const local = planImageBuild(
      request({ tagRules: 'type=pr', push: false }),
      PUSH_TO_MAIN,
      new MemoryLogger(),
    );
    expect(local.tags).toEqual([]);
    expect(local.push).toBe(false);
  });

  it('refuses a push to GHCR without a token, and lets a build that does not push go on', () => {
    const ghcr = request({ image: 'ghcr.io/octo-org/app', password: '' });
    const error = failure(() => planImageBuild(ghcr, PUSH_TO_MAIN, new MemoryLogger()));
    expect(error.message).toBe("Input 'password' is empty, and pushing to ghcr.io needs a token.");
    expect(error.hint).toContain('packages: write');
    expect(planImageBuild({ ...ghcr, push: false }, PUSH_TO_MAIN, new MemoryLogger()).logins).toEqual([]);
  });
});

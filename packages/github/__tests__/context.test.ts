import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGitHubContext } from '../src/index.js';

describe('readGitHubContext', () => {
  it('reads the repository, run and pull request from the runner’s variables', () => {
    const event = join(mkdtempSync(join(tmpdir(), 'ds-ctx-')), 'event.json');
    writeFileSync(event, JSON.stringify({ pull_request: { number: 42 }, action: 'synchronize' }));
    const ctx = readGitHubContext({
      GITHUB_REPOSITORY: 'dream/scape',
      GITHUB_API_URL: 'http://127.0.0.1:9/',
      GITHUB_SERVER_URL: 'https://github.example',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_RUN_ID: '123',
      GITHUB_SHA: 'abc',
    });
    expect(ctx).toMatchObject({
      owner: 'dream',
      repo: 'scape',
      apiUrl: 'http://127.0.0.1:9',
      eventName: 'pull_request',
      pullRequest: 42,
      runUrl: 'https://github.example/dream/scape/actions/runs/123',
      sha: 'abc',
    });
  });

  it('has no pull request on a push and defaults the API URL', () => {
    const ctx = readGitHubContext({ GITHUB_REPOSITORY: 'a/b', GITHUB_EVENT_NAME: 'push' });
    expect(ctx.pullRequest).toBeUndefined();
    expect(ctx.apiUrl).toBe('https://api.github.com');
    expect(ctx.payload).toEqual({});
  });
});

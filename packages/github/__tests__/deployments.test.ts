import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FetchHttpClient, MemoryLogger } from '@dreamscape/core';
import { startGitHubApi, type GitHubApiServer } from '@dreamscape/testkit';
import { GitHubApiError, GitHubClient, GitHubDeployments } from '../src/index.js';

let api: GitHubApiServer;
let created: unknown[];
let statuses: { id: string; body: unknown }[];

beforeEach(async () => {
  api = await startGitHubApi();
  created = [];
  statuses = [];
  api.route('POST', '/repos/:owner/:repo/deployments', ({ request }) => {
    created.push(request.body);
    return { status: 201, body: { id: 4242 } };
  });
  api.route('POST', '/repos/:owner/:repo/deployments/:id/statuses', ({ request, params }) => {
    statuses.push({ id: params.id ?? '', body: request.body });
    return { status: 201, body: { id: 1 } };
  });
});
afterEach(async () => {
  await api.close();
});

function deployments(logger = new MemoryLogger()): GitHubDeployments {
  const client = new GitHubClient({
    token: api.token,
    apiUrl: api.url,
    http: new FetchHttpClient(),
    logger,
    retry: { attempts: 1 },
  });
  return new GitHubDeployments(client, 'dream/platform', logger);
}

describe('GitHubDeployments', () => {
  it('creates a deployment and reports statuses with the environment and log URLs', async () => {
    const d = deployments();
    const id = await d.create({
      ref: 'abc123',
      environment: 'staging',
      description: 'revision 7',
      payload: { revision: 7 },
    });
    expect(id).toBe(4242);
    expect(created).toEqual([
      {
        ref: 'abc123',
        environment: 'staging',
        description: 'revision 7',
        auto_merge: false,
        required_contexts: [],
        payload: { revision: 7 },
      },
    ]);
    await d.setStatus(id, {
      state: 'in_progress',
      description: 'deploying',
      logUrl: 'https://github.com/dream/platform/actions/runs/1',
    });
    await d.setStatus(id, {
      state: 'success',
      description: 'x'.repeat(200),
      environmentUrl: 'https://staging.example',
      logUrl: 'https://github.com/dream/platform/actions/runs/1',
    });
    expect(statuses.map((s) => s.id)).toEqual(['4242', '4242']);
    expect(statuses[0]?.body).toEqual({
      state: 'in_progress',
      description: 'deploying',
      log_url: 'https://github.com/dream/platform/actions/runs/1',
      auto_inactive: true,
    });
    const success = statuses[1]?.body as { description: string; environment_url: string };
    expect(success.environment_url).toBe('https://staging.example');
    expect(success.description).toHaveLength(140);
    // The token went in the Authorization header and nowhere else.
    expect(api.requests.every((r) => !JSON.stringify(r.body ?? '').includes(api.token))).toBe(true);
  });

  it('fails with the HTTP status and a hint when the token may not deploy', async () => {
    api.failNext('POST', '/repos/dream/platform/deployments', 403);
    const error = await deployments()
      .create({ ref: 'abc', environment: 'prod', description: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubApiError);
    expect((error as GitHubApiError).status).toBe(403);
  });
});

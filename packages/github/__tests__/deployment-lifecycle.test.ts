import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FetchHttpClient, MemoryLogger } from '@dreamscape/core';
import { startGitHubApi, type GitHubApiServer } from '@dreamscape/testkit';
import { runDeployments, trackDeployment, type TrackedDeployment } from '../src/index.js';

let api: GitHubApiServer;
let created: unknown[];
let statuses: unknown[];
let statusAnswer: number;

beforeEach(async () => {
  api = await startGitHubApi();
  created = [];
  statuses = [];
  statusAnswer = 201;
  api.route('POST', '/repos/:owner/:repo/deployments', ({ request }) => {
    created.push(request.body);
    return { status: 201, body: { id: 77 } };
  });
  api.route('POST', '/repos/:owner/:repo/deployments/:id/statuses', ({ request }) => {
    statuses.push(request.body);
    return statusAnswer === 201
      ? { status: 201, body: { id: 1 } }
      : { status: statusAnswer, body: { message: 'Validation Failed' } };
  });
});
afterEach(async () => {
  await api.close();
});

const run = { repository: 'dream/platform', apiUrl: '' };
const tracked: TrackedDeployment<{ ok: boolean }> = {
  deployment: { ref: 'abc123', environment: 'staging', description: 'shop: 3 services' },
  inProgress: 'Deploying',
  logUrl: 'https://github.com/dream/platform/actions/runs/9',
  final: (r) => ({ state: r.ok ? 'success' : 'failure', description: r.ok ? 'promoted' : 'rolled-back' }),
};

function deployments(logger = new MemoryLogger()): ReturnType<typeof runDeployments> {
  return runDeployments({
    token: api.token,
    run: { ...run, apiUrl: api.url },
    http: new FetchHttpClient(),
    logger,
  });
}

describe('runDeployments', () => {
  it('records nothing without a token or outside a repository', () => {
    const http = new FetchHttpClient();
    const logger = new MemoryLogger();
    expect(runDeployments({ token: '', run, http, logger })).toBeUndefined();
    expect(
      runDeployments({ token: 'ghs_x', run: { repository: '', apiUrl: undefined }, http, logger }),
    ).toBeUndefined();
    expect(runDeployments({ token: 'ghs_x', run, http, logger })).toBeDefined();
  });
});

describe('trackDeployment', () => {
  it('creates the deployment, marks it in progress, and ends it with the status the result names, once', async () => {
    const result = await trackDeployment(deployments(), tracked, new MemoryLogger(), () =>
      Promise.resolve({ ok: false }),
    );
    expect(result).toEqual({ ok: false });
    expect(created).toEqual([expect.objectContaining({ ref: 'abc123', environment: 'staging' })]);
    expect(statuses).toEqual([
      expect.objectContaining({ state: 'in_progress', description: 'Deploying', log_url: tracked.logUrl }),
      expect.objectContaining({ state: 'failure', description: 'rolled-back', log_url: tracked.logUrl }),
    ]);
  });

  it('ends the deployment as error, naming why, when the release throws, and rethrows', async () => {
    const error = await trackDeployment(deployments(), tracked, new MemoryLogger(), () =>
      Promise.reject(new Error('lock held by dream/platform#8')),
    ).catch((e: unknown) => e);
    expect(error).toEqual(new Error('lock held by dream/platform#8'));
    expect(statuses).toEqual([
      expect.objectContaining({ state: 'in_progress' }),
      expect.objectContaining({ state: 'error', description: 'stopped: lock held by dream/platform#8' }),
    ]);
  });

  it('keeps the release result when GitHub refuses the final status, with a warning', async () => {
    const logger = new MemoryLogger();
    const d = deployments(logger);
    const result = await trackDeployment(d, tracked, logger, () => {
      statusAnswer = 422;
      return Promise.resolve({ ok: true });
    });
    expect(result).toEqual({ ok: true });
    expect(
      logger.entries
        .filter((e) => e.level === 'warning')
        .map((e) => e.message)
        .join('\n'),
    ).toMatch(/Could not record the end of GitHub deployment 77/);
  });

  it('only runs the release when there is nothing to record with', async () => {
    const result = await trackDeployment(undefined, tracked, new MemoryLogger(), () =>
      Promise.resolve({ ok: true }),
    );
    expect(result).toEqual({ ok: true });
    expect(created).toEqual([]);
    expect(statuses).toEqual([]);
  });
});

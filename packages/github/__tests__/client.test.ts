import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FetchHttpClient, MemoryLogger, type Clock } from '@dreamscape/core';
import { startGitHubApi, type GitHubApiServer } from '@dreamscape/testkit';
import { GitHubApiError, GitHubClient, nextLink } from '../src/index.js';

const clock: Clock = { now: () => Date.now(), sleep: () => Promise.resolve() };

describe('GitHubClient', () => {
  let api: GitHubApiServer;
  let logger: MemoryLogger;
  let client: GitHubClient;

  beforeEach(async () => {
    api = await startGitHubApi({ token: 'ghs_test_token_123', maxPerPage: 3 });
    logger = new MemoryLogger();
    client = new GitHubClient({
      token: api.token,
      apiUrl: `${api.url}/`,
      http: new FetchHttpClient(),
      logger,
      clock,
    });
  });
  afterEach(async () => {
    await api.close();
  });

  it('sends the token and GitHub headers, and decodes JSON', async () => {
    const created = await client.request<{ id: number; body: string }>({
      method: 'POST',
      path: '/repos/o/r/issues/1/comments',
      body: { body: 'hello' },
    });
    expect(created.status).toBe(201);
    expect(created.data.body).toBe('hello');
    const sent = api.requests[0];
    expect(sent?.headers.authorization).toBe('Bearer ghs_test_token_123');
    expect(sent?.headers.accept).toBe('application/vnd.github+json');
    expect(sent?.headers['x-github-api-version']).toBe('2022-11-28');
  });

  it('follows Link pagination to the last page', async () => {
    for (let i = 0; i < 8; i++) api.addComment('o', 'r', 2, `c${i}`);
    const all = await client.paginate<{ body: string }>('/repos/o/r/issues/2/comments');
    expect(all.map((c) => c.body)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    expect(api.requests.filter((r) => r.method === 'GET')).toHaveLength(3);
  });

  it('retries idempotent calls on server errors, never a POST', async () => {
    api.failNext('GET', '/repos/o/r/issues/3/comments', 502, 2);
    await expect(client.paginate('/repos/o/r/issues/3/comments')).resolves.toEqual([]);
    expect(logger.text()).toContain('failed with HTTP 502: injected failure 502 (attempt 1)');
    api.failNext('POST', '/repos/o/r/issues/3/comments', 502, 1);
    await expect(
      client.request({ method: 'POST', path: '/repos/o/r/issues/3/comments', body: { body: 'x' } }),
    ).rejects.toThrow(GitHubApiError);
    expect(api.comments('o', 'r', 3)).toEqual([]);
  });

  it('does not retry a permission error and says which permission may be missing', async () => {
    api.failNext('GET', '/repos/o/r/issues/4/comments', 403, 5);
    const attempt = client.paginate('/repos/o/r/issues/4/comments');
    await expect(attempt).rejects.toThrow(
      /GitHub API GET http:\/\/127\.0\.0\.1:\d+\/repos\/o\/r\/issues\/4\/comments\?per_page=100 failed with HTTP 403/,
    );
    expect(api.requests).toHaveLength(1);
    try {
      await client.paginate('/repos/o/r/issues/4/comments');
    } catch (error) {
      expect((error as GitHubApiError).hint).toContain("'pull-requests: write'");
    }
  });

  it('waits out a rate limit (403 with an exhausted quota)', async () => {
    let calls = 0;
    api.route('GET', '/rate/limited', () => {
      calls++;
      return calls === 1
        ? {
            status: 403,
            body: { message: 'API rate limit exceeded' },
            headers: { 'x-ratelimit-remaining': '0' },
          }
        : { status: 200, body: { ok: true } };
    });
    await expect(client.request({ method: 'GET', path: '/rate/limited' })).resolves.toMatchObject({
      data: { ok: true },
    });
    expect(calls).toBe(2);
  });

  it('refuses a wrong token with the API’s own message, and never logs the token', async () => {
    const wrong = new GitHubClient({
      token: 'not-the-token',
      apiUrl: api.url,
      http: new FetchHttpClient(),
      logger,
      clock,
    });
    await expect(wrong.request({ method: 'GET', path: '/repos/o/r/issues/comments/1' })).rejects.toThrow(
      'failed with HTTP 401: Bad credentials',
    );
    expect(logger.masker.redact('x not-the-token y')).toBe('x *** y');
  });
});

describe('nextLink', () => {
  it('finds rel="next" among others', () => {
    expect(nextLink('<https://a/x?page=3>; rel="next", <https://a/x?page=9>; rel="last"')).toBe(
      'https://a/x?page=3',
    );
    expect(nextLink('<https://a/x?page=1>; rel="prev"')).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
  });
});

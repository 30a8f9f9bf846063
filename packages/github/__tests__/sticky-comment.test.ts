import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FetchHttpClient, MemoryLogger } from '@dreamscape/core';
import { startGitHubApi, type GitHubApiServer } from '@dreamscape/testkit';
import {
  commentBody,
  GitHubClient,
  MAX_COMMENT_LENGTH,
  stickyMarker,
  upsertStickyComment,
} from '../src/index.js';

describe('upsertStickyComment', () => {
  let api: GitHubApiServer;
  let client: GitHubClient;
  const logger = new MemoryLogger();
  const marker = stickyMarker('scan:image/ghcr.io/dreamscape/auth');
  const post = (body: string) =>
    upsertStickyComment(client, { owner: 'dream', repo: 'scape', issueNumber: 7, marker, body, logger });

  beforeEach(async () => {
    api = await startGitHubApi({ maxPerPage: 10 });
    client = new GitHubClient({ token: api.token, apiUrl: api.url, http: new FetchHttpClient(), logger });
  });
  afterEach(async () => {
    await api.close();
  });

  it('creates the comment once, then updates it in place', async () => {
    const first = await post('scan: 2 findings');
    expect(first.action).toBe('created');
    const second = await post('scan: 1 finding');
    expect(second).toMatchObject({ action: 'updated', id: first.id });
    const third = await post('scan: 1 finding');
    expect(third).toMatchObject({ action: 'unchanged', id: first.id });
    const comments = api.comments('dream', 'scape', 7);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toBe(`${marker}\nscan: 1 finding`);
    expect(api.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('finds its comment beyond the first page of a long conversation', async () => {
    for (let i = 0; i < 25; i++) api.addComment('dream', 'scape', 7, `review comment ${i}`);
    const ours = api.addComment('dream', 'scape', 7, `${marker}\nold results`);
    for (let i = 0; i < 12; i++) api.addComment('dream', 'scape', 7, `later comment ${i}`);
    const result = await post('new results');
    expect(result).toMatchObject({ action: 'updated', id: ours.id });
    expect(api.comments('dream', 'scape', 7)).toHaveLength(38);
    expect(api.requests.filter((r) => r.method === 'GET').length).toBe(4);
  });

  it('keeps the oldest copy and deletes duplicates left by concurrent runs', async () => {
    const oldest = api.addComment('dream', 'scape', 7, `${marker}\nrun 1`);
    api.addComment('dream', 'scape', 7, `${marker}\nrun 2`);
    api.addComment('dream', 'scape', 7, 'someone else');
    const result = await post('run 3');
    expect(result).toMatchObject({ action: 'updated', id: oldest.id, removedDuplicates: 1 });
    expect(api.comments('dream', 'scape', 7).map((c) => c.body)).toEqual([
      `${marker}\nrun 3`,
      'someone else',
    ]);
  });

  it('does not mistake another category’s comment for its own', async () => {
    api.addComment('dream', 'scape', 7, `${stickyMarker('scan:image/ghcr.io/dreamscape/user')}\nother image`);
    const result = await post('auth results');
    expect(result.action).toBe('created');
    expect(api.comments('dream', 'scape', 7)).toHaveLength(2);
  });
});

describe('commentBody and stickyMarker', () => {
  it('cuts a body to GitHub’s limit with a note', () => {
    const body = commentBody('<!-- m -->', 'x'.repeat(70_000));
    expect(body.length).toBe(MAX_COMMENT_LENGTH);
    expect(body.startsWith('<!-- m -->\n')).toBe(true);
    expect(body).toContain('cut to fit GitHub’s comment size limit');
  });

  it('keeps the marker a valid HTML comment', () => {
    expect(stickyMarker('scan:a--b')).toBe('<!-- dreamscape:scan:a-b -->');
  });
});

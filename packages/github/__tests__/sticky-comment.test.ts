import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FetchHttpClient, MemoryLogger } from '@dreamscape/core';
import { startGitHubApi, type GitHubApiServer } from '@dreamscape/testkit';
import {
  ACTIONS_BOT_LOGIN,
  commentBody,
  commentIdentity,
  GitHubClient,
  MAX_COMMENT_LENGTH,
  stickyMarker,
  upsertStickyComment,
} from '../src/index.js';

const MALLORY = { login: 'mallory', type: 'User' } as const;
const ACTIONS_BOT = { login: ACTIONS_BOT_LOGIN, type: 'Bot' } as const;

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
    // Three pages of comments (and one GET /user to learn whose comments are ours).
    expect(api.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/comments')).length).toBe(4);
  });

  it('keeps the oldest copy and deletes duplicates left by concurrent runs', async () => {
    const oldest = api.addComment('dream', 'scape', 7, `${marker}\nrun 1`);
    api.addComment('dream', 'scape', 7, `${marker}\nrun 2`);
    api.addComment('dream', 'scape', 7, 'someone else', MALLORY);
    const result = await post('run 3');
    expect(result).toMatchObject({ action: 'updated', id: oldest.id, removedDuplicates: 1 });
    expect(api.comments('dream', 'scape', 7).map((c) => c.body)).toEqual([
      `${marker}\nrun 3`,
      'someone else',
    ]);
  });

  it('leaves a stranger’s comment carrying the marker alone, and creates its own', async () => {
    const planted = api.addComment('dream', 'scape', 7, `${marker}\nplease run my script`, MALLORY);
    const result = await post('scan results');
    expect(result.action).toBe('created');
    expect(result.id).not.toBe(planted.id);
    expect(api.comments('dream', 'scape', 7).map((c) => [c.user.login, c.body])).toEqual([
      ['mallory', `${marker}\nplease run my script`],
      ['github-actions[bot]', `${marker}\nscan results`],
    ]);
    expect(api.requests.filter((r) => r.method === 'PATCH' || r.method === 'DELETE')).toEqual([]);
    expect(logger.text()).toContain(
      `Left alone 1 comment(s) on #7 carrying ${marker} but not written by github-actions[bot].`,
    );
  });

  it('updates its own comment and neither edits nor deletes an older stranger’s copy of the marker', async () => {
    // The stranger's copy is older: picking "the oldest marked comment" would adopt it and delete ours.
    api.addComment('dream', 'scape', 7, `${marker}\nfake results`, MALLORY);
    const ours = api.addComment('dream', 'scape', 7, `${marker}\nrun 1`);
    api.addComment('dream', 'scape', 7, `${marker}\nanother fake`, MALLORY);
    const result = await post('run 2');
    expect(result).toMatchObject({ action: 'updated', id: ours.id, removedDuplicates: 0 });
    expect(api.comments('dream', 'scape', 7).map((c) => [c.user.login, c.body])).toEqual([
      ['mallory', `${marker}\nfake results`],
      ['github-actions[bot]', `${marker}\nrun 2`],
      ['mallory', `${marker}\nanother fake`],
    ]);
    expect(api.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });

  it('does not take our comment of another key for a copy because it quotes this key’s marker', async () => {
    // A plan for dev showing a manifest value that a pull request set to prod's marker.
    const dev = api.addComment(
      'dream',
      'scape',
      7,
      `${stickyMarker('plan/dev')}\n\`\`\`diff\n+  note: ${marker}\n\`\`\``,
    );
    const result = await post('results');
    expect(result).toMatchObject({ action: 'created', removedDuplicates: 0 });
    expect(api.comments('dream', 'scape', 7).map((c) => c.id)).toEqual([dev.id, result.id]);
    expect(api.requests.filter((r) => r.method === 'PATCH' || r.method === 'DELETE')).toEqual([]);
  });

  it('does not mistake another category’s comment for its own', async () => {
    api.addComment('dream', 'scape', 7, `${stickyMarker('scan:image/ghcr.io/dreamscape/user')}\nother image`);
    const result = await post('auth results');
    expect(result.action).toBe('created');
    expect(api.comments('dream', 'scape', 7)).toHaveLength(2);
  });
});

describe('whose comments are ours', () => {
  const marker = stickyMarker('plan/prod');
  const logger = new MemoryLogger();
  let api: GitHubApiServer | undefined;
  afterEach(async () => {
    await api?.close();
  });
  const clientFor = (server: GitHubApiServer) =>
    new GitHubClient({ token: server.token, apiUrl: server.url, http: new FetchHttpClient(), logger });

  it('a personal token is the user GET /user names; the Actions bot’s marked comment is not its own', async () => {
    api = await startGitHubApi({ identity: { login: 'octocat', type: 'User' } });
    const client = clientFor(api);
    await expect(commentIdentity(client, logger)).resolves.toBe('octocat');
    api.addComment('dream', 'scape', 3, `${marker}\nby the workflow token`, ACTIONS_BOT);
    const mine = api.addComment('dream', 'scape', 3, `${marker}\nold`);
    const result = await upsertStickyComment(client, {
      owner: 'dream',
      repo: 'scape',
      issueNumber: 3,
      marker,
      body: 'new',
      logger,
    });
    expect(result).toMatchObject({ action: 'updated', id: mine.id });
    expect(api.comments('dream', 'scape', 3).map((c) => c.body)).toEqual([
      `${marker}\nby the workflow token`,
      `${marker}\nnew`,
    ]);
  });

  it('an installation token, refused by GET /user, is github-actions[bot]', async () => {
    api = await startGitHubApi();
    await expect(commentIdentity(clientFor(api), logger)).resolves.toBe(ACTIONS_BOT_LOGIN);
  });

  it('an app named by its author finds its own comment, and a mismatch is pointed out', async () => {
    const app = { login: 'dreamscape-ci[bot]', type: 'Bot' } as const;
    api = await startGitHubApi({ identity: app });
    const client = clientFor(api);
    const upsert = (author: string | undefined, body: string) =>
      upsertStickyComment(client, {
        owner: 'dream',
        repo: 'scape',
        issueNumber: 4,
        marker,
        body,
        author,
        logger,
      });
    const first = await upsert(undefined, 'one');
    // Without comment-author, the app is taken for github-actions[bot]: it says what to set.
    expect(logger.text()).toContain(
      "The comment was posted as dreamscape-ci[bot], not github-actions[bot]: later runs will not recognise it and will add another. Set comment-author to 'dreamscape-ci[bot]'.",
    );
    const second = await upsert('dreamscape-ci[bot]', 'two');
    expect(second).toMatchObject({ action: 'updated', id: first.id });
    expect(api.requests.filter((r) => r.path === '/user')).toHaveLength(1);
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

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runActionBundle, startGitHubApi, type GitHubApiServer } from '@dreamscape/testkit';
import { exampleRepo, type GitRepo } from './support/git-repo.js';

const actionDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'ghs_sticky_comment_token_5150';

const repos: GitRepo[] = [];
afterEach(() => {
  for (const r of repos.splice(0)) r.remove();
});

function repo(): GitRepo {
  const r = exampleRepo();
  repos.push(r);
  return r;
}

function env(r: GitRepo, sha: string): Record<string, string> {
  return {
    GITHUB_WORKSPACE: r.dir,
    GITHUB_REPOSITORY: 'dreamscape/platform',
    GITHUB_REPOSITORY_OWNER: 'dreamscape',
    GITHUB_SHA: sha,
  };
}

describe('action-changes bundle, mode changes', () => {
  it('on a pull request touching one service, selects that service only', async () => {
    const r = repo();
    const base = r.head();
    r.git('checkout', '-q', '-b', 'feature');
    const head = r.commit({ 'services/payment/src/server.js': '// faster refunds\n' });
    r.git('checkout', '-q', 'main');
    // What GitHub checks out for a pull request: the merge of the head into the base.
    r.git('merge', '-q', '--no-ff', '-m', 'Merge feature', 'feature');
    const merge = r.head();
    const result = await runActionBundle(actionDir, {
      inputs: { 'services-file': 'services.json' },
      env: env(r, merge),
      event: {
        name: 'pull_request',
        payload: { pull_request: { number: 42, base: { sha: base }, head: { sha: head } } },
      },
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('DreamScape action-changes');
    expect(JSON.parse(result.outputs.services ?? '')).toEqual(['payment']);
    expect(JSON.parse(result.outputs.matrix ?? '')).toEqual({
      include: [
        {
          name: 'payment',
          context: 'services/payment',
          dockerfile: 'services/payment/Dockerfile',
          target: 'runtime',
          image: 'ghcr.io/dreamscape/payment',
        },
      ],
    });
    expect(result.outputs).toMatchObject({ any: 'true', all: 'false', base });
    expect(JSON.parse(result.outputs['changed-files'] ?? '')).toEqual(['services/payment/src/server.js']);
    expect(result.stdout).toContain('✓ payment: services/payment/src/server.js changed');
    expect(result.summary).toContain('### Changed services: 1 of 7');
    expect(result.summary).toContain('Pull request #42 against its base');
    expect(result.summary).toMatch(/\| payment \| ✅ \| services\/payment\/src\/server\.js changed \|/);
    expect(result.summary).toMatch(/\| gateway \| — \| unchanged \|/);
  });

  it('on a push that changes only manifests, selects nothing', async () => {
    const r = repo();
    const before = r.head();
    const after = r.commit({ 'k8s/base/auth/deployment.yaml': 'kind: Deployment\n' });
    const result = await runActionBundle(actionDir, {
      inputs: { 'services-file': 'services.json' },
      env: env(r, after),
      event: { name: 'push', payload: { before, after, ref: 'refs/heads/main' } },
    });
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toMatchObject({
      services: '[]',
      matrix: '{"include":[]}',
      any: 'false',
      all: 'false',
    });
    expect(result.summary).toContain('Changed files that concern no service: 1.');
  });

  it('a change to the services file, or a shared path, selects every service', async () => {
    const r = repo();
    const before = r.head();
    const after = r.commit({ '.github/workflows/pipeline.yml': 'on: push\n' });
    const result = await runActionBundle(actionDir, {
      inputs: { 'services-file': 'services.json', 'shared-paths': '.github/workflows/**\nbase-images/**' },
      env: env(r, after),
      event: { name: 'push', payload: { before, after } },
    });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.outputs.services ?? '')).toHaveLength(7);
    expect(result.outputs.all).toBe('true');
  });

  it('selects every service when there is nothing to compare with, or when asked', async () => {
    const r = repo();
    const dispatch = await runActionBundle(actionDir, {
      inputs: { 'services-file': 'services.json' },
      env: env(r, r.head()),
      event: { name: 'workflow_dispatch', payload: {} },
    });
    expect(dispatch.exitCode).toBe(0);
    expect(JSON.parse(dispatch.outputs.services ?? '')).toEqual([
      'gateway',
      'auth',
      'user',
      'voyage',
      'payment',
      'ai',
      'panorama',
    ]);
    expect(dispatch.outputs.base).toBe('');
    expect(dispatch.stdout).toContain('a workflow_dispatch event has no base to compare with');

    const asked = await runActionBundle(actionDir, {
      inputs: { 'services-file': 'services.json', all: 'true' },
      env: env(r, r.head()),
      event: { name: 'pull_request', payload: { pull_request: { number: 1, base: { sha: r.head() } } } },
    });
    expect(asked.outputs.all).toBe('true');
  });

  it('builds everything, with a warning, when the base commit cannot be had', async () => {
    const r = repo();
    const missing = 'e'.repeat(40);
    const result = await runActionBundle(actionDir, {
      inputs: { 'services-file': 'services.json' },
      env: env(r, r.head()),
      event: { name: 'push', payload: { before: missing, after: r.head() } },
    });
    expect(result.exitCode).toBe(0);
    expect(result.outputs.all).toBe('true');
    expect(result.stdout).toMatch(/::warning::Building every service: the base e{40} is not in the clone/);
  }, 60_000);

  it('takes changed files from the workflow, and a single service from its inputs', async () => {
    const r = repo();
    const result = await runActionBundle(actionDir, {
      inputs: {
        context: 'services/ai',
        target: 'runtime',
        'changed-files': 'services/ai/src/server.js\nREADME.md',
      },
      env: env(r, r.head()),
    });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.outputs.matrix ?? '')).toEqual({
      include: [
        {
          name: 'ai',
          context: 'services/ai',
          dockerfile: 'services/ai/Dockerfile',
          target: 'runtime',
          image: 'ghcr.io/dreamscape/ai',
        },
      ],
    });
  });

  it('fails with the input and the reason on a bad services file', async () => {
    const r = repo();
    const missing = await runActionBundle(actionDir, {
      inputs: { 'services-file': 'ops/services.json' },
      env: env(r, r.head()),
    });
    expect(missing.exitCode).toBe(1);
    expect(missing.errors[0]).toMatch(
      /^Input 'services-file' has an invalid value "ops\/services.json": .* does not exist/,
    );

    r.commit({ 'broken.json': '{"services": [{"name": "api"}]}' });
    const broken = await runActionBundle(actionDir, {
      inputs: { 'services-file': 'broken.json' },
      env: env(r, r.head()),
    });
    expect(broken.exitCode).toBe(1);
    expect(broken.errors[0]).toBe(
      "broken.json: service 'api' has no 'context' (its build context directory).",
    );

    const both = await runActionBundle(actionDir, {
      inputs: { 'services-file': 'services.json', context: 'services/ai' },
      env: env(r, r.head()),
    });
    expect(both.exitCode).toBe(1);
    expect(both.errors[0]).toContain("either 'services-file' or the single-service inputs");
  });
});

describe('action-changes bundle, mode comment', () => {
  let api: GitHubApiServer;
  beforeAll(async () => {
    api = await startGitHubApi({ token: TOKEN, maxPerPage: 5 });
  });
  afterAll(async () => {
    await api.close();
  });

  const run = (inputs: Record<string, string>, payload: unknown, name = 'pull_request') =>
    runActionBundle(actionDir, {
      inputs: { mode: 'comment', 'github-token': TOKEN, ...inputs },
      env: { GITHUB_API_URL: api.url, GITHUB_REPOSITORY: 'dreamscape/platform', GITHUB_EVENT_NAME: name },
      event: { name, payload },
    });

  it('keeps one comment per key on the pull request, created once and then edited', async () => {
    for (let i = 0; i < 7; i++) api.addComment('dreamscape', 'platform', 7, `someone else's comment ${i}`);
    const pr = { pull_request: { number: 7 } };
    const first = await run(
      { 'comment-key': 'plan/staging', 'comment-body': '### Plan for staging\nv1' },
      pr,
    );
    expect(first.exitCode).toBe(0);
    expect(first.outputs['comment-url']).toMatch(/\/pull\/7#issuecomment-\d+$/);
    const prod = await run({ 'comment-key': 'plan/prod', 'comment-body': '### Plan for prod' }, pr);
    expect(prod.exitCode).toBe(0);
    const second = await run(
      { 'comment-key': 'plan/staging', 'comment-body': '### Plan for staging\nv2' },
      pr,
    );
    expect(second.exitCode).toBe(0);
    expect(second.outputs['comment-url']).toBe(first.outputs['comment-url']);

    const ours = api
      .comments('dreamscape', 'platform', 7)
      .filter((c) => c.body.startsWith('<!-- dreamscape:'));
    expect(ours.map((c) => c.body)).toEqual([
      '<!-- dreamscape:plan/staging -->\n### Plan for staging\nv2',
      '<!-- dreamscape:plan/prod -->\n### Plan for prod',
    ]);
    // The token is registered with the runner's masker and printed nowhere else.
    const lines = first.stdout.split('\n').filter((l) => l.includes(TOKEN));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l === `::add-mask::${TOKEN}`)).toBe(true);
  });

  it('does nothing outside a pull request, and comments on the one it is given', async () => {
    const push = await run(
      { 'comment-key': 'plan/dev', 'comment-body': 'x' },
      { ref: 'refs/heads/main' },
      'push',
    );
    expect(push.exitCode).toBe(0);
    expect(push.stdout).toContain('No pull request in this push: nothing to comment on.');
    expect(push.outputs['comment-url']).toBe('');

    const given = await run(
      { 'comment-key': 'plan/dev', 'comment-body': 'given', 'pull-request': '11' },
      {},
      'workflow_dispatch',
    );
    expect(given.exitCode).toBe(0);
    expect(api.comments('dreamscape', 'platform', 11).map((c) => c.body)).toEqual([
      '<!-- dreamscape:plan/dev -->\ngiven',
    ]);
  });

  it('warns and succeeds when the token may not comment', async () => {
    api.failNext('GET', '/repos/dreamscape/platform/issues/9/comments', 403);
    const result = await run(
      { 'comment-key': 'plan/prod', 'comment-body': 'x' },
      { pull_request: { number: 9 } },
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /::warning::Could not comment on pull request #9: GitHub API GET .* failed with HTTP 403/,
    );
    expect(result.outputs['comment-url']).toBe('');
  });

  it('refuses a comment without a key, body or token', async () => {
    const result = await runActionBundle(actionDir, {
      inputs: { mode: 'comment', 'comment-body': 'x', 'github-token': TOKEN },
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(/^Input 'comment-key' is required/);
  });
});

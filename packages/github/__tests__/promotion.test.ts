import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FetchHttpClient, InputError, MemoryLogger } from '@dreamscape/core';
import { serveRepository, startGitHubApi, type GitHubApiServer } from '@dreamscape/testkit';
import {
  compileTagPatterns,
  GitHubClient,
  parsePromotionRecords,
  recordsJson,
  renderPromotionSummary,
  verifyPromotion,
  type PromotionPlan,
} from '../src/index.js';
import { HOTFIX, PUSH_SHA, RUNS, platform, recordsArtifact } from '@dreamscape/testkit/platform-repository';

const SOURCE = { input: 'records-file', path: '/runner/_temp/promotion/records.json' };
const records = parsePromotionRecords(JSON.stringify(recordsArtifact()), SOURCE);

let api: GitHubApiServer;
beforeEach(async () => {
  api = await startGitHubApi();
  serveRepository(api, platform());
});
afterEach(async () => {
  await api.close();
});

function promote(runId: number, releaseTags: string[] = []): Promise<PromotionPlan> {
  const logger = new MemoryLogger();
  return verifyPromotion({
    client: new GitHubClient({
      token: api.token,
      apiUrl: api.url,
      http: new FetchHttpClient(),
      logger,
      retry: { attempts: 1 },
    }),
    logger,
    owner: 'dreamscape',
    repo: 'platform',
    runId,
    workflowPath: '.github/workflows/pipeline.yml',
    records,
    releaseTags: compileTagPatterns(releaseTags),
    serverUrl: 'https://github.com',
  });
}

/** The refusal's message, checked to be an InputError naming 'run-id' and what is accepted. */
async function refusal(runId: number, releaseTags: string[] = []): Promise<string> {
  const error = await promote(runId, releaseTags).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  const message = (error as InputError).message;
  expect(message).toContain(`Input 'run-id' has an invalid value "${runId}"`);
  expect(message).toContain(
    'Accepted: the id of a run of .github/workflows/pipeline.yml in dreamscape/platform triggered by a push to main',
  );
  return message;
}

describe('verifyPromotion', () => {
  it('accepts a successful push run of this workflow on the default branch, and says what it promotes', async () => {
    const plan = await promote(RUNS.push);
    expect(plan).toMatchObject({
      runId: RUNS.push,
      runAttempt: 1,
      commit: PUSH_SHA,
      runUrl: `https://github.com/dreamscape/platform/actions/runs/${RUNS.push}`,
      provenance: { kind: 'default-branch', branch: 'main', status: 'identical' },
    });
    const summary = renderPromotionSummary(plan, 'prod');
    expect(summary).toContain(`### Promotion to prod: run ${RUNS.push}`);
    expect(summary).toContain(`- Commit: \`${PUSH_SHA}\`, on the default branch main (its head)`);
    expect(summary).toContain(`| gateway | \`ghcr.io/dreamscape/gateway@sha256:${'ab'.repeat(32)}\` |`);
    expect(summary).toContain(`(https://github.com/dreamscape/platform/actions/runs/${RUNS.push})`);
    // What was asked: the repository's default branch, the run, where its commit is.
    expect(api.requests.map((r) => r.path)).toEqual([
      '/repos/dreamscape/platform',
      `/repos/dreamscape/platform/actions/runs/${RUNS.push}`,
      `/repos/dreamscape/platform/compare/main...${PUSH_SHA}`,
    ]);
  });

  it('accepts the run whatever form its path takes (owner/repo/<file>@<ref>)', async () => {
    expect((await promote(RUNS.qualifiedPath)).commit).toBe(PUSH_SHA);
  });

  it("refuses a fork's pull-request run, even from a branch the fork named main", async () => {
    const message = await refusal(RUNS.forkPullRequest);
    expect(message).toContain('"head_repository.full_name" is "mallory/platform"');
    expect(message).toContain('a fork');
    expect(message).toContain('"event" is "pull_request" (accepted: push)');
  });

  it("refuses a pull-request run of the repository's own branch", async () => {
    const message = await refusal(RUNS.sameRepoPullRequest);
    expect(message).toContain('"event" is "pull_request" (accepted: push)');
    expect(message).toContain('"head_branch" is "feature/cache", not the default branch main');
  });

  it('refuses a run of another workflow file', async () => {
    expect(await refusal(RUNS.otherWorkflow)).toContain(
      '"path" is ".github/workflows/nightly.yml", another workflow (accepted: .github/workflows/pipeline.yml)',
    );
  });

  it('refuses a failed run and a run still in progress', async () => {
    expect(await refusal(RUNS.failed)).toContain('"conclusion" is "failure" (accepted: success)');
    expect(await refusal(RUNS.inProgress)).toContain(
      '"status" is "in_progress": the run has not finished (accepted: completed)',
    );
  });

  it('refuses a push to another branch, and an earlier promotion (a workflow_dispatch run)', async () => {
    expect(await refusal(RUNS.featureBranch)).toContain(
      `"head_branch" is "feature/cache", not the default branch main (no release tags are accepted ('release-tags' is empty))`,
    );
    expect(await refusal(RUNS.dispatch)).toContain('"event" is "workflow_dispatch" (accepted: push)');
  });

  it('refuses a run the repository does not have', async () => {
    expect(await refusal(4242)).toContain('dreamscape/platform has no run 4242');
  });

  it('refuses a tag push by default, and accepts it when the tag matches release-tags', async () => {
    expect(await refusal(RUNS.tagPush)).toContain('"head_branch" is "v2.0.1", not the default branch main');
    const plan = await promote(RUNS.tagPush, ['v*']);
    expect(plan.commit).toBe(HOTFIX);
    expect(plan.provenance).toEqual({ kind: 'release-tag', tag: 'v2.0.1', pattern: 'v*' });
    expect(renderPromotionSummary(plan)).toContain('the commit of the release tag v2.0.1 (v*)');
  });

  it('refuses a push to a branch named like a release tag: the tag is read from the repository', async () => {
    const message = await refusal(RUNS.branchNamedLikeTag, ['v*']);
    expect(message).toContain('is not on the default branch main');
    expect(message).toContain('the tag "v9" is not a release tag (release tags: v*) pointing at it');
  });
});

describe('parsePromotionRecords', () => {
  const parse = (doc: unknown): string => {
    try {
      parsePromotionRecords(typeof doc === 'string' ? doc : JSON.stringify(doc), SOURCE);
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      const message = (error as InputError).message;
      expect(message).toContain("Input 'records-file'");
      expect(message).toContain('Accepted: the records.json build-scan.yml uploads');
      // Nothing of the artifact reaches a log as a line of its own or as a workflow command.
      expect(message).not.toMatch(/[\r\n]/);
      expect(message).not.toMatch(/::(set-output|add-mask|error|stop-commands)/);
      expect(message).not.toContain('%0A');
      return message;
    }
    throw new Error('accepted');
  };
  const image = (service: string): string => `ghcr.io/dreamscape/${service}@sha256:${'ab'.repeat(32)}`;

  it('keeps the image and digest of each record, and nothing else', () => {
    expect(JSON.parse(recordsJson(records))).toEqual({
      gateway: { image: image('gateway'), digest: `sha256:${'ab'.repeat(32)}` },
      payment: {
        image: `ghcr.io/dreamscape/payment@sha256:${'cd'.repeat(32)}`,
        digest: `sha256:${'cd'.repeat(32)}`,
      },
    });
    const local = parsePromotionRecords(
      JSON.stringify({ api: { image: `127.0.0.1:5000/team/api@sha256:${'0f'.repeat(32)}` } }),
      SOURCE,
    );
    expect([...local.keys()]).toEqual(['api']);
  });

  it('refuses keys that would be workflow commands or new lines', () => {
    expect(parse({ '::set-output name=images::evil': { image: image('x') } })).toContain(
      'the key ":\\u003aset-output name=images:\\u003aevil" is not a service name',
    );
    expect(parse({ 'gateway\n::add-mask::x': { image: image('gateway') } })).toContain(
      'the key "gateway\\n:\\u003aadd-mask:\\u003ax" is not a service name',
    );
    expect(parse({ 'gateway%0Aevil': { image: image('gateway') } })).toContain(
      'the key "gateway\\u00250Aevil" is not a service name',
    );
  });

  it('refuses images that carry commands, new lines, a tag instead of a digest, or both', () => {
    expect(parse({ gateway: { image: `${image('gateway')}\n::set-output name=commit::x` } })).toContain(
      `the image of 'gateway' (field "image") is`,
    );
    expect(parse({ gateway: { image: `${image('gateway')}%0A::error::x` } })).toContain(
      'not an image pinned by digest',
    );
    expect(parse({ gateway: { image: 'ghcr.io/dreamscape/gateway:latest' } })).toContain(
      `the image of 'gateway' (field "image") is "ghcr.io/dreamscape/gateway:latest", not an image pinned by digest`,
    );
    expect(
      parse({ gateway: { image: `ghcr.io/dreamscape/gateway:1.0@sha256:${'ab'.repeat(32)}` } }),
    ).toContain('not an image pinned by digest');
    expect(parse({ gateway: { image: `gateway@sha256:${'ab'.repeat(32)}` } })).toContain(
      'not an image pinned by digest',
    );
    expect(parse({ gateway: { digest: `sha256:${'ab'.repeat(32)}` } })).toContain('(field "image") is null');
  });

  it('refuses a digest field that disagrees with the image', () => {
    expect(parse({ gateway: { image: image('gateway'), digest: `sha256:${'99'.repeat(32)}` } })).toContain(
      `the record of 'gateway' has a "digest"`,
    );
  });

  it('refuses anything but one object of records', () => {
    expect(parse('[{"image": "x"}]')).toContain('the file holds an array');
    expect(parse('{}')).toContain('the run built no service: nothing to promote');
    expect(parse('not json')).toContain('the file is not valid JSON');
    expect(parse({ gateway: 'ghcr.io/x' })).toContain("the record of 'gateway' is not an object");
    expect(parse('x'.repeat(1024 * 1024 + 1))).toContain('larger than 1048576 bytes');
  });
});

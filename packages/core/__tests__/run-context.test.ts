import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { makeRunTempDir, readRunContext } from '../src/index.js';

describe('readRunContext', () => {
  it('reads a workflow run from the runner environment', () => {
    const run = readRunContext({
      GITHUB_REPOSITORY: 'dream/platform',
      GITHUB_RUN_ID: '9001',
      GITHUB_SHA: 'c0ffee',
      GITHUB_ACTOR: 'octocat',
      GITHUB_WORKFLOW: 'Deploy',
      GITHUB_WORKFLOW_REF: 'dream/platform/.github/workflows/deploy.yml@refs/heads/main',
      GITHUB_SERVER_URL: 'https://ghe.example',
      GITHUB_API_URL: 'https://ghe.example/api/v3',
      RUNNER_TEMP: '/runner/_temp',
    });
    expect(run).toEqual({
      repository: 'dream/platform',
      runId: '9001',
      sha: 'c0ffee',
      actor: 'octocat',
      workflow: '.github/workflows/deploy.yml',
      apiUrl: 'https://ghe.example/api/v3',
      runUrl: 'https://ghe.example/dream/platform/actions/runs/9001',
      tempRoot: '/runner/_temp',
      holderId: 'dream/platform#9001',
    });
  });

  it('outside a workflow: no run URL, the system temp directory, and a lock holder of this process', () => {
    const run = readRunContext({});
    expect(run.runUrl).toBe('');
    expect(run.repository).toBe('');
    expect(run.workflow).toBe('');
    expect(run.apiUrl).toBeUndefined();
    expect(run.tempRoot).toBe(tmpdir());
    expect(run.holderId).toBe(`local#${String(process.pid)}`);
  });

  it('names the workflow by its file, whatever ref it ran from, else by its name', () => {
    const file = (ref: string): string =>
      readRunContext({
        GITHUB_REPOSITORY: 'dream/platform',
        GITHUB_WORKFLOW: 'Deploy',
        GITHUB_WORKFLOW_REF: ref,
      }).workflow;
    expect(file('dream/platform/.github/workflows/deploy.yml@refs/tags/v1.2.0')).toBe(
      '.github/workflows/deploy.yml',
    );
    expect(file('dream/platform/.github/workflows/deploy.yml@refs/pull/7/merge')).toBe(
      '.github/workflows/deploy.yml',
    );
    expect(readRunContext({ GITHUB_WORKFLOW: 'Deploy' }).workflow).toBe('Deploy');
  });

  it('links runs on github.com when the server URL is not set', () => {
    expect(readRunContext({ GITHUB_REPOSITORY: 'a/b', GITHUB_RUN_ID: '1' }).runUrl).toBe(
      'https://github.com/a/b/actions/runs/1',
    );
  });
});

describe('makeRunTempDir', () => {
  it('creates a directory of its own under a temp root that does not exist yet, and removes it', () => {
    const root = mkdtempSync(join(tmpdir(), 'run-context-'));
    const tempRoot = join(root, 'not', 'yet');
    const dir = makeRunTempDir({ tempRoot }, 'dreamscape-deploy-');
    expect(dir.path.startsWith(join(tempRoot, 'dreamscape-deploy-'))).toBe(true);
    expect(existsSync(dir.path)).toBe(true);
    dir.remove();
    expect(existsSync(dir.path)).toBe(false);
    dir.remove();
    rmSync(root, { recursive: true, force: true });
  });
});

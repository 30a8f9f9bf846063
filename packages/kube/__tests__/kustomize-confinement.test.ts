import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { MemoryLogger, ProcessCommandRunner } from '@dreamscape/core';
import { resolveKubectl } from '@dreamscape/testkit';
import {
  checkKustomizationTree,
  CONFINEMENT_LIMITS,
  Kubectl,
  remoteTarget,
  renderOverlay,
} from '../src/index.js';

let kubectlPath: string;
beforeAll(async () => {
  kubectlPath = await resolveKubectl();
});

function kubectl(): Kubectl {
  const logger = new MemoryLogger();
  return new Kubectl({
    runner: new ProcessCommandRunner({ logger }),
    logger,
    kubectlPath,
    cacheDir: mkdtempSync(join(tmpdir(), 'kube-confine-')),
  });
}

const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n';

/** A temporary directory holding `files` (path → content). */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kube-confine-ws-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** A git repository outside every workspace whose `base/` is a valid kustomization. */
function gitRepo(): string {
  const dir = tree({ 'base/kustomization.yaml': 'resources: [cm.yaml]\n', 'base/cm.yaml': CM });
  const git = (...args: string[]): void => {
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: dir });
  };
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-qm', 'base');
  return dir;
}

describe('remoteTarget: what kustomize would fetch', () => {
  it.each([
    ['http://127.0.0.1:9/cm.yaml', { host: '127.0.0.1', scheme: 'http' }],
    ['HTTPS://User@Example.COM:443/x.yaml', { host: 'example.com', scheme: 'https' }],
    ['github.com/org/repo//base?ref=v1', { host: 'github.com', scheme: 'https' }],
    ['gitlab.example.com/org/repo.git/base', { host: 'gitlab.example.com', scheme: 'https' }],
    ['git@github.com:org/repo.git//base', { host: 'github.com', scheme: 'ssh' }],
    ['ssh://git@[::1]:22/org/repo', { host: '::1', scheme: 'ssh' }],
    ['git::https://127.0.0.1:9/org/repo', { host: '127.0.0.1', scheme: 'https' }],
    ['gh:org/repo', { host: 'github.com', scheme: 'https' }],
    ['file:///srv/repo//base', { host: '', scheme: 'file' }],
  ])('%s is remote', (value, expected) => {
    expect(remoteTarget(value, () => false)).toEqual(expected);
  });

  it.each(['../base', 'deployment.yaml', './k8s.d/base', '/abs/path', 'base/v1.2/app'])(
    '%s is a local path',
    (value) => {
      expect(remoteTarget(value, () => true)).toBeUndefined();
    },
  );

  it('a host-like path is local when it exists and carries no repository marker', () => {
    expect(remoteTarget('k8s.d/base', () => true)).toBeUndefined();
    expect(remoteTarget('k8s.d/base', () => false)).toEqual({ host: 'k8s.d', scheme: 'https' });
    expect(remoteTarget('k8s.d/base?ref=main', () => true)).toEqual({ host: 'k8s.d', scheme: 'https' });
  });
});

describe('checkKustomizationTree', () => {
  it('walks every base and component inside the workspace and accepts them', () => {
    const ws = tree({
      'base/kustomization.yaml': 'resources: [cm.yaml]\n',
      'base/cm.yaml': CM,
      'comp/kustomization.yaml': 'kind: Component\npatches: [{path: p.yaml}]\n',
      'comp/p.yaml': CM,
      'overlay/kustomization.yaml':
        'resources: [../base]\ncomponents: [../comp]\nconfigMapGenerator:\n  - name: c\n    files: [k=conf.txt]\n',
      'overlay/conf.txt': 'x',
    });
    const found = checkKustomizationTree(join(ws, 'overlay'), { workspace: ws });
    expect(found.kustomizations.map((d) => d.slice(d.lastIndexOf('/') + 1))).toEqual([
      'overlay',
      'base',
      'comp',
    ]);
    expect(found.remote).toEqual([]);
  });

  it('keeps a remote target whose host is allowed, and still refuses every other host', () => {
    const ws = tree({
      'o/kustomization.yaml': 'resources:\n  - https://github.com/org/repo//base?ref=v1\n',
    });
    expect(
      checkKustomizationTree(join(ws, 'o'), { workspace: ws, allowRemoteHosts: ['GitHub.com'] }).remote,
    ).toEqual(['https://github.com/org/repo//base?ref=v1']);
    expect(() =>
      checkKustomizationTree(join(ws, 'o'), { workspace: ws, allowRemoteHosts: ['gitlab.com'] }),
    ).toThrow(
      /'overlay': o\/kustomization.yaml: resources\[0\] entry .* on host github.com.*'allow-remote-hosts'/,
    );
  });

  it('a base that includes itself through a link ends (kustomize reports the cycle)', () => {
    const ws = tree({ 'o/kustomization.yaml': 'resources: [self]\n' });
    symlinkSync('.', join(ws, 'o', 'self'));
    expect(checkKustomizationTree(join(ws, 'o'), { workspace: ws }).kustomizations).toHaveLength(1);
  });

  it(`gives up after ${CONFINEMENT_LIMITS.kustomizations} kustomizations instead of walking on`, () => {
    const files: Record<string, string> = {};
    for (let i = 0; i <= CONFINEMENT_LIMITS.kustomizations; i++)
      files[`k${i}/kustomization.yaml`] = `resources: [../k${i + 1}]\n`;
    const ws = tree(files);
    expect(() => checkKustomizationTree(join(ws, 'k0'), { workspace: ws })).toThrow(
      `'overlay': it reaches more than ${CONFINEMENT_LIMITS.kustomizations} kustomizations.`,
    );
  });

  it('refuses a kustomization file larger than the limit', () => {
    const ws = tree({
      'o/kustomization.yaml': `resources: []\n#${'x'.repeat(CONFINEMENT_LIMITS.fileBytes)}\n`,
    });
    expect(() => checkKustomizationTree(join(ws, 'o'), { workspace: ws })).toThrow(/bytes, more than/);
  });
});

describe('renderOverlay confinement', () => {
  it('refuses a file:// repository before kustomize runs, naming the input', async () => {
    const repo = gitRepo();
    const ws = tree({ 'o/kustomization.yaml': `resources:\n  - file://${repo}//base?ref=main\n` });
    await expect(
      renderOverlay({ overlayDir: join(ws, 'o'), kubectl: kubectl(), workspace: ws }),
    ).rejects.toThrow(/'overlay': o\/kustomization.yaml: resources\[0\] entry .* is a file:\/\/ repository/);
  });

  it('renders offline by default: git refuses every transport even when the walk is bypassed', async () => {
    const repo = gitRepo();
    const ws = tree({ 'o/kustomization.yaml': `resources:\n  - file://${repo}//base?ref=main\n` });
    // The same kubectl, told it may go online, does fetch: the refusal below is the environment's.
    await expect(kubectl().kustomize(join(ws, 'o'), { offline: false })).resolves.toContain('name: app');
    await expect(kubectl().kustomize(join(ws, 'o'))).rejects.toThrow(/transport 'file' not allowed/);
  });
});

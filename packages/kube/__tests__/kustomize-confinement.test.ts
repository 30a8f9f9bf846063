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

describe('checkKustomizationTree refuses what it cannot read instead of skipping it', () => {
  const outside = '../../../../../../../../../../../../etc';

  it.each([
    ['a repeated key (kustomize takes the last)', `resources: []\nresources: [${outside}]\n`],
    ['an unknown local tag', `resources: !x\n  - ${outside}\n`],
  ])('a kustomization with %s, naming the input and the file', (_, text) => {
    const ws = tree({ 'o/kustomization.yaml': 'resources: [../b]\n', 'b/kustomization.yaml': text });
    expect(() => checkKustomizationTree(join(ws, 'o'), { workspace: ws })).toThrow(
      /^'overlay': b\/kustomization.yaml is not YAML the confinement check can read \(.*\); it is refused/,
    );
  });

  it('a kustomization whose first document is not a mapping', () => {
    const ws = tree({ 'o/kustomization.yaml': `- resources: [${outside}]\n` });
    expect(() => checkKustomizationTree(join(ws, 'o'), { workspace: ws })).toThrow(
      "'overlay': o/kustomization.yaml is not a mapping (its first document is a list).",
    );
    const empty = tree({ 'o/kustomization.yaml': `---\n---\nresources: [${outside}]\n` });
    expect(() => checkKustomizationTree(join(empty, 'o'), { workspace: empty })).toThrow(
      /o\/kustomization.yaml is not a mapping \(its first document is empty\)/,
    );
  });

  it('a generator configuration file, and an inline one, that do not parse', () => {
    const ws = tree({
      'o/kustomization.yaml': 'generators: [gen.yaml]\n',
      'o/gen.yaml': `kind: ConfigMapGenerator\nfiles: []\nfiles: [${outside}/hosts]\n`,
    });
    expect(() => checkKustomizationTree(join(ws, 'o'), { workspace: ws })).toThrow(
      /'overlay': o\/kustomization.yaml: generators\[0\] entry "gen.yaml" \(o\/gen.yaml\) is not YAML .*duplicated mapping key/,
    );
    const inline = tree({
      'o/kustomization.yaml': `transformers:\n  - |\n    kind: PatchTransformer\n    path: !x ${outside}/hosts\n`,
    });
    expect(() => checkKustomizationTree(join(inline, 'o'), { workspace: inline })).toThrow(
      /'overlay': o\/kustomization.yaml: transformers\[0\] is not YAML the confinement check can read/,
    );
  });

  it('follows a `<<` merge key as kustomize does', () => {
    const ws = tree({ 'o/kustomization.yaml': `x: &b\n  resources: [${outside}]\n<<: *b\n` });
    expect(() => checkKustomizationTree(join(ws, 'o'), { workspace: ws })).toThrow(
      /o\/kustomization.yaml: resources\[0\] entry .* outside the workspace/,
    );
  });

  it('an empty kustomization is read as one with nothing in it', () => {
    const ws = tree({ 'o/kustomization.yaml': '# nothing yet\n' });
    expect(checkKustomizationTree(join(ws, 'o'), { workspace: ws }).kustomizations).toHaveLength(1);
  });
});

describe('a repository spec is remote even when the same path exists in the workspace', () => {
  it.each([
    'github.com/org/repo',
    'GitHub.com/org/repo/base',
    'gitlab.example.com/org/repo',
    '127.0.0.1/org/repo',
  ])('%s', (value) => {
    expect(remoteTarget(value, () => true)).toMatchObject({ scheme: 'https' });
  });

  it('refuses github.com/org/repo when a directory of that name is in the workspace', () => {
    const ws = tree({
      'o/kustomization.yaml': 'resources: [github.com/org/repo]\n',
      'o/github.com/org/repo/kustomization.yaml': 'resources: []\n',
    });
    expect(() => checkKustomizationTree(join(ws, 'o'), { workspace: ws })).toThrow(
      /'overlay': o\/kustomization.yaml: resources\[0\] entry "github.com\/org\/repo" is a remote target on host github.com/,
    );
  });
});

describe('untrusted text in confinement messages and logs', () => {
  it('an entry is quoted and cut in an error: a newline cannot start a workflow command', () => {
    const ws = tree({
      'o/kustomization.yaml': `resources:\n  - "http://127.0.0.1:9/x\\n::warning::injected${'y'.repeat(5000)}"\n`,
    });
    let message = '';
    try {
      checkKustomizationTree(join(ws, 'o'), { workspace: ws });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('entry "http://127.0.0.1:9/x\\n::warning::injected');
    expect(message).not.toContain('\n');
    expect(message.length).toBeLessThan(600);
  });

  it('logs allowed remote targets quoted, one line', async () => {
    const ws = tree({
      'o/kustomization.yaml': 'resources:\n  - "http://127.0.0.1:9/x?a=1\\n::warning::injected"\n',
    });
    const logger = new MemoryLogger();
    await expect(
      renderOverlay({
        overlayDir: join(ws, 'o'),
        kubectl: kubectl(),
        workspace: ws,
        allowRemoteHosts: ['127.0.0.1'],
        renderer: 'kustomize',
        runner: new ProcessCommandRunner({ logger }),
        path: '',
        logger,
      }),
    ).rejects.toThrow(/no kustomize on PATH/);
    expect(logger.text()).toContain(
      'Remote targets fetched from allowed hosts: "http://127.0.0.1:9/x?a=1\\n::warning::injected".',
    );
    expect(logger.text()).not.toContain('\n::warning::');
  });
});

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MemoryLogger, ProcessCommandRunner } from '@dreamscape/core';
import type { DistCheck } from '../dist-check.js';
import type { ReleaseEnvironment } from '../release-run.js';

/** The action folders of the fake monorepo, as in the real one. */
export const ACTIONS = ['action-build', 'action-changes', 'action-deploy', 'action-rollback', 'action-scan'];

/** The date every release of these tests is made on. */
export const TODAY = new Date('2025-06-01T12:00:00Z');

export const UNRELEASED = `# Changelog

All notable changes to this project are documented in this file. The format is based on
[Keep a Changelog](https://keepachangelog.com/en/1.1.0/), and this project adheres to
[Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]

### Added

- action-build builds images.

[Unreleased]: https://github.com/dreamscape/actions/commits/main
`;

/**
 * The fake monorepo's bundler, with the real one's `--check` contract: an action's bundle is a copy
 * of its src/index.ts; `--check` prints one line per action and exits 1 when a committed
 * dist/index.js differs from that. Without `--check` it refuses (a release must only check).
 */
const BUNDLE_SCRIPT = `import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!process.argv.includes('--check')) {
  console.error('this stand-in bundler only checks');
  process.exit(2);
}
let stale = 0;
for (const action of readdirSync(root).filter((d) => d.startsWith('action-')).sort()) {
  const fresh = readFileSync(join(root, action, 'src', 'index.ts'), 'utf8');
  const committed = readFileSync(join(root, action, 'dist', 'index.js'), 'utf8');
  if (fresh === committed) console.log('✓ ' + action + '/dist matches a fresh bundle');
  else {
    stale++;
    console.error('✗ ' + action + '/dist differs from a fresh bundle: run npm run bundle and commit ' + action + '/dist.');
  }
}
process.exit(stale > 0 ? 1 : 0);
`;

/**
 * A temporary `origin` (bare) and a clone of it holding a small monorepo with the real layout: five
 * action folders with sources and a committed dist/, a shared package, reusable and starter
 * workflows, and CHANGELOG.md; main pushed. Git runs with a configuration of its own (no global or
 * system file), so the tests never depend on the machine's.
 */
export class FakeMonorepo {
  readonly root: string;
  readonly origin: string;
  readonly clone: string;
  readonly env: Record<string, string | undefined>;
  readonly logger = new MemoryLogger();

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), 'ds-cut-release-'));
    this.origin = join(this.root, 'origin.git');
    this.clone = join(this.root, 'work');
    const config = join(this.root, 'gitconfig');
    writeFileSync(
      config,
      [
        '[user]',
        '  name = Release Tester',
        '  email = release@example.invalid',
        '[init]',
        '  defaultBranch = main',
        '[commit]',
        '  gpgSign = false',
        '[tag]',
        '  gpgSign = false',
        '',
      ].join('\n'),
    );
    const env: Record<string, string | undefined> = { ...process.env };
    for (const key of Object.keys(env)) if (key.startsWith('GIT_')) env[key] = undefined;
    this.env = { ...env, GIT_CONFIG_GLOBAL: config, GIT_CONFIG_NOSYSTEM: '1' };
    this.git(this.root, 'init', '--quiet', '--bare', this.origin);
    this.git(this.root, 'clone', '--quiet', this.origin, this.clone);
    const files: Record<string, string> = {
      'CHANGELOG.md': UNRELEASED,
      'package.json': '{"private":true}\n',
    };
    for (const action of ACTIONS) {
      files[`${action}/action.yml`] = `name: ${action}\nruns:\n  using: node24\n  main: dist/index.js\n`;
      files[`${action}/src/index.ts`] = `export const name = '${action}';\n`;
      files[`${action}/dist/index.js`] = `export const name = '${action}';\n`;
    }
    files['packages/core/src/index.ts'] = 'export const core = 1;\n';
    files['scripts/bundle.mjs'] = BUNDLE_SCRIPT;
    files['.github/workflows/deploy.yml'] = 'on: workflow_call\n';
    files['workflows/pipeline.yml'] = 'on: push\n';
    this.commit(files, 'Initial layout');
    this.git(this.clone, 'push', '--quiet', 'origin', 'main');
  }

  /** Runs git in `cwd` and returns its trimmed stdout. */
  git(cwd: string, ...args: string[]): string {
    return execFileSync('git', args, {
      cwd,
      env: this.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  }

  /** Writes `files` into the clone and commits them; returns the short sha. */
  commit(files: Readonly<Record<string, string>>, message: string, cwd = this.clone): string {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(cwd, path)), { recursive: true });
      writeFileSync(join(cwd, path), text);
    }
    this.git(cwd, 'add', '--all');
    this.git(cwd, 'commit', '--quiet', '--message', message);
    return this.git(cwd, 'rev-parse', '--short=7', 'HEAD');
  }

  /** Commits in the clone and pushes main. */
  commitAndPush(files: Readonly<Record<string, string>>, message: string): string {
    const sha = this.commit(files, message);
    this.git(this.clone, 'push', '--quiet', 'origin', 'main');
    return sha;
  }

  /** Refs of the bare origin: full name → object id, peeled tags as `<tag>^{}`. */
  originRefs(): Record<string, string> {
    return refsOf(this.git(this.origin, 'show-ref', '--dereference'));
  }

  /** The commit a ref of origin leads to. */
  originCommit(ref: string): string {
    return this.git(this.origin, 'rev-parse', `${ref}^{commit}`);
  }

  /** Everything a release could write: origin's refs, the clone's refs, HEAD, status and CHANGELOG.md. */
  snapshot(): Record<string, unknown> {
    return {
      origin: this.originRefs(),
      clone: refsOf(this.git(this.clone, 'show-ref', '--dereference')),
      head: this.git(this.clone, 'rev-parse', 'HEAD'),
      status: this.git(this.clone, 'status', '--porcelain=v1', '--untracked-files=all'),
      changelog: readFileSync(join(this.clone, 'CHANGELOG.md'), 'utf8'),
    };
  }

  /** The release environment for the clone, with `checkDist` (fresh by default) and a temp notes file. */
  environment(
    o: { checkDist?: DistCheck; dryRun?: boolean } = {},
  ): ReleaseEnvironment & { notesFile: string } {
    return {
      repo: this.clone,
      remote: 'origin',
      runner: new ProcessCommandRunner({ logger: this.logger, baseEnv: this.env }),
      logger: this.logger,
      checkDist: o.checkDist ?? freshDist,
      now: () => TODAY,
      notesFile: join(this.root, 'notes.md'),
      ...(o.dryRun === undefined ? {} : { dryRun: o.dryRun }),
    };
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A dist check that finds every bundle fresh. */
export const freshDist: DistCheck = () => Promise.resolve({ fresh: true, report: '✓ every dist matches' });

/** A dist check that finds action-deploy's bundle stale, as scripts/bundle.mjs --check reports it. */
export const staleDist: DistCheck = () =>
  Promise.resolve({
    fresh: false,
    report:
      '✗ action-deploy/dist differs from a fresh bundle: run `npm run bundle` and commit action-deploy/dist.',
  });

function refsOf(showRef: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of showRef.split('\n').filter((l) => l !== '')) {
    const [sha = '', ref = ''] = line.split(' ');
    out[ref] = sha;
  }
  return out;
}

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ActionError } from '@dreamscape/core';
import { parseReleaseArguments } from '../cli.js';
import { FakeMonorepo } from './support.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('parseReleaseArguments', () => {
  it('reads a version, a bump or a tag to verify, with defaults for the rest', () => {
    expect(parseReleaseArguments(['v1.2.3'], '/here')).toEqual({
      action: { kind: 'cut', request: { kind: 'exact', text: 'v1.2.3' } },
      repo: '/here',
      remote: 'origin',
      dryRun: false,
      notesFile: undefined,
    });
    expect(
      parseReleaseArguments(
        ['--bump', 'minor', '--repo', '/r', '--remote', 'up', '--dry-run', '--notes-file', '/n.md'],
        '/here',
      ),
    ).toEqual({
      action: { kind: 'cut', request: { kind: 'bump', level: 'minor' } },
      repo: '/r',
      remote: 'up',
      dryRun: true,
      notesFile: '/n.md',
    });
    expect(parseReleaseArguments(['--verify', 'v1.2.3'], '/here').action).toEqual({
      kind: 'verify',
      tag: 'v1.2.3',
    });
  });

  it('takes what follows -- as the version, even when it looks like an option', () => {
    expect(parseReleaseArguments(['--', '--dry-run'], '/here')).toMatchObject({
      action: { kind: 'cut', request: { kind: 'exact', text: '--dry-run' } },
      dryRun: false,
    });
  });

  it.each([
    [[], /exactly one of <version>, --bump major\|minor\|patch or --verify <tag>/],
    [['1.2.3', '--bump', 'patch'], /"1\.2\.3, patch": more than one given/],
    [['1.2.3', '1.2.4'], /Input 'version' has an invalid value "1\.2\.3 1\.2\.4": more than one given/],
    [['--bump', 'huge'], /Input '--bump' has an invalid value "huge"\. Accepted: major, minor, patch\./],
    [['--bump'], /Option '--bump <value>' argument missing/],
    [['1.2.3', '--force'], /Unknown option '--force'/],
    [['1.2.3', '--remote', ''], /Input '--remote' is required/],
  ])('refuses %j naming what is accepted', (argv, message) => {
    expect(() => parseReleaseArguments(argv, '/here')).toThrow(ActionError);
    expect(() => parseReleaseArguments(argv, '/here')).toThrow(message);
  });
});

describe('npm run release (scripts/release.ts, in a child process)', () => {
  let repo: FakeMonorepo;
  beforeEach(() => {
    repo = new FakeMonorepo();
  });
  afterEach(() => {
    repo.remove();
  });

  function cli(...args: string[]) {
    const r = spawnSync(
      process.execPath,
      ['--import', './scripts/ts-register.mjs', 'scripts/release.ts', ...args],
      {
        cwd: root,
        env: repo.env,
        encoding: 'utf8',
      },
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it("releases with the repository's own dist check, and prints what it pushed and where the notes are", () => {
    const notes = join(repo.root, 'notes.md');
    const r = cli('--bump', 'minor', '--repo', repo.clone, '--notes-file', notes);

    expect(r).toMatchObject({ status: 0 });
    const commit = repo.originCommit('refs/heads/main');
    expect(r.stdout).toBe(
      `v1.0.0 released at ${commit}; pushed main, v1.0.0, v1.\nRelease notes: ${notes}\n`,
    );
    expect(repo.originCommit('refs/tags/v1.0.0')).toBe(commit);
    expect(repo.originCommit('refs/tags/v1')).toBe(commit);
    expect(readFileSync(notes, 'utf8')).toContain('## Changes per action');
  });

  it('refuses a stale dist/ as scripts/bundle.mjs --check reports it, and pushes nothing', () => {
    // A source change committed without its bundle.
    repo.commitAndPush(
      { 'action-build/src/index.ts': 'export const name = 2;\n' },
      'action-build: forgot the bundle',
    );
    const before = repo.snapshot();

    const r = cli('1.0.0', '--repo', repo.clone, '--notes-file', join(repo.root, 'notes.md'));

    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("An action's committed dist/ differs from a fresh bundle of its sources");
    expect(r.stderr).toContain('✗ action-build/dist differs from a fresh bundle');
    expect(r.stderr).toContain('✓ action-scan/dist matches a fresh bundle');
    expect(r.stderr).toContain('Hint: Run `npm run bundle`');
    expect(repo.snapshot()).toEqual(before);
    expect(existsSync(join(repo.root, 'notes.md'))).toBe(false);
  });

  it('refuses a version that is not MAJOR.MINOR.PATCH before touching anything', () => {
    const before = repo.snapshot();
    const r = cli('--repo', repo.clone, '--', '1.2');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^The version "1\.2" is not a release version\. Accepted: MAJOR\.MINOR\.PATCH/);
    expect(repo.snapshot()).toEqual(before);
  });

  it('a dry run prints the notes and writes nothing', () => {
    const before = repo.snapshot();
    const r = cli('--bump', 'patch', '--repo', repo.clone, '--dry-run');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^v1\.0\.0 \(dry run\): nothing was written\. Release notes:\n\n### Added\n/);
    expect(r.stderr).toContain('  - push main, v1.0.0 and v1 to origin in one atomic push');
    expect(repo.snapshot()).toEqual(before);
    expect(existsSync(join(repo.root, 'notes.md'))).toBe(false);
  });
});

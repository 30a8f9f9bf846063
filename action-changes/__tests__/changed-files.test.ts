import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger, ProcessCommandRunner } from '@dreamscape/core';
import { listChangedFiles } from '../src/changed-files.js';
import { exampleRepo, type GitRepo } from './support/git-repo.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function repo(): GitRepo {
  const r = exampleRepo();
  cleanup.push(() => {
    r.remove();
  });
  return r;
}

function list(cwd: string, base: string, head: string, logger = new MemoryLogger()) {
  return listChangedFiles({ runner: new ProcessCommandRunner({ logger }), logger, cwd, base, head });
}

/** A shallow clone (depth 1) of `source` through file://, as actions/checkout makes by default. */
function shallowClone(source: GitRepo, branch = 'main'): string {
  const dir = mkdtempSync(join(tmpdir(), 'ds-changes-clone-'));
  cleanup.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  // GitHub serves any reachable commit by SHA; a local repository needs to be told to.
  source.git('config', 'uploadpack.allowReachableSHA1InWant', 'true');
  execFileSync('git', ['clone', '-q', '--depth=1', '--branch', branch, `file://${source.dir}`, dir]);
  return dir;
}

describe('listChangedFiles', () => {
  it('lists the files a range of commits changed, deletions and both names of a rename included', async () => {
    const r = repo();
    const base = r.head();
    r.commit({ 'services/auth/src/server.js': '// changed\n' });
    r.git('mv', 'services/user/src/server.js', 'services/user/src/main.js');
    r.commit({ 'services/ai/package-lock.json': null }, 'rename and delete');
    const result = await list(r.dir, base, 'HEAD');
    expect(result.kind).toBe('files');
    if (result.kind !== 'files') return;
    expect([...result.files].sort()).toEqual([
      'services/ai/package-lock.json',
      'services/auth/src/server.js',
      'services/user/src/main.js',
      'services/user/src/server.js',
    ]);
    expect(result).toMatchObject({ from: base, head: r.head(), mergeBase: true });
  });

  it('starts at the merge base, so what the base branch gained meanwhile does not count', async () => {
    const r = repo();
    const fork = r.head();
    r.git('checkout', '-q', '-b', 'feature');
    r.commit({ 'services/voyage/src/server.js': '// feature\n' });
    r.git('checkout', '-q', 'main');
    r.commit({ 'services/payment/src/server.js': '// on main meanwhile\n' });
    const mainHead = r.head();
    const result = await list(r.dir, mainHead, 'feature');
    expect(result).toMatchObject({
      kind: 'files',
      files: ['services/voyage/src/server.js'],
      from: fork,
      mergeBase: true,
    });
  });

  it('fetches a base commit a shallow clone lacks, and compares from it', async () => {
    const r = repo();
    const base = r.head();
    r.commit({ 'services/gateway/src/server.js': '// one\n' });
    const head = r.commit({ 'services/gateway/Dockerfile': 'FROM scratch\n' });
    const clone = shallowClone(r);
    const logger = new MemoryLogger();
    const result = await list(clone, base, head, logger);
    expect(logger.text()).toContain(`${base} is not in the clone; fetching it.`);
    // Depth 1 on both sides: no shared history, so the diff runs from the base itself.
    expect(result).toMatchObject({ kind: 'files', from: base, head, mergeBase: false });
    if (result.kind === 'files')
      expect([...result.files].sort()).toEqual([
        'services/gateway/Dockerfile',
        'services/gateway/src/server.js',
      ]);
  });

  it('says why when the base cannot be had', async () => {
    const r = repo();
    const clone = shallowClone(r);
    const missing = 'f'.repeat(40);
    const logger = new MemoryLogger();
    const result = await list(clone, missing, 'HEAD', logger);
    expect(result).toEqual({
      kind: 'unavailable',
      why: `the base ${missing} is not in the clone and could not be fetched`,
    });
    expect(
      logger.entries.some((e) => e.level === 'warning' && e.message.startsWith(`Could not fetch ${missing}`)),
    ).toBe(true);
  }, 60_000);

  it('says so outside a git checkout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-changes-nogit-'));
    cleanup.push(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const result = await list(dir, 'HEAD~1', 'HEAD');
    expect(result.kind).toBe('unavailable');
    expect(result.kind === 'unavailable' ? result.why : '').toMatch(/is not a git checkout/);
  });
});

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateString, triggers, type ExpressionContexts, type Step } from '../src/index.js';
import { workflowFile } from './support.js';

// release.yml cuts a release by hand or verifies a pushed tag, then publishes the GitHub release.
// Its scripts are run here as the runner runs them, with stand-ins for node and gh that record
// the arguments they were given.

const release = workflowFile('.github/workflows/release.yml');
const job = release.doc.jobs?.release;
const step = (name: string): Step => {
  const found = (job?.steps ?? []).find((s) => s.name === name);
  if (found === undefined) throw new Error(`release.yml has no step '${name}'`);
  return found;
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ds-release-workflow-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A program on PATH that appends each argument it gets, one per line, to `<dir>/<name>.args`. */
function standIn(name: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, name),
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >> "${dir}/${name}.args"\n`,
  );
  chmodSync(join(bin, name), 0o755);
  return bin;
}

/** Runs a step's script as the runner does (bash -e -o pipefail), its env evaluated in `contexts`. */
function runStep(s: Step, contexts: ExpressionContexts, cwd: string, bin: string): Record<string, string> {
  const output = join(dir, 'github-output');
  writeFileSync(output, '');
  const env = Object.fromEntries(
    Object.entries(s.env ?? {}).map(([k, v]) => [k, evaluateString(v, contexts)]),
  );
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', s.run ?? ''], {
    cwd,
    env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: dir, GITHUB_OUTPUT: output, ...env },
    encoding: 'utf8',
  });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  return Object.fromEntries(
    readFileSync(output, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const args = (name: string): string[] =>
  readFileSync(join(dir, `${name}.args`), 'utf8')
    .trimEnd()
    .split('\n');

/** A clone whose HEAD carries the tags a cut release leaves: vX.Y.Z and the major tag. */
function releasedClone(): string {
  const repo = join(dir, 'repo');
  const env = {
    ...process.env,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'a',
    GIT_AUTHOR_EMAIL: 'a@example.invalid',
    GIT_COMMITTER_NAME: 'a',
    GIT_COMMITTER_EMAIL: 'a@example.invalid',
  };
  const git = (...a: string[]) => execFileSync('git', a, { cwd: repo, env, stdio: 'ignore' });
  mkdirSync(repo);
  git('init', '--quiet');
  git('commit', '--quiet', '--allow-empty', '--message', 'Release v1.3.0');
  git('tag', '--annotate', '--message', 'Release v1.3.0', 'v1.3.0');
  git('tag', '--annotate', '--message', 'v1', 'v1');
  return repo;
}

describe('release.yml', () => {
  it('starts by hand with a version or a bump, and on a pushed vX.Y.Z tag', () => {
    const on = triggers(release.doc) as {
      workflow_dispatch?: { inputs?: Record<string, { type?: string; options?: string[] }> };
      push?: { tags?: string[]; branches?: unknown };
    };
    expect(on.workflow_dispatch?.inputs?.version?.type).toBe('string');
    expect(on.workflow_dispatch?.inputs?.bump).toMatchObject({
      type: 'choice',
      options: ['patch', 'minor', 'major'],
    });
    expect(on.push).toEqual({ tags: ['v*.*.*'] });
  });

  it('grants nothing at the top and contents: write to its one job', () => {
    expect(release.doc.permissions).toEqual({});
    expect(Object.keys(release.doc.jobs ?? {})).toEqual(['release']);
    expect(job?.permissions).toEqual({ contents: 'write' });
  });

  it('cuts on workflow_dispatch only and verifies on tag pushes only', () => {
    const ifOf = (name: string, event: string) =>
      evaluateString(`\${{ ${String(step(name).if)} }}`, { github: { event_name: event } });
    expect([ifOf('Cut the release', 'workflow_dispatch'), ifOf('Cut the release', 'push')]).toEqual([
      'true',
      'false',
    ]);
    expect([
      ifOf('Verify the pushed tag', 'push'),
      ifOf('Verify the pushed tag', 'workflow_dispatch'),
    ]).toEqual(['true', 'false']);
  });

  it('hands the version to the script after --, so no input is ever read as an option, and outputs the tag', () => {
    const bin = standIn('node');
    const contexts = { inputs: { version: '--dry-run', bump: 'patch' }, runner: { temp: '/tmp/rt' } };
    const out = runStep(step('Cut the release'), contexts, releasedClone(), bin);
    expect(args('node')).toEqual([
      '--import',
      './scripts/ts-register.mjs',
      'scripts/release.ts',
      '--notes-file',
      '/tmp/rt/release-notes.md',
      '--',
      '--dry-run',
    ]);
    expect(out).toEqual({ tag: 'v1.3.0' });
  });

  it('bumps when no version is given', () => {
    const bin = standIn('node');
    runStep(
      step('Cut the release'),
      { inputs: { version: '', bump: 'minor' }, runner: { temp: '/tmp/rt' } },
      releasedClone(),
      bin,
    );
    expect(args('node').slice(3)).toEqual(['--notes-file', '/tmp/rt/release-notes.md', '--bump', 'minor']);
  });

  it('verifies the pushed tag by name', () => {
    const bin = standIn('node');
    runStep(
      step('Verify the pushed tag'),
      { github: { ref_name: 'v1.2.3' }, runner: { temp: '/tmp/rt' } },
      dir,
      bin,
    );
    expect(args('node').slice(3)).toEqual(['--notes-file', '/tmp/rt/release-notes.md', '--verify', 'v1.2.3']);
  });

  it.each([
    ['a cut release', { tag: 'v1.3.0' }, 'main', 'v1.3.0'],
    ['a pushed tag', {}, 'v1.2.3', 'v1.2.3'],
  ])(
    'publishes %s with gh, the workflow token and the notes the script wrote',
    (_name, cut, refName, tag) => {
      const publish = step('Publish the GitHub release');
      expect(publish.env?.GH_TOKEN).toBe('${{ github.token }}');
      const bin = standIn('gh');
      runStep(
        publish,
        {
          steps: { cut: { outputs: cut } },
          github: { ref_name: refName, token: 'ghs_x', repository: 'dreamscape/actions' },
          runner: { temp: '/tmp/rt' },
        },
        dir,
        bin,
      );
      expect(args('gh')).toEqual([
        'release',
        'create',
        tag,
        '--title',
        tag,
        '--notes-file',
        '/tmp/rt/release-notes.md',
        '--verify-tag',
      ]);
    },
  );
});

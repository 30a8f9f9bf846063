import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRunner } from '@dreamscape/core';
import { cutRelease, type CutReleaseOptions } from '../cut-release.js';
import { ReleaseRefusal, type RefusalReason } from '../release-errors.js';
import type { VersionRequest } from '../semver.js';
import { FakeMonorepo, staleDist } from './support.js';

let repo: FakeMonorepo;
beforeEach(() => {
  repo = new FakeMonorepo();
});
afterEach(() => {
  repo.remove();
});

const exact = (text: string): VersionRequest => ({ kind: 'exact', text });
const bump = (level: 'major' | 'minor' | 'patch'): VersionRequest => ({ kind: 'bump', level });

function release(request: VersionRequest, o: Partial<CutReleaseOptions> = {}) {
  return cutRelease({ ...repo.environment(), request, ...o });
}

/** Writes new Unreleased notes and pushes them, as a merged pull request would. */
function addNotes(line: string): void {
  const text = readFileSync(join(repo.clone, 'CHANGELOG.md'), 'utf8');
  repo.commitAndPush(
    { 'CHANGELOG.md': text.replace('## [Unreleased]\n', `## [Unreleased]\n\n### Fixed\n\n- ${line}\n`) },
    `Notes: ${line}`,
  );
}

describe('cutRelease', () => {
  it('makes the first release 1.0.0: tags v1.0.0 and v1 at a release commit and pushes main and both tags', async () => {
    const before = repo.originCommit('refs/heads/main');
    const outcome = await release(bump('minor'));

    expect(outcome.tag).toBe('v1.0.0');
    const refs = repo.originRefs();
    const commit = refs['refs/heads/main']!;
    expect(commit).toBe(outcome.commit);
    expect(repo.git(repo.origin, 'rev-parse', `${commit}^`)).toBe(before);
    expect(repo.git(repo.origin, 'log', '-1', '--format=%s', commit)).toBe('Release v1.0.0');
    expect(refs['refs/tags/v1.0.0^{}']).toBe(commit);
    expect(refs['refs/tags/v1^{}']).toBe(commit);
    expect(repo.git(repo.origin, 'cat-file', '-t', 'refs/tags/v1.0.0')).toBe('tag');
    expect(repo.git(repo.origin, 'cat-file', '-t', 'refs/tags/v1')).toBe('tag');
    expect(
      Object.keys(refs)
        .filter((r) => r.startsWith('refs/tags/') && !r.endsWith('^{}'))
        .sort(),
    ).toEqual(['refs/tags/v1', 'refs/tags/v1.0.0']);

    const changelog = repo.git(repo.origin, 'show', `${commit}:CHANGELOG.md`);
    expect(changelog).toContain(
      '## [Unreleased]\n\n## [1.0.0] - 2025-06-01\n\n### Added\n\n- action-build builds images.\n\n[Unreleased]: https://github.com/dreamscape/actions/compare/v1.0.0...HEAD\n[1.0.0]: https://github.com/dreamscape/actions/releases/tag/v1.0.0',
    );
    expect(repo.git(repo.clone, 'status', '--porcelain')).toBe('');
    expect(repo.git(repo.clone, 'rev-parse', 'HEAD')).toBe(commit);
    expect(outcome.notesFile).toBe(join(repo.root, 'notes.md'));
    expect(readFileSync(outcome.notesFile!, 'utf8')).toBe(outcome.notes);
    expect(outcome.notes).toMatch(/^### Added\n\n- action-build builds images\.\n\n## Changes per action\n/);
  });

  it('a patch release moves v1 to its commit, and v1.0.0 stays where it was', async () => {
    const first = await release(exact('1.0.0'));
    const v100 = repo.originRefs()['refs/tags/v1.0.0'];
    addNotes('action-deploy waits for every port.');

    const second = await release(bump('patch'));

    expect(second.tag).toBe('v1.0.1');
    const refs = repo.originRefs();
    expect(refs['refs/heads/main']).toBe(second.commit);
    expect(refs['refs/tags/v1.0.1^{}']).toBe(second.commit);
    expect(refs['refs/tags/v1^{}']).toBe(second.commit);
    expect(refs['refs/tags/v1.0.0']).toBe(v100);
    expect(refs['refs/tags/v1.0.0^{}']).toBe(first.commit);
    const changelog = repo.git(repo.origin, 'show', 'main:CHANGELOG.md');
    expect(changelog).toContain(
      '## [Unreleased]\n\n## [1.0.1] - 2025-06-01\n\n### Fixed\n\n- action-deploy waits for every port.\n\n## [1.0.0] - 2025-06-01',
    );
    expect(changelog).toContain(
      '[Unreleased]: https://github.com/dreamscape/actions/compare/v1.0.1...HEAD\n[1.0.1]: https://github.com/dreamscape/actions/compare/v1.0.0...v1.0.1\n[1.0.0]: https://github.com/dreamscape/actions/releases/tag/v1.0.0',
    );
  });

  it('a major release creates v2 and leaves v1 at the last 1.x release', async () => {
    const first = await release(exact('v1.0.0'));
    addNotes('a breaking change.');

    const second = await release(bump('major'));

    expect(second.tag).toBe('v2.0.0');
    expect(second.majorTag).toBe('v2');
    const refs = repo.originRefs();
    expect(refs['refs/tags/v2^{}']).toBe(second.commit);
    expect(refs['refs/tags/v2.0.0^{}']).toBe(second.commit);
    expect(refs['refs/tags/v1^{}']).toBe(first.commit);
  });

  it('bumps minor and patch from the last release tag, whatever other tags exist', async () => {
    await release(exact('1.4.2'));
    repo.git(repo.clone, 'tag', 'nightly');
    repo.git(repo.clone, 'push', '--quiet', 'origin', 'nightly');
    addNotes('one.');
    expect((await release(bump('minor'))).tag).toBe('v1.5.0');
    addNotes('two.');
    expect((await release(bump('patch'))).tag).toBe('v1.5.1');
  });

  it("lists each action's commits since the previous release, its dist/ included, and 'no changes' for the others", async () => {
    await release(exact('1.0.0'));
    const build = repo.commitAndPush(
      { 'action-build/src/index.ts': 'export const v = 2;\n' },
      'action-build: a new input',
    );
    const bundle = repo.commitAndPush(
      { 'action-deploy/dist/index.js': 'rebundled\n' },
      'Shared package fix; bundles rebuilt',
    );
    repo.commitAndPush(
      { 'packages/core/src/index.ts': 'export const core = 2;\n' },
      'core: only the package',
    );
    const reusable = repo.commitAndPush(
      { '.github/workflows/deploy.yml': 'on:\n  workflow_call:\n' },
      'deploy.yml: one more input',
    );
    addNotes('action-build takes a new input.');

    const { notes } = await release(bump('patch'));

    expect(notes).toBe(
      [
        '### Fixed',
        '',
        '- action-build takes a new input.',
        '',
        '## Changes per action',
        '',
        'Commits since v1.0.0 that touched each part of the suite.',
        '',
        '### action-build',
        '',
        `- ${build} action-build: a new input`,
        '',
        '### action-changes',
        '',
        'no changes',
        '',
        '### action-deploy',
        '',
        `- ${bundle} Shared package fix; bundles rebuilt`,
        '',
        '### action-rollback',
        '',
        'no changes',
        '',
        '### action-scan',
        '',
        'no changes',
        '',
        '### Reusable workflows (.github/workflows)',
        '',
        `- ${reusable} deploy.yml: one more input`,
        '',
        '### Starter workflows (workflows/)',
        '',
        'no changes',
        '',
      ].join('\n'),
    );
  });

  it('the first release lists every commit up to it', async () => {
    const initial = repo.git(repo.clone, 'rev-parse', '--short=7', 'HEAD');
    const { notes } = await release(exact('1.0.0'));
    expect(notes).toContain('Commits up to v1.0.0 (the first release) that touched each part of the suite.');
    expect(notes).toContain(`### action-scan\n\n- ${initial} Initial layout\n`);
    expect(notes).toContain(`### Starter workflows (workflows/)\n\n- ${initial} Initial layout\n`);
  });

  describe('refuses, writing nothing to the remote or the clone', () => {
    /** name, reason, message, what is done first, then the release asked for. */
    type Case = [string, RefusalReason, RegExp, () => void, VersionRequest, Partial<CutReleaseOptions>?];
    const nothing = (): void => undefined;

    async function expectRefusal(
      reason: RefusalReason,
      message: RegExp,
      request: VersionRequest,
      o?: Partial<CutReleaseOptions>,
    ) {
      const before = repo.snapshot();
      const error = await release(request, o).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ReleaseRefusal);
      expect({
        reason: (error as ReleaseRefusal).reason,
        message: (error as ReleaseRefusal).message,
      }).toEqual({
        reason,
        message: expect.stringMatching(message),
      });
      expect(repo.snapshot()).toEqual(before);
      expect(existsSync(join(repo.root, 'notes.md'))).toBe(false);
    }

    const cases: Case[] = [
      [
        'a stale dist/',
        'stale-dist',
        /action-deploy\/dist differs from a fresh bundle/,
        nothing,
        bump('minor'),
        { checkDist: staleDist },
      ],
      [
        'a changed file',
        'dirty',
        /not clean \(1 changed or untracked file\):\n {2} M action-build\/src\/index\.ts/,
        () => {
          writeFileSync(join(repo.clone, 'action-build/src/index.ts'), 'changed\n');
        },
        bump('minor'),
      ],
      [
        'an untracked file',
        'dirty',
        /\?\? action-scan\/dist\/extra\.js/,
        () => {
          writeFileSync(join(repo.clone, 'action-scan/dist/extra.js'), 'left over\n');
        },
        bump('minor'),
      ],
      [
        'a version that is not MAJOR.MINOR.PATCH',
        'version',
        /"1\.2" is not a release version/,
        nothing,
        exact('1.2'),
      ],
      [
        'a pre-release version',
        'version',
        /"1\.2\.3-rc\.1" is not a release version/,
        nothing,
        exact('1.2.3-rc.1'),
      ],
      ['a leading zero', 'version', /"01\.2\.3" is not a release version/, nothing, exact('01.2.3')],
      [
        'HEAD behind origin/main',
        'not-tip',
        /HEAD \([0-9a-f]{7}\) is not the tip of main on origin \([0-9a-f]{7}\)/,
        () => {
          const other = join(repo.root, 'other');
          repo.git(repo.root, 'clone', '--quiet', repo.origin, other);
          repo.commit({ 'action-scan/src/index.ts': 'newer\n' }, 'Someone else', other);
          repo.git(other, 'push', '--quiet', 'origin', 'main');
        },
        bump('minor'),
      ],
      [
        'HEAD ahead of origin/main',
        'not-tip',
        /is not the tip of main on origin/,
        () => {
          repo.commit({ 'action-scan/src/index.ts': 'local only\n' }, 'Not pushed');
        },
        bump('minor'),
      ],
      [
        'a changelog without an Unreleased section',
        'changelog',
        /CHANGELOG\.md has no ## \[Unreleased\] section/,
        () => {
          repo.commitAndPush({ 'CHANGELOG.md': '# Changelog\n' }, 'No notes');
        },
        bump('minor'),
      ],
      [
        'an Unreleased section with empty headings only',
        'changelog',
        /CHANGELOG\.md has nothing under ## \[Unreleased\]/,
        () => {
          repo.commitAndPush(
            { 'CHANGELOG.md': '# Changelog\n\n## [Unreleased]\n\n### Added\n\n### Fixed\n' },
            'Empty notes',
          );
        },
        bump('minor'),
      ],
    ];

    it.each(cases)(
      '%s', // A rest parameter: jest takes a sixth declared parameter for a `done` callback.
      async (...[, reason, message, setup, request, o]: Case) => {
        setup();
        await expectRefusal(reason, message, request, o);
      },
    );

    describe('after a release', () => {
      beforeEach(async () => {
        await release(exact('1.0.0'));
        rmSync(join(repo.root, 'notes.md'));
      });

      const after: Case[] = [
        [
          'an empty Unreleased section',
          'changelog',
          /nothing under ## \[Unreleased\], so v1\.0\.1/,
          nothing,
          bump('patch'),
        ],
        [
          'a version not greater than the last release',
          'not-greater',
          /The version 0\.9\.0 is not greater than the last release, v1\.0\.0\./,
          () => {
            addNotes('more.');
          },
          exact('0.9.0'),
        ],
        [
          'a tag that exists on the remote',
          'tag-exists',
          /The tag v1\.0\.0 exists already on origin/,
          () => {
            addNotes('more.');
          },
          exact('1.0.0'),
        ],
        [
          'a tag that exists only in the clone',
          'tag-exists',
          /The tag v1\.1\.0 exists already in this clone, though not on origin\./,
          () => {
            addNotes('more.');
            repo.git(repo.clone, 'tag', 'v1.1.0');
          },
          bump('minor'),
        ],
      ];

      it.each(after)(
        '%s', // A rest parameter: jest takes a sixth declared parameter for a `done` callback.
        async (...[, reason, message, setup, request, o]: Case) => {
          setup();
          await expectRefusal(reason, message, request, o);
        },
      );
    });
  });

  it('a dry run checks everything, says what it would do, and writes nothing', async () => {
    const before = repo.snapshot();
    const outcome = await release(bump('patch'), { dryRun: true });
    expect(repo.snapshot()).toEqual(before);
    expect(existsSync(join(repo.root, 'notes.md'))).toBe(false);
    expect(outcome).toMatchObject({
      tag: 'v1.0.0',
      dryRun: true,
      pushed: [],
      commit: undefined,
      notesFile: undefined,
    });
    expect(outcome.notes).toContain('## Changes per action');
    expect(repo.logger.text()).toContain('Dry run: nothing is written. Releasing v1.0.0 would:');
    expect(outcome.steps).toEqual([
      'CHANGELOG.md: the Unreleased notes become ## [1.0.0] - 2025-06-01, under a new empty ## [Unreleased]',
      expect.stringMatching(/^commit "Release v1\.0\.0" on main \(parent [0-9a-f]{7}\)$/),
      'tag v1.0.0 (annotated) at that commit',
      'create the major tag v1 (annotated) at that commit',
      'push main, v1.0.0 and v1 to origin in one atomic push (v1 forced only while origin has it nowhere)',
      `write the release notes to ${join(repo.root, 'notes.md')}`,
    ]);
    await expect(release(bump('patch'), { dryRun: true, checkDist: staleDist })).rejects.toThrow(
      ReleaseRefusal,
    );
  });

  it('pushes atomically: when the remote refuses one ref, it takes none, and the clone is put back', async () => {
    await release(exact('1.0.0'));
    addNotes('more.');
    // The remote refuses any update of v1 (as a protected tag would); main and v1.1.0 alone would be accepted.
    const hook = join(repo.origin, 'hooks', 'update');
    writeFileSync(
      hook,
      '#!/bin/sh\nif [ "$1" = refs/tags/v1 ]; then echo "v1 is protected" >&2; exit 1; fi\n',
    );
    chmodSync(hook, 0o755);
    const before = repo.snapshot();

    const error = await release(bump('minor')).then(
      () => undefined,
      (e: unknown) => e as Error,
    );

    expect(error?.message).toMatch(/^v1\.1\.0 was not released: .*v1 is protected/s);
    expect(error?.message).toContain(
      'Nothing reached origin; the release commit and tags were removed from this clone.',
    );
    expect(repo.snapshot()).toEqual(before);
  });

  it('never overwrites a major tag someone moved on the remote after the release read it', async () => {
    await release(exact('1.0.0'));
    addNotes('more.');
    const other = join(repo.root, 'other');
    const env = repo.environment();
    // Between the release's reads and its push, another release moves v1 on the remote.
    const racing: CommandRunner = {
      run: async (spec) => {
        if (spec.args[0] === 'push') {
          repo.git(repo.root, 'clone', '--quiet', repo.origin, other);
          repo.git(other, 'tag', '--force', '--annotate', '--message', 'moved elsewhere', 'v1', 'HEAD~1');
          repo.git(other, 'push', '--quiet', '--force', 'origin', 'refs/tags/v1');
        }
        return env.runner.run(spec);
      },
    };
    const error = await release(bump('minor'), { runner: racing }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^v1\.1\.0 was not released: .*stale info/s);
    const refs = repo.originRefs();
    expect(refs['refs/tags/v1.1.0']).toBeUndefined();
    expect(repo.git(repo.origin, 'cat-file', '-p', 'refs/tags/v1')).toContain('moved elsewhere');
  });
});

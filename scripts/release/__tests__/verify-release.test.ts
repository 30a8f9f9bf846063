import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cutRelease } from '../cut-release.js';
import { ReleaseRefusal, type RefusalReason } from '../release-errors.js';
import { verifyRelease, type VerifyReleaseOptions } from '../verify-release.js';
import { FakeMonorepo, staleDist } from './support.js';

let repo: FakeMonorepo;
beforeEach(() => {
  repo = new FakeMonorepo();
});
afterEach(() => {
  repo.remove();
});

const notesFile = (): string => join(repo.root, 'notes.md');

function verify(tag: string, o: Partial<VerifyReleaseOptions> = {}) {
  return verifyRelease({ ...repo.environment(), tag, ...o });
}

/** Cuts a release the usual way, after writing its Unreleased notes. */
async function cut(version: string): Promise<string> {
  const text = readFileSync(join(repo.clone, 'CHANGELOG.md'), 'utf8');
  if (!/## \[Unreleased\]\n\n###/.test(text))
    repo.commitAndPush(
      { 'CHANGELOG.md': text.replace('## [Unreleased]\n', '## [Unreleased]\n\n### Fixed\n\n- more.\n') },
      'Notes',
    );
  const outcome = await cutRelease({ ...repo.environment(), request: { kind: 'exact', text: version } });
  rmSync(notesFile());
  return outcome.commit!;
}

/** What a person does by hand: a CHANGELOG section for `version`, pushed to main, then the tag. */
function tagByHand(version: string, o: { push?: 'main' | 'tag-only' } = {}): string {
  const text = readFileSync(join(repo.clone, 'CHANGELOG.md'), 'utf8');
  repo.commit(
    {
      'CHANGELOG.md': text.replace(
        '## [Unreleased]\n',
        `## [Unreleased]\n\n## [${version}] - 2025-05-30\n\n### Fixed\n\n- by hand ${version}.\n`,
      ),
    },
    `Release v${version}`,
  );
  if ((o.push ?? 'main') === 'main') repo.git(repo.clone, 'push', '--quiet', 'origin', 'main');
  repo.git(repo.clone, 'tag', '--annotate', '--message', `v${version}`, `v${version}`);
  repo.git(repo.clone, 'push', '--quiet', 'origin', `refs/tags/v${version}`);
  return repo.git(repo.clone, 'rev-parse', 'HEAD');
}

describe('verifyRelease (a release tag pushed by a person)', () => {
  it('moves the major tag to the tagged commit, pushes nothing else and writes the notes', async () => {
    const first = await cut('1.0.0');
    const tagged = tagByHand('1.1.0');
    const before = repo.originRefs();

    const outcome = await verify('v1.1.0');

    const refs = repo.originRefs();
    expect(refs['refs/tags/v1^{}']).toBe(tagged);
    expect(refs['refs/tags/v1']).not.toBe(before['refs/tags/v1']);
    expect(refs['refs/tags/v1.0.0^{}']).toBe(first);
    expect({ ...refs, 'refs/tags/v1': '', 'refs/tags/v1^{}': '' }).toEqual({
      ...before,
      'refs/tags/v1': '',
      'refs/tags/v1^{}': '',
    });
    expect(outcome).toMatchObject({
      tag: 'v1.1.0',
      majorTag: 'v1',
      majorTagMoved: true,
      pushed: ['refs/tags/v1'],
    });
    expect(readFileSync(notesFile(), 'utf8')).toBe(outcome.notes);
    expect(outcome.notes).toMatch(
      /^### Fixed\n\n- by hand 1\.1\.0\.\n\n## Changes per action\n\nCommits since v1\.0\.0 /,
    );
    expect(repo.git(repo.clone, 'status', '--porcelain')).toBe('');
  });

  it('creates the major tag for the first release of a major version', async () => {
    const tagged = tagByHand('1.0.0');
    await verify('v1.0.0');
    expect(repo.originRefs()['refs/tags/v1^{}']).toBe(tagged);
  });

  it('leaves the major tag at a newer release when the tag is of an older one', async () => {
    await cut('1.0.0');
    const old = tagByHand('1.0.1', { push: 'main' });
    repo.git(repo.origin, 'tag', '--delete', 'v1.0.1');
    repo.git(repo.clone, 'tag', '--delete', 'v1.0.1');
    const newest = await cut('1.1.0');
    // The tag of the older commit arrives after 1.1.0 was released.
    repo.git(repo.clone, 'tag', '--annotate', '--message', 'v1.0.1', 'v1.0.1', old);
    repo.git(repo.clone, 'push', '--quiet', 'origin', 'refs/tags/v1.0.1');
    repo.git(repo.clone, 'checkout', '--quiet', '--detach', 'v1.0.1');
    const before = repo.originRefs();

    const outcome = await verify('v1.0.1');

    expect(repo.originRefs()).toEqual(before);
    expect(before['refs/tags/v1^{}']).toBe(newest);
    expect(outcome).toMatchObject({ majorTagMoved: false, pushed: [] });
    expect(repo.logger.text()).toContain(
      'Not pushed: leave the major tag v1 at v1.1.0, a newer release than v1.0.1.',
    );
    expect(outcome.notes).toContain('Commits since v1.0.0 that touched each part of the suite.');
    expect(existsSync(notesFile())).toBe(true);
  });

  describe('refuses, writing nothing', () => {
    type Case = [string, RefusalReason, RegExp, () => string, Partial<VerifyReleaseOptions>?];
    const cases: Case[] = [
      ['a tag that is not a release tag', 'version', /"v1\.1" is not a release tag/, () => 'v1.1'],
      [
        'a tag the remote does not have',
        'tag-missing',
        /origin has no tag v1\.1\.0\./,
        () => {
          tagByHand('1.1.0');
          repo.git(repo.origin, 'tag', '--delete', 'v1.1.0');
          return 'v1.1.0';
        },
      ],
      [
        'HEAD elsewhere than the tag',
        'not-at-tag',
        /HEAD \([0-9a-f]{7}\) is not the commit v1\.1\.0 names on origin/,
        () => {
          tagByHand('1.1.0');
          repo.commitAndPush({ 'action-scan/src/index.ts': 'later\n' }, 'Later');
          return 'v1.1.0';
        },
      ],
      [
        'a tag on a commit that is not on main',
        'not-on-branch',
        /v1\.1\.0 \([0-9a-f]{7}\) is not on main of origin/,
        () => {
          tagByHand('1.1.0', { push: 'tag-only' });
          return 'v1.1.0';
        },
      ],
      [
        'a changelog without the version',
        'changelog',
        /CHANGELOG\.md at v1\.1\.0 has no ## \[1\.1\.0\] section with notes/,
        () => {
          repo.commitAndPush({ 'action-scan/src/index.ts': 'x\n' }, 'No notes');
          repo.git(repo.clone, 'tag', 'v1.1.0');
          repo.git(repo.clone, 'push', '--quiet', 'origin', 'refs/tags/v1.1.0');
          return 'v1.1.0';
        },
      ],
      [
        'a stale dist/',
        'stale-dist',
        /action-deploy\/dist differs/,
        () => {
          tagByHand('1.1.0');
          return 'v1.1.0';
        },
        { checkDist: staleDist },
      ],
      [
        'a dirty tree',
        'dirty',
        /not clean/,
        () => {
          tagByHand('1.1.0');
          writeFileSync(join(repo.clone, 'action-deploy/dist/index.js'), 'edited\n');
          return 'v1.1.0';
        },
      ],
    ];

    it.each(cases)('%s', async (...[, reason, message, setup, o]: Case) => {
      const tag = setup();
      const before = repo.snapshot();
      const error = await verify(tag, o).then(
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
      expect(existsSync(notesFile())).toBe(false);
    });
  });

  it('a dry run checks everything, says what it would do, and writes nothing', async () => {
    await cut('1.0.0');
    tagByHand('1.1.0');
    const before = repo.snapshot();
    const outcome = await verify('v1.1.0', { dryRun: true });
    expect(repo.snapshot()).toEqual(before);
    expect(existsSync(notesFile())).toBe(false);
    expect(outcome.steps[0]).toMatch(
      /^move the major tag v1 from [0-9a-f]{7} to v1\.1\.0 and push it to origin/,
    );
  });
});

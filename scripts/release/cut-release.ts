import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActionError, messageOf } from '@dreamscape/core';
import { promoteUnreleased, unreleasedNotes } from './changelog.js';
import { Git } from './git.js';
import { ReleaseRefusal } from './release-errors.js';
import { changesPerPart, formatReleaseNotes, suiteParts } from './release-notes.js';
import {
  defaultNotesFile,
  releaseDate,
  short,
  type ReleaseEnvironment,
  type ReleaseOutcome,
} from './release-run.js';
import {
  CHANGELOG,
  RELEASE_BRANCH,
  publishedReleases,
  readChangelog,
  readRepositoryState,
  remoteTag,
  requireCleanTree,
  requireFreshDist,
} from './repository-state.js';
import {
  bumpVersion,
  compareVersions,
  formatVersion,
  majorTag,
  parseVersion,
  releaseTag,
  type BumpLevel,
  type Version,
  type VersionRequest,
} from './semver.js';

/** Options of {@link cutRelease}. */
export interface CutReleaseOptions extends ReleaseEnvironment {
  readonly request: VersionRequest;
}

function requireVersion(text: string): Version {
  const version = parseVersion(text);
  if (version === undefined)
    throw new ReleaseRefusal(
      'version',
      `The version ${JSON.stringify(text)} is not a release version. Accepted: MAJOR.MINOR.PATCH (1.2.3 or v1.2.3), numbers without leading zeros, no pre-release or build suffix.`,
      'Or give --bump major, --bump minor or --bump patch to bump the last release.',
    );
  return version;
}

/**
 * Cuts a release from the tip of main: refuses (writing nothing) unless every check passes, then
 * moves the Unreleased notes of CHANGELOG.md under the new version, commits "Release vX.Y.Z", tags
 * it `vX.Y.Z` (annotated), moves the major tag `vX` to it, and pushes main and both tags to the
 * remote in one atomic push. A push the remote refuses leaves nothing behind, on the remote or in
 * the clone. The release notes go to a file.
 */
export async function cutRelease(o: CutReleaseOptions): Promise<ReleaseOutcome> {
  // A malformed version is refused before git is asked anything.
  const request: { readonly exact: Version } | { readonly level: BumpLevel } =
    o.request.kind === 'exact' ? { exact: requireVersion(o.request.text) } : { level: o.request.level };
  const git = new Git({ runner: o.runner, repo: o.repo });
  const state = await readRepositoryState(git, o.remote);
  const releases = publishedReleases(state);
  const last = releases[0];
  const version = 'exact' in request ? request.exact : bumpVersion(last?.version, request.level);
  const tag = releaseTag(version);

  if (remoteTag(state, tag) !== undefined)
    throw new ReleaseRefusal(
      'tag-exists',
      `The tag ${tag} exists already on ${o.remote}: ${tag} was released before.`,
      `Release a version greater than ${last?.tag ?? tag}.`,
    );
  if (state.localTags.has(tag))
    throw new ReleaseRefusal(
      'tag-exists',
      `The tag ${tag} exists already in this clone, though not on ${o.remote}.`,
      `If ${tag} was never released, delete it (git tag -d ${tag}) and release again.`,
    );
  if (last !== undefined && compareVersions(version, last.version) <= 0)
    throw new ReleaseRefusal(
      'not-greater',
      `The version ${formatVersion(version)} is not greater than the last release, ${last.tag}.`,
      `Release a version greater than ${last.tag}, or use --bump.`,
    );
  requireCleanTree(state);
  const tip = state.remoteRefs.get(`refs/heads/${RELEASE_BRANCH}`);
  if (tip?.commit !== state.head)
    throw new ReleaseRefusal(
      'not-tip',
      tip === undefined
        ? `${o.remote} has no branch ${RELEASE_BRANCH}: releases are cut from the tip of ${o.remote}/${RELEASE_BRANCH}.`
        : `HEAD (${short(state.head)}) is not the tip of ${RELEASE_BRANCH} on ${o.remote} (${short(tip.commit)}): releases are cut from the tip of ${o.remote}/${RELEASE_BRANCH}.`,
      `Check out ${RELEASE_BRANCH}, pull (or push your commits through a pull request), and release again.`,
    );
  const changelog = readChangelog(o.repo);
  const unreleased = unreleasedNotes(changelog);
  if (unreleased === undefined || unreleased === '')
    throw new ReleaseRefusal(
      'changelog',
      unreleased === undefined
        ? `${CHANGELOG} has no ## [Unreleased] section, so ${tag} would have no notes.`
        : `${CHANGELOG} has nothing under ## [Unreleased], so ${tag} would have no notes.`,
      `Write what changed for users under ## [Unreleased] in ${CHANGELOG}, merge it to ${RELEASE_BRANCH}, and release again.`,
    );
  await requireFreshDist(o.checkDist, o.repo);

  const date = releaseDate(o.now);
  const changes = await changesPerPart(git, await suiteParts(git, state.head), {
    previous: last?.commit,
    commit: state.head,
  });
  const notes = formatReleaseNotes({ tag, changelog: unreleased, previousTag: last?.tag, changes });
  const major = majorTag(version);
  const majorBefore = remoteTag(state, major);
  const notesFile = o.notesFile ?? defaultNotesFile(tag);
  const message = `Release ${tag}`;
  const steps = [
    `${CHANGELOG}: the Unreleased notes become ## [${formatVersion(version)}] - ${date}, under a new empty ## [Unreleased]`,
    `commit "${message}" on ${RELEASE_BRANCH} (parent ${short(state.head)})`,
    `tag ${tag} (annotated) at that commit`,
    majorBefore === undefined
      ? `create the major tag ${major} (annotated) at that commit`
      : `move the major tag ${major} from ${short(majorBefore.commit)} to that commit`,
    `push ${RELEASE_BRANCH}, ${tag} and ${major} to ${o.remote} in one atomic push (${major} forced only while ${o.remote} has it ${majorBefore === undefined ? 'nowhere' : `at ${short(majorBefore.commit)}`})`,
    `write the release notes to ${notesFile}`,
  ];

  if (o.dryRun === true) {
    o.logger.info(`Dry run: nothing is written. Releasing ${tag} would:`);
    for (const step of steps) o.logger.info(`  - ${step}`);
    return {
      tag,
      majorTag: major,
      majorTagMoved: true,
      commit: undefined,
      pushed: [],
      steps,
      notes,
      notesFile: undefined,
      dryRun: true,
    };
  }

  const localMajor = state.localTags.get(major);
  const path = join(o.repo, CHANGELOG);
  writeFileSync(
    path,
    promoteUnreleased(changelog, { version: formatVersion(version), date, previousTag: last?.tag }),
  );
  let commit: string | undefined;
  let tagged = false;
  try {
    commit = await git.commitFile(CHANGELOG, message);
    o.logger.info(`Committed "${message}" (${short(commit)}).`);
    await git.tag(tag, commit, message);
    tagged = true;
    await git.tag(major, commit, `${major}: the newest ${major}.x.y release, ${tag}`, { force: true });
    o.logger.info(`Tagged ${tag} and ${major} at ${short(commit)}.`);
    await git.pushAtomic(
      o.remote,
      [
        `${commit}:refs/heads/${RELEASE_BRANCH}`,
        `refs/tags/${tag}:refs/tags/${tag}`,
        `refs/tags/${major}:refs/tags/${major}`,
      ],
      new Map([[`refs/tags/${major}`, majorBefore?.objectId ?? '']]),
    );
  } catch (error) {
    // The push is atomic, so nothing reached the remote: put the clone back as it was too, so
    // that fixing the cause and running again starts clean.
    let undone = 'the release commit and tags were removed from this clone';
    try {
      if (tagged) await git.restoreTag(tag, undefined);
      await git.restoreTag(major, localMajor?.objectId);
      if (commit !== undefined) await git.resetTo(state.head);
      else {
        writeFileSync(path, changelog);
        await git.run(['reset', '--quiet', '--', CHANGELOG]);
      }
    } catch (undo) {
      undone = `undoing the local release commit and tags failed too (${messageOf(undo)}); check HEAD, ${tag} and ${major} in this clone`;
    }
    throw new ActionError(
      `${tag} was not released: ${messageOf(error)}\nNothing reached ${o.remote}; ${undone}.`,
      {
        cause: error,
        hint: 'Fix the cause and release again.',
      },
    );
  }
  o.logger.info(`Pushed ${RELEASE_BRANCH}, ${tag} and ${major} to ${o.remote}.`);
  writeFileSync(notesFile, notes);
  o.logger.info(`Release notes: ${notesFile}`);
  const pushed = [`refs/heads/${RELEASE_BRANCH}`, `refs/tags/${tag}`, `refs/tags/${major}`];
  return {
    tag,
    majorTag: major,
    majorTagMoved: true,
    commit,
    pushed,
    steps,
    notes,
    notesFile,
    dryRun: false,
  };
}

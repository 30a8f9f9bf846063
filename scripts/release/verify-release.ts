import { writeFileSync } from 'node:fs';
import { ActionError, messageOf } from '@dreamscape/core';
import { releaseNotes } from './changelog.js';
import { Git } from './git.js';
import { ReleaseRefusal } from './release-errors.js';
import { changesPerPart, formatReleaseNotes, suiteParts } from './release-notes.js';
import { defaultNotesFile, short, type ReleaseEnvironment, type ReleaseOutcome } from './release-run.js';
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
import { compareVersions, formatVersion, majorTag, parseReleaseTag } from './semver.js';

/** Options of {@link verifyRelease}. */
export interface VerifyReleaseOptions extends ReleaseEnvironment {
  /** The release tag a person pushed, `v1.2.3`; the clone is checked out at it. */
  readonly tag: string;
}

/**
 * Checks a release tag someone pushed instead of cutting one: HEAD is the tagged commit, which is
 * on main; the tree is clean; its bundles are fresh; CHANGELOG.md has the version's section. Then
 * moves the major tag to it (only when it is the newest release of that major: a fix of an older
 * line leaves the tag where it is) with a push that forces nothing but that tag, and writes the
 * release notes. Refuses, writing nothing, when a check fails.
 */
export async function verifyRelease(o: VerifyReleaseOptions): Promise<ReleaseOutcome> {
  const { tag } = o;
  const version = parseReleaseTag(tag);
  if (version === undefined)
    throw new ReleaseRefusal(
      'version',
      `The tag ${JSON.stringify(tag)} is not a release tag. Accepted: vMAJOR.MINOR.PATCH (v1.2.3), numbers without leading zeros, no pre-release or build suffix.`,
    );
  const git = new Git({ runner: o.runner, repo: o.repo });
  const state = await readRepositoryState(git, o.remote);
  const pushedTag = remoteTag(state, tag);
  if (pushedTag === undefined)
    throw new ReleaseRefusal(
      'tag-missing',
      `${o.remote} has no tag ${tag}.`,
      `Push the tag first: git push ${o.remote} ${tag}`,
    );
  if (pushedTag.commit !== state.head)
    throw new ReleaseRefusal(
      'not-at-tag',
      `HEAD (${short(state.head)}) is not the commit ${tag} names on ${o.remote} (${short(pushedTag.commit)}).`,
      `Check out ${tag} and verify again.`,
    );
  requireCleanTree(state);
  const tip = state.remoteRefs.get(`refs/heads/${RELEASE_BRANCH}`);
  let onBranch: boolean;
  try {
    onBranch = tip !== undefined && (await git.isAncestor(state.head, tip.commit));
  } catch (error) {
    throw new ActionError(
      `The tip of ${o.remote}/${RELEASE_BRANCH} (${short(tip?.commit ?? '')}) is not in this clone, so ${tag} cannot be checked against it.`,
      {
        cause: error,
        hint: 'Fetch the whole history (actions/checkout with fetch-depth: 0) and verify again.',
      },
    );
  }
  if (!onBranch)
    throw new ReleaseRefusal(
      'not-on-branch',
      `${tag} (${short(state.head)}) is not on ${RELEASE_BRANCH} of ${o.remote}: releases are made from ${RELEASE_BRANCH} only.`,
      `Delete the tag (git push ${o.remote} :refs/tags/${tag}) and tag a commit of ${RELEASE_BRANCH}.`,
    );
  const section = releaseNotes(readChangelog(o.repo), formatVersion(version));
  if (section === undefined)
    throw new ReleaseRefusal(
      'changelog',
      `${CHANGELOG} at ${tag} has no ## [${formatVersion(version)}] section with notes.`,
      `Release with \`npm run release\`, which writes the section, or add it to ${CHANGELOG} before tagging.`,
    );
  await requireFreshDist(o.checkDist, o.repo);

  const releases = publishedReleases(state);
  const previous = releases.find((r) => compareVersions(r.version, version) < 0);
  // The tag itself is published, so the newest release of its major is it or a newer one.
  const newest = releases.find((r) => r.version.major === version.major)?.tag ?? tag;
  const major = majorTag(version);
  const moves = newest === tag;
  const majorBefore = remoteTag(state, major);
  const push = moves && majorBefore?.commit !== state.head;
  const changes = await changesPerPart(git, await suiteParts(git, state.head), {
    previous: previous?.commit,
    commit: state.head,
  });
  const notes = formatReleaseNotes({ tag, changelog: section, previousTag: previous?.tag, changes });
  const notesFile = o.notesFile ?? defaultNotesFile(tag);
  let majorStep: string;
  if (!moves) majorStep = `leave the major tag ${major} at ${newest}, a newer release than ${tag}`;
  else if (!push) majorStep = `leave the major tag ${major}, already at ${tag}`;
  else
    majorStep =
      majorBefore === undefined
        ? `create the major tag ${major} at ${tag} and push it to ${o.remote} (only while ${o.remote} has none)`
        : `move the major tag ${major} from ${short(majorBefore.commit)} to ${tag} and push it to ${o.remote} (forced only while ${o.remote} has it at ${short(majorBefore.commit)})`;
  const steps = [majorStep, `write the release notes to ${notesFile}`];

  if (o.dryRun === true) {
    o.logger.info(`Dry run: nothing is written. ${tag} passes every check; the release would:`);
    for (const step of steps) o.logger.info(`  - ${step}`);
    return {
      tag,
      majorTag: major,
      majorTagMoved: moves,
      commit: state.head,
      pushed: [],
      steps,
      notes,
      notesFile: undefined,
      dryRun: true,
    };
  }

  if (push) {
    const localMajor = state.localTags.get(major);
    try {
      await git.tag(major, state.head, `${major}: the newest ${major}.x.y release, ${tag}`, { force: true });
      await git.pushAtomic(
        o.remote,
        [`refs/tags/${major}:refs/tags/${major}`],
        new Map([[`refs/tags/${major}`, majorBefore?.objectId ?? '']]),
      );
    } catch (error) {
      await git.restoreTag(major, localMajor?.objectId);
      throw new ActionError(`${major} was not moved to ${tag}: ${messageOf(error)}`, {
        cause: error,
        hint: 'Fix the cause and run the release workflow for the tag again.',
      });
    }
    o.logger.info(`Moved ${major} to ${tag} on ${o.remote}.`);
  } else o.logger.info(`Not pushed: ${majorStep}.`);
  writeFileSync(notesFile, notes);
  o.logger.info(`Release notes: ${notesFile}`);
  return {
    tag,
    majorTag: major,
    majorTagMoved: moves,
    commit: state.head,
    pushed: push ? [`refs/tags/${major}`] : [],
    steps,
    notes,
    notesFile,
    dryRun: false,
  };
}

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DistCheck } from './dist-check.js';
import type { Git, RemoteRef } from './git.js';
import { ReleaseRefusal } from './release-errors.js';
import { compareVersions, parseReleaseTag, type Version } from './semver.js';

/** The branch releases are cut from. */
export const RELEASE_BRANCH = 'main';

/** The changelog, at the repository root. */
export const CHANGELOG = 'CHANGELOG.md';

/** What a release reads before it decides anything. Nothing here writes. */
export interface RepositoryState {
  readonly head: string;
  /** `git status --porcelain` lines. */
  readonly status: readonly string[];
  /** Branches and tags of the remote (`git ls-remote`), by full ref name. */
  readonly remoteRefs: ReadonlyMap<string, RemoteRef>;
  /** Tags of the clone, by tag name. */
  readonly localTags: ReadonlyMap<string, RemoteRef>;
}

/** One `vX.Y.Z` tag of the remote. */
export interface KnownRelease {
  readonly tag: string;
  readonly version: Version;
  readonly commit: string;
}

/** Reads HEAD, the working tree's status, the remote's refs (without fetching) and the local tags. */
export async function readRepositoryState(git: Git, remote: string): Promise<RepositoryState> {
  const [head, status, remoteRefs, localTags] = await Promise.all([
    git.head(),
    git.status(),
    git.remoteRefs(remote),
    git.localTags(),
  ]);
  return { head, status, remoteRefs, localTags };
}

/**
 * Every release tag of the remote, newest first: the releases consumers can use. A tag only in the
 * clone was never released; it counts only as a name that is taken.
 */
export function publishedReleases(state: RepositoryState): KnownRelease[] {
  const out: KnownRelease[] = [];
  for (const [ref, value] of state.remoteRefs) {
    if (!ref.startsWith('refs/tags/')) continue;
    const tag = ref.slice('refs/tags/'.length);
    const version = parseReleaseTag(tag);
    if (version !== undefined) out.push({ tag, version, commit: value.commit });
  }
  return out.sort((a, b) => compareVersions(b.version, a.version));
}

/** The tag as the remote holds it, or undefined. */
export function remoteTag(state: RepositoryState, tag: string): RemoteRef | undefined {
  return state.remoteRefs.get(`refs/tags/${tag}`);
}

/** Refuses a working tree with changed, staged or untracked files: a release is made of commits only. */
export function requireCleanTree(state: RepositoryState): void {
  if (state.status.length === 0) return;
  const shown = state.status.slice(0, 10).join('\n  ');
  const more = state.status.length > 10 ? `\n  … and ${state.status.length - 10} more` : '';
  throw new ReleaseRefusal(
    'dirty',
    `The working tree is not clean (${state.status.length} changed or untracked ${state.status.length === 1 ? 'file' : 'files'}):\n  ${shown}${more}`,
    'Commit or stash the changes (untracked files too), then release again.',
  );
}

/** The changelog's text, or a refusal when the repository has none. */
export function readChangelog(repo: string): string {
  const path = join(repo, CHANGELOG);
  if (!existsSync(path))
    throw new ReleaseRefusal(
      'changelog',
      `${CHANGELOG} is missing from ${repo}.`,
      'Add it in the Keep a Changelog format with an ## [Unreleased] section holding the notes of this release.',
    );
  return readFileSync(path, 'utf8');
}

/** Runs the dist check and refuses when any committed bundle differs from a fresh one. */
export async function requireFreshDist(check: DistCheck, repo: string): Promise<void> {
  const result = await check(repo);
  if (result.fresh) return;
  throw new ReleaseRefusal(
    'stale-dist',
    `An action's committed dist/ differs from a fresh bundle of its sources, so the release would ship code that is not in the commit:\n${result.report}`,
    'Run `npm run bundle`, commit every action-*/dist it changes, push to main, and release again.',
  );
}

import { ActionError } from '@dreamscape/core';
import { GitHubApiError, type GitHubClient } from './client.js';
import { showUntrusted } from './untrusted-text.js';

/** A commit's identity: 40 lowercase hexadecimal digits. */
export const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** A release-tag pattern: `*` matches any run of characters, nothing else is special. */
export interface TagPattern {
  readonly source: string;
  matches(tag: string): boolean;
}

const PATTERN_TEXT = /^[A-Za-z0-9._/*+-]{1,100}$/;

/**
 * Compiles release-tag patterns (`v*`, `release-*`). Anything but letters, digits, `.`, `_`, `/`,
 * `+`, `-` and `*` is refused, so a pattern never matches more than its author could read off it.
 */
export function compileTagPatterns(patterns: readonly string[]): TagPattern[] {
  return patterns.map((source) => {
    if (!PATTERN_TEXT.test(source))
      throw new ActionError(
        `The release-tag pattern ${showUntrusted(source)} is not accepted: letters, digits, '.', '_', '/', '+', '-' and '*' (any run of characters), e.g. v*.`,
      );
    const body = source
      .split('*')
      .map((part) => part.replace(/[.+/]/g, '\\$&'))
      .join('.*');
    const regex = new RegExp(`^${body}$`);
    return { source, matches: (tag: string) => regex.test(tag) };
  });
}

/** Where a commit comes from, when it may be deployed. */
export type CommitProvenance =
  | { readonly kind: 'default-branch'; readonly branch: string; readonly status: 'identical' | 'behind' }
  | { readonly kind: 'release-tag'; readonly tag: string; readonly pattern: string };

/** What {@link commitProvenance} found: a provenance, or why the commit has none we accept. */
export type ProvenanceResult =
  | { readonly kind: 'accepted'; readonly provenance: CommitProvenance }
  | { readonly kind: 'refused'; readonly why: string };

/** The question {@link commitProvenance} answers. */
export interface ProvenanceQuery {
  readonly owner: string;
  readonly repo: string;
  /** The commit, 40 hex digits. */
  readonly sha: string;
  /** The repository's default branch. */
  readonly defaultBranch: string;
  /** A tag name the commit was named by (a tag push, `refs/tags/v1.2.0`); undefined when none. */
  readonly tag?: string | undefined;
  /** Tags accepted as releases even when their commit is not on the default branch. */
  readonly releaseTags: readonly TagPattern[];
}

/** The repository's default branch (`GET /repos/{owner}/{repo}`). */
export async function defaultBranchOf(client: GitHubClient, owner: string, repo: string): Promise<string> {
  const response = await client.request<{ default_branch?: unknown }>({
    method: 'GET',
    path: `/repos/${seg(owner)}/${seg(repo)}`,
  });
  const branch = response.data.default_branch;
  if (typeof branch !== 'string' || branch === '')
    throw new ActionError(`GitHub did not say which branch is the default of ${owner}/${repo}.`);
  return branch;
}

/**
 * Whether a commit may be deployed: it is the commit of a tag matching one of `releaseTags` (the
 * tag read from the repository and peeled to its commit, never taken from the caller's word), or it
 * is reachable from the default branch: the compare API says the commit is `identical` to the
 * branch's head or `behind` it. A commit that is `ahead` or `diverged` (an unmerged branch, a pull
 * request's head, a fork's commit) is refused.
 */
export async function commitProvenance(client: GitHubClient, q: ProvenanceQuery): Promise<ProvenanceResult> {
  if (!COMMIT_SHA.test(q.sha)) return { kind: 'refused', why: `${showUntrusted(q.sha)} is not a commit SHA` };
  if (q.tag !== undefined) {
    const pattern = q.releaseTags.find((p) => p.matches(q.tag ?? ''));
    if (pattern !== undefined) {
      const tagged = await tagCommit(client, q.owner, q.repo, q.tag);
      if (tagged === q.sha)
        return { kind: 'accepted', provenance: { kind: 'release-tag', tag: q.tag, pattern: pattern.source } };
    }
  }
  let status: unknown;
  let aheadBy: unknown;
  try {
    const response = await client.request<{ status?: unknown; ahead_by?: unknown }>({
      method: 'GET',
      path: `/repos/${seg(q.owner)}/${seg(q.repo)}/compare/${refPath(q.defaultBranch)}...${q.sha}`,
      query: { per_page: 1 },
    });
    status = response.data.status;
    aheadBy = response.data.ahead_by;
  } catch (error) {
    if (error instanceof GitHubApiError && (error.status === 404 || error.status === 422))
      return { kind: 'refused', why: `the commit ${q.sha} is not in ${q.owner}/${q.repo}` };
    throw error;
  }
  if (status === 'identical' || status === 'behind')
    return { kind: 'accepted', provenance: { kind: 'default-branch', branch: q.defaultBranch, status } };
  const ahead = typeof aheadBy === 'number' ? `, ${aheadBy} commit${aheadBy === 1 ? '' : 's'} not on it` : '';
  return {
    kind: 'refused',
    why: `the commit ${q.sha.slice(0, 12)} is not on the default branch ${q.defaultBranch} (compare: ${showUntrusted(status)}${ahead})${
      q.tag === undefined
        ? ''
        : ` and the tag ${showUntrusted(q.tag)} is not a release tag (${describePatterns(q.releaseTags)}) pointing at it`
    }`,
  };
}

/** The commit a tag points at (annotated tags peeled), or undefined when there is no such tag. */
export async function tagCommit(
  client: GitHubClient,
  owner: string,
  repo: string,
  tag: string,
): Promise<string | undefined> {
  let object: { type?: unknown; sha?: unknown } | undefined;
  try {
    const response = await client.request<{ object?: { type?: unknown; sha?: unknown } }>({
      method: 'GET',
      path: `/repos/${seg(owner)}/${seg(repo)}/git/ref/tags/${refPath(tag)}`,
    });
    object = response.data.object;
  } catch (error) {
    if (error instanceof GitHubApiError && error.status === 404) return undefined;
    throw error;
  }
  // An annotated tag is an object of its own pointing at the commit (or, rarely, at another tag).
  for (let depth = 0; depth < 5 && object?.type === 'tag' && typeof object.sha === 'string'; depth++) {
    const response = await client.request<{ object?: { type?: unknown; sha?: unknown } }>({
      method: 'GET',
      path: `/repos/${seg(owner)}/${seg(repo)}/git/tags/${seg(object.sha)}`,
    });
    object = response.data.object;
  }
  return object?.type === 'commit' && typeof object.sha === 'string' ? object.sha : undefined;
}

/** How the accepted release tags read in a message. */
export function describePatterns(patterns: readonly TagPattern[]): string {
  return patterns.length === 0
    ? "no release tags are accepted ('release-tags' is empty)"
    : `release tags: ${patterns.map((p) => p.source).join(', ')}`;
}

/** One line saying where an accepted commit comes from. */
export function describeProvenance(p: CommitProvenance): string {
  return p.kind === 'default-branch'
    ? `on the default branch ${p.branch}${p.status === 'identical' ? ' (its head)' : ''}`
    : `the commit of the release tag ${p.tag} (${p.pattern})`;
}

function seg(text: string): string {
  return encodeURIComponent(text);
}

/** A branch or tag name in a URL path: each part encoded, the slashes kept. */
export function refPath(ref: string): string {
  return ref.split('/').map(seg).join('/');
}

import type { Logger } from '@dreamscape/core';
import { GitHubApiError, type GitHubClient } from './client.js';

/** GitHub refuses comment bodies longer than this many characters. */
export const MAX_COMMENT_LENGTH = 65_536;

/** The hidden marker that identifies one sticky comment: `<!-- dreamscape:<key> -->`. */
export function stickyMarker(key: string): string {
  return `<!-- dreamscape:${key.replace(/--+/g, '-')} -->`;
}

/** What to post where. */
export interface StickyCommentOptions {
  readonly owner: string;
  readonly repo: string;
  /** The pull request (or issue) number. */
  readonly issueNumber: number;
  /** From {@link stickyMarker}; the first line of the comment. */
  readonly marker: string;
  /** Markdown; cut to GitHub's limit with a note when longer. */
  readonly body: string;
  /**
   * The login whose comments are ours (`github-actions[bot]`, `my-app[bot]`, `octocat`). Only its
   * comments are found, edited or deleted. Undefined: {@link commentIdentity} asks the token.
   */
  readonly author?: string | undefined;
  readonly logger: Logger;
}

/** What happened to the comment. */
export interface StickyCommentResult {
  readonly action: 'created' | 'updated' | 'unchanged';
  readonly id: number;
  readonly url: string;
  /** Older copies carrying the same marker that were removed. */
  readonly removedDuplicates: number;
}

interface IssueComment {
  readonly id: number;
  readonly body?: string | null;
  readonly html_url?: string;
  readonly user?: { readonly login?: string } | null;
}

/** Who writes the comments of `GITHUB_TOKEN` (and of any token GitHub Actions hands a job). */
export const ACTIONS_BOT_LOGIN = 'github-actions[bot]';

/**
 * The login the token comments as. A personal token (or an app's user token) answers `GET /user`;
 * an installation token (`GITHUB_TOKEN`, a GitHub App's) is refused there with 403 and comments as
 * a bot: `github-actions[bot]` for `GITHUB_TOKEN`. An app's installation token comments as
 * `<slug>[bot]`, which no endpoint tells it: name it with `comment-author` (ADR 0007).
 */
export async function commentIdentity(client: GitHubClient, logger: Logger): Promise<string> {
  try {
    const me = await client.request<{ login?: unknown }>({ method: 'GET', path: '/user' });
    if (typeof me.data.login === 'string' && me.data.login !== '') return me.data.login;
  } catch (error) {
    if (!(error instanceof GitHubApiError) || error.status !== 403) throw error;
  }
  logger.debug(`The token has no user of its own (GET /user refused): comments are ${ACTIONS_BOT_LOGIN}'s.`);
  return ACTIONS_BOT_LOGIN;
}

/**
 * Creates the comment once and afterwards edits it in place: it lists every comment (all pages),
 * finds ours by the hidden marker AND the author, and updates the oldest one. Copies left by
 * concurrent runs are deleted so there is never more than one. A comment by anyone else is never
 * edited or deleted, whatever it contains: the marker is public and anyone can paste it.
 */
export async function upsertStickyComment(
  client: GitHubClient,
  o: StickyCommentOptions,
): Promise<StickyCommentResult> {
  const body = commentBody(o.marker, o.body);
  const base = `/repos/${encodeURIComponent(o.owner)}/${encodeURIComponent(o.repo)}/issues`;
  const author = o.author ?? (await commentIdentity(client, o.logger));
  const comments = await client.paginate<IssueComment>(`${base}/${o.issueNumber}/comments`);
  // The marker is our body's first line; one quoted further down (a plan showing a manifest that
  // carries another key's marker) does not make a comment that key's.
  const marked = comments.filter(
    (c) => typeof c.body === 'string' && (c.body === o.marker || c.body.startsWith(`${o.marker}\n`)),
  );
  const ours = marked.filter((c) => c.user?.login === author).sort((a, b) => a.id - b.id);
  const foreign = marked.length - ours.length;
  if (foreign > 0)
    o.logger.info(
      `Left alone ${foreign} comment(s) on #${o.issueNumber} carrying ${o.marker} but not written by ${author}.`,
    );
  const [keep, ...duplicates] = ours;
  for (const d of duplicates) {
    await client.request({ method: 'DELETE', path: `${base}/comments/${d.id}` });
    o.logger.info(`Removed a duplicate comment ${d.id} carrying ${o.marker}.`);
  }
  if (keep === undefined) {
    const created = await client.request<IssueComment>({
      method: 'POST',
      path: `${base}/${o.issueNumber}/comments`,
      body: { body },
    });
    o.logger.info(`Created comment ${created.data.id} on #${o.issueNumber}.`);
    const poster = created.data.user?.login;
    if (poster !== undefined && poster !== author)
      o.logger.warning(
        `The comment was posted as ${poster}, not ${author}: later runs will not recognise it and will add another. Set comment-author to '${poster}'.`,
      );
    return {
      action: 'created',
      id: created.data.id,
      url: created.data.html_url ?? '',
      removedDuplicates: duplicates.length,
    };
  }
  if (keep.body === body) {
    o.logger.info(`Comment ${keep.id} on #${o.issueNumber} is already up to date.`);
    return {
      action: 'unchanged',
      id: keep.id,
      url: keep.html_url ?? '',
      removedDuplicates: duplicates.length,
    };
  }
  const updated = await client.request<IssueComment>({
    method: 'PATCH',
    path: `${base}/comments/${keep.id}`,
    body: { body },
  });
  o.logger.info(`Updated comment ${keep.id} on #${o.issueNumber}.`);
  return {
    action: 'updated',
    id: keep.id,
    url: updated.data.html_url ?? keep.html_url ?? '',
    removedDuplicates: duplicates.length,
  };
}

/** The marker, then the body, cut to {@link MAX_COMMENT_LENGTH} with a note. */
export function commentBody(marker: string, body: string): string {
  const full = `${marker}\n${body}`;
  if (full.length <= MAX_COMMENT_LENGTH) return full;
  const note = '\n\n… (cut to fit GitHub’s comment size limit; see the job summary for everything)';
  return `${full.slice(0, MAX_COMMENT_LENGTH - note.length)}${note}`;
}

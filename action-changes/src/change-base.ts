/** What to compare: two commits, or nothing (every service is selected, and why). */
export type ChangeRange =
  | { readonly kind: 'commits'; readonly base: string; readonly head: string; readonly describe: string }
  | { readonly kind: 'all'; readonly why: string };

/** The run's facts {@link changeRange} decides from. */
export interface ChangeEvent {
  /** GITHUB_EVENT_NAME */
  readonly name: string;
  /** The event payload (GITHUB_EVENT_PATH). */
  readonly payload: Readonly<Record<string, unknown>>;
  /** GITHUB_SHA: the commit checked out by default (the merge commit on `pull_request`). */
  readonly sha: string;
}

const ZERO_SHA = /^0+$/;

/**
 * What a run's changes are compared with. `base` (the input) wins: the changes since that commit or
 * ref. Otherwise by event:
 * - `pull_request`: the PR's base commit against the merge commit GitHub checks out (GITHUB_SHA),
 *   i.e. what merging would change; `pull_request_target` against the PR's head commit;
 * - `push`: the commit before the push against the pushed one; a new branch (no previous commit)
 *   has nothing to compare with;
 * - `merge_group`: the queue's base against its head;
 * - anything else (`workflow_dispatch`, `schedule`, `release`, ...): nothing to compare with.
 * With nothing to compare, every service is selected: building too much is safe, too little is not.
 */
export function changeRange(event: ChangeEvent, base = ''): ChangeRange {
  if (base !== '') {
    if (event.sha === '')
      return { kind: 'all', why: `no commit to compare ${base} with (GITHUB_SHA is not set)` };
    return { kind: 'commits', base, head: event.sha, describe: `changes since ${base}` };
  }
  const p = event.payload;
  switch (event.name) {
    case 'pull_request':
    case 'pull_request_target': {
      const pr = record(p.pull_request);
      const baseSha = text(record(pr.base).sha);
      const head =
        event.name === 'pull_request' ? event.sha || text(record(pr.head).sha) : text(record(pr.head).sha);
      if (baseSha === '' || head === '')
        return { kind: 'all', why: `the ${event.name} event carries no base and head commit` };
      const number = typeof pr.number === 'number' ? ` #${pr.number}` : '';
      return {
        kind: 'commits',
        base: baseSha,
        head,
        describe: `pull request${number} against its base ${short(baseSha)}`,
      };
    }
    case 'push': {
      const before = text(p.before);
      const after = text(p.after) || event.sha;
      if (p.created === true || before === '' || ZERO_SHA.test(before))
        return { kind: 'all', why: 'a new branch or tag: no earlier commit to compare with' };
      if (after === '' || ZERO_SHA.test(after)) return { kind: 'all', why: 'a deleted branch or tag' };
      return {
        kind: 'commits',
        base: before,
        head: after,
        describe: `push ${short(before)}..${short(after)}`,
      };
    }
    case 'merge_group': {
      const group = record(p.merge_group);
      const baseSha = text(group.base_sha);
      const head = text(group.head_sha) || event.sha;
      if (baseSha === '' || head === '')
        return { kind: 'all', why: 'the merge_group event carries no base commit' };
      return {
        kind: 'commits',
        base: baseSha,
        head,
        describe: `merge queue ${short(baseSha)}..${short(head)}`,
      };
    }
    default:
      return {
        kind: 'all',
        why: `a ${event.name === '' ? 'run outside GitHub Actions' : `${event.name} event`} has no base to compare with`,
      };
  }
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function short(sha: string): string {
  return /^[0-9a-f]{40}$/.test(sha) ? sha.slice(0, 7) : sha;
}

import { describe, expect, it } from '@jest/globals';
import { changeRange } from '../src/change-base.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const M = 'c'.repeat(40);
const ZERO = '0'.repeat(40);

describe('changeRange', () => {
  it('compares a pull request from its base to the merge commit', () => {
    const range = changeRange({
      name: 'pull_request',
      sha: M,
      payload: { pull_request: { number: 12, base: { sha: A }, head: { sha: B } } },
    });
    expect(range).toEqual({
      kind: 'commits',
      base: A,
      head: M,
      describe: 'pull request #12 against its base aaaaaaa',
    });
  });

  it('compares pull_request_target with the head commit, since GITHUB_SHA is the base branch there', () => {
    const range = changeRange({
      name: 'pull_request_target',
      sha: A,
      payload: { pull_request: { number: 3, base: { sha: A }, head: { sha: B } } },
    });
    expect(range).toMatchObject({ kind: 'commits', base: A, head: B });
  });

  it('compares a push from the commit before it', () => {
    expect(changeRange({ name: 'push', sha: B, payload: { before: A, after: B } })).toEqual({
      kind: 'commits',
      base: A,
      head: B,
      describe: 'push aaaaaaa..bbbbbbb',
    });
  });

  it.each([
    [{ before: ZERO, after: B, created: true }, /new branch/],
    [{ before: ZERO, after: B }, /new branch/],
    [{ after: B }, /new branch/],
    [{ before: A, after: ZERO, deleted: true }, /deleted branch/],
  ])('selects everything for a push %j', (payload, why) => {
    const range = changeRange({ name: 'push', sha: B, payload });
    expect(range.kind).toBe('all');
    expect(range.kind === 'all' ? range.why : '').toMatch(why);
  });

  it('compares a merge queue group from its base', () => {
    expect(
      changeRange({ name: 'merge_group', sha: M, payload: { merge_group: { base_sha: A, head_sha: M } } }),
    ).toMatchObject({ kind: 'commits', base: A, head: M });
  });

  it.each(['workflow_dispatch', 'schedule', 'release', 'repository_dispatch'])(
    'selects everything on %s',
    (name) => {
      expect(changeRange({ name, sha: A, payload: {} })).toEqual({
        kind: 'all',
        why: `a ${name} event has no base to compare with`,
      });
    },
  );

  it('a pull request event without commits selects everything', () => {
    expect(changeRange({ name: 'pull_request', sha: '', payload: {} }).kind).toBe('all');
  });

  it('an explicit base wins over the event', () => {
    expect(changeRange({ name: 'workflow_dispatch', sha: B, payload: {} }, 'origin/main')).toEqual({
      kind: 'commits',
      base: 'origin/main',
      head: B,
      describe: 'changes since origin/main',
    });
  });
});

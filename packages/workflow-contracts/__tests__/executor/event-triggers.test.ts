import { describe, expect, it } from '@jest/globals';
import { filterPattern, matchesFilters } from '../../src/executor/event-triggers.js';

describe('filter patterns', () => {
  it('reads *, ** and ? as GitHub does', () => {
    expect(filterPattern('v*').test('v1.2.3')).toBe(true);
    expect(filterPattern('release/*').test('release/a/b')).toBe(false);
    expect(filterPattern('release/**').test('release/a/b')).toBe(true);
    // `?` and `+` quantify the character before them.
    expect([
      filterPattern('v1.?').test('v1'),
      filterPattern('v1.?').test('v1.'),
      filterPattern('v1.?').test('v1x'),
    ]).toEqual([true, true, false]);
    expect(filterPattern('v1+').test('v111')).toBe(true);
    expect(filterPattern('main').test('mainline')).toBe(false);
  });

  it('lets a later pattern override an earlier one, ! negating', () => {
    expect(matchesFilters('release/beta', ['release/**', '!release/beta'])).toBe(false);
    expect(matchesFilters('release/beta', ['!release/beta', 'release/**'])).toBe(true);
  });
});

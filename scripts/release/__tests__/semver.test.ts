import { describe, expect, it } from '@jest/globals';
import {
  bumpVersion,
  compareVersions,
  majorTag,
  parseReleaseTag,
  parseVersion,
  releaseTag,
  releaseVersions,
} from '../semver.js';

const v = (major: number, minor: number, patch: number) => ({ major, minor, patch });

describe('versions', () => {
  it('reads MAJOR.MINOR.PATCH with or without a v, and nothing else', () => {
    expect(parseVersion('1.2.3')).toEqual(v(1, 2, 3));
    expect(parseVersion('v10.0.12')).toEqual(v(10, 0, 12));
    for (const bad of [
      '1.2',
      '1.2.3.4',
      'v1',
      '1.2.3-rc.1',
      '1.2.3+build',
      '01.2.3',
      '1.02.3',
      ' 1.2.3',
      'V1.2.3',
      '',
      'latest',
    ])
      expect([bad, parseVersion(bad)]).toEqual([bad, undefined]);
  });

  it('takes only vX.Y.Z tags as releases, never the major tag', () => {
    expect(parseReleaseTag('v1.2.3')).toEqual(v(1, 2, 3));
    expect(parseReleaseTag('1.2.3')).toBeUndefined();
    expect(parseReleaseTag('v1')).toBeUndefined();
    expect(releaseVersions(['v1', 'v1.10.0', 'nightly', 'v1.9.1', 'v2.0.0', 'v1.2.3-rc.1'])).toEqual([
      v(2, 0, 0),
      v(1, 10, 0),
      v(1, 9, 1),
    ]);
  });

  it('compares numerically, not as text', () => {
    expect(compareVersions(v(1, 10, 0), v(1, 9, 9))).toBeGreaterThan(0);
    expect(compareVersions(v(1, 0, 0), v(1, 0, 0))).toBe(0);
    expect(compareVersions(v(0, 9, 0), v(1, 0, 0))).toBeLessThan(0);
  });

  it('bumps from the last release, and starts at 1.0.0 without one', () => {
    expect(bumpVersion(v(1, 2, 3), 'patch')).toEqual(v(1, 2, 4));
    expect(bumpVersion(v(1, 2, 3), 'minor')).toEqual(v(1, 3, 0));
    expect(bumpVersion(v(1, 2, 3), 'major')).toEqual(v(2, 0, 0));
    for (const level of ['major', 'minor', 'patch'] as const)
      expect(bumpVersion(undefined, level)).toEqual(v(1, 0, 0));
  });

  it('names the release tag and the major tag', () => {
    expect(releaseTag(v(1, 2, 3))).toBe('v1.2.3');
    expect(majorTag(v(1, 2, 3))).toBe('v1');
  });
});

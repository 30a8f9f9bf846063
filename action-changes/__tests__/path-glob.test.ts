import { describe, expect, it } from '@jest/globals';
import { compilePathPattern } from '../src/path-glob.js';

const matches = (pattern: string, path: string): boolean => compilePathPattern(pattern).matches(path);

describe('compilePathPattern', () => {
  it.each([
    ['libs/shared', 'libs/shared', true],
    ['libs/shared', 'libs/shared/index.js', true],
    ['libs/shared/', 'libs/shared/deep/x.ts', true],
    ['./libs/shared', 'libs/shared/x', true],
    ['libs/shared', 'libs/shared-extra/x', false],
    ['libs/shared', 'other/libs/shared', false],
    ['libs/**', 'libs/a/b/c.ts', true],
    ['libs/**', 'lib/a.ts', false],
    ['**/*.proto', 'api.proto', true],
    ['**/*.proto', 'proto/v1/api.proto', true],
    ['**/*.proto', 'proto/v1/api.proto.bak', false],
    ['proto/*.proto', 'proto/api.proto', true],
    ['proto/*.proto', 'proto/v1/api.proto', false],
    ['services/*/package.json', 'services/auth/package.json', true],
    ['services/*/package.json', 'services/auth/src/package.json', false],
    ['docs/?.md', 'docs/a.md', true],
    ['docs/?.md', 'docs/ab.md', false],
    ['.github/workflows/**', '.github/workflows/ci.yml', true],
    ['a.b', 'aXb', false],
    ['a+(b)', 'a+(b)', true],
  ])('%s matches %s: %s', (pattern, path, expected) => {
    expect(matches(pattern, path)).toBe(expected);
  });

  it.each([
    ['{a,b}/**', /not supported/],
    ['src/[ab].ts', /not supported/],
    ['!docs/**', /not supported/],
    ['../outside/**', /climbs out/],
    ['  ', /empty/],
  ])('refuses %j', (pattern, message) => {
    expect(() => compilePathPattern(pattern)).toThrow(message);
  });
});

import { describe, expect, it } from '@jest/globals';
import { InputError, type Clock } from '@dreamscape/core';
import {
  computeTags,
  DEFAULT_TAG_RULES,
  imageTags,
  parseImageName,
  parseSemver,
  parseTagRules,
  sanitizeTag,
  TagRuleError,
  type ComputeTagsOptions,
  type GitHubContext,
} from '../src/index.js';

const SHA = 'c0ffee1234567890abcdef1234567890abcdef12';
const HEAD = 'feedbeef00000000000000000000000000000000';
const CLOCK: Clock = { now: () => Date.parse('2026-03-14T03:17:42Z'), sleep: () => Promise.resolve() };

/** A run context: a push to `ref` unless told otherwise. */
function context(ref: string, overrides: Partial<GitHubContext> = {}): GitHubContext {
  const refType = ref.startsWith('refs/heads/')
    ? 'branch'
    : ref.startsWith('refs/tags/')
      ? 'tag'
      : ref.startsWith('refs/pull/')
        ? 'pull'
        : 'other';
  return {
    eventName: 'push',
    sha: SHA,
    ref,
    refName: ref.replace(/^refs\/(heads|tags|pull)\//, ''),
    refType,
    headRef: '',
    baseRef: '',
    serverUrl: 'https://github.com',
    apiUrl: 'https://api.github.com',
    runId: '1',
    runNumber: '1',
    runAttempt: '1',
    actor: 'octocat',
    workflow: 'Build',
    runUrl: 'https://github.com/octo-org/app/actions/runs/1',
    repository: {
      owner: 'octo-org',
      name: 'app',
      fullName: 'octo-org/app',
      htmlUrl: 'https://github.com/octo-org/app',
      description: undefined,
      license: undefined,
      defaultBranch: 'main',
    },
    pullRequest: undefined,
    payload: {},
    ...overrides,
  };
}

const PR = context('refs/pull/7/merge', {
  eventName: 'pull_request',
  pullRequest: { number: 7, headSha: HEAD, headRef: 'fix/login', baseRef: 'main', htmlUrl: undefined },
});

function tags(rules: string, ctx: GitHubContext, options: ComputeTagsOptions = {}): readonly string[] {
  return computeTags(parseTagRules(rules), ctx, { clock: CLOCK, ...options }).tags;
}

function ruleError(text: string): TagRuleError {
  try {
    parseTagRules(text);
  } catch (error) {
    expect(error).toBeInstanceOf(TagRuleError);
    expect(error).toBeInstanceOf(InputError);
    return error as TagRuleError;
  }
  throw new Error(`${text} was accepted`);
}

describe('parseTagRules', () => {
  it('parses each type with its defaults', () => {
    const rules = parseTagRules(
      [
        '# comment lines and blank lines are skipped',
        '',
        'type=sha',
        'type=sha,length=12,prefix=,suffix=-amd64',
        'type=semver,pattern={{major}}.{{minor}}',
        'type=raw,value=stable,priority=950',
        'type=ref,event=pr',
        'type=branch,enable=false',
      ].join('\n'),
    );
    expect(rules.map((r) => [r.type, r.line, r.priority, r.prefix, r.suffix, r.enable])).toEqual([
      ['sha', 3, 100, 'sha-', '', true],
      ['sha', 4, 100, '', '-amd64', true],
      ['semver', 5, 900, '', '', true],
      ['raw', 6, 950, '', '', true],
      ['pr', 7, 600, 'pr-', '', true],
      ['branch', 8, 600, '', '', false],
    ]);
    expect(rules[1]).toMatchObject({ length: 12, format: 'short' });
    expect(rules[2]).toMatchObject({ patterns: ['{{major}}.{{minor}}'] });
  });

  it('accepts quoted values with commas', () => {
    const [rule] = parseTagRules('type=match,pattern="^v(\\d{1,3})\\.",group=1');
    expect(rule).toMatchObject({ type: 'match', group: 1 });
    expect(rule?.type === 'match' ? rule.pattern.source : '').toBe('^v(\\d{1,3})\\.');
  });

  it.each([
    ['type=sha\ntype=bogus', 2, "line 2: unknown type 'bogus'"],
    ['value=foo', 1, "line 1: there is no 'type=' attribute"],
    ['latest', 1, "line 1: 'latest' is not a key=value attribute"],
    ['type=raw', 1, "line 1: type=raw needs a non-empty 'value='"],
    ['type=raw,value=', 1, "line 1: type=raw needs a non-empty 'value='"],
    ['type=sha,length=0', 1, "line 1: length must be a whole number from 1 to 40, not '0'"],
    ['type=sha,length=seven', 1, "line 1: length must be a whole number from 1 to 40, not 'seven'"],
    ['type=sha,format=medium', 1, "line 1: format must be short or long, not 'medium'"],
    ['type=branch,pattern=x', 1, "line 1: type=branch has no attribute 'pattern'"],
    ['type=semver,pattern={{mayor}}', 1, "line 1: unknown placeholder '{{mayor}}'"],
    ['type=raw,value={{date}}', 1, "line 1: '{{date}}' needs a quoted format, as in {{date 'YYYYMMDD'}}"],
    [
      'type=match,pattern=(',
      1,
      'line 1: the pattern is not a regular expression: Invalid regular expression: /(/: Unterminated group',
    ],
    ['type=match', 1, "line 1: type=match needs 'pattern=' (a regular expression)"],
    ['type=ref', 1, "line 1: type=ref needs 'event='"],
    ['type=ref,event=schedule', 1, "line 1: unknown ref event 'schedule'"],
    ['type=sha,enable=yes', 1, "line 1: enable must be true or false, not 'yes'"],
    ['type=sha,priority=high', 1, "line 1: priority must be a whole number, not 'high'"],
    ['type=sha,type=raw', 1, "line 1: the attribute 'type' is given twice"],
    ['type=raw,value="a', 1, 'line 1: a double quote is not closed'],
  ])('refuses %j at line %i', (text, line, reason) => {
    const error = ruleError(text);
    expect(error.line).toBe(line);
    expect(error.message).toContain(reason);
  });

  it('names the input, the line and what is accepted', () => {
    expect(() => parseTagRules('type=sha\n\ntype=raw,value=ok\ntype=nightly', 'tags')).toThrow(
      `Input 'tags' has an invalid value "type=nightly": line 4: unknown type 'nightly'. Accepted: one rule per line: type=sha|branch|tag|pr|semver|match|edge|schedule|raw|ref followed by ,key=value attributes, e.g. 'type=sha,length=7', 'type=semver,pattern={{major}}.{{minor}}', 'type=raw,value=stable'.`,
    );
    expect(() => parseTagRules('type=edge,length=3', 'image-tags')).toThrow(
      `Input 'image-tags' has an invalid value "type=edge,length=3": line 1: type=edge has no attribute 'length'. Accepted: for type=edge: type, prefix, suffix, enable, priority, branch.`,
    );
  });
});

describe('computeTags', () => {
  it('makes sha tags of the configured length, or the full commit', () => {
    expect(tags('type=sha', context('refs/heads/main'))).toEqual(['sha-c0ffee1']);
    expect(tags('type=sha,length=10,prefix=git-', context('refs/heads/main'))).toEqual(['git-c0ffee1234']);
    expect(tags('type=sha,format=long,prefix=', context('refs/heads/main'))).toEqual([SHA]);
  });

  it('uses the PR head commit for sha tags only when asked', () => {
    expect(tags('type=sha\ntype=pr', PR)).toEqual(['pr-7', 'sha-c0ffee1']);
    expect(tags('type=sha\ntype=pr', PR, { prHeadSha: true })).toEqual(['pr-7', 'sha-feedbee']);
  });

  it('tags a pull_request_target run (GITHUB_REF is the base branch) as the PR, not the branch', () => {
    const target = context('refs/heads/main', {
      eventName: 'pull_request_target',
      pullRequest: PR.pullRequest,
    });
    expect(tags('type=branch\ntype=pr\ntype=edge', target, { latest: 'default-branch' })).toEqual(['pr-7']);
  });

  it('sanitizes branch names', () => {
    expect(tags('type=branch', context('refs/heads/feature/Login Flow+2'))).toEqual(['feature-Login-Flow-2']);
    expect(tags('type=branch', context('refs/heads/.hidden/x'))).toEqual(['hidden-x']);
    expect(tags('type=branch', context(`refs/heads/${'b'.repeat(200)}`))).toEqual(['b'.repeat(128)]);
    expect(tags('type=branch', context('refs/tags/v1.0.0'))).toEqual([]);
  });

  it.each([
    ['v1.2.3', ['1.2.3', '1.2', '1']],
    ['1.2.3', ['1.2.3', '1.2', '1']],
    ['v2.0.0-rc.1', ['2.0.0-rc.1']],
    ['v0.4.1', ['0.4.1', '0.4']],
    ['v0.4.1-beta', ['0.4.1-beta']],
    ['v1.2.3+build.7', ['1.2.3-build.7', '1.2', '1']],
    ['release-2024', []],
    ['v1.2', []],
  ])('semver from git tag %s', (tag, expected) => {
    expect(tags('type=semver', context(`refs/tags/${tag}`), { latest: 'never' })).toEqual(expected);
  });

  it('semver patterns, {{raw}} and value=', () => {
    const ctx = context('refs/tags/v3.1.4');
    expect(tags('type=semver,pattern=v{{major}}', ctx, { latest: 'never' })).toEqual(['v3']);
    expect(tags('type=semver,pattern={{raw}}', ctx, { latest: 'never' })).toEqual(['v3.1.4']);
    expect(tags('type=semver,pattern={{major}}.{{minor}}.{{patch}}-slim', ctx, { latest: 'never' })).toEqual([
      '3.1.4-slim',
    ]);
    expect(
      tags('type=semver,value=v9.8.7,pattern={{major}}', context('refs/heads/main'), { latest: 'never' }),
    ).toEqual(['9']);
  });

  it('adds latest by policy', () => {
    const release = context('refs/tags/v1.2.3');
    const prerelease = context('refs/tags/v1.3.0-rc.1');
    const main = context('refs/heads/main');
    const rules = 'type=semver,pattern={{version}}\ntype=branch\ntype=sha';
    expect(tags(rules, release)).toEqual(['1.2.3', 'latest', 'sha-c0ffee1']);
    expect(tags(rules, prerelease)).toEqual(['1.3.0-rc.1', 'sha-c0ffee1']);
    expect(tags(rules, main)).toEqual(['main', 'sha-c0ffee1']);
    expect(tags(rules, main, { latest: 'default-branch' })).toEqual(['main', 'latest', 'sha-c0ffee1']);
    expect(tags(rules, context('refs/heads/dev'), { latest: 'default-branch' })).toEqual([
      'dev',
      'sha-c0ffee1',
    ]);
    expect(tags(rules, release, { latest: 'default-branch' })).toEqual(['1.2.3', 'sha-c0ffee1']);
    expect(tags(rules, release, { latest: 'never' })).toEqual(['1.2.3', 'sha-c0ffee1']);
    expect(tags(rules, PR, { latest: 'default-branch' })).toEqual(['sha-c0ffee1']);
  });

  it('orders by priority, keeps rule order on ties, and removes duplicates', () => {
    const set = computeTags(
      parseTagRules(
        [
          'type=sha',
          'type=raw,value=main',
          'type=raw,value=stable',
          'type=branch',
          'type=edge',
          'type=raw,value=first,priority=2000',
        ].join('\n'),
      ),
      context('refs/heads/main'),
      { clock: CLOCK, latest: 'default-branch' },
    );
    expect(set.tags).toEqual(['first', 'edge', 'main', 'latest', 'stable', 'sha-c0ffee1']);
    expect(set.entries.map((e) => [e.tag, e.rule, e.priority, e.line])).toEqual([
      ['first', 'raw', 2000, 6],
      ['edge', 'edge', 700, 5],
      ['main', 'branch', 600, 4],
      ['latest', 'latest', 600, 0],
      ['stable', 'raw', 200, 3],
      ['sha-c0ffee1', 'sha', 100, 1],
    ]);
    expect(set.version).toBe('first');
  });

  it('takes latest as the version only when it is alone', () => {
    expect(computeTags(parseTagRules('type=raw,value=latest'), context('refs/heads/x')).version).toBe(
      'latest',
    );
    expect(computeTags([], context('refs/heads/x')).version).toBe('');
  });

  it('expands placeholders and dates from the clock', () => {
    const main = context('refs/heads/main');
    expect(tags("type=raw,value={{branch}}-{{sha}}-{{date 'YYYYMMDD-HHmm'}}", main)).toEqual([
      'main-c0ffee1-20260314-0317',
    ]);
    expect(tags('type=tag,prefix=release-', context('refs/tags/v1.0'))).toEqual(['release-v1.0']);
    expect(tags('type=raw,value=build-{{tag}}', main)).toEqual(['build-']);
  });

  it('makes schedule, edge and match tags', () => {
    const nightly = context('refs/heads/main', { eventName: 'schedule' });
    expect(tags('type=schedule', nightly)).toEqual(['nightly']);
    expect(tags("type=schedule,pattern=nightly-{{date 'YYYYMMDD'}}", nightly)).toEqual(['nightly-20260314']);
    expect(tags('type=schedule', context('refs/heads/main'))).toEqual([]);
    expect(tags('type=edge', context('refs/heads/main'))).toEqual(['edge']);
    expect(tags('type=edge,branch=develop', context('refs/heads/main'))).toEqual([]);
    expect(tags('type=edge,branch=develop', context('refs/heads/develop'))).toEqual(['edge']);
    expect(tags('type=match,pattern=\\d+\\.\\d+', context('refs/tags/api-v2.7.1'))).toEqual(['2.7']);
    expect(tags('type=match,pattern=api-v(\\d+),group=1', context('refs/tags/api-v2.7.1'))).toEqual(['2']);
    expect(tags('type=match,pattern=web-(.*)', context('refs/tags/api-v2.7.1'))).toEqual([]);
  });

  it('skips disabled rules', () => {
    expect(tags('type=sha,enable=false\ntype=raw,value=x', context('refs/heads/main'))).toEqual(['x']);
  });

  it('has sensible defaults', () => {
    expect(tags(DEFAULT_TAG_RULES, context('refs/heads/main'))).toEqual(['main', 'sha-c0ffee1']);
    expect(tags(DEFAULT_TAG_RULES, context('refs/tags/v1.0.0'))).toEqual([
      '1.0.0',
      '1.0',
      '1',
      'latest',
      'sha-c0ffee1',
    ]);
    expect(tags(DEFAULT_TAG_RULES, PR)).toEqual(['pr-7', 'sha-c0ffee1']);
  });
});

describe('helpers', () => {
  it('sanitizes tags', () => {
    expect(sanitizeTag('feature/a b')).toBe('feature-a-b');
    expect(sanitizeTag('--x')).toBe('x');
    expect(sanitizeTag('///')).toBe('');
    expect(sanitizeTag('ünïcode')).toBe('n-code');
  });

  it('combines images and tags', () => {
    const images = [parseImageName('ghcr.io/o/app'), parseImageName('127.0.0.1:5000/app')];
    expect(imageTags(images, ['1.0', 'latest'])).toEqual([
      'ghcr.io/o/app:1.0',
      'ghcr.io/o/app:latest',
      '127.0.0.1:5000/app:1.0',
      '127.0.0.1:5000/app:latest',
    ]);
  });

  it('parses semantic versions', () => {
    expect(parseSemver('v1.2.3-rc.1+b5')).toEqual({
      raw: 'v1.2.3-rc.1+b5',
      major: '1',
      minor: '2',
      patch: '3',
      prerelease: 'rc.1',
      build: 'b5',
    });
    expect(parseSemver('01.2.3')).toBeUndefined();
  });
});

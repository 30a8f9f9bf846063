import { InputError, systemClock, type Clock } from '@dreamscape/core';
import { isDefaultBranch, revisionOf, type GitHubContext } from './github-context.js';
import { formatName, type ImageName } from './reference.js';

/**
 * Tag rules, in the spirit of docker/metadata-action.
 *
 * Grammar: one rule per line; blank lines and lines starting with `#` are ignored. A rule is
 * comma-separated `key=value` attributes, one of which is `type=`:
 *
 *     rule      = attribute *( "," attribute )
 *     attribute = key "=" value          ; a value in double quotes may contain ","
 *
 * | type       | produces                                       | attributes (besides prefix, suffix, enable, priority)      |
 * |------------|------------------------------------------------|------------------------------------------------------------|
 * | `sha`      | `sha-` + the first `length` (7) hex of the commit | `length=1..40`, `format=short\|long` (long = all 40)      |
 * | `branch`   | the branch name on branch runs, sanitized      |                                                            |
 * | `tag`      | the git tag on tag runs, sanitized             |                                                            |
 * | `pr`       | `pr-<number>` on pull requests                 |                                                            |
 * | `semver`   | from a `v1.2.3` git tag: `1.2.3`, `1.2`, `1`     | `pattern=` (`{{version}}` `{{major}}` `{{minor}}` `{{patch}}` `{{raw}}`), `value=` |
 * | `match`    | a regular expression's group on the git tag    | `pattern=` (required), `group=` (0), `value=`               |
 * | `edge`     | `edge` on the default branch                   | `branch=`                                                  |
 * | `schedule` | `nightly` on scheduled runs                    | `pattern=` (may use `{{date 'YYYYMMDD'}}`)                  |
 * | `raw`      | `value`, as given                              | `value=` (required)                                        |
 * | `ref`      | alias: `ref,event=branch\|tag\|pr` is `branch`, `tag`, `pr` | `event=` (required)                           |
 *
 * `prefix`, `suffix` and `raw`'s `value` may use `{{branch}}`, `{{tag}}`, `{{sha}}` (7 hex) and
 * `{{date 'FORMAT'}}` (`YYYY MM DD HH mm ss`, UTC). `enable=false` turns a rule off; `priority=N`
 * overrides its priority. Without `pattern`, `semver` gives the three usual tags; pre-releases
 * (`v2.0.0-rc.1`) give only the full version, and `v0.x` never gives the bare major `0`.
 *
 * Computed tags are sanitized (characters outside `[A-Za-z0-9_.-]` become `-`, leading `.`/`-`
 * dropped, at most 128 characters), ordered by priority (schedule 1000, semver 900, match 800,
 * edge 700, branch/tag/pr 600, raw 200, sha 100; ties keep rule order) and de-duplicated.
 * `latest` is added by a policy: `never`, `default-branch` (runs on the default branch, after the
 * branch-level tags) or `semver` (a release version that is not a pre-release, after its tags).
 */

/** The rule types. */
export const TAG_RULE_TYPES = [
  'sha',
  'branch',
  'tag',
  'pr',
  'semver',
  'match',
  'edge',
  'schedule',
  'raw',
] as const;
export type TagRuleType = (typeof TAG_RULE_TYPES)[number];

/** Default priorities, as docker/metadata-action orders them. */
export const TAG_PRIORITIES: Readonly<Record<TagRuleType, number>> = {
  schedule: 1000,
  semver: 900,
  match: 800,
  edge: 700,
  branch: 600,
  tag: 600,
  pr: 600,
  raw: 200,
  sha: 100,
};

/** When `latest` is added. */
export const LATEST_POLICIES = ['never', 'default-branch', 'semver'] as const;
export type LatestPolicy = (typeof LATEST_POLICIES)[number];

/** The rules used when none are given: branch, pr, semver and sha tags. */
export const DEFAULT_TAG_RULES = 'type=branch\ntype=pr\ntype=semver\ntype=sha';

/** Attributes every rule has. */
interface RuleBase {
  /** 1-based line in the input. */
  readonly line: number;
  /** The line as written. */
  readonly source: string;
  readonly enable: boolean;
  readonly priority: number;
  readonly prefix: string;
  readonly suffix: string;
}

/** One parsed rule. */
export type TagRule =
  | (RuleBase & { readonly type: 'sha'; readonly length: number; readonly format: 'short' | 'long' })
  | (RuleBase & { readonly type: 'branch' | 'tag' | 'pr' })
  | (RuleBase & {
      readonly type: 'semver';
      readonly patterns: readonly string[];
      readonly value: string | undefined;
    })
  | (RuleBase & {
      readonly type: 'match';
      readonly pattern: RegExp;
      readonly group: number;
      readonly value: string | undefined;
    })
  | (RuleBase & { readonly type: 'edge'; readonly branch: string | undefined })
  | (RuleBase & { readonly type: 'schedule'; readonly pattern: string })
  | (RuleBase & { readonly type: 'raw'; readonly value: string });

/** A tag rule line that cannot be used; names the input and the line. */
export class TagRuleError extends InputError {
  readonly line: number;

  constructor(input: string, line: number, source: string, reason: string, accepted: string) {
    super(input, source, accepted, { reason: `line ${line}: ${reason}` });
    this.name = 'TagRuleError';
    this.line = line;
  }
}

const COMMON_KEYS = ['type', 'prefix', 'suffix', 'enable', 'priority'] as const;
const TYPE_KEYS: Readonly<Record<TagRuleType | 'ref', readonly string[]>> = {
  sha: ['length', 'format'],
  branch: [],
  tag: [],
  pr: [],
  semver: ['pattern', 'value'],
  match: ['pattern', 'group', 'value'],
  edge: ['branch'],
  schedule: ['pattern'],
  raw: ['value'],
  ref: ['event'],
};
const RULE_FORMAT = `one rule per line: type=${[...TAG_RULE_TYPES, 'ref'].join('|')} followed by ,key=value attributes, e.g. 'type=sha,length=7', 'type=semver,pattern={{major}}.{{minor}}', 'type=raw,value=stable'`;
const SEMVER_PLACEHOLDERS = ['version', 'major', 'minor', 'patch', 'raw'];
const DEFAULT_SEMVER_PATTERNS = ['{{version}}', '{{major}}.{{minor}}', '{{major}}'];
const DATE_TOKENS = /YYYY|MM|DD|HH|mm|ss/g;

/**
 * Parses tag rules (see the module documentation for the grammar). Every problem raises a
 * {@link TagRuleError} naming `input` and the line.
 */
export function parseTagRules(text: string, input = 'tags'): TagRule[] {
  const rules: TagRule[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const source = raw.trim();
    if (source === '' || source.startsWith('#')) return;
    rules.push(parseRule(source, index + 1, input));
  });
  return rules;
}

function parseRule(source: string, line: number, input: string): TagRule {
  const fail = (reason: string, accepted: string = RULE_FORMAT): never => {
    throw new TagRuleError(input, line, source, reason, accepted);
  };
  const attributes = new Map<string, string>();
  for (const token of splitAttributes(source, fail)) {
    const eq = token.indexOf('=');
    if (eq <= 0) fail(`'${token}' is not a key=value attribute`);
    const key = token.slice(0, eq).trim().toLowerCase();
    const value = unquote(token.slice(eq + 1).trim(), fail);
    if (attributes.has(key)) fail(`the attribute '${key}' is given twice`);
    attributes.set(key, value);
  }
  const typeName = attributes.get('type');
  if (typeName === undefined) return fail("there is no 'type=' attribute");
  let type: TagRuleType;
  if (typeName === 'ref') {
    const event = attributes.get('event');
    if (event !== 'branch' && event !== 'tag' && event !== 'pr')
      return fail(
        event === undefined ? "type=ref needs 'event='" : `unknown ref event '${event}'`,
        'type=ref,event=branch|tag|pr',
      );
    type = event;
  } else if ((TAG_RULE_TYPES as readonly string[]).includes(typeName)) {
    type = typeName as TagRuleType;
  } else {
    return fail(`unknown type '${typeName}'`);
  }
  const allowed = [...COMMON_KEYS, ...TYPE_KEYS[typeName === 'ref' ? 'ref' : type]];
  for (const key of attributes.keys())
    if (!allowed.includes(key))
      fail(`type=${typeName} has no attribute '${key}'`, `for type=${typeName}: ${allowed.join(', ')}`);

  const enableText = attributes.get('enable') ?? 'true';
  if (enableText !== 'true' && enableText !== 'false')
    fail(`enable must be true or false, not '${enableText}'`, 'enable=true or enable=false');
  const priorityText = attributes.get('priority');
  if (priorityText !== undefined && !/^\d{1,6}$/.test(priorityText))
    fail(`priority must be a whole number, not '${priorityText}'`, 'priority=0..999999');
  const prefix = attributes.get('prefix') ?? (type === 'sha' ? 'sha-' : type === 'pr' ? 'pr-' : '');
  const suffix = attributes.get('suffix') ?? '';
  checkPlaceholders(prefix, ['branch', 'tag', 'sha', 'date'], fail);
  checkPlaceholders(suffix, ['branch', 'tag', 'sha', 'date'], fail);
  const base: RuleBase = {
    line,
    source,
    enable: enableText === 'true',
    priority: priorityText === undefined ? TAG_PRIORITIES[type] : Number(priorityText),
    prefix,
    suffix,
  };

  switch (type) {
    case 'sha': {
      const lengthText = attributes.get('length') ?? '7';
      const length = Number(lengthText);
      if (!/^\d+$/.test(lengthText) || length < 1 || length > 40)
        fail(`length must be a whole number from 1 to 40, not '${lengthText}'`, 'length=1..40');
      const format = attributes.get('format') ?? 'short';
      if (format !== 'short' && format !== 'long')
        return fail(`format must be short or long, not '${format}'`, 'format=short or format=long');
      return { ...base, type, length, format };
    }
    case 'branch':
    case 'tag':
    case 'pr':
      return { ...base, type };
    case 'semver': {
      const pattern = attributes.get('pattern');
      if (pattern !== undefined) {
        if (pattern === '')
          fail('the pattern is empty', `placeholders: {{${SEMVER_PLACEHOLDERS.join('}}, {{')}}}`);
        checkPlaceholders(pattern, SEMVER_PLACEHOLDERS, fail);
      }
      return {
        ...base,
        type,
        patterns: pattern === undefined ? DEFAULT_SEMVER_PATTERNS : [pattern],
        value: attributes.get('value'),
      };
    }
    case 'match': {
      const pattern = attributes.get('pattern');
      if (pattern === undefined || pattern === '')
        return fail(
          "type=match needs 'pattern=' (a regular expression)",
          'type=match,pattern=REGEX[,group=N]',
        );
      let regex: RegExp;
      try {
        regex = new RegExp(pattern);
      } catch (error) {
        return fail(
          `the pattern is not a regular expression: ${(error as Error).message}`,
          'a JavaScript regular expression',
        );
      }
      const groupText = attributes.get('group') ?? '0';
      if (!/^\d{1,2}$/.test(groupText))
        fail(`group must be a whole number, not '${groupText}'`, 'group=0..99');
      return { ...base, type, pattern: regex, group: Number(groupText), value: attributes.get('value') };
    }
    case 'edge':
      return { ...base, type, branch: attributes.get('branch') };
    case 'schedule': {
      const pattern = attributes.get('pattern') ?? 'nightly';
      if (pattern === '') fail('the pattern is empty', "pattern=nightly or pattern={{date 'YYYYMMDD'}}");
      checkPlaceholders(pattern, ['date', 'branch', 'sha'], fail);
      return { ...base, type, pattern };
    }
    case 'raw': {
      const value = attributes.get('value');
      if (value === undefined || value === '')
        return fail("type=raw needs a non-empty 'value='", 'type=raw,value=TAG');
      checkPlaceholders(value, ['branch', 'tag', 'sha', 'date'], fail);
      return { ...base, type, value };
    }
  }
}

function splitAttributes(source: string, fail: (reason: string) => never): string[] {
  const tokens: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of source) {
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      tokens.push(current.trim());
      current = '';
    } else current += char;
  }
  if (quoted) fail('a double quote is not closed');
  tokens.push(current.trim());
  return tokens.filter((t) => t !== '');
}

function unquote(value: string, fail: (reason: string) => never): string {
  if (!value.includes('"')) return value;
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"') && !value.slice(1, -1).includes('"'))
    return value.slice(1, -1);
  return fail(`the value ${value} mixes quoted and unquoted text`);
}

function checkPlaceholders(
  text: string,
  allowed: readonly string[],
  fail: (reason: string, accepted: string) => never,
): void {
  for (const match of text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    const body = match[1] ?? '';
    const name = body.split(/\s+/)[0] ?? '';
    const accepted = `placeholders here: ${allowed.map((a) => (a === 'date' ? "{{date 'YYYYMMDD'}}" : `{{${a}}}`)).join(', ')}`;
    if (!allowed.includes(name)) fail(`unknown placeholder '{{${body}}}'`, accepted);
    if (name === 'date' && !/^date\s+'[^']+'$/.test(body))
      fail(`'{{${body}}}' needs a quoted format, as in {{date 'YYYYMMDD'}}`, accepted);
  }
}

/** One computed tag and where it came from. */
export interface ComputedTag {
  readonly tag: string;
  readonly priority: number;
  /** The rule type, or `latest`. */
  readonly rule: TagRuleType | 'latest';
  /** The rule's line in the input (0 for `latest`). */
  readonly line: number;
}

/** The tags for one run. */
export interface TagSet {
  /** Tags in priority order, unique. */
  readonly tags: readonly string[];
  readonly entries: readonly ComputedTag[];
  /**
   * The version the image is known by: the highest-priority tag other than `latest` (`latest`
   * when it is the only one; '' when there are no tags).
   */
  readonly version: string;
}

/** Options for {@link computeTags}. */
export interface ComputeTagsOptions {
  /** When to add `latest`. Default `semver`, as docker/metadata-action does. */
  readonly latest?: LatestPolicy;
  /** On pull requests, use the PR head commit for `sha` tags rather than the merge commit. */
  readonly prHeadSha?: boolean;
  /** Overrides the default branch (when the event payload does not carry it). */
  readonly defaultBranch?: string;
  /** Time for `{{date}}`. */
  readonly clock?: Clock;
}

interface Semver {
  readonly raw: string;
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  readonly prerelease: string | undefined;
  readonly build: string | undefined;
}

/** Computes the tags a run produces from `rules` (see the module documentation). */
export function computeTags(
  rules: readonly TagRule[],
  context: GitHubContext,
  options: ComputeTagsOptions = {},
): TagSet {
  const clock = options.clock ?? systemClock;
  const revision = revisionOf(context, { prHeadSha: options.prHeadSha === true });
  const branch = context.refType === 'branch' ? context.refName : '';
  const gitTag = context.refType === 'tag' ? context.refName : '';
  const prNumber = pullRequestNumber(context);
  const defaultBranch = options.defaultBranch ?? context.repository.defaultBranch;
  const onDefaultBranch = prNumber === undefined && isDefaultBranch(context, defaultBranch);
  const expand = (text: string): string => expandPlaceholders(text, { branch, tag: gitTag, revision, clock });

  const produced: ComputedTag[] = [];
  let releaseVersion = false;
  const add = (rule: TagRule, value: string): void => {
    produced.push({
      tag: `${expand(rule.prefix)}${value}${expand(rule.suffix)}`,
      priority: rule.priority,
      rule: rule.type,
      line: rule.line,
    });
  };
  for (const rule of rules) {
    if (!rule.enable) continue;
    switch (rule.type) {
      case 'sha':
        add(rule, rule.format === 'long' ? revision : revision.slice(0, rule.length));
        break;
      case 'branch':
        if (branch !== '' && prNumber === undefined) add(rule, branch);
        break;
      case 'tag':
        if (gitTag !== '') add(rule, gitTag);
        break;
      case 'pr':
        if (prNumber !== undefined) add(rule, String(prNumber));
        break;
      case 'semver': {
        const version = parseSemver(rule.value ?? gitTag);
        if (version === undefined) break;
        for (const pattern of rule.patterns) {
          const tag = semverTag(pattern, version);
          if (tag !== undefined) add(rule, tag);
        }
        if (version.prerelease === undefined) releaseVersion = true;
        break;
      }
      case 'match': {
        const subject = rule.value ?? gitTag;
        if (subject === '') break;
        const found = rule.pattern.exec(subject)?.[rule.group];
        if (found !== undefined && found !== '') add(rule, found);
        break;
      }
      case 'edge':
        if (prNumber === undefined && branch !== '' && branch === (rule.branch ?? defaultBranch))
          add(rule, 'edge');
        break;
      case 'schedule':
        if (context.eventName === 'schedule') add(rule, expand(rule.pattern));
        break;
      case 'raw':
        add(rule, expand(rule.value));
        break;
    }
  }

  const policy = options.latest ?? 'semver';
  if (policy === 'default-branch' && onDefaultBranch)
    produced.push({ tag: 'latest', priority: TAG_PRIORITIES.branch, rule: 'latest', line: 0 });
  if (policy === 'semver' && releaseVersion)
    produced.push({ tag: 'latest', priority: TAG_PRIORITIES.semver, rule: 'latest', line: 0 });

  const ordered = produced
    .map((entry, index) => ({ entry: { ...entry, tag: sanitizeTag(entry.tag) }, index }))
    .filter(({ entry }) => entry.tag !== '')
    .sort((a, b) => b.entry.priority - a.entry.priority || a.index - b.index)
    .map(({ entry }) => entry);
  const seen = new Set<string>();
  const entries = ordered.filter((e) => (seen.has(e.tag) ? false : (seen.add(e.tag), true)));
  const tags = entries.map((e) => e.tag);
  return { tags, entries, version: tags.find((t) => t !== 'latest') ?? tags[0] ?? '' };
}

/**
 * A tag made valid: characters outside `[A-Za-z0-9_.-]` become `-` (`feature/login` →
 * `feature-login`), leading `.` and `-` are dropped, and it is cut to 128 characters. May return ''.
 */
export function sanitizeTag(text: string): string {
  return text
    .replace(/[^\w.-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128);
}

/** Every `image:tag` combination, images first: for the builder's `tags` and the outputs. */
export function imageTags(images: readonly ImageName[], tags: readonly string[]): string[] {
  return images.flatMap((image) => tags.map((tag) => `${formatName(image)}:${tag}`));
}

/** Parses `v1.2.3`, `1.2.3-rc.1+build.5`; undefined when the text is not a semantic version. */
export function parseSemver(text: string): Semver | undefined {
  const m =
    /^[vV]?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/.exec(
      text,
    );
  if (m === null) return undefined;
  return {
    raw: text,
    major: m[1] ?? '',
    minor: m[2] ?? '',
    patch: m[3] ?? '',
    prerelease: m[4],
    build: m[5],
  };
}

function semverTag(pattern: string, v: Semver): string | undefined {
  const uses = (name: string): boolean => new RegExp(`\\{\\{\\s*${name}\\s*\\}\\}`).test(pattern);
  const full = uses('version') || uses('raw');
  // A pre-release is not a release of its major or minor line; only its full version is tagged.
  if (v.prerelease !== undefined && !full) return undefined;
  // `0` would claim every 0.x release is compatible with every other: never tag the bare 0 major.
  if (v.major === '0' && uses('major') && !full && !uses('minor') && !uses('patch')) return undefined;
  const version = `${v.major}.${v.minor}.${v.patch}${v.prerelease === undefined ? '' : `-${v.prerelease}`}${v.build === undefined ? '' : `+${v.build}`}`;
  const values: Record<string, string> = {
    version,
    major: v.major,
    minor: v.minor,
    patch: v.patch,
    raw: v.raw,
  };
  return pattern.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => values[name] ?? '');
}

function pullRequestNumber(context: GitHubContext): number | undefined {
  if (context.pullRequest !== undefined && Number.isInteger(context.pullRequest.number))
    return context.pullRequest.number;
  const m = /^refs\/pull\/(\d+)\//.exec(context.ref);
  return m === null ? undefined : Number(m[1]);
}

function expandPlaceholders(
  text: string,
  values: { branch: string; tag: string; revision: string; clock: Clock },
): string {
  return text.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (whole, body: string) => {
    const [name = ''] = body.split(/\s+/);
    if (name === 'branch') return values.branch;
    if (name === 'tag') return values.tag;
    if (name === 'sha') return values.revision.slice(0, 7);
    if (name === 'date') return formatDate(/'([^']+)'/.exec(body)?.[1] ?? 'YYYYMMDD', values.clock.now());
    return whole;
  });
}

function formatDate(format: string, ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  const parts: Record<string, string> = {
    YYYY: String(d.getUTCFullYear()),
    MM: two(d.getUTCMonth() + 1),
    DD: two(d.getUTCDate()),
    HH: two(d.getUTCHours()),
    mm: two(d.getUTCMinutes()),
    ss: two(d.getUTCSeconds()),
  };
  return format.replace(DATE_TOKENS, (token) => parts[token] ?? token);
}

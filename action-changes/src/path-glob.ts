/**
 * Path patterns as a services file and the `shared-paths` input write them, matched against
 * repository-relative POSIX paths (what `git diff --name-only` prints):
 *
 * - `*` matches any run of characters within one path segment, `?` one character;
 * - `**` as a whole segment matches any number of segments (`libs/**` everything under `libs`,
 *   `**\/*.proto` a `.proto` file anywhere);
 * - a pattern without any of these is a path: it matches that file, and everything under it when it
 *   is a directory (`libs/shared` = `libs/shared/**`);
 * - a trailing `/` is ignored, a leading `./` too.
 *
 * Braces, character classes and negation are not supported: a pattern using them is refused, so it
 * never silently matches less than its author meant.
 */
export interface PathPattern {
  /** The pattern as written. */
  readonly source: string;
  matches(path: string): boolean;
}

const UNSUPPORTED = /[[\]{}!]/;

/** Compiles one pattern; throws a plain Error naming what is not supported (callers add context). */
export function compilePathPattern(source: string): PathPattern {
  const pattern = normalizePattern(source);
  if (pattern === '') throw new Error(`the pattern '${source}' is empty`);
  if (UNSUPPORTED.test(pattern))
    throw new Error(
      `the pattern '${source}' uses [ ] { } or !, which are not supported (use *, ? and ** only)`,
    );
  if (pattern.split('/').includes('..'))
    throw new Error(`the pattern '${source}' climbs out of the repository with '..'`);
  if (!/[*?]/.test(pattern)) {
    const prefix = `${pattern}/`;
    return { source, matches: (path) => path === pattern || path.startsWith(prefix) };
  }
  const regex = new RegExp(`^${pattern.split('/').map(segmentRegex).join('')}$`);
  return { source, matches: (path) => regex.test(path) };
}

/** The regular expression of one segment, including the `/` that follows it. */
function segmentRegex(segment: string, index: number, all: readonly string[]): string {
  const last = index === all.length - 1;
  if (segment === '**') return last ? '.*' : '(?:[^/]+/)*';
  const body = segment
    .replace(/[.+^$()|\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return last ? body : `${body}/`;
}

/** Leading `./` and trailing `/` removed, repeated slashes collapsed. */
function normalizePattern(source: string): string {
  return source
    .trim()
    .replace(/\\/g, '/')
    .replace(/\/{2,}/g, '/')
    .replace(/^(?:\.\/)+/, '')
    .replace(/\/+$/, '');
}

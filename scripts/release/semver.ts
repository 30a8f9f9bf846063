/** A release version, `MAJOR.MINOR.PATCH` and nothing else (no pre-release, no build metadata). */
export interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** What `--bump` accepts. */
export const BUMP_LEVELS = ['major', 'minor', 'patch'] as const;
export type BumpLevel = (typeof BUMP_LEVELS)[number];

/** The version a release is asked for: given as is, or the last release bumped. */
export type VersionRequest =
  { readonly kind: 'exact'; readonly text: string } | { readonly kind: 'bump'; readonly level: BumpLevel };

/** The first release when no `vX.Y.Z` tag exists yet, whatever the bump. */
export const FIRST_VERSION: Version = { major: 1, minor: 0, patch: 0 };

// No leading zeros, as semver says: `1.02.3` would sort like `1.2.3` and tag differently.
const NUMBER = '(0|[1-9]\\d{0,8})';
const VERSION = new RegExp(`^v?${NUMBER}\\.${NUMBER}\\.${NUMBER}$`);
const RELEASE_TAG = new RegExp(`^v${NUMBER}\\.${NUMBER}\\.${NUMBER}$`);

function fromMatch(m: RegExpExecArray): Version {
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** `1.2.3` or `v1.2.3` as a {@link Version}; undefined for anything else. */
export function parseVersion(text: string): Version | undefined {
  const m = VERSION.exec(text);
  return m === null ? undefined : fromMatch(m);
}

/** The version a release tag names (`v1.2.3`); undefined for any other tag, `v1` included. */
export function parseReleaseTag(tag: string): Version | undefined {
  const m = RELEASE_TAG.exec(tag);
  return m === null ? undefined : fromMatch(m);
}

/** `1.2.3` */
export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** The release tag of a version: `v1.2.3`. */
export function releaseTag(v: Version): string {
  return `v${formatVersion(v)}`;
}

/** The tag that moves with every release of a major version: `v1`. */
export function majorTag(v: Version): string {
  return `v${v.major}`;
}

/** Negative when `a` comes before `b`, zero when equal, positive after. */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** `last` bumped at `level`; the first release ({@link FIRST_VERSION}) when there is no last. */
export function bumpVersion(last: Version | undefined, level: BumpLevel): Version {
  if (last === undefined) return FIRST_VERSION;
  switch (level) {
    case 'major':
      return { major: last.major + 1, minor: 0, patch: 0 };
    case 'minor':
      return { major: last.major, minor: last.minor + 1, patch: 0 };
    case 'patch':
      return { major: last.major, minor: last.minor, patch: last.patch + 1 };
  }
}

/** The release versions among `tags`, newest first; other tags are ignored. */
export function releaseVersions(tags: Iterable<string>): Version[] {
  const out: Version[] = [];
  for (const tag of tags) {
    const v = parseReleaseTag(tag);
    if (v !== undefined) out.push(v);
  }
  return out.sort((a, b) => compareVersions(b, a));
}

// CHANGELOG.md in the Keep a Changelog format (https://keepachangelog.com/en/1.1.0/): an
// `## [Unreleased]` section on top, one `## [1.2.3] - 2025-06-01` section per release below it, and
// optional link definitions at the bottom.

/** Where a `## ` section's body lies, as line indexes (`end` exclusive). */
interface SectionLines {
  readonly heading: number;
  readonly end: number;
}

const UNRELEASED_HEADING = /^## \[unreleased\]\s*$/i;
const SECTION_HEADING = /^## /;
const LINK_DEFINITION = /^\[[^\]]+\]:\s*\S+/;
const UNRELEASED_LINK = /^(\[unreleased\]):\s*(https:\/\/github\.com\/[^/\s]+\/[^/\s]+)(?:\/\S*)?\s*$/i;

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The section whose heading matches, up to the next `## ` heading or the link definitions. */
function findSection(lines: readonly string[], heading: RegExp): SectionLines | undefined {
  const start = lines.findIndex((l) => heading.test(l));
  if (start < 0) return undefined;
  let end = start + 1;
  while (end < lines.length && !SECTION_HEADING.test(lines[end]!) && !LINK_DEFINITION.test(lines[end]!))
    end++;
  return { heading: start, end };
}

/**
 * The body with blank lines trimmed at both ends and `###` headings that head nothing dropped
 * (Keep a Changelog's empty `### Added` placeholders), or '' when nothing is left.
 */
function meaningfulBody(lines: readonly string[]): string {
  const kept: string[] = [];
  for (const [i, line] of lines.entries()) {
    if (/^###\s/.test(line)) {
      const next = lines.slice(i + 1).find((l) => l.trim() !== '');
      if (next === undefined || /^#{1,3}\s/.test(next)) continue;
    }
    kept.push(line);
  }
  const text = kept.join('\n').replace(/\n{3,}/g, '\n\n');
  return text.trim() === '' ? '' : text.replace(/^\n+|\s+$/g, '');
}

/** The notes under `## [Unreleased]`: '' when the section is empty, undefined when there is none. */
export function unreleasedNotes(changelog: string): string | undefined {
  const lines = changelog.split('\n');
  const section = findSection(lines, UNRELEASED_HEADING);
  if (section === undefined) return undefined;
  return meaningfulBody(lines.slice(section.heading + 1, section.end));
}

/** The notes of the release `version` (`1.2.3`), or undefined when it has no section or an empty one. */
export function releaseNotes(changelog: string, version: string): string | undefined {
  const lines = changelog.split('\n');
  const section = findSection(lines, new RegExp(`^## \\[${escape(version)}\\](?:\\s+-\\s+.*)?\\s*$`));
  if (section === undefined) return undefined;
  const body = meaningfulBody(lines.slice(section.heading + 1, section.end));
  return body === '' ? undefined : body;
}

/** What {@link promoteUnreleased} needs to know about the release. */
export interface Promotion {
  /** `1.2.3` */
  readonly version: string;
  /** `2025-06-01` */
  readonly date: string;
  /** The release before this one (`v1.2.2`), for the compare link; undefined for the first. */
  readonly previousTag?: string | undefined;
}

/**
 * The changelog with the Unreleased notes moved under `## [version] - date`, and a fresh, empty
 * `## [Unreleased]` above it. When the file links `[Unreleased]` to a GitHub repository, that link
 * is pointed at the changes since this release and the release gets its own link.
 * Throws when there is no Unreleased section: check with {@link unreleasedNotes} first.
 */
export function promoteUnreleased(changelog: string, p: Promotion): string {
  const lines = changelog.split('\n');
  const section = findSection(lines, UNRELEASED_HEADING);
  if (section === undefined) throw new Error('the changelog has no ## [Unreleased] section');
  const notes = meaningfulBody(lines.slice(section.heading + 1, section.end));
  const tag = `v${p.version}`;
  const rest = lines.slice(section.end);
  while (rest[0]?.trim() === '') rest.shift();
  const out = [
    ...lines.slice(0, section.heading + 1),
    '',
    `## [${p.version}] - ${p.date}`,
    '',
    ...notes.split('\n'),
    ...(rest.length > 0 ? ['', ...rest] : ['']),
  ];
  const link = out.findIndex((l) => UNRELEASED_LINK.test(l));
  if (link >= 0) {
    const [, label = '[Unreleased]', base = ''] = UNRELEASED_LINK.exec(out[link]!) ?? [];
    const own =
      p.previousTag === undefined
        ? `${base}/releases/tag/${tag}`
        : `${base}/compare/${p.previousTag}...${tag}`;
    out.splice(link, 1, `${label}: ${base}/compare/${tag}...HEAD`, `[${p.version}]: ${own}`);
  }
  return out.join('\n');
}

import type { Git, LoggedCommit } from './git.js';

/** A part of the suite whose changes the notes list on their own: an action, or a workflow folder. */
export interface SuitePart {
  readonly title: string;
  /** The folder, relative to the repository root. */
  readonly path: string;
}

/** The commits of a release that touched one part. */
export interface PartChanges {
  readonly part: SuitePart;
  readonly commits: readonly LoggedCommit[];
}

/** The workflow folders listed after the actions. */
export const WORKFLOW_PARTS: readonly SuitePart[] = [
  { title: 'Reusable workflows (.github/workflows)', path: '.github/workflows' },
  { title: 'Starter workflows (workflows/)', path: 'workflows' },
];

/**
 * The parts of the suite at `commit`: every top-level `action-*` folder (its sources and its
 * committed `dist/`, so a change in a shared package shows up in each action whose bundle it
 * changed), then the reusable and the starter workflows.
 */
export async function suiteParts(git: Git, commit: string): Promise<SuitePart[]> {
  const { stdout } = await git.run(['ls-tree', '--name-only', '-d', commit]);
  const actions = stdout
    .split('\n')
    .filter((name) => name.startsWith('action-'))
    .sort()
    .map((name) => ({ title: name, path: name }));
  return [...actions, ...WORKFLOW_PARTS];
}

/** The commits after `previous` (the whole history when undefined) up to `commit` that touched each part. */
export async function changesPerPart(
  git: Git,
  parts: readonly SuitePart[],
  range: { readonly previous: string | undefined; readonly commit: string },
): Promise<PartChanges[]> {
  const spec = range.previous === undefined ? range.commit : `${range.previous}..${range.commit}`;
  const out: PartChanges[] = [];
  for (const part of parts) out.push({ part, commits: await git.log(spec, part.path) });
  return out;
}

/** What the notes of one release say. */
export interface ReleaseNotesContent {
  /** `v1.2.3` */
  readonly tag: string;
  /** The release's section of CHANGELOG.md, without its heading. */
  readonly changelog: string;
  /** The release before (`v1.2.2`), or undefined for the first. */
  readonly previousTag: string | undefined;
  readonly changes: readonly PartChanges[];
}

/** The release notes: the CHANGELOG section, then the commits per part ("no changes" for a part none touched). */
export function formatReleaseNotes(n: ReleaseNotesContent): string {
  const since =
    n.previousTag === undefined
      ? `Commits up to ${n.tag} (the first release) that touched each part of the suite.`
      : `Commits since ${n.previousTag} that touched each part of the suite.`;
  const lines = [n.changelog.trim(), '', '## Changes per action', '', since];
  for (const { part, commits } of n.changes) {
    lines.push('', `### ${part.title}`, '');
    if (commits.length === 0) lines.push('no changes');
    for (const c of commits) lines.push(`- ${c.sha} ${c.subject}`);
  }
  return `${lines.join('\n')}\n`;
}

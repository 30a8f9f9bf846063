import { InputError, type Logger } from '@dreamscape/core';
import { GitHubApiError, type GitHubClient } from './client.js';
import {
  COMMIT_SHA,
  commitProvenance,
  defaultBranchOf,
  describePatterns,
  describeProvenance,
  refPath,
  type CommitProvenance,
  type TagPattern,
} from './commit-provenance.js';

const RUNNER_LABEL = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/;

/**
 * Reads an allow-list of runner labels (`allowed-runners`: one per line or comma-separated). Each
 * label is letters, digits, `.`, `_`, `:`, `/` and `-`; an empty list allows nothing.
 */
export function parseRunnerAllowList(text: string, input = 'allowed-runners'): string[] {
  const labels = text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (labels.length === 0)
    throw new InputError(input, '', 'runner labels, one per line or comma-separated, e.g. ubuntu-latest');
  for (const label of labels)
    if (!RUNNER_LABEL.test(label))
      throw new InputError(input, label, "runner labels made of letters, digits, '.', '_', ':', '/' and '-'");
  return [...new Set(labels)];
}

/**
 * The runner a job may run on: `requested` when the allow-list names it exactly, the list's first
 * label when nothing is requested. Anything else is refused before a job with credentials exists:
 * `runs-on` is evaluated before any step, so the deploy job takes its label from this check.
 */
export function checkRunner(requested: string, allowed: readonly string[], input = 'runs-on'): string {
  const label = requested.trim();
  if (label === '') return allowed[0] ?? '';
  if (allowed.includes(label)) return label;
  throw new InputError(input, label, `a runner label of 'allowed-runners': ${allowed.join(', ')}`, {
    reason:
      'the label is not in the allow-list the calling workflow (or the DREAMSCAPE_DEPLOY_RUNNERS variable) sets',
  });
}

const SCRIPT_PATH = /^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$/;

/**
 * A smoke-test script path: relative to the repository root, letters, digits, `.`, `_`, `/` and
 * `-`, no `.` or `..` segment, no empty segment. '' means no script. The file itself is checked
 * against the commit by {@link verifyDeployRequest}.
 */
export function checkScriptPath(path: string, input = 'smoke-test-script'): string {
  const text = path.trim();
  if (text === '') return '';
  const accepted =
    "a path to a script inside the repository, relative to its root (letters, digits, '.', '_', '/', '-'; no '..'), e.g. scripts/smoke-test.sh";
  if (!SCRIPT_PATH.test(text))
    throw new InputError(input, text, accepted, {
      reason: text.startsWith('/') ? 'an absolute path' : 'characters outside the accepted set',
    });
  if (text.split('/').some((s) => s === '' || s === '.' || s === '..'))
    throw new InputError(input, text, accepted, {
      reason: 'the path leads outside the repository or has an empty segment',
    });
  return text;
}

const REF_TEXT = /^[A-Za-z0-9_][A-Za-z0-9._/+-]{0,254}$/;

/**
 * A ref as the `ref` input may name it: a commit SHA, a branch or tag name, or `refs/heads/…`,
 * `refs/tags/…`. The shape only (git's rules, narrowed): whether it may be deployed is decided by
 * {@link verifyDeployRequest}.
 */
export function checkRefText(ref: string, input = 'ref'): string {
  const text = ref.trim();
  if (text === '') return '';
  if (!REF_TEXT.test(text) || text.includes('..') || text.includes('//') || /(?:\/|\.lock|\.)$/.test(text))
    throw new InputError(
      input,
      text,
      "a commit SHA, a branch or tag name, or refs/heads/<branch>, refs/tags/<tag> (letters, digits, '.', '_', '/', '+', '-')",
    );
  return text;
}

/** What {@link verifyDeployRequest} checks. */
export interface DeployRequest {
  readonly client: GitHubClient;
  readonly logger: Logger;
  readonly owner: string;
  readonly repo: string;
  /** The `ref` input, checked with {@link checkRefText}; '' = the run's own commit. */
  readonly ref: string;
  /** `GITHUB_REF` and `GITHUB_SHA`: what the run was started for. */
  readonly eventRef: string;
  readonly eventSha: string;
  readonly releaseTags: readonly TagPattern[];
  /** Deploy a commit from anywhere in the repository (`allow-any-ref`); off by default. */
  readonly allowAnyRef: boolean;
  /** A script checked with {@link checkScriptPath}; '' for none. */
  readonly smokeTestScript: string;
}

/** Where an accepted commit comes from; `any` when `allow-any-ref` waived the check. */
export type DeployProvenance = CommitProvenance | { readonly kind: 'any' };

/** A deploy request found fit: the exact commit the deploy job checks out. */
export interface DeployPlan {
  readonly commit: string;
  readonly provenance: DeployProvenance;
  readonly defaultBranch: string;
}

/**
 * Decides whether a deploy may check out and run what it was asked for. The ref (or, without one,
 * the run's own commit) is resolved to a commit through the API, which must be on the default
 * branch (the compare API: `identical` or `behind`) or be the commit of a release tag matching
 * `releaseTags`; the smoke-test script must be a file of that commit inside the repository (the
 * contents API answers `file` for a file and for a link to one inside the repository, never for a
 * link leading out of it). Refusals are {@link InputError}s naming `ref` or `smoke-test-script`.
 */
export async function verifyDeployRequest(r: DeployRequest): Promise<DeployPlan> {
  const repository = `${r.owner}/${r.repo}`;
  const defaultBranch = await defaultBranchOf(r.client, r.owner, r.repo);
  const shown = r.ref === '' ? r.eventRef || r.eventSha : r.ref;
  const accepted = `a commit on the default branch ${defaultBranch} of ${repository}, or one named by a release tag (${describePatterns(r.releaseTags)})`;
  const refuse = (reason: string): InputError =>
    new InputError('ref', shown === '' ? '(none)' : shown, accepted, { reason });

  let commit: string;
  let tag: string | undefined;
  if (r.ref === '') {
    if (!COMMIT_SHA.test(r.eventSha)) throw refuse('the run has no commit (GITHUB_SHA) and no ref was given');
    commit = r.eventSha;
    tag = r.eventRef.startsWith('refs/tags/') ? r.eventRef.slice('refs/tags/'.length) : undefined;
  } else {
    commit = await resolveCommit(r.client, r.owner, r.repo, r.ref);
    if (commit === '') throw refuse(`${repository} has no commit, branch or tag of that name`);
    tag = r.ref.startsWith('refs/tags/')
      ? r.ref.slice('refs/tags/'.length)
      : r.ref.startsWith('tags/')
        ? r.ref.slice('tags/'.length)
        : COMMIT_SHA.test(r.ref) || r.ref.startsWith('refs/')
          ? undefined
          : r.ref;
  }

  let provenance: DeployProvenance;
  if (r.allowAnyRef) {
    provenance = { kind: 'any' };
    r.logger.warning(
      `'allow-any-ref' is set: deploying ${commit} without checking that it is on ${defaultBranch} or a release tag.`,
    );
  } else {
    const found = await commitProvenance(r.client, {
      owner: r.owner,
      repo: r.repo,
      sha: commit,
      defaultBranch,
      tag,
      releaseTags: r.releaseTags,
    });
    if (found.kind === 'refused') throw refuse(found.why);
    provenance = found.provenance;
  }

  if (r.smokeTestScript !== '') {
    const kind = await contentKind(r.client, r.owner, r.repo, r.smokeTestScript, commit);
    if (kind !== 'file')
      throw new InputError(
        'smoke-test-script',
        r.smokeTestScript,
        `a script file of the deployed commit ${commit.slice(0, 12)}, inside the repository`,
        {
          reason:
            kind === 'missing'
              ? 'there is no such file at that commit'
              : kind === 'symlink'
                ? 'a symbolic link leading outside the repository'
                : `it is a ${kind}, not a file`,
        },
      );
  }
  r.logger.info(
    `Deploying ${commit}: ${provenance.kind === 'any' ? "not checked ('allow-any-ref')" : describeProvenance(provenance)}.`,
  );
  return { commit, provenance, defaultBranch };
}

/** The job summary of a deploy check. */
export function renderDeployCheckSummary(
  plan: DeployPlan,
  runner: string,
  smokeTestScript: string,
  environment = '',
  images: readonly { readonly name: string; readonly newName?: string; readonly digest: string }[] = [],
): string {
  return `${[
    `### Deploy check${environment === '' ? '' : ` for ${environment}`}`,
    '',
    `- Commit: \`${plan.commit}\`, ${plan.provenance.kind === 'any' ? "**not checked** ('allow-any-ref')" : describeProvenance(plan.provenance)}`,
    `- Runner: \`${runner}\``,
    `- Smoke test: ${smokeTestScript === '' ? 'no script' : `\`bash ${smokeTestScript}\``}`,
    `- Images: ${images.length === 0 ? "none given (the overlay's own references)" : images.length}`,
    ...images.map((i) => `  - \`${i.name}\`: \`${i.newName ?? i.name}@${i.digest}\``),
  ].join('\n')}\n`;
}

/** The commit a ref names (`GET /repos/{owner}/{repo}/commits/{ref}`), '' when there is none. */
async function resolveCommit(
  client: GitHubClient,
  owner: string,
  repo: string,
  ref: string,
): Promise<string> {
  const apiRef = ref.startsWith('refs/') ? ref.slice('refs/'.length) : ref;
  try {
    const response = await client.request<{ sha?: unknown }>({
      method: 'GET',
      path: `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/commits/${refPath(apiRef)}`,
    });
    const sha = response.data.sha;
    return typeof sha === 'string' && COMMIT_SHA.test(sha) ? sha : '';
  } catch (error) {
    if (error instanceof GitHubApiError && (error.status === 404 || error.status === 422)) return '';
    throw error;
  }
}

/** What the contents API says a path of a commit is. */
async function contentKind(
  client: GitHubClient,
  owner: string,
  repo: string,
  path: string,
  commit: string,
): Promise<'file' | 'directory' | 'symlink' | 'submodule' | 'missing' | 'unknown'> {
  try {
    const response = await client.request<unknown>({
      method: 'GET',
      path: `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/contents/${refPath(path)}`,
      query: { ref: commit },
    });
    if (Array.isArray(response.data)) return 'directory';
    const type = (response.data as { type?: unknown } | null)?.type;
    if (type === 'file' || type === 'symlink' || type === 'submodule') return type;
    if (type === 'dir') return 'directory';
    return 'unknown';
  } catch (error) {
    if (error instanceof GitHubApiError && error.status === 404) return 'missing';
    throw error;
  }
}

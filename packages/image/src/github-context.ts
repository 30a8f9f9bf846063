import { readFileSync } from 'node:fs';
import { ActionError } from '@dreamscape/core';

/**
 * The workflow run as the runner describes it: `GITHUB_*` variables plus the event payload file.
 * Read from an env record passed in (never `process.env` directly) so tests, the demo and the
 * action all read it the same way.
 */

/** The repository the run belongs to. Payload fields when the event carries them, env otherwise. */
export interface RepositoryInfo {
  /** As GitHub spells it (case kept). */
  readonly owner: string;
  readonly name: string;
  /** `owner/name` */
  readonly fullName: string;
  /** `https://github.com/owner/name` */
  readonly htmlUrl: string;
  readonly description: string | undefined;
  /** SPDX id of the detected license (`Apache-2.0`); undefined when none or `NOASSERTION`. */
  readonly license: string | undefined;
  /** Undefined when the payload does not say (e.g. a bare `schedule` payload). */
  readonly defaultBranch: string | undefined;
}

/** The pull request of a `pull_request`/`pull_request_target` run. */
export interface PullRequestInfo {
  readonly number: number;
  /** The last commit of the PR branch (GITHUB_SHA is the merge commit instead). */
  readonly headSha: string;
  readonly headRef: string;
  readonly baseRef: string;
  readonly htmlUrl: string | undefined;
}

/** What kind of ref the run is for. */
export type RefType = 'branch' | 'tag' | 'pull' | 'other';

/** The run context. */
export interface GitHubContext {
  readonly eventName: string;
  /** GITHUB_SHA: the commit checked out (on pull_request, the merge commit). */
  readonly sha: string;
  /** GITHUB_REF: `refs/heads/main`, `refs/tags/v1.2.3`, `refs/pull/42/merge`, or ''. */
  readonly ref: string;
  /** GITHUB_REF_NAME: `main`, `v1.2.3`, `42/merge`. */
  readonly refName: string;
  readonly refType: RefType;
  /** GITHUB_HEAD_REF (pull requests only, else ''). */
  readonly headRef: string;
  /** GITHUB_BASE_REF (pull requests only, else ''). */
  readonly baseRef: string;
  readonly serverUrl: string;
  readonly apiUrl: string;
  readonly runId: string;
  readonly runNumber: string;
  readonly runAttempt: string;
  readonly actor: string;
  readonly workflow: string;
  /** `${serverUrl}/${owner}/${name}/actions/runs/${runId}` ('' without a run id). */
  readonly runUrl: string;
  readonly repository: RepositoryInfo;
  readonly pullRequest: PullRequestInfo | undefined;
  /** The event payload as read (an empty object when there is no payload file). */
  readonly payload: Readonly<Record<string, unknown>>;
}

/** Options for {@link readGitHubContext}. */
export interface ReadContextOptions {
  /** Reads the payload file; defaults to `fs.readFileSync(path, 'utf8')`. */
  readonly readFile?: (path: string) => string;
}

/**
 * Reads the run context from `env` (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_SHA, GITHUB_REF,
 * GITHUB_REF_NAME, GITHUB_HEAD_REF, GITHUB_BASE_REF, GITHUB_REPOSITORY, GITHUB_SERVER_URL,
 * GITHUB_API_URL, GITHUB_RUN_ID, ...). GITHUB_REPOSITORY and GITHUB_SHA are required; a missing or
 * unreadable payload file is an error only when GITHUB_EVENT_PATH names one.
 */
export function readGitHubContext(
  env: Readonly<Record<string, string | undefined>>,
  options: ReadContextOptions = {},
): GitHubContext {
  const get = (name: string): string => (env[name] ?? '').trim();
  const required = (name: string, example: string): string => {
    const value = get(name);
    if (value === '')
      throw new ActionError(`${name} is not set, so the workflow run cannot be described.`, {
        hint: `The runner sets it in every job. Outside GitHub Actions, set it yourself (e.g. ${name}=${example}).`,
      });
    return value;
  };
  const fullName = required('GITHUB_REPOSITORY', 'octo-org/app');
  const sha = required('GITHUB_SHA', '<40-hex commit>');
  const eventName = get('GITHUB_EVENT_NAME');
  const payload = readPayload(get('GITHUB_EVENT_PATH'), options.readFile);
  const serverUrl = (get('GITHUB_SERVER_URL') || 'https://github.com').replace(/\/+$/, '');
  const ref = get('GITHUB_REF');
  const refName = get('GITHUB_REF_NAME') || ref.replace(/^refs\/(heads|tags|pull)\//, '');
  const runId = get('GITHUB_RUN_ID');
  const repository = repositoryInfo(fullName, serverUrl, payload);
  return {
    eventName,
    sha,
    ref,
    refName,
    refType: refTypeOf(ref),
    headRef: get('GITHUB_HEAD_REF'),
    baseRef: get('GITHUB_BASE_REF'),
    serverUrl,
    apiUrl: get('GITHUB_API_URL') || 'https://api.github.com',
    runId,
    runNumber: get('GITHUB_RUN_NUMBER'),
    runAttempt: get('GITHUB_RUN_ATTEMPT'),
    actor: get('GITHUB_ACTOR'),
    workflow: get('GITHUB_WORKFLOW'),
    runUrl: runId === '' ? '' : `${serverUrl}/${repository.fullName}/actions/runs/${runId}`,
    repository,
    pullRequest: pullRequestInfo(payload, get('GITHUB_HEAD_REF'), get('GITHUB_BASE_REF')),
    payload,
  };
}

/** Options for {@link revisionOf}. */
export interface RevisionOptions {
  /** On pull requests, the PR's head commit instead of the merge commit GITHUB_SHA points at. */
  readonly prHeadSha?: boolean;
}

/** The commit an image built in this run comes from. */
export function revisionOf(context: GitHubContext, options: RevisionOptions = {}): string {
  if (options.prHeadSha === true && context.pullRequest !== undefined && context.pullRequest.headSha !== '')
    return context.pullRequest.headSha;
  return context.sha;
}

/** Whether the run is for the repository's default branch (false when the default is unknown). */
export function isDefaultBranch(context: GitHubContext, defaultBranch?: string): boolean {
  const branch = defaultBranch ?? context.repository.defaultBranch;
  return context.refType === 'branch' && branch !== undefined && context.refName === branch;
}

function refTypeOf(ref: string): RefType {
  if (ref.startsWith('refs/heads/')) return 'branch';
  if (ref.startsWith('refs/tags/')) return 'tag';
  if (ref.startsWith('refs/pull/')) return 'pull';
  return 'other';
}

function readPayload(
  path: string,
  readFile: ((path: string) => string) | undefined,
): Readonly<Record<string, unknown>> {
  if (path === '') return {};
  let text: string;
  try {
    text = (readFile ?? ((p: string) => readFileSync(p, 'utf8')))(path);
  } catch (error) {
    throw new ActionError(`The event payload GITHUB_EVENT_PATH=${path} cannot be read.`, {
      hint: 'The runner writes it for every job; outside GitHub Actions, point GITHUB_EVENT_PATH at a JSON file or unset it.',
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ActionError(`The event payload ${path} is not valid JSON.`, { cause: error });
  }
  if (!isRecord(parsed)) throw new ActionError(`The event payload ${path} is not a JSON object.`);
  return parsed;
}

function repositoryInfo(
  fullName: string,
  serverUrl: string,
  payload: Readonly<Record<string, unknown>>,
): RepositoryInfo {
  const [envOwner = '', envName = ''] = fullName.split('/');
  const repo = isRecord(payload.repository) ? payload.repository : {};
  const owner = isRecord(repo.owner) ? repo.owner : {};
  const license = isRecord(repo.license) ? stringField(repo.license, 'spdx_id') : undefined;
  const description = stringField(repo, 'description');
  return {
    owner: stringField(owner, 'login') ?? envOwner,
    name: stringField(repo, 'name') ?? envName,
    fullName: stringField(repo, 'full_name') ?? fullName,
    htmlUrl: stringField(repo, 'html_url') ?? `${serverUrl}/${fullName}`,
    description: description === '' ? undefined : description,
    license: license === undefined || license === 'NOASSERTION' || license === '' ? undefined : license,
    defaultBranch: stringField(repo, 'default_branch'),
  };
}

function pullRequestInfo(
  payload: Readonly<Record<string, unknown>>,
  headRef: string,
  baseRef: string,
): PullRequestInfo | undefined {
  const pr = payload.pull_request;
  if (!isRecord(pr)) return undefined;
  const head = isRecord(pr.head) ? pr.head : {};
  const base = isRecord(pr.base) ? pr.base : {};
  const number = typeof pr.number === 'number' ? pr.number : Number(payload.number);
  return {
    number,
    headSha: stringField(head, 'sha') ?? '',
    headRef: stringField(head, 'ref') ?? headRef,
    baseRef: stringField(base, 'ref') ?? baseRef,
    htmlUrl: stringField(pr, 'html_url'),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(record: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}

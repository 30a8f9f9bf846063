import { GitHubApiError, type GitHubClient } from './client.js';

/**
 * The fields of a workflow run (`GET /repos/{owner}/{repo}/actions/runs/{run_id}`) that decide
 * whether its output may be trusted. Missing or mistyped fields read as '' or 0, which no check
 * accepts.
 */
export interface WorkflowRun {
  readonly id: number;
  readonly name: string;
  /** The workflow file, `.github/workflows/pipeline.yml` (some runs say `owner/repo/<path>@<ref>`). */
  readonly path: string;
  readonly workflowId: number;
  readonly headBranch: string;
  readonly headSha: string;
  /** `push`, `pull_request`, `workflow_dispatch`, ... */
  readonly event: string;
  /** `queued`, `in_progress`, `completed`, ... */
  readonly status: string;
  /** `success`, `failure`, ...; '' while the run is not completed. */
  readonly conclusion: string;
  readonly htmlUrl: string;
  readonly runAttempt: number;
  /** `owner/repo` the run belongs to. */
  readonly repository: string;
  /** `owner/repo` the head commit came from: another one for a pull request from a fork. */
  readonly headRepository: string;
}

/** Reads a run from the API; undefined when the repository has no such run (HTTP 404). */
export async function getWorkflowRun(
  client: GitHubClient,
  owner: string,
  repo: string,
  runId: number,
): Promise<WorkflowRun | undefined> {
  try {
    const response = await client.request<unknown>({
      method: 'GET',
      path: `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/actions/runs/${runId}`,
    });
    return parseWorkflowRun(response.data);
  } catch (error) {
    if (error instanceof GitHubApiError && error.status === 404) return undefined;
    throw error;
  }
}

/** The typed view of a run payload. */
export function parseWorkflowRun(data: unknown): WorkflowRun {
  const r = record(data);
  return {
    id: num(r.id),
    name: str(r.name),
    path: str(r.path),
    workflowId: num(r.workflow_id),
    headBranch: str(r.head_branch),
    headSha: str(r.head_sha),
    event: str(r.event),
    status: str(r.status),
    conclusion: str(r.conclusion),
    htmlUrl: str(r.html_url),
    runAttempt: num(r.run_attempt),
    repository: str(record(r.repository).full_name),
    headRepository: str(record(r.head_repository).full_name),
  };
}

/**
 * A workflow path as the runs API or `GITHUB_WORKFLOW_REF` writes it, reduced to the file's path in
 * its repository: `owner/repo/.github/workflows/x.yml@refs/heads/main` → `.github/workflows/x.yml`.
 * The `owner/repo/` prefix, when there is one, must be `repository` (else '' is returned).
 */
export function workflowFilePath(path: string, repository: string): string {
  const at = path.indexOf('@');
  let file = at < 0 ? path : path.slice(0, at);
  const marker = file.indexOf('.github/workflows/');
  if (marker > 0) {
    const prefix = file.slice(0, marker).replace(/\/$/, '');
    if (prefix.toLowerCase() !== repository.toLowerCase()) return '';
    file = file.slice(marker);
  }
  return file;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : 0;
}

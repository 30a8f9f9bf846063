import { existsSync, readFileSync } from 'node:fs';
import { DEFAULT_GITHUB_API_URL } from './client.js';

/** The run's GitHub context, from the variables the runner sets. */
export interface GitHubContext {
  readonly apiUrl: string;
  readonly serverUrl: string;
  /** `owner/repo`, split. Empty strings outside a run. */
  readonly owner: string;
  readonly repo: string;
  readonly eventName: string;
  readonly sha: string;
  readonly ref: string;
  readonly runId: string;
  readonly runAttempt: string;
  /** The link to this run's log page, when known. */
  readonly runUrl: string | undefined;
  /** The pull request number on `pull_request`/`pull_request_target` events (and others whose payload has one). */
  readonly pullRequest: number | undefined;
  /** The event payload (GITHUB_EVENT_PATH), `{}` when there is none. */
  readonly payload: Readonly<Record<string, unknown>>;
}

/** Reads the context from an environment (default `process.env`). */
export function readGitHubContext(
  env: Readonly<Record<string, string | undefined>> = process.env,
): GitHubContext {
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '').split('/');
  const serverUrl = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '');
  const runId = env.GITHUB_RUN_ID ?? '';
  const payload = readPayload(env.GITHUB_EVENT_PATH);
  return {
    apiUrl: (env.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, ''),
    serverUrl,
    owner,
    repo,
    eventName: env.GITHUB_EVENT_NAME ?? '',
    sha: env.GITHUB_SHA ?? '',
    ref: env.GITHUB_REF ?? '',
    runId,
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '1',
    runUrl: owner !== '' && runId !== '' ? `${serverUrl}/${owner}/${repo}/actions/runs/${runId}` : undefined,
    pullRequest: pullRequestNumber(payload),
    payload,
  };
}

function readPayload(path: string | undefined): Record<string, unknown> {
  if (path === undefined || path === '' || !existsSync(path)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function pullRequestNumber(payload: Readonly<Record<string, unknown>>): number | undefined {
  const pr = payload.pull_request;
  if (typeof pr === 'object' && pr !== null && 'number' in pr && typeof pr.number === 'number')
    return pr.number;
  return undefined;
}

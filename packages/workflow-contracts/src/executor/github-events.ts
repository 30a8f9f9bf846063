/** The repository a run belongs to. */
export interface RepositoryFacts {
  /** `owner/name` */
  readonly fullName: string;
  readonly defaultBranch: string;
}

/** An event as the runner receives it: its name, its webhook payload and the run's ref and commit. */
export interface GitHubEvent {
  readonly name: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** `refs/heads/main`, `refs/tags/v1.2.3`, `refs/pull/7/merge`. */
  readonly ref: string;
  readonly sha: string;
  readonly actor: string;
  /** The pull request's head and base branches (`github.head_ref`, `github.base_ref`). */
  readonly headRef?: string;
  readonly baseRef?: string;
}

function repositoryPayload(repo: RepositoryFacts): Record<string, unknown> {
  const [owner = '', name = ''] = repo.fullName.split('/');
  return {
    full_name: repo.fullName,
    name,
    owner: { login: owner, type: 'Organization' },
    default_branch: repo.defaultBranch,
    fork: false,
    private: false,
    html_url: `https://github.com/${repo.fullName}`,
  };
}

/** A push of a branch or a tag (`ref` is `refs/heads/x` or `refs/tags/x`). */
export function pushEvent(
  repo: RepositoryFacts,
  o: { readonly ref: string; readonly sha: string; readonly before?: string; readonly actor?: string },
): GitHubEvent {
  const actor = o.actor ?? 'octocat';
  return {
    name: 'push',
    ref: o.ref,
    sha: o.sha,
    actor,
    payload: {
      ref: o.ref,
      before: o.before ?? '0'.repeat(40),
      after: o.sha,
      created: false,
      deleted: false,
      forced: false,
      base_ref: null,
      head_commit: { id: o.sha, message: 'A change', author: { name: actor } },
      commits: [{ id: o.sha, message: 'A change' }],
      repository: repositoryPayload(repo),
      pusher: { name: actor },
      sender: { login: actor },
    },
  };
}

/** A pull request event; `headRepository` other than the repository makes it a fork's. */
export function pullRequestEvent(
  repo: RepositoryFacts,
  o: {
    readonly number: number;
    readonly headRepository: string;
    readonly headRef: string;
    readonly headSha: string;
    readonly mergeSha: string;
    readonly baseRef?: string;
    readonly actor?: string;
    readonly action?: string;
  },
): GitHubEvent {
  const actor = o.actor ?? 'contributor';
  const baseRef = o.baseRef ?? repo.defaultBranch;
  const fork = o.headRepository.toLowerCase() !== repo.fullName.toLowerCase();
  const [headOwner = ''] = o.headRepository.split('/');
  return {
    name: 'pull_request',
    ref: `refs/pull/${o.number}/merge`,
    sha: o.mergeSha,
    actor,
    headRef: o.headRef,
    baseRef,
    payload: {
      action: o.action ?? 'opened',
      number: o.number,
      pull_request: {
        number: o.number,
        title: 'A change',
        user: { login: actor },
        head: {
          ref: o.headRef,
          sha: o.headSha,
          label: `${headOwner}:${o.headRef}`,
          repo: { full_name: o.headRepository, fork, owner: { login: headOwner } },
        },
        base: { ref: baseRef, sha: 'b'.repeat(40), repo: repositoryPayload(repo) },
      },
      repository: repositoryPayload(repo),
      sender: { login: actor },
    },
  };
}

/** A `workflow_dispatch` from the form or the API, on `ref` (default the default branch). */
export function workflowDispatchEvent(
  repo: RepositoryFacts,
  o: {
    readonly sha: string;
    readonly inputs?: Readonly<Record<string, unknown>>;
    readonly ref?: string;
    readonly actor?: string;
    readonly workflow: string;
  },
): GitHubEvent {
  const actor = o.actor ?? 'octocat';
  const ref = o.ref ?? `refs/heads/${repo.defaultBranch}`;
  return {
    name: 'workflow_dispatch',
    ref,
    sha: o.sha,
    actor,
    payload: {
      inputs: { ...(o.inputs ?? {}) },
      ref,
      workflow: o.workflow,
      repository: repositoryPayload(repo),
      sender: { login: actor },
    },
  };
}

/** A `repository_dispatch` (`POST /repos/{owner}/{repo}/dispatches`): any JSON as `client_payload`. */
export function repositoryDispatchEvent(
  repo: RepositoryFacts,
  o: {
    readonly action: string;
    readonly clientPayload: unknown;
    readonly sha: string;
    readonly actor?: string;
  },
): GitHubEvent {
  const actor = o.actor ?? 'alerting-bot';
  return {
    name: 'repository_dispatch',
    ref: `refs/heads/${repo.defaultBranch}`,
    sha: o.sha,
    actor,
    payload: {
      action: o.action,
      branch: repo.defaultBranch,
      client_payload: o.clientPayload,
      repository: repositoryPayload(repo),
      sender: { login: actor },
    },
  };
}

/**
 * True for a pull request whose head is in another repository: GitHub gives its runs no secrets
 * (but GITHUB_TOKEN) and a read-only token. `pull_request_target` runs in the base and is not one.
 */
export function isForkPullRequest(event: GitHubEvent, repository: string): boolean {
  if (!['pull_request', 'pull_request_review', 'pull_request_review_comment'].includes(event.name))
    return false;
  const pr = event.payload.pull_request as { head?: { repo?: { full_name?: unknown } | null } } | undefined;
  const head = pr?.head?.repo?.full_name;
  return typeof head !== 'string' || head.toLowerCase() !== repository.toLowerCase();
}

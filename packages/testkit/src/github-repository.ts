import type { GitHubApiServer, GitHubRouteResponse } from './github-api.js';

/** What a path of a commit is, for the contents API. */
export type ContentKind = 'file' | 'symlink' | 'dir' | 'submodule';

/**
 * A repository as the workflow-run, compare, git-refs, commits and contents APIs describe it.
 * History is linear per branch: each branch lists its commits oldest first, its head last. A branch
 * that starts with every commit of the default branch is `ahead` of it; any other is `diverged`.
 */
export interface RepositoryModel {
  readonly owner: string;
  readonly repo: string;
  readonly defaultBranch: string;
  /** Branch name → commits, oldest first. Also `pull/<n>/head` for a pull request's head (a fork's commits). */
  readonly branches: Readonly<Record<string, readonly string[]>>;
  /** Tag name → its commit; `annotated` tags are tag objects pointing at the commit. */
  readonly tags?: Readonly<Record<string, { readonly commit: string; readonly annotated?: boolean }>>;
  /** Run id → the payload `GET /repos/{owner}/{repo}/actions/runs/{id}` answers. */
  readonly runs?: Readonly<Record<string, unknown>>;
  /** Commit → path → what the path is at that commit. */
  readonly files?: Readonly<Record<string, Readonly<Record<string, ContentKind>>>>;
}

/**
 * Serves a {@link RepositoryModel} from the GitHub API stand-in: `GET /repos/{o}/{r}`,
 * `/actions/runs/{id}`, `/compare/{base}...{head}`, `/commits/{ref}`, `/git/ref/tags/{tag}`,
 * `/git/tags/{sha}` and `/contents/{path}?ref=`, with the shapes GitHub answers (trimmed to the
 * fields that matter plus a few others). Anything else of the repository is a 404.
 */
export function serveRepository(api: GitHubApiServer, model: RepositoryModel): void {
  const tags = model.tags ?? {};
  const full = `${model.owner}/${model.repo}`;
  const base = (): string => `${api.url}/repos/${full}`;
  const notFound: GitHubRouteResponse = {
    status: 404,
    body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' },
  };
  const ours = (params: Readonly<Record<string, string>>): boolean =>
    params.owner === model.owner && params.repo === model.repo;
  const allCommits = (): Set<string> => new Set(Object.values(model.branches).flat());
  const tagObject = (name: string): string =>
    // A stable, fake tag-object id: 't' is not hex, so swap it for 'e'.
    `e${(tags[name]?.commit ?? '').slice(1, 39)}e`;

  api.route('GET', '/repos/:owner/:repo', ({ params }) =>
    ours(params)
      ? {
          status: 200,
          body: {
            id: 734512345,
            name: model.repo,
            full_name: full,
            private: true,
            fork: false,
            default_branch: model.defaultBranch,
            html_url: `https://github.com/${full}`,
          },
        }
      : notFound,
  );

  api.route('GET', '/repos/:owner/:repo/actions/runs/:id', ({ params }) => {
    const run = ours(params) ? model.runs?.[params.id ?? ''] : undefined;
    return run === undefined ? notFound : { status: 200, body: run };
  });

  api.route('GET', '/repos/:owner/:repo/compare/:basehead', ({ params }) => {
    if (!ours(params)) return notFound;
    const [baseRef = '', head = ''] = (params.basehead ?? '').split('...');
    const main = model.branches[baseRef];
    if (main === undefined || !allCommits().has(head)) return notFound;
    const mainHead = main[main.length - 1];
    const at = main.indexOf(head);
    const answer = (status: string, aheadBy: number, behindBy: number): GitHubRouteResponse => ({
      status: 200,
      body: {
        url: `${base()}/compare/${baseRef}...${head}`,
        html_url: `https://github.com/${full}/compare/${baseRef}...${head}`,
        status,
        ahead_by: aheadBy,
        behind_by: behindBy,
        total_commits: aheadBy,
        base_commit: { sha: mainHead },
        merge_base_commit: { sha: at >= 0 ? head : main[0] },
        commits: [],
        files: [],
      },
    });
    if (head === mainHead) return answer('identical', 0, 0);
    if (at >= 0) return answer('behind', 0, main.length - 1 - at);
    const branch = Object.values(model.branches).find((b) => b.includes(head)) ?? [];
    const upTo = branch.slice(0, branch.indexOf(head) + 1);
    const contains = main.every((c, i) => upTo[i] === c);
    return contains
      ? answer('ahead', upTo.length - main.length, 0)
      : answer('diverged', upTo.filter((c) => !main.includes(c)).length, 1);
  });

  const commit = ({ params }: { params: Readonly<Record<string, string>> }): GitHubRouteResponse => {
    if (!ours(params)) return notFound;
    const ref = [params.a, params.b, params.c, params.d].filter((p) => p !== undefined).join('/');
    const headOf = (name: string): string | undefined => model.branches[name]?.at(-1);
    let sha: string | undefined;
    if (/^[0-9a-f]{40}$/.test(ref)) sha = allCommits().has(ref) ? ref : undefined;
    else if (ref.startsWith('heads/')) sha = headOf(ref.slice('heads/'.length));
    else if (ref.startsWith('tags/')) sha = tags[ref.slice('tags/'.length)]?.commit;
    else sha = headOf(ref) ?? tags[ref]?.commit;
    if (sha === undefined) return { status: 422, body: { message: `No commit found for SHA: ${ref}` } };
    return {
      status: 200,
      body: {
        sha,
        node_id: `C_${sha.slice(0, 12)}`,
        commit: { message: 'a commit', tree: { sha: sha.split('').reverse().join('') } },
        html_url: `https://github.com/${full}/commit/${sha}`,
        parents: [],
        files: [],
      },
    };
  };
  for (const pattern of [':a', ':a/:b', ':a/:b/:c', ':a/:b/:c/:d'])
    api.route('GET', `/repos/:owner/:repo/commits/${pattern}`, commit);

  api.route('GET', '/repos/:owner/:repo/git/ref/tags/:tag', ({ params }) => {
    const name = params.tag ?? '';
    const tag = ours(params) ? tags[name] : undefined;
    if (tag === undefined) return notFound;
    const sha = tag.annotated === true ? tagObject(name) : tag.commit;
    return {
      status: 200,
      body: {
        ref: `refs/tags/${name}`,
        node_id: `REF_${name}`,
        url: `${base()}/git/refs/tags/${name}`,
        object: {
          type: tag.annotated === true ? 'tag' : 'commit',
          sha,
          url: `${base()}/git/${tag.annotated === true ? 'tags' : 'commits'}/${sha}`,
        },
      },
    };
  });

  api.route('GET', '/repos/:owner/:repo/git/tags/:sha', ({ params }) => {
    if (!ours(params)) return notFound;
    const name = Object.keys(tags).find((t) => tags[t]?.annotated === true && tagObject(t) === params.sha);
    if (name === undefined) return notFound;
    return {
      status: 200,
      body: {
        sha: params.sha,
        tag: name,
        message: `Release ${name}\n`,
        object: {
          type: 'commit',
          sha: tags[name]?.commit,
          url: `${base()}/git/commits/${tags[name]?.commit}`,
        },
      },
    };
  });

  const contents = ({
    params,
    request,
  }: {
    params: Readonly<Record<string, string>>;
    request: { query: Readonly<Record<string, string>> };
  }): GitHubRouteResponse => {
    if (!ours(params)) return notFound;
    const path = [params.a, params.b, params.c, params.d, params.e].filter((p) => p !== undefined).join('/');
    const ref = request.query.ref ?? model.branches[model.defaultBranch]?.at(-1) ?? '';
    const kind = model.files?.[ref]?.[path];
    if (kind === undefined) return notFound;
    const name = path.split('/').at(-1) ?? path;
    if (kind === 'dir') return { status: 200, body: [{ type: 'file', name: 'a', path: `${path}/a` }] };
    return {
      status: 200,
      body: {
        type: kind,
        name,
        path,
        sha: 'f'.repeat(40),
        size: 120,
        ...(kind === 'symlink' ? { target: '/etc/passwd' } : {}),
        ...(kind === 'file' ? { encoding: 'base64', content: '' } : {}),
      },
    };
  };
  for (const pattern of [':a', ':a/:b', ':a/:b/:c', ':a/:b/:c/:d', ':a/:b/:c/:d/:e'])
    api.route('GET', `/repos/:owner/:repo/contents/${pattern}`, contents);
}

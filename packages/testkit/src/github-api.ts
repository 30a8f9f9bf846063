import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** One request the stand-in API received. */
export interface RecordedGitHubRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}

/** Who wrote a comment, as the API shows it in `user`. */
export interface GitHubAccount {
  readonly login: string;
  readonly type: 'User' | 'Bot';
}

/** An issue or pull-request comment the stand-in keeps. */
export interface StoredComment {
  readonly id: number;
  readonly issue: string;
  body: string;
  readonly user: GitHubAccount;
  readonly created_at: string;
  updated_at: string;
}

/** What a route handler receives: the request, the path's named parts and the server's state. */
export interface GitHubRouteContext {
  readonly request: RecordedGitHubRequest;
  readonly params: Readonly<Record<string, string>>;
  readonly api: GitHubApiServer;
}

/** What a route handler answers. `headers` may carry `link` for pagination. */
export interface GitHubRouteResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A handler for one method and path pattern (`/repos/:owner/:repo/issues/:number/comments`). */
export type GitHubRouteHandler = (context: GitHubRouteContext) => GitHubRouteResponse;

/** Options for {@link startGitHubApi}. */
export interface GitHubApiOptions {
  /** The only token accepted (`Authorization: Bearer <token>` or `token <token>`). Default `test-token`. */
  readonly token?: string;
  /** Largest page the server serves, whatever `per_page` asks (GitHub: 100). Lower it to force pagination. */
  readonly maxPerPage?: number;
  /**
   * Who the token is; comments it posts are written by this account. A `Bot` (the default,
   * `github-actions[bot]`, as `GITHUB_TOKEN`) is refused by `GET /user` with 403 like an
   * installation token; a `User` gets its account back, like a personal token.
   */
  readonly identity?: GitHubAccount;
}

/**
 * A local HTTP server standing in for the GitHub REST API on 127.0.0.1, for tests. It checks the
 * token, records every request, serves issue comments with real `Link` pagination, and lets a test
 * add routes (`route()`) or inject failures (`failNext()`). Point `GITHUB_API_URL` at {@link url}.
 */
export interface GitHubApiServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly token: string;
  /** Who the token is (see {@link GitHubApiOptions.identity}). */
  readonly identity: GitHubAccount;
  readonly requests: RecordedGitHubRequest[];
  /** Comments of `owner/repo#number`, oldest first. */
  comments(owner: string, repo: string, issue: number): StoredComment[];
  /**
   * Adds a comment as if it had been posted outside the code under test: by `author`, default the
   * token's own identity (an earlier run); pass another account to play a stranger.
   */
  addComment(owner: string, repo: string, issue: number, body: string, author?: GitHubAccount): StoredComment;
  /** Adds or replaces a route; later routes win over the built-in ones. */
  route(method: string, pattern: string, handler: GitHubRouteHandler): void;
  /** Answers the next `count` requests matching method and path prefix with `status`. */
  failNext(method: string, pathPrefix: string, status: number, count?: number): void;
  close(): Promise<void>;
}

interface Route {
  readonly method: string;
  readonly parts: readonly string[];
  readonly handler: GitHubRouteHandler;
}

interface Failure {
  readonly method: string;
  readonly prefix: string;
  readonly status: number;
  remaining: number;
}

/** Starts the stand-in API on a free loopback port. */
export async function startGitHubApi(options: GitHubApiOptions = {}): Promise<GitHubApiServer> {
  const token = options.token ?? 'test-token';
  const maxPerPage = options.maxPerPage ?? 100;
  const identity = options.identity ?? { login: 'github-actions[bot]', type: 'Bot' };
  const routes: Route[] = [];
  const failures: Failure[] = [];
  const store = new Map<number, StoredComment>();
  let nextId = 1000;
  let url = '';
  const key = (owner: string, repo: string, issue: number | string): string => `${owner}/${repo}#${issue}`;

  const api: GitHubApiServer = {
    get url() {
      return url;
    },
    token,
    identity,
    requests: [],
    comments: (owner, repo, issue) =>
      [...store.values()].filter((c) => c.issue === key(owner, repo, issue)).sort((a, b) => a.id - b.id),
    addComment: (owner, repo, issue, body, author = identity) => {
      const now = new Date().toISOString();
      const comment: StoredComment = {
        id: nextId++,
        issue: key(owner, repo, issue),
        body,
        user: author,
        created_at: now,
        updated_at: now,
      };
      store.set(comment.id, comment);
      return comment;
    },
    route: (method, pattern, handler) => {
      routes.unshift({ method: method.toUpperCase(), parts: split(pattern), handler });
    },
    failNext: (method, prefix, status, count = 1) => {
      failures.push({ method: method.toUpperCase(), prefix, status, remaining: count });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };

  const commentJson = (c: StoredComment): Record<string, unknown> => {
    const [repoPart = '', issue = ''] = c.issue.split('#');
    return {
      id: c.id,
      body: c.body,
      created_at: c.created_at,
      updated_at: c.updated_at,
      user: { login: c.user.login, type: c.user.type },
      html_url: `https://github.example/${repoPart}/pull/${issue}#issuecomment-${c.id}`,
      url: `${url}/repos/${repoPart}/issues/comments/${c.id}`,
    };
  };

  api.route('GET', '/user', () =>
    identity.type === 'Bot'
      ? { status: 403, body: { message: 'Resource not accessible by integration' } }
      : { status: 200, body: { login: identity.login, type: identity.type } },
  );
  api.route('GET', '/repos/:owner/:repo/issues/:number/comments', ({ request, params }) => {
    const all = api.comments(params.owner ?? '', params.repo ?? '', Number(params.number));
    const perPage = Math.min(maxPerPage, Math.max(1, Number(request.query.per_page ?? 30)));
    const page = Math.max(1, Number(request.query.page ?? 1));
    const items = all.slice((page - 1) * perPage, page * perPage);
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const link = (p: number, rel: string): string => {
      const u = new URL(`${url}${request.path}`);
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(p));
      return `<${u.toString()}>; rel="${rel}"`;
    };
    const headers: Record<string, string> =
      page < last ? { link: [link(page + 1, 'next'), link(last, 'last')].join(', ') } : {};
    return { status: 200, body: items.map(commentJson), headers };
  });
  api.route('POST', '/repos/:owner/:repo/issues/:number/comments', ({ request, params }) => {
    const body = (request.body as { body?: unknown } | undefined)?.body;
    if (typeof body !== 'string' || body === '') return { status: 422, body: { message: 'body is missing' } };
    const c = api.addComment(params.owner ?? '', params.repo ?? '', Number(params.number), body);
    return { status: 201, body: commentJson(c) };
  });
  api.route('GET', '/repos/:owner/:repo/issues/comments/:id', ({ params }) => {
    const c = store.get(Number(params.id));
    return c === undefined
      ? { status: 404, body: { message: 'Not Found' } }
      : { status: 200, body: commentJson(c) };
  });
  api.route('PATCH', '/repos/:owner/:repo/issues/comments/:id', ({ request, params }) => {
    const c = store.get(Number(params.id));
    if (c === undefined) return { status: 404, body: { message: 'Not Found' } };
    const body = (request.body as { body?: unknown } | undefined)?.body;
    if (typeof body !== 'string' || body === '') return { status: 422, body: { message: 'body is missing' } };
    c.body = body;
    c.updated_at = new Date().toISOString();
    return { status: 200, body: commentJson(c) };
  });
  api.route('DELETE', '/repos/:owner/:repo/issues/comments/:id', ({ params }) => {
    if (!store.delete(Number(params.id))) return { status: 404, body: { message: 'Not Found' } };
    return { status: 204 };
  });

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const parsed = new URL(req.url ?? '/', 'http://127.0.0.1');
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      send(res, { status: 400, body: { message: 'Problems parsing JSON' } });
      return;
    }
    const request: RecordedGitHubRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      url: req.url ?? '/',
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams.entries()),
      headers: req.headers,
      body,
    };
    api.requests.push(request);
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${token}` && auth !== `token ${token}`) {
      send(res, { status: 401, body: { message: 'Bad credentials' } });
      return;
    }
    const failure = failures.find(
      (f) => f.remaining > 0 && f.method === request.method && request.path.startsWith(f.prefix),
    );
    if (failure !== undefined) {
      failure.remaining--;
      send(res, { status: failure.status, body: { message: `injected failure ${failure.status}` } });
      return;
    }
    const parts = split(request.path);
    for (const route of routes) {
      if (route.method !== request.method) continue;
      const params = match(route.parts, parts);
      if (params === undefined) continue;
      send(res, route.handler({ request, params, api }));
      return;
    }
    send(res, { status: 404, body: { message: 'Not Found' } });
  }

  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return api;
}

function send(res: ServerResponse, response: GitHubRouteResponse): void {
  const headers: Record<string, string> = { ...response.headers };
  if (response.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
  res.writeHead(response.status, headers);
  res.end(response.body === undefined ? undefined : JSON.stringify(response.body));
}

function split(path: string): string[] {
  return path.split('/').filter((p) => p !== '');
}

function match(pattern: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] ?? '';
    const v = parts[i] ?? '';
    if (p.startsWith(':')) params[p.slice(1)] = decodeURIComponent(v);
    else if (p !== v) return undefined;
  }
  return params;
}

import {
  ActionError,
  RetryingHttpClient,
  type Clock,
  type HttpTransportError,
  type HttpClient,
  type HttpResponse,
  type Logger,
  type RetryPolicy,
} from '@dreamscape/core';

/** The REST API root on github.com; GHES and tests pass their own (`GITHUB_API_URL`). */
export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

/** Options for {@link GitHubClient}. */
export interface GitHubClientOptions {
  /** A token with the permissions the calls need; registered with the logger's masker. */
  readonly token: string;
  /** `GITHUB_API_URL`. Default {@link DEFAULT_GITHUB_API_URL}. */
  readonly apiUrl?: string | undefined;
  readonly http: HttpClient;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Retries of idempotent calls (GET, PATCH, PUT, DELETE) on 5xx, 429 and rate limits. Default 3 attempts. */
  readonly retry?: RetryPolicy;
  readonly userAgent?: string;
}

/** One API call. `path` is relative to the API root (`/repos/o/r/...`) or an absolute URL (pagination). */
export interface GitHubRequest {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number>>;
  readonly body?: unknown;
}

/** A decoded API response. */
export interface GitHubResponse<T> {
  readonly status: number;
  readonly data: T;
  readonly headers: Readonly<Record<string, string>>;
}

/** The API answered with an error status. The message says what was asked and what GitHub said. */
export class GitHubApiError extends ActionError {
  readonly status: number;
  readonly method: string;
  readonly url: string;
  /** A primary or secondary rate limit (429, or 403 with an exhausted quota or `retry-after`). */
  readonly rateLimited: boolean;

  constructor(
    method: string,
    url: string,
    status: number,
    detail: string,
    options: { cause?: unknown; rateLimited?: boolean } = {},
  ) {
    super(`GitHub API ${method} ${url} failed with HTTP ${status}${detail === '' ? '' : `: ${detail}`}`, {
      hint: hintFor(status),
      cause: options.cause,
    });
    this.name = 'GitHubApiError';
    this.status = status;
    this.method = method;
    this.url = url;
    this.rateLimited = options.rateLimited ?? status === 429;
  }
}

function hintFor(status: number): string | undefined {
  if (status === 401) return 'The token is missing, expired or invalid.';
  if (status === 403 || status === 404)
    return "The token may lack a permission the call needs (comments need 'pull-requests: write', deployments 'deployments: write'), or the repository is not visible to it.";
  if (status === 422) return 'GitHub rejected the request body.';
  return undefined;
}

const IDEMPOTENT = new Set(['GET', 'PATCH', 'PUT', 'DELETE']);

/**
 * A small GitHub REST client over core's {@link HttpClient}: JSON in and out, the token masked,
 * idempotent calls retried on server errors and rate limits, pagination by the `Link` header.
 * Octokit-free so that it bundles small and points at any `GITHUB_API_URL` (tests use a local server).
 */
export class GitHubClient {
  readonly apiUrl: string;
  private readonly token: string;
  private readonly http: RetryingHttpClient;
  private readonly userAgent: string;

  constructor(options: GitHubClientOptions) {
    if (options.token === '') throw new ActionError('A GitHub token is required for GitHub API calls.');
    options.logger.setSecret(options.token);
    this.token = options.token;
    this.apiUrl = (options.apiUrl ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, '');
    const logger = options.logger;
    this.http = new RetryingHttpClient({
      http: options.http,
      policy: options.retry ?? { attempts: 3, initialDelayMs: 1000 },
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      // A permission error (403 without a rate limit) will not heal by waiting.
      retryableStatus: (response) => response.status >= 500 || isRateLimited(response),
      // POST creates (comments, deployments, statuses): never sent twice, not even after a 429.
      idempotent: (request) => IDEMPOTENT.has(request.method),
      onRetry: (request, cause, n, delay) => {
        const error =
          cause.kind === 'status'
            ? statusError(request.method, request.url, cause.response)
            : transportError(request.method, request.url, cause.error);
        logger.warning(`${error.message} (attempt ${n}); retrying in ${delay}ms`);
      },
    });
    this.userAgent = options.userAgent ?? 'dreamscape-actions';
  }

  /** Sends one request and decodes the JSON answer; a non-2xx status throws {@link GitHubApiError}. */
  async request<T>(req: GitHubRequest): Promise<GitHubResponse<T>> {
    const url = this.url(req);
    const exchange = await this.http.send({
      method: req.method,
      url,
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${this.token}`,
        'x-github-api-version': '2022-11-28',
        'user-agent': this.userAgent,
        ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
    });
    if (exchange.kind === 'transport') throw transportError(req.method, url, exchange.error);
    const response = exchange.response;
    if (response.status < 200 || response.status >= 300) throw statusError(req.method, url, response);
    const text = response.text();
    const data = (text === '' ? undefined : JSON.parse(text)) as T;
    return { status: response.status, data, headers: response.headers };
  }

  /** Every item of a list endpoint, following `Link: rel="next"` (100 per page). */
  async paginate<T>(path: string, query: Readonly<Record<string, string | number>> = {}): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = this.url({ method: 'GET', path, query: { per_page: 100, ...query } });
    for (let page = 0; next !== undefined; page++) {
      if (page >= 1000)
        throw new ActionError(`GitHub API pagination of ${path} did not end after 1000 pages.`);
      const response: GitHubResponse<T[]> = await this.request<T[]>({ method: 'GET', path: next });
      if (!Array.isArray(response.data))
        throw new GitHubApiError('GET', next, response.status, 'expected a JSON array');
      items.push(...response.data);
      next = nextLink(response.headers.link);
    }
    return items;
  }

  private url(req: GitHubRequest): string {
    const base = /^https?:\/\//.test(req.path)
      ? req.path
      : `${this.apiUrl}${req.path.startsWith('/') ? '' : '/'}${req.path}`;
    const query = Object.entries(req.query ?? {});
    if (query.length === 0) return base;
    const u = new URL(base);
    for (const [k, v] of query) u.searchParams.set(k, String(v));
    return u.toString();
  }
}

/** The `rel="next"` URL of a `Link` header. */
export function nextLink(link: string | undefined): string | undefined {
  if (link === undefined) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}

/** A primary or secondary rate limit: 429, or 403 with an exhausted quota or a `retry-after`. */
function isRateLimited(response: HttpResponse): boolean {
  return (
    response.status === 429 ||
    (response.status === 403 &&
      (response.headers['x-ratelimit-remaining'] === '0' || response.headers['retry-after'] !== undefined))
  );
}

function statusError(method: string, url: string, response: HttpResponse): GitHubApiError {
  return new GitHubApiError(method, url, response.status, errorDetail(response.text()), {
    rateLimited: isRateLimited(response),
  });
}

function transportError(method: string, url: string, error: HttpTransportError): GitHubApiError {
  return new GitHubApiError(method, url, 0, error.message, { cause: error });
}

function errorDetail(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not JSON: show the start of the text
  }
  return text.slice(0, 200);
}

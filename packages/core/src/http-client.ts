import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

/** One HTTP request as domain code describes it. */
export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Abort the request after this long. Default 30 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Verify the server's certificate (https). Default true. False only for a registry the user
   * lists as insecure: the connection is still encrypted, but anyone in the path could answer.
   */
  readonly verifyTls?: boolean;
}

/** A complete HTTP response (the body read into memory). */
export interface HttpResponse {
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  text(): string;
}

/** The network as domain code sees it. Tests pass a fake or point the real one at a local server. */
export interface HttpClient {
  request(request: HttpRequest): Promise<HttpResponse>;
}

/** Raised for transport failures (refused, reset, DNS, timeout): never for an HTTP status. */
export class HttpTransportError extends Error {
  readonly url: string;
  readonly code: string;

  constructor(url: string, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpTransportError';
    this.url = url;
    this.code = code;
  }
}

/** Options of {@link FetchHttpClient}. */
export interface FetchHttpClientOptions {
  /**
   * More certificate authorities (PEM) to trust for https, besides Node's bundled ones: a registry
   * whose certificate a private CA signed. For the whole process, `NODE_EXTRA_CA_CERTS` does the same.
   */
  readonly ca?: string | readonly string[];
}

const REDIRECTS = [301, 302, 303, 307, 308];
const MAX_REDIRECTS = 10;

/**
 * The real {@link HttpClient}, on Node's built-in fetch. Redirects are followed. An https request
 * that needs its own trust (the `ca` option, or `verifyTls: false`) goes through `node:https`
 * instead, since Node's fetch takes no certificate options.
 */
export class FetchHttpClient implements HttpClient {
  private readonly ca: readonly string[] | undefined;

  constructor(options: FetchHttpClientOptions = {}) {
    const ca = options.ca;
    this.ca = ca === undefined ? undefined : [...rootCertificates, ...(typeof ca === 'string' ? [ca] : ca)];
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    if (req.url.startsWith('https:') && (this.ca !== undefined || req.verifyTls === false))
      return this.requestWithOwnTrust(req, MAX_REDIRECTS);
    const timeout = AbortSignal.timeout(req.timeoutMs ?? 30_000);
    const signal = req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]);
    let response: Response;
    try {
      response = await fetch(req.url, {
        method: req.method,
        ...(req.headers === undefined ? {} : { headers: req.headers }),
        ...(req.body === undefined ? {} : { body: req.body }),
        signal,
        redirect: 'follow',
      });
    } catch (error) {
      throw transportError(req, error, timeout, 'failed');
    }
    let body: Uint8Array;
    try {
      body = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      // The connection dropped while the body was read (undici's `terminated`): a transport failure
      // like any other, so a caller's retry policy sees it as one.
      throw transportError(req, error, timeout, 'failed while reading the answer');
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      headers[key.toLowerCase()] = value;
    });
    return { status: response.status, headers, body, text: () => Buffer.from(body).toString('utf8') };
  }

  /** One https exchange over `node:https` with this client's CAs, following redirects as fetch does. */
  private async requestWithOwnTrust(req: HttpRequest, redirectsLeft: number): Promise<HttpResponse> {
    const timeout = AbortSignal.timeout(req.timeoutMs ?? 30_000);
    const signal = req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]);
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const headers: Record<string, string> = { ...req.headers };
    if (body !== undefined) headers['content-length'] = String(body.byteLength);
    const response = await new Promise<HttpResponse>((resolve, reject) => {
      let answered = false;
      const r = httpsRequest(
        req.url,
        {
          method: req.method,
          headers,
          signal,
          rejectUnauthorized: req.verifyTls !== false,
          ...(this.ca === undefined ? {} : { ca: [...this.ca] }),
        },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (error) => {
            reject(
              transportError(
                req,
                { message: 'fetch failed', cause: error },
                timeout,
                'failed while reading the answer',
              ),
            );
          });
          res.on('end', () => {
            const bytes = new Uint8Array(Buffer.concat(chunks));
            const h: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined) h[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
            resolve({
              status: res.statusCode ?? 0,
              headers: h,
              body: bytes,
              text: () => Buffer.from(bytes).toString('utf8'),
            });
          });
        },
      );
      r.on('error', (error) => {
        reject(
          transportError(
            req,
            { message: 'fetch failed', cause: error },
            timeout,
            answered ? 'failed while reading the answer' : 'failed',
          ),
        );
      });
      r.end(body);
    });
    const location = response.headers.location;
    if (!REDIRECTS.includes(response.status) || location === undefined || location === '') return response;
    if (redirectsLeft === 0)
      throw new HttpTransportError(
        req.url,
        'EREDIRECT',
        `${req.method} ${req.url} failed: too many redirects`,
      );
    const next = new URL(location, req.url);
    const asGet =
      response.status === 303 ||
      (response.status !== 307 && response.status !== 308 && req.method === 'POST');
    const sameOrigin = next.origin === new URL(req.url).origin;
    const nextHeaders = Object.fromEntries(
      Object.entries(req.headers ?? {}).filter(
        ([k]) =>
          (sameOrigin || k.toLowerCase() !== 'authorization') &&
          !(asGet && k.toLowerCase() === 'content-type'),
      ),
    );
    const follow: HttpRequest = {
      method: asGet ? 'GET' : req.method,
      url: next.toString(),
      headers: nextHeaders,
      ...(asGet || req.body === undefined ? {} : { body: req.body }),
      ...(req.timeoutMs === undefined ? {} : { timeoutMs: req.timeoutMs }),
      ...(req.signal === undefined ? {} : { signal: req.signal }),
      // Skipping verification was asked for one server, not for wherever it redirects.
      verifyTls: sameOrigin ? req.verifyTls !== false : true,
    };
    return next.protocol === 'https:'
      ? this.requestWithOwnTrust(follow, redirectsLeft - 1)
      : this.request(follow);
  }
}

function isErrorLike(value: unknown): value is { message: string; cause?: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** fetch's failure as an {@link HttpTransportError}, with the system's code when it names one. */
function transportError(
  req: HttpRequest,
  error: unknown,
  timeout: AbortSignal,
  what: string,
): HttpTransportError {
  // Duck-typed rather than `instanceof Error`: fetch's errors come from Node's own realm, which
  // differs from the caller's under jest's VM modules.
  const cause: unknown = isErrorLike(error) ? error.cause : undefined;
  const code = timeout.aborted
    ? 'ETIMEDOUT'
    : typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string'
      ? cause.code
      : 'EFETCH';
  const detail = isErrorLike(cause) ? cause.message : isErrorLike(error) ? error.message : String(error);
  return new HttpTransportError(req.url, code, `${req.method} ${req.url} ${what}: ${detail}`, {
    cause: error,
  });
}

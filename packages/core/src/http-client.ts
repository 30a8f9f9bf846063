/** One HTTP request as domain code describes it. */
export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Abort the request after this long. Default 30 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
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

/** The real {@link HttpClient}, on Node's built-in fetch. Redirects are followed. */
export class FetchHttpClient implements HttpClient {
  async request(req: HttpRequest): Promise<HttpResponse> {
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

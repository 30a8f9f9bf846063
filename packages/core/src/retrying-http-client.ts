import { systemClock, type Clock } from './clock.js';
import { HttpTransportError, type HttpClient, type HttpRequest, type HttpResponse } from './http-client.js';
import { backoffDelay, withRetry, type RetryPolicy } from './retry.js';

/** What made an attempt worth repeating: an answer with a retryable status, or a transport failure. */
export type RetryCause =
  | { readonly kind: 'status'; readonly response: HttpResponse }
  | { readonly kind: 'transport'; readonly error: HttpTransportError };

/** Called before each wait: what happened on `attempt` (from 1) and how long the backoff is. */
export type RetryListener = (
  request: HttpRequest,
  cause: RetryCause,
  attempt: number,
  delayMs: number,
) => void;

/** Options of {@link RetryingHttpClient}. The retry rules differ per API, so each is spelled out. */
export interface RetryingHttpClientOptions {
  readonly http: HttpClient;
  /** Attempts and backoff (see {@link backoffDelay}). */
  readonly policy: RetryPolicy;
  /** Answers worth another attempt (429, 5xx, a rate-limited 403...). */
  readonly retryableStatus: (response: HttpResponse) => boolean;
  /** Transport failures worth another attempt. Default: all of them. */
  readonly retryableTransport?: (error: HttpTransportError) => boolean;
  /**
   * Whether sending a request twice is harmless. A request that is not idempotent is never repeated
   * after a transport failure or a retryable status (the first may have taken effect), except for
   * a 429 with {@link repeatUnprocessed}. Default: every request is. {@link RetryingHttpClient.send}
   * may override this per request.
   */
  readonly idempotent?: (request: HttpRequest) => boolean;
  /**
   * Repeat a 429 whatever the request: the server turned it away before processing it (Kubernetes'
   * priority and fairness). Default false.
   */
  readonly repeatUnprocessed?: boolean;
  /**
   * Honour a retryable answer's `Retry-After` (seconds or an HTTP date) when another attempt
   * follows: wait until then, at most `maxMs`, instead of the shorter backoff. Default: ignored.
   */
  readonly retryAfter?: { readonly maxMs: number };
  /** Drives the waits (and reads the time for an HTTP-date `Retry-After`). Default the system clock. */
  readonly clock?: Clock;
  /** Stops waiting and retrying; sent with every request that carries no signal of its own. */
  readonly signal?: AbortSignal;
  /** Called with every answer, retried or not (for a debug line). */
  readonly onResponse?: (request: HttpRequest, response: HttpResponse) => void;
  /** Called before each wait, unless {@link RetryingHttpClient.send} is given its own. */
  readonly onRetry?: RetryListener;
}

/** Per-request options of {@link RetryingHttpClient.send}. */
export interface RetryingSendOptions {
  /** Overrides the client's `idempotent` for this request. */
  readonly idempotent?: boolean;
  /** Overrides the client's `onRetry` for this request (to name what the request was for). */
  readonly onRetry?: RetryListener;
}

/** How a request ended once the retries were over. */
export type RetriedExchange =
  | {
      readonly kind: 'response';
      readonly response: HttpResponse;
      /** Attempts made, the last included. */
      readonly attempts: number;
      /** The last answer still had a retryable status: attempts ran out, or the signal aborted. */
      readonly gaveUp: boolean;
    }
  | { readonly kind: 'transport'; readonly error: HttpTransportError; readonly attempts: number };

/**
 * An {@link HttpClient} that repeats requests on the answers and transport failures its options
 * call retryable, with exponential backoff and optionally `Retry-After`. Every HTTP API client of
 * the project (registry, Kubernetes through `kubectl proxy`, GitHub) retries through one of these.
 */
export class RetryingHttpClient implements HttpClient {
  private readonly o: RetryingHttpClientOptions;
  private readonly clock: Clock;

  constructor(options: RetryingHttpClientOptions) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Sends `request` with retries. The last answer is returned even when its status was retryable
   * (the caller turns it into its own error); the last transport failure is thrown as it was.
   */
  async request(request: HttpRequest): Promise<HttpResponse> {
    const exchange = await this.send(request);
    if (exchange.kind === 'transport') throw exchange.error;
    return exchange.response;
  }

  /**
   * Sends `request` with retries and says how it ended and after how many attempts. Throws only
   * what is neither an answer nor an {@link HttpTransportError}: the signal's reason when it aborts
   * a wait, or whatever else the underlying client throws.
   */
  async send(request: HttpRequest, options: RetryingSendOptions = {}): Promise<RetriedExchange> {
    const idempotent = options.idempotent ?? this.o.idempotent?.(request) ?? true;
    const onRetry = options.onRetry ?? this.o.onRetry;
    const signal = this.o.signal;
    const full: HttpRequest =
      signal === undefined || request.signal !== undefined ? request : { ...request, signal };
    let attempts = 0;
    try {
      const response = await withRetry(
        async (attempt) => {
          attempts = attempt;
          const answer = await this.o.http.request(full);
          this.o.onResponse?.(full, answer);
          if (
            this.o.retryableStatus(answer) &&
            (idempotent || (this.o.repeatUnprocessed === true && answer.status === 429))
          ) {
            await this.honourRetryAfter(answer, attempt);
            throw new RetryableAnswer(answer);
          }
          return answer;
        },
        {
          policy: this.o.policy,
          clock: this.clock,
          ...(signal === undefined ? {} : { signal }),
          retryable: (error: unknown) =>
            error instanceof RetryableAnswer ||
            (idempotent &&
              error instanceof HttpTransportError &&
              (this.o.retryableTransport?.(error) ?? true)),
          onRetry: (error: unknown, attempt, delayMs) => {
            if (onRetry === undefined) return;
            const cause: RetryCause =
              error instanceof RetryableAnswer
                ? { kind: 'status', response: error.response }
                : { kind: 'transport', error: error as HttpTransportError };
            onRetry(full, cause, attempt, delayMs);
          },
        },
      );
      return { kind: 'response', response, attempts, gaveUp: false };
    } catch (error) {
      if (error instanceof RetryableAnswer)
        return { kind: 'response', response: error.response, attempts, gaveUp: true };
      if (error instanceof HttpTransportError) return { kind: 'transport', error, attempts };
      throw error;
    }
  }

  /**
   * Rate limits say when to come back: wait that long (capped) instead of the shorter backoff, when
   * another attempt will follow. The backoff still runs after this wait, so only the difference is
   * slept here.
   */
  private async honourRetryAfter(response: HttpResponse, attempt: number): Promise<void> {
    const cap = this.o.retryAfter?.maxMs;
    const header = response.headers['retry-after'];
    if (cap === undefined || header === undefined || attempt >= this.o.policy.attempts) return;
    const seconds = /^\d+$/.test(header.trim())
      ? Number(header)
      : (Date.parse(header) - this.clock.now()) / 1000;
    if (!Number.isFinite(seconds) || seconds <= 0) return;
    const extra = Math.min(seconds * 1000, cap) - backoffDelay(this.o.policy, attempt);
    if (extra > 0) await this.clock.sleep(extra, this.o.signal);
  }
}

/** A retryable answer, thrown inside the retry loop so that {@link withRetry} tries again. */
class RetryableAnswer extends Error {
  readonly response: HttpResponse;

  constructor(response: HttpResponse) {
    super(`HTTP ${response.status}`);
    this.name = 'RetryableAnswer';
    this.response = response;
  }
}

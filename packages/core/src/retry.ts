import { systemClock, type Clock } from './clock.js';

/** How often and how patiently to retry an idempotent operation. */
export interface RetryPolicy {
  /** Total attempts including the first (1 = no retry). */
  readonly attempts: number;
  /** Delay before the second attempt; doubled each time. Default 500 ms. */
  readonly initialDelayMs?: number;
  /** Upper bound of one delay. Default 10 s. */
  readonly maxDelayMs?: number;
}

/** Options for {@link withRetry}. */
export interface RetryOptions<E = unknown> {
  readonly policy: RetryPolicy;
  /** Whether this failure is worth another attempt. */
  readonly retryable: (error: E) => boolean;
  /** Called before each wait, to log what happened and what comes next. */
  readonly onRetry?: (error: E, attempt: number, delayMs: number) => void;
  readonly clock?: Clock;
  readonly signal?: AbortSignal;
}

/** The delay before attempt `attempt + 1` (attempt counts from 1), with exponential backoff. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const initial = policy.initialDelayMs ?? 500;
  const max = policy.maxDelayMs ?? 10_000;
  return Math.min(max, initial * 2 ** (attempt - 1));
}

/**
 * Runs `operation` until it succeeds, fails with a non-retryable error, or runs out of attempts.
 * Only for operations the caller knows to be idempotent.
 */
export async function withRetry<T, E = unknown>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions<E>,
): Promise<T> {
  const clock = options.clock ?? systemClock;
  const attempts = Math.max(1, options.policy.attempts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= attempts || !options.retryable(error as E) || options.signal?.aborted === true)
        throw error;
      const delay = backoffDelay(options.policy, attempt);
      options.onRetry?.(error as E, attempt, delay);
      await clock.sleep(delay, options.signal);
    }
  }
}

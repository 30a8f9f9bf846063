import { loggedStatusCode, parseKubectlStderr, type KubectlReason } from './kubectl-error.js';

/** What a `kubectl get --raw PATH` call answered. */
export interface RawResponse {
  /** True for a 2xx answer. */
  readonly ok: boolean;
  /** The HTTP status (from kubectl's `-v=6` request log); undefined when no answer arrived. */
  readonly status?: number;
  /** The body on success; on failure the body the server sent when kubectl kept it, else kubectl's message. */
  readonly body: string;
  /** Why it failed, for failures. */
  readonly reason?: KubectlReason;
}

interface LoggedStatus {
  message?: unknown;
  reason?: unknown;
  code?: unknown;
  details?: { causes?: { reason?: unknown; message?: unknown }[] };
}

/** The `server response object: %s[{ … }]` block kubectl logs at -v=6 for a failed request. */
function loggedResponseObject(stderr: string): LoggedStatus | undefined {
  const start = stderr.indexOf('server response object: %s[');
  if (start < 0) return undefined;
  const open = stderr.indexOf('[', start) + 1;
  const close = stderr.indexOf('\n}]', open);
  if (close < 0) return undefined;
  try {
    return JSON.parse(stderr.slice(open, close + 2)) as LoggedStatus;
  } catch {
    return undefined;
  }
}

/**
 * Turns a failed `kubectl get --raw -v=6` run into a {@link RawResponse}. kubectl wraps a non-Status
 * error body into a Status whose first cause (`UnexpectedServerResponse`) holds the body text, so a
 * service's own 500 answer ("down") is recovered here.
 */
export function rawResponseFromFailure(stderr: string): RawResponse {
  const parsed = parseKubectlStderr(stderr);
  const logged = loggedResponseObject(stderr);
  const status =
    loggedStatusCode(stderr) ??
    (typeof logged?.code === 'number' ? logged.code : undefined) ??
    parsed.statusCode;
  const cause = logged?.details?.causes?.[0];
  let body = parsed.message;
  if (cause?.reason === 'UnexpectedServerResponse' && typeof cause.message === 'string') body = cause.message;
  else if (typeof logged?.message === 'string') body = logged.message;
  return status === undefined
    ? { ok: false, body, reason: parsed.reason }
    : { ok: false, status, body, reason: parsed.reason };
}

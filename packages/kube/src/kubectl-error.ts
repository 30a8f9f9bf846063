import { CommandError, type CommandFailure } from '@dreamscape/core';

/**
 * Why a kubectl call failed, so that callers can branch without reading text. Most are the API
 * server's own `metav1.Status` reasons; the rest describe failures that never reached a server.
 */
export const KUBECTL_REASONS = [
  'NotFound',
  'AlreadyExists',
  'Conflict',
  'Invalid',
  'BadRequest',
  'Forbidden',
  'Unauthorized',
  'ServiceUnavailable',
  'InternalError',
  'TooManyRequests',
  'Gone',
  'MethodNotAllowed',
  /** A JSON-patch `test` operation failed: the object no longer holds the expected value. */
  'PreconditionFailed',
  /** The server does not serve that resource type (a missing CRD, a typo). */
  'UnknownResource',
  /** The API server could not be reached: connection refused, DNS, routing. */
  'Unreachable',
  /** A client- or server-side deadline passed. */
  'Timeout',
  'Cancelled',
  /** The kubectl executable could not be started. */
  'NotInstalled',
  'Unknown',
] as const;

/** One of {@link KUBECTL_REASONS}. */
export type KubectlReason = (typeof KUBECTL_REASONS)[number];

/** HTTP status codes of the Status reasons kubectl prints (`Error from server (<reason>)`). */
const STATUS_CODES: Readonly<Record<string, number>> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

/** Server reasons folded into ours. */
const SERVER_REASON_ALIASES: Readonly<Record<string, KubectlReason>> = {
  Expired: 'Gone',
  ServerTimeout: 'Timeout',
  RequestEntityTooLarge: 'BadRequest',
  UnsupportedMediaType: 'BadRequest',
  NotAcceptable: 'BadRequest',
};

/** What {@link parseKubectlStderr} finds in kubectl's error output. */
export interface ParsedKubectlError {
  readonly reason: KubectlReason;
  /** The reason exactly as the server sent it, when kubectl printed one. */
  readonly serverReason: string | undefined;
  /** The HTTP status, from the `-v=6` request log when present, else implied by the server reason. */
  readonly statusCode: number | undefined;
  /** kubectl's own message without its log lines. */
  readonly message: string;
}

/** klog lines (`I1126 03:24:41.185754   10847 loader.go:402] …`) and their JSON continuations. */
const KLOG_LINE = /^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [\w.-]+:\d+\] /;
/** `round_trippers.go:560] GET http://… 503 Service Unavailable in 1 milliseconds` (kubectl 1.32 at -v=6). */
const ROUND_TRIP = /\] (?:GET|POST|PUT|PATCH|DELETE|HEAD) \S+ (\d{3})\b[^\n]* in \d+ milliseconds/g;
/** The structured form newer kubectl versions log at -v=6. */
const ROUND_TRIP_STRUCTURED = /"Response" [^\n]*status="(\d{3})\b/g;

/** Removes klog output (including the multi-line objects it prints) and keeps kubectl's own message. */
export function stripKlog(stderr: string): string {
  const kept: string[] = [];
  let inLogBlock = false;
  for (const line of stderr.split(/\r?\n/)) {
    if (KLOG_LINE.test(line)) {
      // `server response object: %s[{` is followed by JSON lines up to `}]`.
      inLogBlock = /\[\{\s*$/.test(line);
      continue;
    }
    if (inLogBlock) {
      if (/^\}\]\s*$/.test(line)) inLogBlock = false;
      continue;
    }
    kept.push(line);
  }
  return kept.join('\n').trim();
}

/**
 * kubectl prints one line per object for the same failure (24 × `namespaces "x" not found` for an
 * overlay applied to a missing namespace); keep each distinct line once, with its count.
 */
function collapseRepeats(text: string): string {
  const counts = new Map<string, number>();
  const order: string[] = [];
  for (const line of text.split('\n')) {
    const seen = counts.get(line);
    if (seen === undefined) order.push(line);
    counts.set(line, (seen ?? 0) + 1);
  }
  return order
    .map((line) => {
      const n = counts.get(line) ?? 1;
      return n > 1 && line.trim() !== '' ? `${line} (${n} times)` : line;
    })
    .join('\n');
}

/** The last HTTP status kubectl logged at `-v=6`, if any. */
export function loggedStatusCode(stderr: string): number | undefined {
  let code: number | undefined;
  for (const m of stderr.matchAll(ROUND_TRIP)) code = Number(m[1]);
  for (const m of stderr.matchAll(ROUND_TRIP_STRUCTURED)) code = Number(m[1]);
  return code;
}

/** Sorts kubectl's error output into a {@link KubectlReason}. */
export function parseKubectlStderr(stderr: string): ParsedKubectlError {
  const message = collapseRepeats(stripKlog(stderr));
  const logged = loggedStatusCode(stderr);
  const fromServer = /Error from server \((\w+)\):/.exec(message);
  if (fromServer?.[1] !== undefined) {
    const serverReason = fromServer[1];
    const reason = asReason(serverReason);
    return { reason, serverReason, statusCode: logged ?? STATUS_CODES[serverReason], message };
  }
  const classified = classifyClientMessage(message);
  return {
    reason: classified,
    serverReason: undefined,
    statusCode:
      logged ??
      (classified === 'Unauthorized' || classified === 'Invalid' ? STATUS_CODES[classified] : undefined),
    message,
  };
}

function asReason(serverReason: string): KubectlReason {
  const alias = SERVER_REASON_ALIASES[serverReason];
  if (alias !== undefined) return alias;
  return (KUBECTL_REASONS as readonly string[]).includes(serverReason)
    ? (serverReason as KubectlReason)
    : 'Unknown';
}

function classifyClientMessage(message: string): KubectlReason {
  if (/You must be logged in to the server|\(Unauthorized\)/.test(message)) return 'Unauthorized';
  if (/^The .* is invalid\b|^The request is invalid\b/m.test(message)) return 'Invalid';
  if (/error validating data|error validating "/.test(message)) return 'Invalid';
  if (/Apply failed with \d+ conflicts?/.test(message)) return 'Conflict';
  // `kubectl scale --resource-version/--current-replicas` checks its preconditions itself.
  if (/Expected resource version to be /.test(message)) return 'Conflict';
  if (/Expected replicas to be /.test(message)) return 'PreconditionFailed';
  if (/the server doesn't have a resource type|no matches for kind/.test(message)) return 'UnknownResource';
  if (
    /Client\.Timeout exceeded|context deadline exceeded|i\/o timeout|TLS handshake timeout|timed out waiting|deadline exceeded/i.test(
      message,
    )
  )
    return 'Timeout';
  if (
    /was refused - did you specify the right host or port|connection refused|no such host|network is unreachable|no route to host|Unable to connect to the server|connection reset by peer/m.test(
      message,
    )
  )
    return 'Unreachable';
  return 'Unknown';
}

/** What a caller can do about each reason, shown under the message. */
const HINTS: Partial<Record<KubectlReason, string>> = {
  Unreachable:
    'Check the server address in the kubeconfig and that the cluster API is reachable from this runner.',
  Unauthorized:
    'The cluster refused the credentials in the kubeconfig; refresh them (for example with azure/k8s-set-context or aws eks update-kubeconfig) before this step.',
  Forbidden: 'Grant the identity in the kubeconfig this permission (a Role or ClusterRole bound to it).',
  UnknownResource: 'The cluster does not serve this resource type; install its CRD or fix the kind.',
  NotInstalled: 'Install kubectl on the runner or point kubectl-path at it.',
};

/** A failed kubectl call: kubectl's own message and exit code, and the parsed reason to branch on. */
export class KubectlError extends CommandError {
  readonly reason: KubectlReason;
  readonly serverReason: string | undefined;
  readonly statusCode: number | undefined;
  /** kubectl's error output without log lines, e.g. `Error from server (NotFound): …`. */
  readonly kubectlMessage: string;

  constructor(
    failure: CommandFailure,
    parsed: ParsedKubectlError,
    options: { command?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(failure, { hint: options.hint ?? HINTS[parsed.reason], cause: options.cause });
    this.name = 'KubectlError';
    this.reason = parsed.reason;
    this.serverReason = parsed.serverReason;
    this.statusCode = parsed.statusCode;
    this.kubectlMessage = parsed.message;
    const command = options.command ?? [failure.tool, ...failure.args].join(' ');
    let what: string;
    if (failure.spawnError !== undefined) what = `could not start: ${failure.spawnError}`;
    else if (failure.timedOut) what = 'timed out';
    else if (failure.cancelled) what = 'was cancelled';
    else what = `failed (exit code ${failure.exitCode ?? failure.signal ?? 'unknown'})`;
    this.message = parsed.message === '' ? `${command} ${what}` : `${command} ${what}: ${parsed.message}`;
  }

  /** Wraps a {@link CommandError} from running kubectl, classifying its output. */
  static from(
    error: CommandError,
    options: { command?: string; reason?: KubectlReason; hint?: string } = {},
  ): KubectlError {
    let parsed = parseKubectlStderr(error.stderrTail);
    if (error.spawnError !== undefined) parsed = { ...parsed, reason: 'NotInstalled' };
    else if (error.cancelled) parsed = { ...parsed, reason: 'Cancelled' };
    else if (error.timedOut) parsed = { ...parsed, reason: 'Timeout' };
    if (options.reason !== undefined) parsed = { ...parsed, reason: options.reason };
    return new KubectlError(error, parsed, {
      ...(options.command === undefined ? {} : { command: options.command }),
      ...(options.hint === undefined ? {} : { hint: options.hint }),
      cause: error,
    });
  }
}

/** Reasons of failures that may go away when the same request is sent again (5xx, 429, timeouts, no route). */
const TRANSIENT_REASONS: ReadonlySet<string> = new Set<KubectlReason>([
  'Unreachable',
  'ServiceUnavailable',
  'TooManyRequests',
  'InternalError',
  'Timeout',
]);

/** Whether a failure reason (of kubectl or of the API server) is worth another attempt. */
export function isTransientReason(reason: string | undefined): boolean {
  return reason !== undefined && TRANSIENT_REASONS.has(reason);
}

/** Whether `error` is a {@link KubectlError} with one of `reasons`. */
export function isKubectlError(error: unknown, ...reasons: KubectlReason[]): error is KubectlError {
  return error instanceof KubectlError && (reasons.length === 0 || reasons.includes(error.reason));
}

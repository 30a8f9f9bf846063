/** What a failed `docker buildx build` said, read from its last error line. */
export interface BuildxFailure {
  /** buildx's last error, without its `ERROR: failed to build: failed to solve:` prefixes. */
  readonly reason: string;
  /** It failed while pushing the result (or authorizing the push), after the build itself. */
  readonly push: boolean;
  /**
   * A push failure that another attempt may well not meet: a 5xx or 429 answer, a reset or
   * refused connection, a timeout. Never a refusal (401, 403, `denied`, `unauthorized`, an unknown
   * repository), a certificate problem, or anything the Dockerfile did.
   */
  readonly transient: boolean;
  /** A push the registry refused: 4xx, `denied`, `unauthorized`, an unknown repository, a certificate. */
  readonly refused: boolean;
}

/** The summary line buildx ends a failed build with (`ERROR: ...`; `error: ...` before buildx 0.10). */
const SUMMARY = /^(ERROR|error):\s+/;
const PREFIXES = /^(failed to build:\s+)?(failed to solve:\s+)?(rpc error: code = \w+ desc = )?/;
/** Older buildx did not name the push; its transfer errors start like this. */
const LEGACY_PUSH = /^(failed to copy:|failed commit on ref|unexpected status: \d{3}\b)/;
const REFUSED =
  /\b(400|401|403|404|405|409|410|413|415|422)\s+[A-Z][a-z]|\bdenied\b|unauthorized|authentication required|\bforbidden\b|name unknown|name invalid|manifest invalid|blob unknown|insufficient_scope|x509|certificate|server gave HTTP response to HTTPS client|no basic auth credentials/i;
const PASSING =
  /\b(500|502|503|504|520|521|522|523|524)\s+[A-Z][a-z]|\b429\b|connection reset|broken pipe|TLS handshake timeout|i\/o timeout|timed? ?out|: EOF\b|\bEOF$|connection refused|closed pipe|closed network connection|cannot reuse body|deadline exceeded|server misbehaving|no route to host|network is unreachable|temporary failure/i;

/**
 * Reads a failed build's error output. Only the summary line counts: a RUN step's own output may
 * say "connection reset" without the push having anything to do with it.
 */
export function classifyBuildxFailure(stderr: string): BuildxFailure {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const summary = lines.findLast((l) => SUMMARY.test(l)) ?? lines.at(-1) ?? '';
  const reason = summary.replace(SUMMARY, '').replace(PREFIXES, '');
  const push = /\bfailed to push\b/.test(reason) || LEGACY_PUSH.test(reason);
  const refused = push && REFUSED.test(reason);
  return { reason, push, transient: push && !refused && PASSING.test(reason), refused };
}

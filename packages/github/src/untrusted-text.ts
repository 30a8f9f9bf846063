/**
 * A value that came from somewhere a person outside the repository may have written (a workflow
 * run's branch, an artifact's keys), made safe to put in a log line, an error or a job summary:
 * JSON-quoted (so a newline stays `\n` and never starts a line the runner could read as a
 * `::command::`), `%` and `:` runs made inert, and cut to `max` characters.
 */
export function showUntrusted(value: unknown, max = 80): string {
  const cut = (text: string): string => (text.length > max ? `${text.slice(0, max)}…` : text);
  // JSON escapes control characters and quotes (a value that is not a string is shown as JSON,
  // unquoted); `::` and `%` are what the runner's command parser and its escaping act on, so
  // neither reaches a log unchanged.
  const json =
    typeof value === 'string'
      ? JSON.stringify(cut(value))
      : cut(value === undefined ? 'undefined' : JSON.stringify(value));
  return json
    .replace(/::/g, ':\\u003a')
    .replace(/%/g, '\\u0025')
    .replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

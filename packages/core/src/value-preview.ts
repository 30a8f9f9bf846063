/**
 * A short, JSON-like rendering of any value for an error message: at most `maxChars` characters
 * (then `…`), written by a walk that stops as soon as that much is written. Unlike
 * `JSON.stringify`, it never visits more of the value than it shows, so a document that stands
 * for billions of values through aliases, or holds itself, costs no more than a small one. Numbers
 * JSON cannot write show as they are (`Infinity`, not `null`).
 */
export function previewValue(value: unknown, maxChars = 200): string {
  let out = '';
  const open = new Set<object>();
  const full = (): boolean => out.length > maxChars;
  const write = (v: unknown): void => {
    if (full()) return;
    if (typeof v === 'string') {
      out += JSON.stringify(v.length > maxChars ? v.slice(0, maxChars) : v);
      return;
    }
    if (typeof v !== 'object' || v === null) {
      out += typeof v === 'bigint' ? `${v}n` : String(v);
      return;
    }
    if (v instanceof Date) {
      out += Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
      return;
    }
    if (open.has(v)) {
      out += '[Circular]';
      return;
    }
    open.add(v);
    if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length && !full(); i++) {
        if (i > 0) out += ',';
        write(v[i]);
      }
      out += ']';
    } else {
      out += '{';
      let first = true;
      for (const key in v) {
        if (full()) break;
        if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
        out += `${first ? '' : ','}${JSON.stringify(key.length > maxChars ? key.slice(0, maxChars) : key)}:`;
        first = false;
        write((v as Record<string, unknown>)[key]);
      }
      out += '}';
    }
    open.delete(v);
  };
  write(value);
  return full() ? `${out.slice(0, maxChars)}…` : out;
}

/**
 * A name taken from a document someone else wrote (a kind, an object name, a host), for a message:
 * as it is when it looks like a name (letters, digits, `.`, `_`, `:`, `-`, up to 253 characters,
 * a Kubernetes name's limit), otherwise quoted and cut by {@link previewValue}, so that neither a
 * newline (which could start a `::command::` line in a workflow log) nor a megabyte reaches a log.
 */
export function previewName(value: string, maxChars = 100): string {
  return /^[A-Za-z0-9._:-]{1,253}$/.test(value) ? value : previewValue(value, maxChars);
}

import { readSync } from 'node:fs';

/**
 * Walks a JSON document and parses only the values a caller selects, one at a time, skipping
 * everything else without building it. A scanner report of 100,000 matches is ~150 MB of JSON:
 * `JSON.parse` of the whole would hold the text, the full object tree (mostly fields nobody reads)
 * and the normalized findings at once. Here the document is read through a small window, only one
 * match is parsed at a time, and unneeded subtrees (image metadata, package lists) are skipped at
 * memchr speed.
 */

/** Where a value sits: object keys and array indexes from the root. */
export type JsonPath = readonly (string | number)[];

/** A path pattern: keys must match; `*` matches any key or index. */
export type JsonPattern = readonly string[];

/** Where the bytes come from: `read` fills `into` from `offset` and returns how many it wrote (0 at the end). */
export interface JsonSource {
  read(into: Buffer, offset: number, length: number): number;
}

/** A {@link JsonSource} reading an open file descriptor from its current position. */
export function fileSource(fd: number): JsonSource {
  return { read: (into, offset, length) => readSync(fd, into, offset, length, null) };
}

/** Options of {@link visitJson}. */
export interface VisitOptions {
  /**
   * Members of a selected object left out before it is parsed (top-level keys of that object).
   * Cutting what is never read (vendor data, dates, fingerprints) from the text is much cheaper
   * than letting JSON.parse build it.
   */
  readonly omit?: readonly string[];
}

/** The document is not well-formed JSON where the walker looked. */
export class JsonStreamError extends Error {
  /** Byte offset from the start of the document. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'JsonStreamError';
    this.offset = offset;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;
const WINDOW = 4 * 1024 * 1024;

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * Calls `visit(path, value)`, in document order, for every value whose path matches one of
 * `patterns`; the value is parsed with `JSON.parse`. Containers are entered only on the way to a
 * pattern (`enter` is told when). The root must be an object or an array. `input` is the whole
 * document, or a {@link JsonSource} read a window at a time.
 */
export function visitJson(
  input: Uint8Array | JsonSource,
  patterns: readonly JsonPattern[],
  visit: (path: JsonPath, value: unknown) => void,
  enter?: (path: JsonPath) => void,
  options: VisitOptions = {},
): void {
  const omit = (options.omit ?? []).map((k) => Buffer.from(k, 'latin1'));
  let scratch = Buffer.allocUnsafe(omit.length === 0 ? 0 : 64 * 1024);
  const source = input instanceof Uint8Array ? undefined : input;
  let buf: Buffer =
    input instanceof Uint8Array
      ? Buffer.from(input.buffer, input.byteOffset, input.byteLength)
      : Buffer.allocUnsafe(WINDOW);
  let len = source === undefined ? buf.length : 0;
  let view = buf.subarray(0, len);
  /** Window position of the next byte. */
  let pos = 0;
  /** Window position that must stay in the window (start of the value being captured), or -1. */
  let mark = -1;
  /** Document offset of `buf[0]`. */
  let base = 0;
  let ended = source === undefined;

  /** Reads more of the document, keeping everything from `mark` (or `pos`); false at the end. */
  const more = (): boolean => {
    if (source === undefined || ended) return false;
    const keep = mark >= 0 ? mark : pos;
    if (keep > 0) {
      buf.copy(buf, 0, keep, len);
      len -= keep;
      pos -= keep;
      if (mark >= 0) mark -= keep;
      base += keep;
    }
    if (len === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, len);
      buf = bigger;
    }
    const n = source.read(buf, len, buf.length - len);
    if (n === 0) ended = true;
    len += n;
    view = buf.subarray(0, len);
    return n > 0;
  };
  const fail = (what: string): never => {
    throw new JsonStreamError(what, base + pos);
  };
  const peek = (): number => {
    if (pos >= len && !more()) return -1;
    return buf[pos] ?? -1;
  };
  const ws = (): void => {
    for (;;) {
      if (pos >= len && !more()) return;
      if (!isSpace(buf[pos])) return;
      pos++;
    }
  };
  /** From an opening quote to just past the closing one; returns where the string starts now. */
  const skipString = (): number => {
    let from = 1;
    for (;;) {
      const end = view.indexOf(QUOTE, pos + from);
      if (end < 0) {
        from = Math.max(1, len - pos);
        if (!more()) fail('unterminated string');
        continue;
      }
      let slashes = 0;
      for (let k = end - 1; k > pos && buf[k] === BACKSLASH; k--) slashes++;
      if (slashes % 2 === 0) {
        const start = pos;
        pos = end + 1;
        return start;
      }
      from = end + 1 - pos;
    }
  };
  const skipValue = (): void => {
    const b = peek();
    if (b === QUOTE) {
      skipString();
      return;
    }
    if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      let depth = 0;
      for (;;) {
        if (pos >= len && !more()) fail('the document ends inside a value');
        const c = buf[pos];
        if (c === QUOTE) {
          skipString();
          continue;
        }
        if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
        else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
          depth--;
          if (depth === 0) {
            pos++;
            return;
          }
        }
        pos++;
      }
    }
    let n = 0;
    for (;;) {
      if (pos >= len && !more()) break;
      const c = buf[pos];
      if (c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || isSpace(c)) break;
      pos++;
      n++;
    }
    if (n === 0) fail('a value was expected');
  };

  /** Whether `path` matches a pattern fully (`full`), or leads to one. */
  const matching = (path: JsonPath, full: boolean): boolean => {
    for (const p of patterns) {
      if (full ? p.length !== path.length : p.length <= path.length) continue;
      let ok = true;
      for (let k = 0; k < path.length; k++) {
        const want = p[k];
        if (want !== '*' && want !== String(path[k])) {
          ok = false;
          break;
        }
      }
      if (ok) return true;
    }
    return false;
  };

  /** Parses the value at `pos`; a plain string is decoded directly, without JSON.parse. */
  const wholeValue = (): string => {
    skipValue();
    return buf.toString('utf8', mark, pos);
  };

  /** Whether the key string at [from, to) (quotes excluded) is one of `omit`. */
  const omitted = (from: number, to: number): boolean => {
    const n = to - from;
    for (const key of omit) {
      if (key.length !== n) continue;
      let same = true;
      for (let k = 0; k < n; k++) {
        if (buf[from + k] !== key[k]) {
          same = false;
          break;
        }
      }
      if (same) return true;
    }
    return false;
  };

  /** The text of the object at `pos` (= `mark`) without its `omit` members. */
  const objectWithout = (): string => {
    // Cuts are [from, to) pairs relative to `mark`, which stays valid when the window moves.
    const cuts: number[] = [];
    pos++;
    ws();
    if (peek() === CLOSE_OBJECT) {
      pos++;
      return '{}';
    }
    let memberStart = pos - mark;
    let first = true;
    let cutNextComma = false;
    for (;;) {
      ws();
      if (peek() !== QUOTE) fail('a key was expected');
      const keyStart = skipString();
      const drop = omitted(keyStart + 1, pos - 1);
      ws();
      if (peek() !== COLON) fail("':' was expected");
      pos++;
      ws();
      skipValue();
      const memberEnd = pos - mark;
      if (drop) {
        // Drop the member with the comma before it; the first member takes the comma after it.
        if (first) {
          cuts.push(keyStart - mark, memberEnd);
          cutNextComma = true;
        } else cuts.push(memberStart, memberEnd);
      }
      ws();
      const c = peek();
      if (c === COMMA) {
        if (cutNextComma && drop) {
          const last = cuts.length - 1;
          cuts[last] = pos + 1 - mark;
        } else if (cutNextComma) cutNextComma = false;
        memberStart = pos - mark;
        pos++;
        first = first && drop;
        continue;
      }
      if (c === CLOSE_OBJECT) {
        pos++;
        break;
      }
      fail("',' or '}' was expected");
    }
    if (cuts.length === 0) return buf.toString('utf8', mark, pos);
    const size = pos - mark;
    if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, scratch.length * 2));
    let n = 0;
    let from = 0;
    for (let k = 0; k < cuts.length; k += 2) {
      const cutFrom = cuts[k] ?? 0;
      n += buf.copy(scratch, n, mark + from, mark + cutFrom);
      from = cuts[k + 1] ?? cutFrom;
    }
    n += buf.copy(scratch, n, mark + from, pos);
    return scratch.toString('utf8', 0, n);
  };

  const parseHere = (): unknown => {
    mark = pos;
    if (buf[pos] === QUOTE) {
      const start = skipString();
      mark = -1;
      const text = buf.toString('utf8', start + 1, pos - 1);
      // Escapes are rare in scanner output: decode directly, and let JSON.parse handle the rest.
      return text.includes('\\') ? (JSON.parse(buf.toString('utf8', start, pos)) as unknown) : text;
    }
    const text = omit.length > 0 && buf[pos] === OPEN_OBJECT ? objectWithout() : wholeValue();
    const at = mark;
    mark = -1;
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      pos = at;
      return fail(`invalid JSON (${error instanceof Error ? error.message : String(error)})`);
    }
  };

  const value = (path: JsonPath): void => {
    ws();
    const b = peek();
    if (b < 0) fail('a value was expected');
    if (matching(path, true)) {
      visit(path, parseHere());
      return;
    }
    if ((b === OPEN_OBJECT || b === OPEN_ARRAY) && matching(path, false)) {
      enter?.(path);
      if (b === OPEN_OBJECT) object(path);
      else array(path);
    } else skipValue();
  };

  const object = (path: JsonPath): void => {
    pos++;
    ws();
    if (peek() === CLOSE_OBJECT) {
      pos++;
      return;
    }
    for (;;) {
      ws();
      if (peek() !== QUOTE) fail('a key was expected');
      const start = skipString();
      const raw = buf.toString('utf8', start + 1, pos - 1);
      const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
      ws();
      if (peek() !== COLON) fail("':' was expected");
      pos++;
      value([...path, key]);
      ws();
      const c = peek();
      if (c === COMMA) {
        pos++;
        continue;
      }
      if (c === CLOSE_OBJECT) {
        pos++;
        return;
      }
      fail("',' or '}' was expected");
    }
  };

  const array = (path: JsonPath): void => {
    pos++;
    ws();
    if (peek() === CLOSE_ARRAY) {
      pos++;
      return;
    }
    for (let index = 0; ; index++) {
      value([...path, index]);
      ws();
      const c = peek();
      if (c === COMMA) {
        pos++;
        continue;
      }
      if (c === CLOSE_ARRAY) {
        pos++;
        return;
      }
      fail("',' or ']' was expected");
    }
  };

  ws();
  const first = peek();
  if (first === OPEN_OBJECT) object([]);
  else if (first === OPEN_ARRAY) array([]);
  else fail('an object or an array was expected');
  ws();
  if (peek() >= 0) fail('unexpected data after the document');
}

import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import {
  ActionError,
  DocumentError,
  FILE_DOCUMENT_LIMITS,
  InputError,
  parseYamlDocument,
  previewValue,
} from '@dreamscape/core';

/** An accepted risk: one vulnerability (optionally in one package), why, who owns it, until when. */
export interface Waiver {
  /** A CVE, GHSA or any identifier the scanner reports; aliases match too. */
  readonly id: string;
  /** Limits the waiver to one package name; every package when absent. */
  readonly package: string | undefined;
  readonly reason: string;
  readonly owner: string;
  /** `YYYY-MM-DD`; the waiver holds through the end of that day (UTC). */
  readonly expires: string;
  /** The first millisecond at which the waiver no longer holds. */
  readonly expiresAt: number;
}

/** What a waivers file must look like, for error messages and docs. */
export const WAIVERS_FORMAT =
  "a YAML list (or a 'waivers:' key holding one) of entries with id, reason, owner, expires (YYYY-MM-DD) and optionally package";

/**
 * A waivers file that cannot be used: names the input, the file and, when it is one entry's
 * fault, the entry.
 */
export class WaiverFileError extends ActionError {
  readonly file: string;
  /** 1-based position of the faulty entry. */
  readonly entry: number | undefined;

  constructor(
    file: string,
    problem: string,
    where: {
      readonly entry?: number;
      readonly id?: string | undefined;
      readonly cause?: unknown;
      /** The input that named the file; default `waivers`. */
      readonly input?: string;
      readonly hint?: string | undefined;
    } = {},
  ) {
    const entry =
      where.entry === undefined
        ? ''
        : `, entry ${where.entry}${where.id === undefined ? '' : ` (${where.id})`}`;
    super(`Input '${where.input ?? 'waivers'}': Waivers file ${file}${entry}: ${problem}`, {
      hint: where.hint ?? `Expected ${WAIVERS_FORMAT}.`,
      cause: where.cause,
    });
    this.name = 'WaiverFileError';
    this.file = file;
    this.entry = where.entry;
  }
}

const KEYS = new Set(['id', 'package', 'reason', 'owner', 'expires']);

/**
 * Parses a waivers file. Every problem is reported with the file name and the entry number
 * (1-based) and id, so that a typo never silently waives nothing. The document is read within
 * {@link FILE_DOCUMENT_LIMITS} (size, nesting, aliases).
 */
export function parseWaivers(text: string, file: string, input = 'waivers'): Waiver[] {
  if (Buffer.byteLength(text, 'utf8') <= FILE_DOCUMENT_LIMITS.maxBytes) {
    // js-yaml refuses an empty document; an empty (or all-comment) file simply waives nothing.
    if (text.split(/\r?\n/).every((l) => l.trim() === '' || l.trim().startsWith('#'))) return [];
  }
  let doc: unknown;
  try {
    doc = parseYamlDocument(text, file, FILE_DOCUMENT_LIMITS);
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    const problem =
      error.kind === 'syntax'
        ? error.problem.replace(/^YAML error: (.*?)( at line \d+)?$/s, 'invalid YAML$2: $1')
        : error.problem;
    throw new WaiverFileError(file, problem, { cause: error, input, hint: error.hint });
  }
  if (doc === undefined || doc === null) return [];
  const list: unknown =
    typeof doc === 'object' && !Array.isArray(doc) && 'waivers' in doc ? doc.waivers : doc;
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list))
    throw new WaiverFileError(file, 'the top level is not a list of waivers', { input });
  return list.map((entry: unknown, i) => parseEntry(entry, file, i + 1, input));
}

function parseEntry(entry: unknown, file: string, n: number, input: string): Waiver {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw new WaiverFileError(file, 'is not a mapping of id, reason, owner, expires', { entry: n, input });
  const fields = entry as Record<string, unknown>;
  const shownId =
    typeof fields.id !== 'string'
      ? undefined
      : fields.id.length > 80
        ? `${fields.id.slice(0, 80)}…`
        : fields.id;
  const fail = (problem: string): WaiverFileError =>
    new WaiverFileError(file, problem, { entry: n, id: shownId, input });
  for (const key of Object.keys(fields))
    if (!KEYS.has(key)) throw fail(`unknown key '${key}' (allowed: ${[...KEYS].join(', ')})`);
  const text = (key: string, required: boolean): string | undefined => {
    const value = fields[key];
    if (value === undefined || value === null || value === '') {
      if (required) throw fail(`'${key}' is required`);
      return undefined;
    }
    if (typeof value !== 'string' && typeof value !== 'number') throw fail(`'${key}' must be text`);
    return String(value).trim();
  };
  const id = text('id', true) ?? '';
  const reason = text('reason', true) ?? '';
  const owner = text('owner', true) ?? '';
  const pkg = text('package', false);
  const expires = parseDate(fields.expires);
  if (expires === undefined)
    throw fail(
      `'expires' must be a date like 2026-12-31, got ${fields.expires === undefined ? 'nothing' : previewValue(fields.expires, 80)}`,
    );
  return { id, package: pkg, reason, owner, expires: expires.text, expiresAt: expires.end };
}

/** YAML turns `2026-12-31` into a Date; quoted it stays text. Both are accepted, nothing else. */
function parseDate(value: unknown): { text: string; end: number } | undefined {
  let text: string;
  if (value instanceof Date && !Number.isNaN(value.getTime())) text = value.toISOString().slice(0, 10);
  else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value.trim())) text = value.trim();
  else return undefined;
  const start = Date.parse(`${text}T00:00:00Z`);
  if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== text) return undefined;
  return { text, end: start + 86_400_000 };
}

/**
 * Resolves a user-given path inside the workspace, refusing any path that climbs out of it, also
 * through a symbolic link. Returns the real path.
 */
export function resolveInsideWorkspace(workspace: string, path: string, input: string): string {
  const accepted = 'a path inside the workspace (relative to GITHUB_WORKSPACE)';
  const root = resolve(workspace);
  const wanted = resolve(root, path);
  const inside = (base: string, p: string): boolean => {
    const rel = relative(base, p);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  if (!inside(root, wanted))
    throw new InputError(input, path, accepted, { reason: 'it points outside the workspace' });
  let real: string;
  try {
    real = realpathSync(wanted);
  } catch (error) {
    throw new InputError(input, path, accepted, { reason: `${wanted} does not exist`, cause: error });
  }
  if (!inside(realpathSync(root), real))
    throw new InputError(input, path, accepted, { reason: 'it leads outside the workspace through a link' });
  return real;
}

/** Reads and parses the waivers file at `path` (inside `workspace`). */
export function loadWaivers(workspace: string, path: string, input = 'waivers'): Waiver[] {
  const file = resolveInsideWorkspace(workspace, path, input);
  let text: string;
  try {
    // A file far beyond the limit is refused by its size, without reading it.
    const size = statSync(file).size;
    if (size > FILE_DOCUMENT_LIMITS.maxBytes)
      throw new WaiverFileError(
        path,
        `too large: ${size} bytes, more than the limit of ${FILE_DOCUMENT_LIMITS.maxBytes / (1024 * 1024)} MiB`,
        { input },
      );
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof WaiverFileError) throw error;
    throw new WaiverFileError(path, `cannot be read: ${(error as Error).message}`, { cause: error, input });
  }
  return parseWaivers(text, path, input);
}

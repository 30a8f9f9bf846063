import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { InputError } from './errors.js';
import { checkDuration, durationAccepted, type DurationBounds } from './duration.js';
import {
  DocumentError,
  INPUT_DOCUMENT_LIMITS,
  parseYamlDocument,
  type DocumentLimits,
} from './bounded-document.js';

/**
 * Where input values come from: the action's `INPUT_*` variables in an action, a plain object in
 * tests and scripts. Returns '' for an input that is not set.
 */
export type InputSource = (name: string) => string;

/** An {@link InputSource} over a plain record, for tests, the demo and benchmarks. */
export function inputsFrom(
  values: Readonly<Record<string, string | number | boolean | undefined>>,
): InputSource {
  return (name) => {
    const v = values[name];
    return v === undefined ? '' : String(v).trim();
  };
}

/** An {@link InputSource} reading `INPUT_<NAME>` variables the way the runner sets them. */
export function inputsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): InputSource {
  return (name) => (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

/** Options shared by the readers: a default for an unset input, or `required`. */
export interface ReadOptions<T> {
  readonly required?: boolean;
  readonly default?: T;
}

/** A string input; '' when unset and not required. */
export function readString(src: InputSource, name: string, options: ReadOptions<string> = {}): string {
  const value = src(name);
  if (value !== '') return value;
  if (options.required === true) throw new InputError(name, '', 'a non-empty value');
  return options.default ?? '';
}

const TRUE = ['true', 'True', 'TRUE', 'yes', 'on'];
const FALSE = ['false', 'False', 'FALSE', 'no', 'off'];

/** A boolean input: true/false (also yes/no, on/off). */
export function readBoolean(src: InputSource, name: string, fallback: boolean): boolean {
  const value = src(name);
  if (value === '') return fallback;
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  throw new InputError(name, value, 'true or false');
}

/**
 * A duration input (`30s`, `5m`, `1h30m`) in milliseconds, within bounds. Without a `maxMs` the
 * bound is `MAX_DURATION_MS` (7 days): no duration input is ever unbounded, and a value too long to be
 * a number (400 digits) is refused rather than becoming Infinity.
 */
export function readDuration(
  src: InputSource,
  name: string,
  fallbackMs: number,
  bounds: DurationBounds = {},
): number {
  const value = src(name);
  if (value === '') return fallbackMs;
  const checked = checkDuration(value, bounds);
  if (!checked.ok) throw new InputError(name, value, durationAccepted(bounds), { reason: checked.reason });
  return checked.ms;
}

/** An integer input within bounds. */
export function readInteger(
  src: InputSource,
  name: string,
  fallback: number,
  bounds: { readonly min?: number; readonly max?: number } = {},
): number {
  const value = src(name);
  if (value === '') return fallback;
  const range = `an integer${bounds.min === undefined ? '' : ` ≥ ${bounds.min}`}${bounds.max === undefined ? '' : ` ≤ ${bounds.max}`}`;
  if (!/^-?\d+$/.test(value)) throw new InputError(name, value, range);
  const n = Number(value);
  if ((bounds.min !== undefined && n < bounds.min) || (bounds.max !== undefined && n > bounds.max))
    throw new InputError(name, value, range);
  return n;
}

/** One of a fixed set of values (case-insensitive). */
export function readEnum<const T extends string>(
  src: InputSource,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = src(name);
  if (value === '') return fallback;
  const found = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw new InputError(name, value, allowed.map((a) => `'${a}'`).join(', '));
  return found;
}

/**
 * A list: one item per line, or comma-separated on one line. Blank lines and lines starting with
 * `#` are skipped.
 */
export function readList(
  src: InputSource,
  name: string,
  options: { readonly commas?: boolean } = {},
): string[] {
  return splitList(src(name), options.commas ?? true);
}

/** Splits list text the way {@link readList} does. */
export function splitList(text: string, commas = true): string[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const items = commas && lines.length === 1 ? (lines[0] ?? '').split(',') : lines;
  return items.map((i) => i.trim()).filter((i) => i !== '');
}

/** `key=value` lines into an ordered list of pairs; the key is validated by `keyPattern`. */
export function readKeyValues(
  src: InputSource,
  name: string,
  options: { readonly keyPattern?: RegExp; readonly keyDescription?: string } = {},
): [string, string][] {
  const pattern = options.keyPattern ?? /^[A-Za-z_][A-Za-z0-9_.-]*$/;
  const accepted = `one KEY=value per line, KEY being ${options.keyDescription ?? 'letters, digits, _ . -'}`;
  const pairs: [string, string][] = [];
  for (const line of splitList(src(name), false)) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new InputError(name, line, accepted, { reason: 'no "=" after a key' });
    const key = line.slice(0, eq).trim();
    if (!pattern.test(key))
      throw new InputError(name, line, accepted, { reason: `key '${key}' is not valid` });
    pairs.push([key, line.slice(eq + 1)]);
  }
  return pairs;
}

/**
 * A YAML block, parsed within `limits` (by default {@link INPUT_DOCUMENT_LIMITS}: aliases, nesting
 * and size bounded); undefined when unset. Syntax errors name the input and the line; a limit
 * exceeded names the input and the limit.
 */
export function readYaml(
  src: InputSource,
  name: string,
  accepted: string,
  limits: DocumentLimits = INPUT_DOCUMENT_LIMITS,
): unknown {
  const value = src(name);
  if (value === '') return undefined;
  try {
    return parseYamlDocument(value, `Input '${name}'`, limits);
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    throw new InputError(name, value, accepted, { reason: error.problem, hint: error.hint, cause: error });
  }
}

/**
 * Parses a YAML document (YAML 1.2 core schema) that comes from somewhere other than an input,
 * such as checks recorded with a release, within the same limits as an input.
 */
export function parseYamlText(
  text: string,
  source: string,
  limits: DocumentLimits = INPUT_DOCUMENT_LIMITS,
): unknown {
  return parseYamlDocument(text, source, limits);
}

/** A DNS label, as app and environment names become part of object names. */
export const RELEASE_NAME = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
export const RELEASE_NAME_ACCEPTED =
  'a lowercase name of letters, digits and dashes (at most 40 characters), such as staging';

/** The default app name: the repository's name (`GITHUB_REPOSITORY`), lower-cased, dashes for the rest. */
export function defaultAppName(env: Readonly<Record<string, string | undefined>>): string {
  return (
    (env.GITHUB_REPOSITORY ?? '')
      .split('/')[1]
      ?.toLowerCase()
      .replace(/[^a-z0-9-]/g, '-') ?? ''
  );
}

/**
 * The kubeconfig to use: the `name` input (a path, relative to the workspace; it must exist), else
 * `KUBECONFIG`, else undefined (kubectl's default).
 */
export function readKubeconfig(
  src: InputSource,
  env: Readonly<Record<string, string | undefined>>,
  workspace: string,
  name = 'kubeconfig',
): string | undefined {
  const text = readString(src, name);
  if (text === '') return env.KUBECONFIG !== undefined && env.KUBECONFIG !== '' ? env.KUBECONFIG : undefined;
  const path = isAbsolute(text) ? text : resolve(workspace, text);
  if (!existsSync(path))
    throw new InputError(name, text, 'the path of a kubeconfig file', { reason: `${path} does not exist` });
  return path;
}

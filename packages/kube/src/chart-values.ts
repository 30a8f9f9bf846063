import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { loadAll, YAMLException } from 'js-yaml';
import { InputError, readWorkspacePath } from '@dreamscape/core';

/** The values a chart is rendered with, checked and read. */
export interface ChartValues {
  /** Each values file's bytes as read and checked (helm is given a copy of exactly these), in order. */
  readonly files: readonly { readonly input: string; readonly content: Buffer }[];
  /** The `key=value` entries, in order, each one `--set`. */
  readonly set: readonly string[];
  /** {@link valuesDigest} of both. */
  readonly digest: string;
}

/** What values may be. */
export const VALUES_LIMITS = {
  /** Bytes of one values file. */
  fileBytes: 1024 * 1024,
} as const;

const VALUES_ACCEPTED = 'YAML files inside the workspace, each a mapping of chart values (at most 1 MiB)';
const SET_ACCEPTED =
  'key=value entries in helm --set syntax (a.b=c, list[0]=x, a=1,b=2), one per line, without line breaks';

/**
 * Reads and checks the values files (workspace paths: inside the workspace with links followed,
 * regular files of at most {@link VALUES_LIMITS}`.fileBytes`, each one YAML document, a mapping,
 * or empty) and the `set` entries (`key=value`, no line break). Every refusal is an InputError naming
 * the `values` or `set` input; a YAML error names the file and the line.
 */
export function readChartValues(
  valuesFiles: readonly string[],
  set: readonly string[],
  workspace: string,
): ChartValues {
  const files = valuesFiles.map((input) => ({ input, content: readValuesFile(input, workspace) }));
  for (const entry of set) {
    const eq = entry.indexOf('=');
    const reason = /[\r\n\0]/.test(entry)
      ? 'it holds a line break'
      : eq < 0
        ? 'it has no = between the key and the value'
        : eq === 0
          ? 'the key before = is empty'
          : undefined;
    if (reason !== undefined)
      throw new InputError('set', entry, SET_ACCEPTED, {
        reason,
        hint: 'Write one key=value per line; put anything longer in a values file.',
      });
  }
  return {
    files,
    set: [...set],
    digest: valuesDigest(
      files.map((f) => f.content),
      set,
    ),
  };
}

/**
 * `sha256:<hex>` over the values files' bytes in order and then the set entries, each framed by
 * its kind and length: the same values give the same digest whatever the files are called, and no
 * two different lists give the same bytes to hash.
 */
export function valuesDigest(files: readonly Uint8Array[], set: readonly string[]): string {
  const hash = createHash('sha256');
  for (const content of files) hash.update(`file ${content.byteLength}\n`).update(content);
  for (const entry of set) {
    const bytes = Buffer.from(entry, 'utf8');
    hash.update(`set ${bytes.byteLength}\n`).update(bytes);
  }
  return `sha256:${hash.digest('hex')}`;
}

function readValuesFile(input: string, workspace: string): Buffer {
  const refuse = (reason: string, hint?: string): InputError =>
    new InputError('values', input, VALUES_ACCEPTED, { reason, ...(hint === undefined ? {} : { hint }) });
  if (/[\r\n\0]/.test(input)) throw refuse('it holds a line break');
  const path = readWorkspacePath('values', input, workspace, 'file');
  const stat = statSync(path);
  // A FIFO or a device would block or never end.
  if (!stat.isFile()) throw refuse(`${path} is not a regular file`);
  if (stat.size > VALUES_LIMITS.fileBytes)
    throw refuse(
      `${input} is ${stat.size} bytes, more than the ${VALUES_LIMITS.fileBytes} a values file may have`,
    );
  const content = readFileSync(path);
  let docs: unknown[];
  try {
    docs = loadAll(content.toString('utf8'), { filename: input });
  } catch (error) {
    if (!(error instanceof YAMLException)) throw error;
    const line = error.mark === undefined ? '' : ` at line ${error.mark.line + 1}`;
    throw refuse(
      `${input} is not valid YAML${line}: ${error.reason.slice(0, 200)}`,
      `Fix the YAML in ${input}${line}.`,
    );
  }
  // helm would read the first document and drop the rest without a word.
  if (docs.length > 1) throw refuse(`${input} holds ${docs.length} YAML documents; a values file is one`);
  const doc = docs[0];
  if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc)))
    throw refuse(
      `${input} is ${Array.isArray(doc) ? 'a list' : `a ${typeof doc} value`}, not a mapping of values`,
    );
  return content;
}

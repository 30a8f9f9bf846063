import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ActionError, InputError, type Logger } from '@dreamscape/core';
import type { BuildSecret } from './builder.js';

/** What a secret id may look like: it becomes a file name under `/run/secrets/` and a flag value. */
const SECRET_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const SPEC_FORMAT = '`id=NAME,src=PATH` or `id=NAME,env=VARIABLE` (one per line)';

/**
 * Parses one secret in the `--secret` syntax buildx and buildah share: `id=npm_token,src=/path`
 * (also `source=`), or `id=npm_token,env=NPM_TOKEN`; an optional `type=file|env` must agree.
 * Throws an {@link InputError} naming `input` for anything else.
 */
export function parseSecretSpec(text: string, input = 'secret-files'): BuildSecret {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InputError(input, text, SPEC_FORMAT, { reason: `'${part}' is not key=value` });
    const key = part.slice(0, eq).trim().toLowerCase();
    if (fields.has(key))
      throw new InputError(input, text, SPEC_FORMAT, { reason: `'${key}' is given twice` });
    fields.set(key, part.slice(eq + 1).trim());
  }
  const id = fields.get('id') ?? '';
  if (id === '') {
    // `NAME=PATH` is what docker/build-push-action's secret-files takes: say how to write it here.
    const [only] = fields.entries();
    const suggestion =
      fields.size === 1 && only !== undefined && !['src', 'source', 'env', 'type', 'id'].includes(only[0])
        ? ` (for a file, write id=${only[0]},src=${only[1]})`
        : '';
    throw new InputError(input, text, SPEC_FORMAT, { reason: `it has no id${suggestion}` });
  }
  if (!SECRET_ID.test(id))
    throw new InputError(input, text, SPEC_FORMAT, {
      reason: `the id '${id}' may hold only letters, digits, '_', '.' and '-'`,
    });
  const src = fields.get('src') ?? fields.get('source');
  const env = fields.get('env');
  const type = fields.get('type');
  const unknown = [...fields.keys()].filter((k) => !['id', 'src', 'source', 'env', 'type'].includes(k));
  if (unknown.length > 0)
    throw new InputError(input, text, SPEC_FORMAT, {
      reason: `unknown key ${unknown.map((k) => `'${k}'`).join(', ')}`,
    });
  if ((src === undefined) === (env === undefined))
    throw new InputError(input, text, SPEC_FORMAT, { reason: 'give exactly one of src= or env=' });
  if (src !== undefined) {
    if (src === '' || (type !== undefined && type !== 'file'))
      throw new InputError(input, text, SPEC_FORMAT, {
        reason: 'a file secret needs a path and type=file (or no type)',
      });
    return { id, file: src };
  }
  if (env === '' || (type !== undefined && type !== 'env'))
    throw new InputError(input, text, SPEC_FORMAT, {
      reason: 'an env secret needs a variable name and type=env (or no type)',
    });
  return { id, env: env ?? '' };
}

/** Secrets ready to hand to a builder as `--secret` values. */
export interface MaterializedSecrets {
  /** One `id=...,src=...` or `id=...,env=...` per secret, in the order given. */
  readonly specs: readonly string[];
  /** Removes the files written for value secrets. Safe to call more than once. */
  cleanup(): Promise<void>;
}

/**
 * Turns build secrets into `--secret` values. A secret given by value is registered with the masker
 * and written to a 0600 file in a fresh directory under `tempDir` (the only place it is ever
 * written), which {@link MaterializedSecrets.cleanup} removes. File secrets must exist. Throws an
 * {@link ActionError} for a bad or duplicate id, or a missing file.
 */
export async function materializeSecrets(
  secrets: readonly BuildSecret[],
  options: { readonly tempDir: string; readonly logger: Logger },
): Promise<MaterializedSecrets> {
  const seen = new Set<string>();
  for (const secret of secrets) {
    if (!SECRET_ID.test(secret.id))
      throw new ActionError(
        `The build secret id '${secret.id}' is invalid: it may hold only letters, digits, '_', '.' and '-'.`,
      );
    if (seen.has(secret.id)) throw new ActionError(`The build secret '${secret.id}' is given twice.`);
    seen.add(secret.id);
    if ('value' in secret) options.logger.setSecret(secret.value);
  }
  for (const secret of secrets) {
    if (!('file' in secret)) continue;
    const info = await stat(secret.file).catch(() => undefined);
    if (info?.isFile() !== true)
      throw new ActionError(`The file for build secret '${secret.id}' does not exist: ${secret.file}.`);
  }
  let dir: string | undefined;
  const specs: string[] = [];
  try {
    for (const secret of secrets) {
      if ('env' in secret) {
        specs.push(`id=${secret.id},env=${secret.env}`);
      } else if ('file' in secret) {
        specs.push(`id=${secret.id},src=${secret.file}`);
      } else {
        dir ??= await mkdtemp(join(options.tempDir, 'build-secrets-'));
        const file = join(dir, secret.id);
        await writeFile(file, secret.value, { mode: 0o600 });
        specs.push(`id=${secret.id},src=${file}`);
      }
    }
  } catch (error) {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const written = dir;
  return {
    specs,
    cleanup: async () => {
      if (written !== undefined) await rm(written, { recursive: true, force: true });
    },
  };
}

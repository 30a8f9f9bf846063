import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ActionRunResult } from './action-runner.js';

/** One place a secret was found. */
export interface SecretLeak {
  /** Which secret (by the name the caller gave it), and in which form. */
  readonly secret: string;
  readonly form: 'plain' | 'base64' | 'url-encoded';
  /** `stdout`, `stderr`, `summary`, `outputs`, or a file path. */
  readonly where: string;
  /** A few characters around it, with the secret itself replaced by `***`. */
  readonly context: string;
}

/** Every file under `dir` (following no links), for secret searches. */
export function filesUnder(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
  return entries
    .map((f) => join(dir, f))
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false;
      }
    });
}

/**
 * Searches everything an action run showed or left behind for the given secrets, plain, base64
 * (as in a Docker auth file) and URL-encoded: stdout (without the `::add-mask::` lines, which the
 * runner consumes and never shows), stderr, outputs, the job summary, and every file under the
 * run's directory (GITHUB_OUTPUT, GITHUB_STATE, GITHUB_ENV, RUNNER_TEMP, ...) and under `extraDirs`.
 */
export function findSecretLeaks(
  result: ActionRunResult,
  secrets: Readonly<Record<string, string>>,
  extraDirs: readonly string[] = [],
): SecretLeak[] {
  const places: [string, string][] = [
    [
      'stdout',
      result.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
    ],
    ['stderr', result.stderr],
    ['summary', result.summary],
    ['outputs', JSON.stringify(result.outputs)],
  ];
  for (const dir of [result.dir, ...extraDirs])
    for (const file of filesUnder(dir)) places.push([file, readFileSync(file).toString('latin1')]);
  const leaks: SecretLeak[] = [];
  for (const [name, value] of Object.entries(secrets)) {
    if (value.length < 6) throw new Error(`secret ${name} is too short to search for`);
    const forms: [SecretLeak['form'], string][] = [
      ['plain', value],
      ['base64', Buffer.from(value).toString('base64').replace(/=+$/, '')],
      ['url-encoded', encodeURIComponent(value)],
    ];
    for (const [form, needle] of forms) {
      if (form === 'url-encoded' && needle === value) continue;
      for (const [where, text] of places) {
        const at = text.indexOf(needle);
        if (at < 0) continue;
        const context = text
          .slice(Math.max(0, at - 40), at + needle.length + 40)
          .replace(needle, '***')
          .replace(/\s+/g, ' ');
        leaks.push({ secret: name, form, where, context });
      }
    }
  }
  return leaks;
}

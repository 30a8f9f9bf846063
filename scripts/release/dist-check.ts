import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ActionError, type CommandRunner } from '@dreamscape/core';

/** What a dist check found: whether every committed bundle equals a fresh one, and what it printed. */
export interface DistCheckResult {
  readonly fresh: boolean;
  /** The check's report, one line per action. */
  readonly report: string;
}

/** Checks that every `action-*` bundle committed in `repo` equals a fresh bundle of its sources. */
export type DistCheck = (repo: string) => Promise<DistCheckResult>;

/** The script of the repository that bundles the actions and, with `--check`, compares them. */
export const BUNDLE_SCRIPT = 'scripts/bundle.mjs';

/** Bundling five actions takes a minute or two on a small runner; ten is a hung ncc. */
const CHECK_TIMEOUT_MS = 10 * 60_000;

/**
 * The real check: `node scripts/bundle.mjs --check` of the repository being released, which
 * bundles every action into a temporary directory and exits 1 when a committed `dist/` differs.
 */
export function bundleDistCheck(runner: CommandRunner): DistCheck {
  return async (repo) => {
    const script = join(repo, BUNDLE_SCRIPT);
    if (!existsSync(script))
      throw new ActionError(`${repo} has no ${BUNDLE_SCRIPT}, so its action bundles cannot be checked.`);
    const r = await runner.run({
      tool: process.execPath,
      args: [script, '--check'],
      cwd: repo,
      okExitCodes: [0, 1],
      timeoutMs: CHECK_TIMEOUT_MS,
    });
    return { fresh: r.exitCode === 0, report: `${r.stdout}${r.stderr}`.trim() };
  };
}

import { CommandError, type CommandRunner, type Logger } from '@dreamscape/core';

/** Where and what to compare. */
export interface ChangedFilesOptions {
  readonly runner: CommandRunner;
  readonly logger: Logger;
  /** The repository checkout (GITHUB_WORKSPACE). */
  readonly cwd: string;
  /** A commit or ref: the state before. */
  readonly base: string;
  /** A commit or ref: the state after. */
  readonly head: string;
  /** The remote to fetch a missing commit from. Default `origin`. */
  readonly remote?: string;
}

/** The files that differ, or why they could not be listed. */
export type ChangedFiles =
  | {
      readonly kind: 'files';
      /** Repository-relative POSIX paths; both names of a rename; deleted files included. */
      readonly files: readonly string[];
      /** The commit compared with: the merge base of base and head when it could be found, else base. */
      readonly from: string;
      readonly head: string;
      /** Whether `from` is the merge base (false: the clone is too shallow to find it). */
      readonly mergeBase: boolean;
    }
  | { readonly kind: 'unavailable'; readonly why: string };

/**
 * Lists the files that changed between two commits with git, in the checkout. A commit missing from
 * a shallow clone is fetched (`git fetch --depth=1 origin <sha>`, which works with the credentials
 * actions/checkout leaves, or anonymously on a public repository). The comparison starts at the
 * merge base of the two commits, so that what the base branch gained meanwhile does not count; in a
 * clone too shallow to find it, it starts at the base commit itself, which can only list more files,
 * never fewer.
 */
export async function listChangedFiles(o: ChangedFilesOptions): Promise<ChangedFiles> {
  const git = (args: readonly string[], timeoutMs = 60_000): ReturnType<CommandRunner['run']> =>
    o.runner.run({
      tool: 'git',
      // The checkout may belong to another user (container jobs): trust it for these read-only calls.
      args: ['-c', `safe.directory=${o.cwd}`, ...args],
      cwd: o.cwd,
      env: { GIT_TERMINAL_PROMPT: '0' },
      timeoutMs,
    });

  try {
    await git(['rev-parse', '--git-dir']);
  } catch (error) {
    return { kind: 'unavailable', why: `${o.cwd} is not a git checkout (${firstLine(error)})` };
  }

  const resolveCommit = async (ref: string): Promise<string | undefined> => {
    try {
      return (await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).stdout.trim();
    } catch {
      return undefined;
    }
  };
  const ensureCommit = async (ref: string): Promise<string | undefined> => {
    const found = await resolveCommit(ref);
    if (found !== undefined) return found;
    o.logger.info(`${ref} is not in the clone; fetching it.`);
    try {
      await o.runner.run({
        tool: 'git',
        args: [
          '-c',
          `safe.directory=${o.cwd}`,
          'fetch',
          '--no-tags',
          '--no-recurse-submodules',
          '--depth=1',
          o.remote ?? 'origin',
          ref,
        ],
        cwd: o.cwd,
        env: { GIT_TERMINAL_PROMPT: '0' },
        timeoutMs: 120_000,
        retry: { attempts: 3, initialDelayMs: 2000 },
      });
    } catch (error) {
      o.logger.warning(`Could not fetch ${ref}: ${firstLine(error)}`);
      return undefined;
    }
    return (await resolveCommit(ref)) ?? (await resolveCommit('FETCH_HEAD'));
  };

  const base = await ensureCommit(o.base);
  if (base === undefined)
    return { kind: 'unavailable', why: `the base ${o.base} is not in the clone and could not be fetched` };
  const head = await ensureCommit(o.head);
  if (head === undefined)
    return { kind: 'unavailable', why: `the head ${o.head} is not in the clone and could not be fetched` };

  let from = base;
  let mergeBase = false;
  try {
    from = (await git(['merge-base', base, head])).stdout.trim().split('\n')[0] ?? base;
    mergeBase = true;
  } catch (error) {
    // Exit 1 without output: no common ancestor in this (shallow) history.
    if (!(error instanceof CommandError)) throw error;
    o.logger.info(
      `No merge base of ${base.slice(0, 12)} and ${head.slice(0, 12)} in this clone (fetch more history with fetch-depth to compare from it); comparing with ${base.slice(0, 12)} itself.`,
    );
  }

  const diff = await git(['diff', '--name-only', '--no-renames', '-z', from, head], 120_000);
  const files = diff.stdout.split('\0').filter((f) => f !== '');
  return { kind: 'files', files, from, head, mergeBase };
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((l) => l.trim() !== '') ?? text;
}

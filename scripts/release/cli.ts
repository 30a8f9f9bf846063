import { parseArgs } from 'node:util';
import {
  ActionError,
  ConsoleLogger,
  InputError,
  ProcessCommandRunner,
  isActionError,
  messageOf,
} from '@dreamscape/core';
import { cutRelease } from './cut-release.js';
import { bundleDistCheck } from './dist-check.js';
import type { ReleaseOutcome } from './release-run.js';
import { BUMP_LEVELS, type BumpLevel, type VersionRequest } from './semver.js';
import { verifyRelease } from './verify-release.js';

/** What the command line asks for. */
export interface ReleaseArguments {
  readonly action:
    | { readonly kind: 'cut'; readonly request: VersionRequest }
    | { readonly kind: 'verify'; readonly tag: string };
  readonly repo: string;
  readonly remote: string;
  readonly dryRun: boolean;
  readonly notesFile: string | undefined;
}

/** How to call the command, printed with every usage error. */
export const USAGE = `Usage:
  npm run release -- <version> [options]          release 1.2.3 (or v1.2.3)
  npm run release -- --bump major|minor|patch [options]   bump the last vX.Y.Z tag (first release: 1.0.0)
  npm run release -- --verify <tag> [options]     check a pushed vX.Y.Z tag, move its major tag, write its notes
Options:
  --repo <dir>          the clone to release from (default: the current directory)
  --remote <name>       the remote to read and push (default: origin)
  --notes-file <path>   where the release notes go (default: release-notes-<tag>.md in the temp directory)
  --dry-run             check and print what would be done; write nothing`;

/** Reads the command line once; a malformed one fails naming the option, the value and what is accepted. */
export function parseReleaseArguments(argv: readonly string[], cwd: string): ReleaseArguments {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        bump: { type: 'string' },
        verify: { type: 'string' },
        repo: { type: 'string' },
        remote: { type: 'string' },
        'notes-file': { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new ActionError(messageOf(error), { hint: USAGE });
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1)
    throw new InputError('version', positionals.join(' '), 'one version, 1.2.3 or v1.2.3', {
      reason: 'more than one given',
    });
  const [version] = positionals;
  const given = [version, values.bump, values.verify].filter((v) => v !== undefined);
  if (given.length !== 1)
    throw new InputError(
      'version',
      given.join(', '),
      'exactly one of <version>, --bump major|minor|patch or --verify <tag>',
      given.length > 1 ? { reason: 'more than one given' } : {},
    );
  const empty = (name: string, value: string | undefined): void => {
    if (value === '') throw new InputError(name, value, 'a non-empty value');
  };
  empty('--repo', values.repo);
  empty('--remote', values.remote);
  empty('--notes-file', values['notes-file']);
  let action: ReleaseArguments['action'];
  if (values.verify !== undefined) action = { kind: 'verify', tag: values.verify };
  else if (values.bump !== undefined) {
    const level = values.bump;
    if (!(BUMP_LEVELS as readonly string[]).includes(level))
      throw new InputError('--bump', level, BUMP_LEVELS.join(', '));
    action = { kind: 'cut', request: { kind: 'bump', level: level as BumpLevel } };
  } else action = { kind: 'cut', request: { kind: 'exact', text: version ?? '' } };
  return {
    action,
    repo: values.repo ?? cwd,
    remote: values.remote ?? 'origin',
    dryRun: values['dry-run'] ?? false,
    notesFile: values['notes-file'],
  };
}

/** The streams and wiring the command uses; tests replace them. */
export interface CliEnvironment {
  readonly cwd: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Print every git command line (RUNNER_DEBUG=1 in a workflow). */
  readonly debug?: boolean;
}

/** Runs the release command; resolves to the process's exit code (0 released or verified, 1 refused or failed). */
export async function runReleaseCommand(argv: readonly string[], env: CliEnvironment): Promise<number> {
  const logger = new ConsoleLogger({
    debug: env.debug ?? false,
    write: (line) => {
      env.stderr(`${line}\n`);
    },
  });
  try {
    const args = parseReleaseArguments(argv, env.cwd);
    const runner = new ProcessCommandRunner({ logger });
    const common = {
      repo: args.repo,
      remote: args.remote,
      runner,
      logger,
      // Always the real check here: only tests of cutRelease and verifyRelease give another.
      checkDist: bundleDistCheck(runner),
      dryRun: args.dryRun,
      ...(args.notesFile === undefined ? {} : { notesFile: args.notesFile }),
    };
    const outcome =
      args.action.kind === 'verify'
        ? await verifyRelease({ ...common, tag: args.action.tag })
        : await cutRelease({ ...common, request: args.action.request });
    env.stdout(describeOutcome(outcome));
    return 0;
  } catch (error) {
    env.stderr(
      `${isActionError(error) ? error.describe() : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

/** What the command prints on success: the outcome, and the notes themselves in a dry run. */
export function describeOutcome(o: ReleaseOutcome): string {
  if (o.dryRun) return `${o.tag} (dry run): nothing was written. Release notes:\n\n${o.notes}`;
  const pushed = o.pushed.map((r) => r.replace(/^refs\/(heads|tags)\//, '')).join(', ');
  return [
    `${o.tag} released at ${o.commit ?? ''}${pushed === '' ? '' : `; pushed ${pushed}`}.`,
    `Release notes: ${o.notesFile ?? ''}`,
    '',
  ].join('\n');
}

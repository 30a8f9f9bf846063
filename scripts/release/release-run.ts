import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner, Logger } from '@dreamscape/core';
import type { DistCheck } from './dist-check.js';

/** What both kinds of release need: where, how, and the checks and clock to use. */
export interface ReleaseEnvironment {
  /** The working tree to release from. */
  readonly repo: string;
  /** The remote consumers read tags from. */
  readonly remote: string;
  readonly runner: CommandRunner;
  readonly logger: Logger;
  /** The dist check: {@link bundleDistCheck} everywhere but in tests of the release itself. */
  readonly checkDist: DistCheck;
  /** Check and say what would be done, and write nothing (no file, commit, tag or push). */
  readonly dryRun?: boolean;
  /** Where the release notes go; default `<tmpdir>/release-notes-<tag>.md`. */
  readonly notesFile?: string;
  /** Today, for the changelog's release date (UTC). */
  readonly now?: () => Date;
}

/** What a release did, or with `dryRun`, would do. */
export interface ReleaseOutcome {
  /** `v1.2.3` */
  readonly tag: string;
  /** `v1` */
  readonly majorTag: string;
  /** Whether the major tag was (or would be) moved to this release. */
  readonly majorTagMoved: boolean;
  /** The release commit; undefined in a dry run of a new release (the commit is not made). */
  readonly commit: string | undefined;
  /** The refs pushed to the remote, by full name; empty in a dry run. */
  readonly pushed: readonly string[];
  /** The steps, in order, as sentences. */
  readonly steps: readonly string[];
  readonly notes: string;
  /** Where the notes were written; undefined in a dry run. */
  readonly notesFile: string | undefined;
  readonly dryRun: boolean;
}

/** The notes file of `tag` when none is given. */
export function defaultNotesFile(tag: string): string {
  return join(tmpdir(), `release-notes-${tag}.md`);
}

/** `2025-06-01`, in UTC. */
export function releaseDate(now: () => Date = () => new Date()): string {
  return now().toISOString().slice(0, 10);
}

/** A commit as people read it. */
export function short(sha: string): string {
  return sha.slice(0, 7);
}

import { CommandError, type CommandRunner } from '@dreamscape/core';

/** A ref as a remote advertises it (`git ls-remote`). */
export interface RemoteRef {
  /** What the ref holds: a commit, or the tag object of an annotated tag. */
  readonly objectId: string;
  /** The commit it leads to (the same as `objectId` for a branch or a lightweight tag). */
  readonly commit: string;
}

/** One commit of `git log`. */
export interface LoggedCommit {
  readonly sha: string;
  readonly subject: string;
}

/** Options of {@link Git}. */
export interface GitOptions {
  readonly runner: CommandRunner;
  /** The working tree every command runs in. */
  readonly repo: string;
}

/** Never wait for a password on a terminal nobody watches; a push without credentials fails at once. */
const ENV = { GIT_TERMINAL_PROMPT: '0' } as const;

/**
 * The git commands a release runs, in one working tree. Every call is an argv array run without a
 * shell; a ref or path that could look like an option is always placed after one that ends them.
 */
export class Git {
  private readonly runner: CommandRunner;
  readonly repo: string;

  constructor(options: GitOptions) {
    this.runner = options.runner;
    this.repo = options.repo;
  }

  /** Runs `git <args>` in the working tree and returns its stdout. */
  async run(
    args: readonly string[],
    okExitCodes: readonly number[] = [0],
  ): Promise<{ exitCode: number; stdout: string }> {
    const r = await this.runner.run({ tool: 'git', args, cwd: this.repo, env: ENV, okExitCodes });
    return { exitCode: r.exitCode, stdout: r.stdout };
  }

  private async out(args: readonly string[]): Promise<string> {
    return (await this.run(args)).stdout.trim();
  }

  /** The commit HEAD is at. */
  async head(): Promise<string> {
    return this.out(['rev-parse', '--verify', 'HEAD^{commit}']);
  }

  /** `git status --porcelain` lines: changed, staged and untracked files (ignored ones are not). */
  async status(): Promise<string[]> {
    const text = (await this.run(['status', '--porcelain=v1', '--untracked-files=normal'])).stdout;
    return text.split('\n').filter((l) => l.trim() !== '');
  }

  /** Every branch and tag the remote advertises, by full ref name. */
  async remoteRefs(remote: string): Promise<Map<string, RemoteRef>> {
    const text = (await this.run(['ls-remote', '--heads', '--tags', '--', remote])).stdout;
    const own = new Map<string, string>();
    const peeled = new Map<string, string>();
    for (const line of text.split('\n')) {
      const [objectId, ref] = line.split('\t');
      if (objectId === undefined || ref === undefined) continue;
      if (ref.endsWith('^{}')) peeled.set(ref.slice(0, -3), objectId);
      else own.set(ref, objectId);
    }
    return new Map(
      [...own].map(([ref, objectId]) => [ref, { objectId, commit: peeled.get(ref) ?? objectId }]),
    );
  }

  /** Every local tag, with the object it holds and the commit it leads to. */
  async localTags(): Promise<Map<string, RemoteRef>> {
    const text = await this.out([
      'for-each-ref',
      '--format=%(refname:strip=2)%09%(objectname)%09%(*objectname)',
      'refs/tags',
    ]);
    const out = new Map<string, RemoteRef>();
    for (const line of text.split('\n')) {
      const [name, objectId, peeled] = line.split('\t');
      if (name === undefined || name === '' || objectId === undefined) continue;
      out.set(name, { objectId, commit: peeled === undefined || peeled === '' ? objectId : peeled });
    }
    return out;
  }

  /** Whether `ancestor` is `descendant` or one of its ancestors. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const r = await this.run(['merge-base', '--is-ancestor', ancestor, descendant], [0, 1]);
    return r.exitCode === 0;
  }

  /** The commits of `range` (`a..b`, or a single commit for its whole history) that touched `path`; merges left out (the commits they bring are listed). */
  async log(range: string, path: string): Promise<LoggedCommit[]> {
    const text = (await this.run(['log', '--no-merges', '--format=%h%x09%s', range, '--', path])).stdout;
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const tab = l.indexOf('\t');
        return { sha: l.slice(0, tab), subject: l.slice(tab + 1) };
      });
  }

  /** The file `path` as committed at `commit`. */
  async show(commit: string, path: string): Promise<string> {
    return (await this.run(['show', `${commit}:${path}`])).stdout;
  }

  /** Stages `path` and commits it alone with `message`; returns the new commit. */
  async commitFile(path: string, message: string): Promise<string> {
    await this.run(['add', '--', path]);
    await this.run(['commit', '--quiet', '--message', message, '--', path]);
    return this.head();
  }

  /** Creates (or with `force`, moves) the annotated tag `name` at `commit`. */
  async tag(name: string, commit: string, message: string, o: { force?: boolean } = {}): Promise<void> {
    await this.run([
      'tag',
      '--annotate',
      ...(o.force === true ? ['--force'] : []),
      '--message',
      message,
      name,
      commit,
    ]);
  }

  /**
   * Pushes every refspec to `remote` in one atomic push: the remote takes all of them or none.
   * Each ref in `leases` is forced, but only while the remote still holds the object id given
   * (`''`: while it does not exist), so a concurrent release is never overwritten.
   */
  async pushAtomic(
    remote: string,
    refspecs: readonly string[],
    leases: ReadonlyMap<string, string>,
  ): Promise<void> {
    const lease = [...leases].map(([ref, expected]) => `--force-with-lease=${ref}:${expected}`);
    await this.run(['push', '--atomic', '--quiet', ...lease, '--', remote, ...refspecs]);
  }

  /** Sets `refs/tags/<name>` back to `objectId`, or deletes it when undefined. */
  async restoreTag(name: string, objectId: string | undefined): Promise<void> {
    if (objectId === undefined) await this.run(['update-ref', '-d', `refs/tags/${name}`]);
    else await this.run(['update-ref', `refs/tags/${name}`, objectId]);
  }

  /** Moves HEAD (and the branch it is on) back to `commit`, keeping nothing the release wrote. */
  async resetTo(commit: string): Promise<void> {
    await this.run(['reset', '--quiet', '--keep', commit]);
  }
}

/** Whether a thrown value is a git command that ran and failed (as opposed to one that could not start). */
export function isGitFailure(error: unknown): error is CommandError {
  return error instanceof CommandError && error.tool === 'git' && error.exitCode !== null;
}

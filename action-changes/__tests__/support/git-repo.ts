import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool } from '@dreamscape/testkit';

/** The repository root of this project. */
export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A real git repository in a temporary directory, for tests. */
export interface GitRepo {
  readonly dir: string;
  git(...args: string[]): string;
  /** Writes files (path → content) and commits them; returns the new commit. */
  commit(files: Readonly<Record<string, string | null>>, message?: string): string;
  head(): string;
  remove(): void;
}

/**
 * Creates a repository holding a copy of the DreamScape example (services.json, services/*, k8s/*)
 * at the root, committed once on `main`.
 */
export function exampleRepo(): GitRepo {
  requireTool('git');
  const dir = mkdtempSync(join(tmpdir(), 'ds-changes-'));
  const git = (...args: string[]): string =>
    execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Test',
        GIT_AUTHOR_EMAIL: 'test@example.com',
        GIT_COMMITTER_NAME: 'Test',
        GIT_COMMITTER_EMAIL: 'test@example.com',
        GIT_CONFIG_NOSYSTEM: '1',
        HOME: dir,
      },
    }).trim();
  git('init', '-q', '-b', 'main');
  const example = join(projectRoot, 'examples', 'dreamscape');
  for (const part of ['services.json', 'services', 'k8s'])
    cpSync(join(example, part), join(dir, part), { recursive: true });
  git('add', '-A');
  git('commit', '-q', '-m', 'DreamScape');
  const repo: GitRepo = {
    dir,
    git,
    commit(files, message = 'change') {
      for (const [path, content] of Object.entries(files)) {
        const full = join(dir, path);
        if (content === null) {
          git('rm', '-q', path);
          continue;
        }
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, content);
        git('add', path);
      }
      git('commit', '-q', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    head: () => git('rev-parse', 'HEAD'),
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return repo;
}

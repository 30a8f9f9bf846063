import { lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError } from './errors.js';

/** The directories an action may write into: the checkout and the runner's scratch space. */
export interface OutputRoots {
  /** `GITHUB_WORKSPACE`; relative values are resolved against it. */
  readonly workspace: string;
  /** `RUNNER_TEMP`; when it is not set, only the workspace is accepted (never the system's /tmp). */
  readonly runnerTemp?: string | undefined;
}

/**
 * Resolves a path input the action will WRITE to (a report, a cache directory), which need not
 * exist yet, and refuses one that lands outside the workspace and the runner temp directory, by
 * `..`, by an absolute path or through a symbolic link anywhere along it (a dangling link too):
 * a workflow input must not make the action overwrite `~/.ssh`, the runner's own files or another
 * job's checkout.
 */
export function readOutputPath(input: string, value: string, roots: OutputRoots): string {
  const accepted =
    roots.runnerTemp === undefined || roots.runnerTemp === ''
      ? `a path inside the workspace (${roots.workspace}); RUNNER_TEMP is not set`
      : `a path inside the workspace (${roots.workspace}) or the runner temp directory (${roots.runnerTemp})`;
  const path = resolve(roots.workspace, value);
  const lexicalRoots = [roots.workspace, roots.runnerTemp]
    .filter((root): root is string => root !== undefined && root !== '')
    .map((root) => resolve(root));
  if (!lexicalRoots.some((root) => isInside(root, path)))
    throw new InputError(input, value, accepted, {
      reason: 'the path leads outside the workspace and the runner temp directory',
    });
  let real: string;
  try {
    real = realPathOfMaybeMissing(path);
  } catch (error) {
    throw new InputError(input, value, accepted, {
      reason: `it goes through a symbolic link that cannot be resolved (${errorText(error)})`,
      cause: error,
    });
  }
  const realRoots = lexicalRoots.map(realRoot);
  if (!realRoots.some((root) => isInside(root, real)))
    throw new InputError(input, value, accepted, {
      reason: `the path leads outside the workspace and the runner temp directory through a symbolic link (to ${real})`,
    });
  return path;
}

/** `path` with every symbolic link of its existing part resolved; the missing rest appended. */
function realPathOfMaybeMissing(path: string): string {
  const missing: string[] = [];
  let existing = path;
  for (;;) {
    try {
      // lstat, not exists: a dangling link "does not exist" for existsSync, yet writing to it
      // creates its target wherever it points.
      lstatSync(existing);
      break;
    } catch {
      const parent = dirname(existing);
      if (parent === existing) break;
      missing.unshift(basename(existing));
      existing = parent;
    }
  }
  return join(realpathSync(existing), ...missing);
}

function realRoot(root: string): string {
  try {
    return realpathSync(root);
  } catch {
    return root;
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

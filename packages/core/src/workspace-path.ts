import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { InputError } from './errors.js';

/**
 * Resolves a path input against the workspace and refuses one that climbs out of it, by `..`, by an
 * absolute path or through a symbolic link: an action must not read files the workflow did not
 * check out.
 */
export function readWorkspacePath(
  input: string,
  value: string,
  workspace: string,
  expect: 'file' | 'directory',
): string {
  const path = resolve(workspace, value);
  const rel = relative(workspace, path);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new InputError(input, value, `a ${expect} inside the workspace (${workspace})`, {
      reason: 'the path leads outside the workspace',
    });
  }
  if (!existsSync(path)) {
    throw new InputError(input, value, `an existing ${expect} inside the workspace`, {
      reason: `${path} does not exist`,
    });
  }
  // A link checked in with the sources may point anywhere (`k8s -> /home/runner`): judge where the
  // path really leads, against where the workspace really is.
  const real = relative(realpathSync(workspace), realpathSync(path));
  if (real === '..' || real.startsWith(`..${sep}`) || isAbsolute(real)) {
    throw new InputError(input, value, `a ${expect} inside the workspace (${workspace})`, {
      reason: 'the path leads outside the workspace through a symbolic link',
    });
  }
  const isDir = statSync(path).isDirectory();
  if (expect === 'directory' ? !isDir : isDir) {
    throw new InputError(input, value, `an existing ${expect} inside the workspace`, {
      reason: `${path} is a ${isDir ? 'directory' : 'file'}`,
    });
  }
  return path;
}

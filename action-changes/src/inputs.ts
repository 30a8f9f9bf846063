import { existsSync, readFileSync, statSync } from 'node:fs';
import { posix, relative, resolve, sep } from 'node:path';
import { InputError, readBoolean, readEnum, readList, readString, type InputSource } from '@dreamscape/core';
import { compilePathPattern, type PathPattern } from './path-glob.js';
import { parseServicesFile, SERVICE_NAME, type ServiceDefinition } from './services-file.js';

/** What the action does: list the services a change touches, or keep a sticky PR comment. */
export const MODES = ['changes', 'comment'] as const;

/** Inputs of `mode: changes`. */
export interface ChangesInputs {
  readonly mode: 'changes';
  /** The services, from the services file or the single-service inputs. */
  readonly services: readonly ServiceDefinition[];
  /** The services file, repository-relative ('' for a single service). */
  readonly servicesFile: string;
  /** Compare with this commit or ref instead of the event's base ('' = from the event). */
  readonly base: string;
  /** Select every service without looking at changes. */
  readonly all: boolean;
  /** Changed paths given by the workflow; undefined = ask git. */
  readonly changedFiles: readonly string[] | undefined;
  /** Patterns whose change selects every service (the services file is always one). */
  readonly shared: readonly PathPattern[];
}

/** Inputs of `mode: comment`. */
export interface CommentInputs {
  readonly mode: 'comment';
  /** Identifies the comment: one comment per key and pull request. */
  readonly key: string;
  readonly body: string;
  readonly token: string;
  /** The pull request; undefined = the event's. */
  readonly pullRequest: number | undefined;
}

/** Everything action-changes was asked to do, validated once. */
export type ChangesActionInputs = ChangesInputs | CommentInputs;

const KEY = /^[A-Za-z0-9][A-Za-z0-9._/:-]{0,99}$/;

/**
 * Reads and validates the inputs. `env` supplies `GITHUB_WORKSPACE`, `GITHUB_REPOSITORY` and
 * `GITHUB_REPOSITORY_OWNER` (default image names).
 */
export function readInputs(
  src: InputSource,
  env: Readonly<Record<string, string | undefined>>,
): ChangesActionInputs {
  const mode = readEnum(src, 'mode', MODES, 'changes');
  if (mode === 'comment') return readCommentInputs(src);

  const workspace = env.GITHUB_WORKSPACE ?? process.cwd();
  const repository = env.GITHUB_REPOSITORY ?? '';
  const owner = env.GITHUB_REPOSITORY_OWNER ?? repository.split('/')[0] ?? '';
  const servicesFileInput = readString(src, 'services-file');
  const single = ['name', 'context', 'dockerfile', 'target', 'image'].filter((n) => src(n) !== '');

  let services: ServiceDefinition[];
  let servicesFile = '';
  if (servicesFileInput !== '') {
    if (single.length > 0)
      throw new InputError(
        single[0] ?? 'context',
        src(single[0] ?? 'context'),
        "either 'services-file' or the single-service inputs (name, context, dockerfile, target, image), not both",
      );
    servicesFile = workspaceRelative('services-file', servicesFileInput, workspace, 'file');
    services = parseServicesFile(readFileSync(resolve(workspace, servicesFile), 'utf8'), {
      path: servicesFile,
      owner,
    });
  } else {
    services = [singleService(src, workspace, repository, owner)];
  }

  const shared = readList(src, 'shared-paths', { commas: false }).map((p) => {
    try {
      return compilePathPattern(p);
    } catch (error) {
      throw new InputError('shared-paths', p, 'path patterns using *, ? and **, one per line', {
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  });
  if (servicesFile !== '') shared.unshift(compilePathPattern(servicesFile));

  const changedText = src('changed-files');
  return {
    mode,
    services,
    servicesFile,
    base: readString(src, 'base'),
    all: readBoolean(src, 'all', false),
    changedFiles: changedText === '' ? undefined : readList(src, 'changed-files', { commas: false }),
    shared,
  };
}

function readCommentInputs(src: InputSource): CommentInputs {
  const key = readString(src, 'comment-key', { required: true });
  if (!KEY.test(key))
    throw new InputError(
      'comment-key',
      key,
      'letters, digits and . _ / : - (at most 100), e.g. plan/staging',
    );
  const body = readString(src, 'comment-body', { required: true });
  const token = readString(src, 'github-token', { required: true });
  const prText = readString(src, 'pull-request');
  if (prText !== '' && !/^[1-9]\d{0,9}$/.test(prText))
    throw new InputError('pull-request', prText, 'a pull request number');
  return { mode: 'comment', key, body, token, pullRequest: prText === '' ? undefined : Number(prText) };
}

function singleService(
  src: InputSource,
  workspace: string,
  repository: string,
  owner: string,
): ServiceDefinition {
  const context = workspaceRelative(
    'context',
    readString(src, 'context', { default: '.' }),
    workspace,
    'directory',
  );
  const dockerfileInput = readString(src, 'dockerfile');
  const dockerfile =
    dockerfileInput === ''
      ? posix.join(context, 'Dockerfile')
      : workspaceRelative('dockerfile', dockerfileInput, workspace, 'file');
  const repoName = (repository.split('/')[1] ?? '').toLowerCase();
  const fallbackName = context === '.' ? repoName : (context.split('/').pop() ?? '').toLowerCase();
  const name = readString(src, 'name', { default: fallbackName });
  if (!SERVICE_NAME.test(name))
    throw new InputError(
      'name',
      name,
      "a service name: lowercase letters, digits, '.', '_' and '-', starting and ending with a letter or digit",
    );
  const image = readString(src, 'image', {
    default: owner === '' ? '' : `ghcr.io/${owner.toLowerCase()}/${name}`,
  });
  if (image === '') throw new InputError('image', '', 'an image repository such as ghcr.io/OWNER/NAME');
  return { name, context, dockerfile, target: readString(src, 'target'), image, paths: [] };
}

/**
 * A path input as a repository-relative POSIX path ('.' for the root). It must exist and stay inside
 * the workspace: the action reads nothing the workflow did not check out.
 */
function workspaceRelative(
  input: string,
  value: string,
  workspace: string,
  expect: 'file' | 'directory',
): string {
  const absolute = resolve(workspace, value);
  const rel = relative(workspace, absolute);
  if (rel === '..' || rel.startsWith(`..${sep}`) || resolve(workspace, rel) !== absolute)
    throw new InputError(input, value, `a ${expect} inside the workspace (${workspace})`, {
      reason: 'the path leads outside the workspace',
    });
  if (!existsSync(absolute))
    throw new InputError(input, value, `an existing ${expect} inside the workspace`, {
      reason: `${absolute} does not exist`,
    });
  if (statSync(absolute).isDirectory() !== (expect === 'directory'))
    throw new InputError(input, value, `an existing ${expect} inside the workspace`, {
      reason: `${absolute} is not a ${expect}`,
    });
  return rel === '' ? '.' : rel.split(sep).join('/');
}

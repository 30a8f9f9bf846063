import { existsSync, readFileSync, statSync } from 'node:fs';
import { posix, relative, resolve, sep } from 'node:path';
import { InputError, readBoolean, readEnum, readList, readString, type InputSource } from '@dreamscape/core';
import {
  checkRefText,
  checkRunner,
  checkScriptPath,
  compileTagPatterns,
  MAX_RECORDS_BYTES,
  parsePromotionRecords,
  parseRunnerAllowList,
  RUN_ID,
  workflowFilePath,
  type PromotionRecords,
  type TagPattern,
} from '@dreamscape/github';
import { checkImageOrigins, defaultImageOrigins, parseImagesInput, type ImagePin } from '@dreamscape/image';
import { compilePathPattern, type PathPattern } from './path-glob.js';
import { parseServicesFile, SERVICE_NAME, type ServiceDefinition } from './services-file.js';

/**
 * What the action does: list the services a change touches, keep a sticky PR comment, check a run
 * before its images are promoted, or check a deploy's ref, runner and smoke-test script.
 */
export const MODES = ['changes', 'comment', 'promotion', 'deploy-check'] as const;

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

/** Inputs of `mode: promotion`. */
export interface PromotionInputs {
  readonly mode: 'promotion';
  /** The run whose images are promoted. */
  readonly runId: number;
  /** Its records artifact, read and checked: only service names and images pinned by digest. */
  readonly records: PromotionRecords;
  readonly token: string;
  /** The workflow file whose runs may be promoted (default: the one running). */
  readonly workflowPath: string;
  readonly releaseTags: readonly TagPattern[];
  /** For the summary only; '' when not given. */
  readonly environment: string;
}

/** Inputs of `mode: deploy-check`. */
export interface DeployCheckInputs {
  readonly mode: 'deploy-check';
  /** The ref to deploy ('' = the run's own commit). */
  readonly ref: string;
  /** The runner the deploy job will run on, from the allow-list. */
  readonly runsOn: string;
  /** The smoke-test script, repository-relative; '' for none. */
  readonly smokeTestScript: string;
  readonly releaseTags: readonly TagPattern[];
  readonly allowAnyRef: boolean;
  /** The images to deploy, each from an allowed origin. */
  readonly images: readonly ImagePin[];
  readonly token: string;
  readonly environment: string;
}

/** Everything action-changes was asked to do, validated once. */
export type ChangesActionInputs = ChangesInputs | CommentInputs | PromotionInputs | DeployCheckInputs;

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
  if (mode === 'promotion') return readPromotionInputs(src, env);
  if (mode === 'deploy-check') return readDeployCheckInputs(src, env);

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

const WORKFLOW_PATH = /^\.github\/workflows\/[A-Za-z0-9._-]{1,100}\.ya?ml$/;
const ENVIRONMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function readPromotionInputs(
  src: InputSource,
  env: Readonly<Record<string, string | undefined>>,
): PromotionInputs {
  const runText = readString(src, 'run-id', { required: true });
  if (!RUN_ID.test(runText) || !Number.isSafeInteger(Number(runText)))
    throw new InputError(
      'run-id',
      runText,
      "a workflow run id: the number in the run's URL, e.g. 9876543210",
    );
  const token = readString(src, 'github-token', { required: true });
  const repository = env.GITHUB_REPOSITORY ?? '';
  const workflowText = readString(src, 'workflow', {
    default: workflowFilePath(env.GITHUB_WORKFLOW_REF ?? '', repository),
  });
  if (!WORKFLOW_PATH.test(workflowText))
    throw new InputError(
      'workflow',
      workflowText,
      'the workflow file whose runs may be promoted, e.g. .github/workflows/pipeline.yml (default: the running workflow, from GITHUB_WORKFLOW_REF)',
    );
  const releaseTags = readReleaseTags(src);
  const environment = readEnvironment(src);
  const recordsPath = readString(src, 'records-file', { required: true });
  const absolute = resolve(env.GITHUB_WORKSPACE ?? process.cwd(), recordsPath);
  const accepted = 'the records.json downloaded from the run (actions/download-artifact)';
  if (!existsSync(absolute))
    throw new InputError('records-file', recordsPath, accepted, { reason: 'no such file' });
  const stat = statSync(absolute);
  if (!stat.isFile()) throw new InputError('records-file', recordsPath, accepted, { reason: 'not a file' });
  if (stat.size > MAX_RECORDS_BYTES)
    throw new InputError('records-file', recordsPath, accepted, {
      reason: `larger than ${MAX_RECORDS_BYTES} bytes`,
    });
  const records = parsePromotionRecords(readFileSync(absolute, 'utf8'), {
    input: 'records-file',
    path: recordsPath,
  });
  return {
    mode: 'promotion',
    runId: Number(runText),
    records,
    token,
    workflowPath: workflowText,
    releaseTags,
    environment,
  };
}

function readDeployCheckInputs(
  src: InputSource,
  env: Readonly<Record<string, string | undefined>>,
): DeployCheckInputs {
  const allowed = parseRunnerAllowList(readString(src, 'allowed-runners', { default: 'ubuntu-latest' }));
  const runsOn = checkRunner(readString(src, 'runs-on'), allowed);
  const smokeTestScript = checkScriptPath(readString(src, 'smoke-test-script'));
  const ref = checkRefText(readString(src, 'ref'));
  const releaseTags = readReleaseTags(src);
  const allowAnyRef = readBoolean(src, 'allow-any-ref', false);
  const images = parseImagesInput(readString(src, 'images'));
  const owner = env.GITHUB_REPOSITORY_OWNER ?? (env.GITHUB_REPOSITORY ?? '').split('/')[0] ?? '';
  const allowedText = readList(src, 'allowed-images');
  checkImageOrigins(images, allowedText.length > 0 ? allowedText : defaultImageOrigins(owner));
  const environment = readEnvironment(src);
  const token = readString(src, 'github-token', { required: true });
  return {
    mode: 'deploy-check',
    ref,
    runsOn,
    smokeTestScript,
    releaseTags,
    allowAnyRef,
    images,
    token,
    environment,
  };
}

function readReleaseTags(src: InputSource): TagPattern[] {
  const patterns = readList(src, 'release-tags');
  try {
    return compileTagPatterns(patterns);
  } catch (error) {
    throw new InputError(
      'release-tags',
      patterns.join(', '),
      "tag patterns, one per line or comma-separated: letters, digits, '.', '_', '/', '+', '-' and '*', e.g. v*",
      { cause: error },
    );
  }
}

function readEnvironment(src: InputSource): string {
  const environment = readString(src, 'environment');
  if (environment !== '' && !ENVIRONMENT.test(environment))
    throw new InputError('environment', environment, "an environment name: letters, digits, '.', '_', '-'");
  return environment;
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

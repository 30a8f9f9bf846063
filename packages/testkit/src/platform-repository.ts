import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RepositoryModel } from './github-repository.js';

/** The recorded run payload stays with the github package's other fixtures. */
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'github', '__tests__', 'fixtures');

/** A commit id made of one repeated hex pair, easy to tell apart in failures. */
export const sha = (pair: string): string => pair.repeat(20);

/** The run payload GitHub answers for a push to main that built and pushed every image. */
export const PUSH_RUN = JSON.parse(readFileSync(join(fixtures, 'workflow-run-push.json'), 'utf8')) as Record<
  string,
  unknown
>;
export const PUSH_SHA = PUSH_RUN.head_sha as string;
export const PUSH_RUN_ID = PUSH_RUN.id as number;

/** Commits: main's history, a feature branch ahead of it, a fork's pull request, a hotfix branch. */
export const MAIN = [sha('a1'), sha('a2'), sha('a3'), PUSH_SHA] as const;
export const FEATURE = sha('b1');
export const FORK = sha('f0');
export const HOTFIX = sha('c1');

/** The same run with other fields: `repository` and `head_repository` by full name. */
export function runLike(id: number, changes: Record<string, unknown>): Record<string, unknown> {
  const run: Record<string, unknown> = { ...PUSH_RUN, id, ...changes };
  const repo = (full: string): Record<string, unknown> => ({
    ...(PUSH_RUN.repository as Record<string, unknown>),
    full_name: full,
    name: full.split('/')[1],
    owner: { login: full.split('/')[0], id: 3003, type: 'User' },
    fork: full !== 'dreamscape/platform',
  });
  if (typeof changes.head_repository === 'string') run.head_repository = repo(changes.head_repository);
  if (typeof changes.repository === 'string') run.repository = repo(changes.repository);
  run.url = `https://api.github.com/repos/dreamscape/platform/actions/runs/${id}`;
  run.html_url = `https://github.com/dreamscape/platform/actions/runs/${id}`;
  return run;
}

/** Run ids of the cases, one per way a run can be (un)fit for promotion. */
export const RUNS = {
  push: PUSH_RUN_ID,
  forkPullRequest: 501,
  otherWorkflow: 502,
  failed: 503,
  inProgress: 504,
  featureBranch: 505,
  tagPush: 506,
  branchNamedLikeTag: 507,
  qualifiedPath: 508,
  sameRepoPullRequest: 509,
  dispatch: 510,
} as const;

/** dreamscape/platform with every run above. */
export function platform(): RepositoryModel {
  return {
    owner: 'dreamscape',
    repo: 'platform',
    defaultBranch: 'main',
    branches: {
      main: MAIN,
      'feature/cache': [...MAIN, FEATURE],
      'pull/7/head': [MAIN[0], FORK],
      'release/2.0': [MAIN[0], MAIN[1], HOTFIX],
      v9: [...MAIN, FEATURE],
    },
    tags: {
      'v1.2.0': { commit: MAIN[2], annotated: true },
      'v2.0.1': { commit: HOTFIX, annotated: true },
      'v2.0.2': { commit: HOTFIX },
    },
    runs: {
      [RUNS.push]: PUSH_RUN,
      // A fork's pull request from its own `main`, running this very workflow file: GitHub runs it
      // in the base repository, with the fork as head repository.
      [RUNS.forkPullRequest]: runLike(RUNS.forkPullRequest, {
        event: 'pull_request',
        head_branch: 'main',
        head_sha: FORK,
        head_repository: 'mallory/platform',
        display_title: 'Fix typo',
      }),
      [RUNS.otherWorkflow]: runLike(RUNS.otherWorkflow, {
        path: '.github/workflows/nightly.yml',
        name: 'nightly',
        workflow_id: 71234999,
      }),
      [RUNS.failed]: runLike(RUNS.failed, { conclusion: 'failure' }),
      [RUNS.inProgress]: runLike(RUNS.inProgress, { status: 'in_progress', conclusion: null }),
      [RUNS.featureBranch]: runLike(RUNS.featureBranch, { head_branch: 'feature/cache', head_sha: FEATURE }),
      [RUNS.tagPush]: runLike(RUNS.tagPush, { head_branch: 'v2.0.1', head_sha: HOTFIX }),
      [RUNS.branchNamedLikeTag]: runLike(RUNS.branchNamedLikeTag, { head_branch: 'v9', head_sha: FEATURE }),
      [RUNS.qualifiedPath]: runLike(RUNS.qualifiedPath, {
        path: 'dreamscape/platform/.github/workflows/pipeline.yml@refs/heads/main',
      }),
      [RUNS.sameRepoPullRequest]: runLike(RUNS.sameRepoPullRequest, {
        event: 'pull_request',
        head_branch: 'feature/cache',
        head_sha: FEATURE,
      }),
      [RUNS.dispatch]: runLike(RUNS.dispatch, { event: 'workflow_dispatch' }),
    },
    files: {
      [MAIN[3]]: {
        'scripts/smoke-test.sh': 'file',
        'scripts/linked-smoke-test.sh': 'file',
        'scripts/escape.sh': 'symlink',
        scripts: 'dir',
        'vendor/tool': 'submodule',
      },
      [FEATURE]: { 'scripts/smoke-test.sh': 'file' },
    },
  };
}

/** A valid records artifact, as build-scan.yml uploads it: full action-build records. */
export function recordsArtifact(): Record<string, unknown> {
  const record = (service: string, hex: string): Record<string, unknown> => ({
    image: `ghcr.io/dreamscape/${service}@sha256:${hex.repeat(32)}`,
    digest: `sha256:${hex.repeat(32)}`,
    tags: [`ghcr.io/dreamscape/${service}:main`, `ghcr.io/dreamscape/${service}:sha-4f3c2b1`],
    platforms: ['linux/amd64'],
    labels: { 'org.opencontainers.image.revision': PUSH_SHA },
    builder: 'buildx',
    revision: PUSH_SHA,
  });
  return { gateway: record('gateway', 'ab'), payment: record('payment', 'cd') };
}

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The runner's environment as an action reads it: `GITHUB_*`, `RUNNER_TEMP`, `KUBECONFIG`, `PATH`. */
export type RunnerEnv = Readonly<Record<string, string | undefined>>;

/**
 * Who is running: the workflow run an action belongs to, read once from the runner's environment.
 * Outside a workflow (a local run, the demo) the fields are empty and {@link RunContext.runUrl} is ''.
 */
export interface RunContext {
  /** `owner/name`, or '' outside a workflow. */
  readonly repository: string;
  /** `GITHUB_RUN_ID`, or ''. */
  readonly runId: string;
  /** The commit the run is for (`GITHUB_SHA`), or ''. */
  readonly sha: string;
  /** `GITHUB_ACTOR`, or ''. */
  readonly actor: string;
  /**
   * The workflow the run belongs to: its file (`.github/workflows/deploy.yml`, from
   * `GITHUB_WORKFLOW_REF`, the caller's file when a reusable workflow runs), else its name
   * (`GITHUB_WORKFLOW`), or ''.
   */
  readonly workflow: string;
  /** `GITHUB_API_URL` when set (GitHub Enterprise), else undefined (github.com). */
  readonly apiUrl: string | undefined;
  /** The run's page, or '' when the run is not known. */
  readonly runUrl: string;
  /** Where this job may write temporary files: `RUNNER_TEMP`, else the system's temp directory. */
  readonly tempRoot: string;
  /**
   * The name a lock is held under: `<repository>#<run id>`, with `local` and the process id standing
   * in outside a workflow, so two local runs never take each other's lock for their own.
   */
  readonly holderId: string;
}

/** Reads the run context from the runner's environment. */
export function readRunContext(env: RunnerEnv): RunContext {
  const repository = env.GITHUB_REPOSITORY;
  const runId = env.GITHUB_RUN_ID;
  return {
    repository: repository ?? '',
    runId: runId ?? '',
    sha: env.GITHUB_SHA ?? '',
    actor: env.GITHUB_ACTOR ?? '',
    workflow: workflowFile(env.GITHUB_WORKFLOW_REF, repository) ?? env.GITHUB_WORKFLOW ?? '',
    apiUrl: env.GITHUB_API_URL,
    runUrl:
      runId === undefined || repository === undefined
        ? ''
        : `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${repository}/actions/runs/${runId}`,
    tempRoot: env.RUNNER_TEMP ?? tmpdir(),
    holderId: `${repository ?? 'local'}#${runId ?? String(process.pid)}`,
  };
}

/** `.github/workflows/x.yml` of `owner/repo/.github/workflows/x.yml@refs/heads/main`. */
function workflowFile(ref: string | undefined, repository: string | undefined): string | undefined {
  if (ref === undefined || ref === '') return undefined;
  const at = ref.lastIndexOf('@');
  const path = at < 0 ? ref : ref.slice(0, at);
  const prefix = repository === undefined ? undefined : `${repository}/`;
  if (prefix !== undefined && path.startsWith(prefix)) return path.slice(prefix.length);
  // Another repository's form: `owner/repo/` and the path after it.
  const parts = path.split('/');
  return parts.length > 2 ? parts.slice(2).join('/') : path;
}

/** A directory of the run's own, removed by {@link RunTempDir.remove}. */
export interface RunTempDir {
  readonly path: string;
  /** Removes it; never throws (a process still exiting must not turn a result into an error). */
  remove(): void;
}

/** Makes `<tempRoot>/<prefix>XXXXXX`, creating `tempRoot` when the runner has not yet. */
export function makeRunTempDir(context: Pick<RunContext, 'tempRoot'>, prefix: string): RunTempDir {
  mkdirSync(context.tempRoot, { recursive: true });
  const path = mkdtempSync(join(context.tempRoot, prefix));
  return {
    path,
    remove: () => {
      try {
        rmSync(path, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
      } catch {
        // The runner deletes RUNNER_TEMP after the job anyway.
      }
    },
  };
}

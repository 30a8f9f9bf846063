import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecretMasker } from '@dreamscape/core';
import { runActionBundle, type ActionRunResult } from '@dreamscape/testkit';

/** The four actions the demo runs, by folder. */
export type DemoAction = 'action-build' | 'action-scan' | 'action-deploy' | 'action-rollback';

/** One bundle run, as the runner would have reported it. */
export interface BundleRun {
  readonly action: DemoAction;
  readonly exitCode: number | null;
  readonly outputs: Readonly<Record<string, string>>;
  /** What the action appended to GITHUB_STEP_SUMMARY. */
  readonly summary: string;
  /** `::error::` messages. */
  readonly errors: readonly string[];
  /** The last lines of its log, secrets masked, for failure messages. */
  readonly logTail: string;
  /** Its whole log (stdout then stderr, secrets masked). */
  readonly logFile: string;
  readonly durationMs: number;
}

/** What every run shares: the workflow context and the tools' environment. */
export interface BundleRunnerOptions {
  readonly repoRoot: string;
  /** GITHUB_WORKSPACE. */
  readonly workspace: string;
  /** Environment every action gets (PATH with the pinned kubectl, buildah storage, KUBECONFIG). */
  readonly env: Readonly<Record<string, string>>;
  /** GITHUB_SHA. */
  readonly sha: string;
  readonly masker: SecretMasker;
  /** Where each run's log is kept, `NN-<action>-<label>.log`. */
  readonly logDir: string;
}

/**
 * Runs `node action-*\/dist/index.js` exactly as a runner does (INPUT_* variables, GITHUB_OUTPUT,
 * GITHUB_STEP_SUMMARY, GITHUB_STATE files), each run with its own GITHUB_RUN_ID, and removes the
 * runner directory afterwards.
 */
export class BundleRunner {
  private runs = 0;
  private stopping = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: BundleRunnerOptions) {}

  /**
   * Stops the actions that are running (SIGTERM, as a cancelled job) and starts no more; resolves
   * when they have ended, or after `timeoutMs`.
   */
  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  async run(
    action: DemoAction,
    label: string,
    inputs: Readonly<Record<string, string>>,
    env: Readonly<Record<string, string>> = {},
  ): Promise<BundleRun> {
    if (this.stopping) throw new Error(`The demo is stopping: ${action} was not started.`);
    this.runs++;
    const o = this.options;
    let result: ActionRunResult | undefined;
    try {
      const running = runActionBundle(join(o.repoRoot, action), {
        inputs,
        cwd: o.workspace,
        env: {
          GITHUB_WORKSPACE: o.workspace,
          GITHUB_REPOSITORY: 'dreamscape/platform',
          GITHUB_REPOSITORY_OWNER: 'dreamscape',
          GITHUB_SHA: o.sha,
          GITHUB_REF: 'refs/heads/main',
          GITHUB_REF_NAME: 'main',
          GITHUB_REF_TYPE: 'branch',
          GITHUB_EVENT_NAME: 'workflow_dispatch',
          GITHUB_SERVER_URL: 'https://github.com',
          GITHUB_API_URL: 'https://api.github.com',
          GITHUB_RUN_ID: String(1000 + this.runs),
          GITHUB_RUN_NUMBER: String(this.runs),
          GITHUB_RUN_ATTEMPT: '1',
          GITHUB_ACTOR: 'demo',
          GITHUB_WORKFLOW: 'demo',
          GITHUB_JOB: action,
          // No GitHub token anywhere: the actions must not try to reach GitHub.
          GITHUB_TOKEN: undefined,
          RUNNER_DEBUG: undefined,
          ...o.env,
          ...env,
        },
        timeoutMs: 15 * 60_000,
        killWhen: { signal: 'SIGTERM', when: () => this.stopping, intervalMs: 100 },
      });
      this.inFlight.add(running);
      result = await running.finally(() => this.inFlight.delete(running));
      const log = `${result.stdout}\n${result.stderr}`
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.startsWith('::add-mask::'));
      mkdirSync(o.logDir, { recursive: true });
      const logFile = join(
        o.logDir,
        `${String(this.runs).padStart(2, '0')}-${action}-${label.replace(/[^a-z0-9]+/gi, '-')}.log`,
      );
      writeFileSync(logFile, `${o.masker.redact(log.join('\n'))}\n`);
      return {
        action,
        exitCode: result.exitCode,
        outputs: result.outputs,
        summary: o.masker.redact(result.summary),
        errors: result.errors.map((e) => o.masker.redact(e)),
        logTail: o.masker.redact(log.slice(-25).join('\n')),
        logFile,
        durationMs: result.durationMs,
      };
    } finally {
      if (result !== undefined) rmSync(result.dir, { recursive: true, force: true });
    }
  }
}

import type { Permissions } from './token-permissions.js';

/** How a step or job ended, in GitHub's words. */
export type Conclusion = 'success' | 'failure' | 'cancelled' | 'skipped';

/** A condition (`if:`) as the runner read it (with the implicit `success() && (...)`) and what it gave. */
export interface ConditionRecord {
  readonly expression: string;
  readonly value: boolean;
  /** Set when the expression could not be evaluated: the job or step then fails. */
  readonly error?: string;
}

/** One call of a stand-in executable (curl, gh, docker, ...) by a `run:` step. */
export interface ToolCall {
  readonly tool: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  /** False when the test gave no stand-in for this network tool: the call failed with exit code 127. */
  readonly allowed: boolean;
}

/** An annotation or other workflow command the step printed (`::error::`, `::set-output`, ...). */
export interface WorkflowCommand {
  readonly command: string;
  readonly properties: Readonly<Record<string, string>>;
  readonly data: string;
}

/** A `uses:` step as the executor met it: what the action would have received. */
export interface ActionCall {
  /** The job, as `caller-job/called-job` for jobs of a reusable workflow. */
  readonly job: string;
  /** The matrix values of the job, if it has a matrix. */
  readonly matrix?: Readonly<Record<string, unknown>>;
  readonly step: string;
  /** The `uses:` text as written. */
  readonly uses: string;
  /** `owner/repo[/path]` without the ref; `$/x` resolved to the repository of the workflow file. */
  readonly action: string;
  readonly ref: string;
  /** The workflow file holding the step. */
  readonly workflow: string;
  /** `with:` evaluated, as the action's inputs would read them (text). */
  readonly with: Readonly<Record<string, string>>;
  /** The environment the action's process would get (runner variables, workflow/job/step env). */
  readonly env: Readonly<Record<string, string>>;
  /** The secrets the job could read (name → value), GITHUB_TOKEN included. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly workspace: string;
  readonly runnerTemp: string;
}

/** What a stand-in action reports back in place of the real action. */
export interface ActionResult {
  readonly outputs?: Readonly<Record<string, string>>;
  /** Default success. */
  readonly outcome?: 'success' | 'failure';
  /** The action's error (shown as its `::error::`). */
  readonly error?: string;
  /** Variables exported to later steps (`core.exportVariable`). */
  readonly env?: Readonly<Record<string, string>>;
  /** Text appended to the job summary. */
  readonly summary?: string;
}

/** One step of a job. */
export interface StepRecord {
  readonly index: number;
  /** The step's id, or the one the runner generates (`__run`, `__actions_checkout`, ...). */
  readonly id: string;
  readonly name: string;
  readonly kind: 'run' | 'action';
  readonly if: ConditionRecord;
  readonly outcome: Conclusion;
  readonly conclusion: Conclusion;
  readonly outputs: Readonly<Record<string, string>>;
  /** The step's own `env:` evaluated. */
  readonly env: Readonly<Record<string, string>>;
  /** Why the step failed without its command failing (an expression, a file command, a stand-in). */
  readonly error?: string;
  /** For a `run:` step that ran. */
  readonly run?: RunRecord;
  /** For a `uses:` step that ran. */
  readonly action?: ActionCall;
  readonly summary: string;
  readonly commands: readonly WorkflowCommand[];
  readonly toolCalls: readonly ToolCall[];
}

/** A `run:` step that was executed. */
export interface RunRecord {
  readonly script: string;
  /** The command line, e.g. `bash -e {0}`. */
  readonly shell: string;
  readonly workingDirectory: string;
  /** The whole environment the shell got. */
  readonly environment: Readonly<Record<string, string>>;
  readonly exitCode: number;
  /** Output with secrets masked (`***`), as the log would show it. */
  readonly stdout: string;
  readonly stderr: string;
}

/** A job of the run: one matrix leg, or a call of a reusable workflow with its jobs. */
export interface JobRecord {
  /** The job's key in its workflow. */
  readonly id: string;
  /** `caller-job/called-job/...`: unique in the run but for matrix legs. */
  readonly path: string;
  readonly workflow: string;
  readonly name: string;
  readonly kind: 'steps' | 'call';
  readonly matrix?: Readonly<Record<string, unknown>>;
  readonly if: ConditionRecord;
  readonly result: Conclusion;
  /** Why the job failed before or outside its steps. */
  readonly error?: string;
  readonly needs: readonly string[];
  readonly outputs: Readonly<Record<string, string>>;
  /** Outputs GitHub drops because they hold a secret. */
  readonly droppedOutputs: readonly string[];
  /** The token's permissions (metadata read is implied); for a call, what it grants the called jobs. */
  readonly permissions: Permissions;
  /** The job's GITHUB_TOKEN value (a stand-in, unique per job). */
  readonly token: string;
  /** Secrets the job may read, GITHUB_TOKEN included; for a call, those it passes on. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly environment?: { readonly name: string; readonly url: string };
  /** Recorded, never simulated. */
  readonly runsOn?: unknown;
  readonly timeoutMinutes?: unknown;
  readonly concurrency?: unknown;
  readonly services?: unknown;
  readonly container?: unknown;
  readonly steps: readonly StepRecord[];
  /** A call's called workflow. */
  readonly uses?: string;
  readonly calledWorkflow?: string;
  readonly inputs?: Readonly<Record<string, unknown>>;
  readonly jobs?: readonly JobRecord[];
  readonly summary: string;
}

/** A whole run of a workflow for one event. */
export interface WorkflowRunRecord {
  readonly workflow: string;
  readonly event: string;
  /**
   * `ran`; `not-triggered` (the workflow has no such trigger, or its filters leave the event out);
   * `refused` (GitHub refuses the dispatch: an unknown or missing input, a value outside a choice);
   * `startup-failure` (the workflow is invalid as called: a called workflow asks for more
   * permissions than granted, an input or secret it does not declare, ...). `reason` says why.
   */
  readonly status: 'ran' | 'not-triggered' | 'refused' | 'startup-failure';
  readonly reason?: string;
  readonly conclusion: Conclusion | 'none';
  /** The workflow's `concurrency`, evaluated (recorded, not simulated). */
  readonly concurrency?: unknown;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly jobs: readonly JobRecord[];
}

/** Every job of a run, depth first, calls before the jobs they called. */
export function allJobs(run: { readonly jobs: readonly JobRecord[] }): JobRecord[] {
  const out: JobRecord[] = [];
  const walk = (jobs: readonly JobRecord[]): void => {
    for (const job of jobs) {
      out.push(job);
      walk(job.jobs ?? []);
    }
  };
  walk(run.jobs);
  return out;
}

/** Every step of a run's jobs, with its job. */
export function allSteps(run: {
  readonly jobs: readonly JobRecord[];
}): { job: JobRecord; step: StepRecord }[] {
  return allJobs(run).flatMap((job) => job.steps.map((step) => ({ job, step })));
}

/** Every action call of a run, in order. */
export function actionCalls(run: { readonly jobs: readonly JobRecord[] }): ActionCall[] {
  return allSteps(run).flatMap(({ step }) => (step.action === undefined ? [] : [step.action]));
}

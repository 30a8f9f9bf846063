/**
 * The one place in the packages that talks to `@actions/core`: a {@link Logger}, an
 * {@link InputSource}, outputs and the job summary for an action's `main.ts`, and {@link runAction}
 * which turns errors into a failed step.
 */
import * as core from '@actions/core';
import { ActionError, messageOf } from './errors.js';
import type { Logger } from './logger.js';
import { SecretMasker } from './secret-masker.js';
import type { InputSource } from './inputs.js';
import { readRunContext, type RunContext, type RunnerEnv } from './run-context.js';

/** A {@link Logger} that writes workflow commands through `@actions/core`. */
export class ActionsLogger implements Logger {
  readonly masker: SecretMasker;

  constructor(masker: SecretMasker = new SecretMasker()) {
    this.masker = masker;
  }
  debug(message: string): void {
    core.debug(this.masker.redact(message));
  }
  info(message: string): void {
    core.info(this.masker.redact(message));
  }
  notice(message: string): void {
    core.notice(this.masker.redact(message));
  }
  warning(message: string): void {
    core.warning(this.masker.redact(message));
  }
  error(message: string): void {
    core.error(this.masker.redact(message));
  }
  group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    return core.group(this.masker.redact(title), fn);
  }
  setSecret(secret: string): void {
    // The runner masks what it prints; our masker also covers files we write (outputs, summary).
    for (const line of secret.split(/\r?\n/)) if (line.trim() !== '') core.setSecret(line.trim());
    this.masker.add(secret);
  }
}

/** What an action's `main.ts` gets from {@link runAction}. */
export interface ActionRuntime {
  readonly logger: ActionsLogger;
  readonly inputs: InputSource;
  /** The runner's environment, read once when the action starts: mains read the runner from here. */
  readonly env: RunnerEnv;
  /** The workflow run this action belongs to, from {@link ActionRuntime.env}. */
  readonly run: RunContext;
  /** Sets a step output, with registered secrets redacted. */
  setOutput(name: string, value: string): void;
  /** Appends Markdown to the job summary, with registered secrets redacted. */
  appendSummary(markdown: string): Promise<void>;
  /** Saves a value for the post step (`GITHUB_STATE`). */
  saveState(name: string, value: string): void;
  getState(name: string): string;
}

/** Builds the runtime around `@actions/core`. */
export function createActionRuntime(): ActionRuntime {
  const logger = new ActionsLogger();
  const env: RunnerEnv = { ...process.env };
  return {
    logger,
    inputs: (name) => core.getInput(name),
    env,
    run: readRunContext(env),
    setOutput: (name, value) => {
      core.setOutput(name, logger.masker.redact(value));
    },
    appendSummary: async (markdown) => {
      if (process.env.GITHUB_STEP_SUMMARY === undefined || process.env.GITHUB_STEP_SUMMARY === '') {
        logger.debug('GITHUB_STEP_SUMMARY is not set; the job summary is not written');
        return;
      }
      await core.summary.addRaw(logger.masker.redact(markdown), true).write();
      core.summary.emptyBuffer();
    },
    saveState: (name, value) => {
      core.saveState(name, value);
    },
    getState: (name) => core.getState(name),
  };
}

/**
 * Runs an action's body. An {@link ActionError} becomes `setFailed(message)` (and its hint); anything
 * else is a bug: its message fails the step and its stack goes to the debug log.
 */
export async function runAction(body: (runtime: ActionRuntime) => Promise<void>): Promise<void> {
  const runtime = createActionRuntime();
  try {
    await body(runtime);
  } catch (error) {
    const masker = runtime.logger.masker;
    if (!(error instanceof ActionError) && error instanceof Error && error.stack !== undefined) {
      core.debug(masker.redact(error.stack));
    }
    core.setFailed(masker.redact(messageOf(error)));
  }
}

/**
 * Every run ends with a `result` output, so a workflow can branch on it: `failed` when an error
 * stops the run before the body reports one (bad input, preflight, an API failure outside the engine).
 */
export function withResultOnFailure(
  body: (runtime: ActionRuntime) => Promise<void>,
): (runtime: ActionRuntime) => Promise<void> {
  return async (rt) => {
    const seen = { result: false };
    try {
      await body({
        ...rt,
        setOutput: (name, value) => {
          if (name === 'result') seen.result = true;
          rt.setOutput(name, value);
        },
      });
    } catch (error) {
      if (!seen.result) rt.setOutput('result', 'failed');
      throw error;
    }
  };
}

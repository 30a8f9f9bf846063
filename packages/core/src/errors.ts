/**
 * The error family every package throws. An {@link ActionError} is expected and user-facing: its
 * message is printed as the action's failure, its hint on the next line. Anything that is not an
 * ActionError is a bug and is reported with its stack at debug level.
 */
export interface ActionErrorOptions {
  /** What the user can do about it, printed after the message. */
  readonly hint?: string | undefined;
  readonly cause?: unknown;
}

/** An expected failure, shown to the user as `message` (and `hint`). */
export class ActionError extends Error {
  readonly hint: string | undefined;

  constructor(message: string, options: ActionErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ActionError';
    this.hint = options.hint;
  }

  /** The message followed by the hint, as a user should read it. */
  describe(): string {
    return this.hint === undefined ? this.message : `${this.message}\nHint: ${this.hint}`;
  }
}

/** An input that is missing or malformed. The message names the input, the value and what is accepted. */
export class InputError extends ActionError {
  readonly input: string;
  readonly value: string;
  readonly accepted: string;

  constructor(
    input: string,
    value: string,
    accepted: string,
    options: ActionErrorOptions & { reason?: string } = {},
  ) {
    const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value;
    const why = options.reason === undefined ? '' : `: ${options.reason}`;
    super(
      value === ''
        ? `Input '${input}' is required${why}. Accepted: ${accepted}.`
        : `Input '${input}' has an invalid value ${JSON.stringify(shown)}${why}. Accepted: ${accepted}.`,
      options,
    );
    this.name = 'InputError';
    this.input = input;
    this.value = value;
    this.accepted = accepted;
  }
}

/** Data carried by a failed program run; args are already redacted. */
export interface CommandFailure {
  readonly tool: string;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderrTail: string;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly spawnError?: string | undefined;
}

/** A program exited non-zero, timed out, was cancelled or could not start. */
export class CommandError extends ActionError implements CommandFailure {
  readonly tool: string;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderrTail: string;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly spawnError: string | undefined;

  constructor(failure: CommandFailure, options: ActionErrorOptions = {}) {
    super(CommandError.format(failure), options);
    this.name = 'CommandError';
    this.tool = failure.tool;
    this.args = failure.args;
    this.exitCode = failure.exitCode;
    this.signal = failure.signal;
    this.stdout = failure.stdout;
    this.stderrTail = failure.stderrTail;
    this.timedOut = failure.timedOut;
    this.cancelled = failure.cancelled;
    this.spawnError = failure.spawnError;
  }

  private static format(f: CommandFailure): string {
    const line = [f.tool, ...f.args].join(' ');
    let what: string;
    if (f.spawnError !== undefined) what = `could not start: ${f.spawnError}`;
    else if (f.timedOut) what = 'timed out';
    else if (f.cancelled) what = 'was cancelled';
    else if (f.exitCode !== null) what = `exited with code ${f.exitCode}`;
    else what = `was killed by ${f.signal ?? 'a signal'}`;
    const tail = f.stderrTail.trim();
    return `\`${line}\` ${what}${tail === '' ? '' : `:\n${tail}`}`;
  }
}

/** Whether a thrown value is one of ours and expected. */
export function isActionError(error: unknown): error is ActionError {
  return error instanceof ActionError;
}

/** A printable message for any thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof ActionError) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
}

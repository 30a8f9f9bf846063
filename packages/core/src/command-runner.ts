import { spawn } from 'node:child_process';
import { CommandError } from './errors.js';
import type { Logger } from './logger.js';
import { withRetry, type RetryPolicy } from './retry.js';
import type { Clock } from './clock.js';

/** One program run. Always an argv array: nothing here ever goes through a shell. */
export interface CommandSpec {
  /** The executable, found on PATH unless it is a path. */
  readonly tool: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  /** Added to (or, with `inheritEnv: false`, instead of) the current environment; `undefined` removes a key. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default true. */
  readonly inheritEnv?: boolean;
  /** Written to the program's stdin, which is then closed. Stdin is empty otherwise. */
  readonly stdin?: string | Uint8Array;
  /** Kill the program (SIGTERM, then SIGKILL after 2 s) when it runs longer. */
  readonly timeoutMs?: number;
  /** Kill the program when this aborts. */
  readonly signal?: AbortSignal;
  /** Bytes of stdout kept (the head); more sets `stdoutTruncated`. Default 64 MiB. */
  readonly maxStdoutBytes?: number;
  /** Bytes of stderr kept (the tail). Default 64 KiB. */
  readonly maxStderrBytes?: number;
  /** Exit codes that count as success. Default `[0]`. */
  readonly okExitCodes?: readonly number[];
  /**
   * Retry with backoff. Only set this for idempotent calls. `retryable` decides per failure; by
   * default every non-zero exit is retried, never a failure to start, a timeout or a cancellation.
   */
  readonly retry?: RetryPolicy & { readonly retryable?: (error: CommandError) => boolean };
  /** Extra values to redact from the logged command line and from errors. */
  readonly secrets?: readonly string[];
  /** Called with each complete (redacted) line as it arrives, for progress output. */
  readonly onStdoutLine?: (line: string) => void;
  readonly onStderrLine?: (line: string) => void;
}

/** What a finished program produced. */
export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutTruncated: boolean;
  readonly durationMs: number;
  readonly attempts: number;
}

/** Runs programs. Domain code receives one of these instead of spawning processes itself. */
export interface CommandRunner {
  run(spec: CommandSpec): Promise<CommandResult>;
}

/** Options for {@link ProcessCommandRunner}. */
export interface ProcessCommandRunnerOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Environment every command starts from. Default `process.env`. */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
}

const KILL_GRACE_MS = 2000;

/** The real {@link CommandRunner}: `child_process.spawn` without a shell. */
export class ProcessCommandRunner implements CommandRunner {
  private readonly logger: Logger;
  private readonly clock: Clock | undefined;
  private readonly baseEnv: Readonly<Record<string, string | undefined>>;

  constructor(options: ProcessCommandRunnerOptions) {
    this.logger = options.logger;
    this.clock = options.clock;
    this.baseEnv = options.baseEnv ?? process.env;
  }

  async run(spec: CommandSpec): Promise<CommandResult> {
    for (const s of spec.secrets ?? []) this.logger.masker.add(s);
    const policy = spec.retry ?? { attempts: 1 };
    const retryable =
      spec.retry?.retryable ??
      ((e: CommandError) => e.spawnError === undefined && !e.timedOut && !e.cancelled);
    return withRetry<CommandResult, CommandError>((attempt) => this.once(spec, attempt), {
      policy,
      retryable: (e) => e instanceof CommandError && !e.cancelled && retryable(e),
      onRetry: (e, attempt, delay) => {
        this.logger.warning(
          `${spec.tool} failed (attempt ${attempt} of ${policy.attempts}); retrying in ${Math.round(delay)}ms: ${firstLine(e.stderrTail) || e.message}`,
        );
      },
      ...(this.clock === undefined ? {} : { clock: this.clock }),
      ...(spec.signal === undefined ? {} : { signal: spec.signal }),
    });
  }

  private once(spec: CommandSpec, attempt: number): Promise<CommandResult> {
    const masker = this.logger.masker;
    const shownArgs = spec.args.map((a) => masker.redact(a));
    this.logger.debug(`$ ${[spec.tool, ...shownArgs].map(quoteForLog).join(' ')}`);
    const env = buildEnv(spec.inheritEnv === false ? {} : this.baseEnv, spec.env ?? {});
    const maxOut = spec.maxStdoutBytes ?? 64 * 1024 * 1024;
    const maxErr = spec.maxStderrBytes ?? 64 * 1024;
    const started = Date.now();

    return new Promise<CommandResult>((resolve, reject) => {
      const failure = (fields: {
        exitCode: number | null;
        signal: string | null;
        timedOut?: boolean;
        cancelled?: boolean;
        spawnError?: string;
        stdout: string;
        stderr: string;
      }): CommandError =>
        new CommandError({
          tool: spec.tool,
          args: shownArgs,
          exitCode: fields.exitCode,
          signal: fields.signal,
          stdout: masker.redact(fields.stdout),
          stderrTail: masker.redact(tail(fields.stderr, 4000)),
          timedOut: fields.timedOut ?? false,
          cancelled: fields.cancelled ?? false,
          spawnError: fields.spawnError,
        });

      if (spec.signal?.aborted === true) {
        reject(failure({ exitCode: null, signal: null, cancelled: true, stdout: '', stderr: '' }));
        return;
      }

      const child = spawn(spec.tool, [...spec.args], {
        cwd: spec.cwd,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
      });

      const out: Buffer[] = [];
      let outBytes = 0;
      let stdoutTruncated = false;
      let err = Buffer.alloc(0);
      let timedOut = false;
      let cancelled = false;
      let settled = false;
      let killTimer: NodeJS.Timeout | undefined;
      const outLines = lineSplitter(spec.onStdoutLine, masker.redact.bind(masker));
      const errLines = lineSplitter(spec.onStderrLine, masker.redact.bind(masker));

      const kill = (): void => {
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
        killTimer.unref();
      };
      const timer =
        spec.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              kill();
            }, spec.timeoutMs);
      const onAbort = (): void => {
        cancelled = true;
        kill();
      };
      spec.signal?.addEventListener('abort', onAbort, { once: true });

      child.stdout.on('data', (chunk: Buffer) => {
        outLines.push(chunk);
        if (outBytes >= maxOut) {
          stdoutTruncated = true;
          return;
        }
        const room = maxOut - outBytes;
        if (chunk.length > room) stdoutTruncated = true;
        const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
        out.push(kept);
        outBytes += kept.length;
      });
      child.stderr.on('data', (chunk: Buffer) => {
        errLines.push(chunk);
        err = Buffer.concat([err, chunk]);
        if (err.length > maxErr) err = err.subarray(err.length - maxErr);
      });
      // A program that exits without reading its stdin makes the write fail with EPIPE: not our error.
      child.stdin.on('error', () => undefined);
      if (spec.stdin !== undefined) child.stdin.end(spec.stdin);
      else child.stdin.end();

      const finish = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        if (killTimer !== undefined) clearTimeout(killTimer);
        spec.signal?.removeEventListener('abort', onAbort);
        outLines.flush();
        errLines.flush();
      };

      child.on('error', (e: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        finish();
        const reason = e.code === 'ENOENT' ? `${spec.tool} was not found on PATH` : e.message;
        reject(failure({ exitCode: null, signal: null, spawnError: reason, stdout: '', stderr: '' }));
      });
      child.on('close', (code, signal) => {
        if (settled) return;
        settled = true;
        finish();
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = err.toString('utf8');
        const ok = spec.okExitCodes ?? [0];
        if (!timedOut && !cancelled && code !== null && ok.includes(code)) {
          resolve({
            exitCode: code,
            stdout,
            stderr,
            stdoutTruncated,
            durationMs: Date.now() - started,
            attempts: attempt,
          });
          return;
        }
        reject(failure({ exitCode: code, signal, timedOut, cancelled, stdout, stderr }));
      });
    });
  }
}

function buildEnv(
  base: Readonly<Record<string, string | undefined>>,
  extra: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) Reflect.deleteProperty(env, k);
    else env[k] = v;
  }
  return env;
}

function lineSplitter(
  sink: ((line: string) => void) | undefined,
  redact: (text: string) => string,
): { push(chunk: Buffer): void; flush(): void } {
  let pending = '';
  return {
    push(chunk) {
      if (sink === undefined) return;
      pending += chunk.toString('utf8');
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) sink(redact(line));
    },
    flush() {
      if (sink !== undefined && pending !== '') sink(redact(pending));
      pending = '';
    },
  };
}

function tail(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max)}`;
}

function firstLine(text: string): string {
  return (
    text
      .trim()
      .split(/\r?\n/)
      .find((l) => l.trim() !== '') ?? ''
  );
}

/** Quotes an argument for a readable (not executable) log line. */
export function quoteForLog(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

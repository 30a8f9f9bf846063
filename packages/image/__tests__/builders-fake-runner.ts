import { CommandError, type CommandResult, type CommandRunner, type CommandSpec } from '@dreamscape/core';

/** What a scripted command answers. */
export interface FakeAnswer {
  readonly stdout?: string;
  readonly stderr?: string;
  readonly exitCode?: number;
  /** Makes the program "not found", as spawning a missing executable does. */
  readonly spawnError?: string;
}

/**
 * A CommandRunner for the boundary that cannot run here (a Docker daemon): it records every spec
 * and answers with what `answer` returns, raising a CommandError on failure exactly as the real
 * runner does (including retries when the spec asks for them).
 */
export class FakeRunner implements CommandRunner {
  readonly calls: CommandSpec[] = [];
  private readonly answer: (spec: CommandSpec) => FakeAnswer | Promise<FakeAnswer>;

  constructor(answer: (spec: CommandSpec) => FakeAnswer | Promise<FakeAnswer> = () => ({})) {
    this.answer = answer;
  }

  /** Each recorded command line as `tool arg arg ...`. */
  lines(): string[] {
    return this.calls.map((c) => [c.tool, ...c.args].join(' '));
  }

  async run(spec: CommandSpec): Promise<CommandResult> {
    const attempts = spec.retry?.attempts ?? 1;
    for (let attempt = 1; ; attempt++) {
      this.calls.push(spec);
      const a = await this.answer(spec);
      const exitCode = a.exitCode ?? 0;
      const ok = (spec.okExitCodes ?? [0]).includes(exitCode) && a.spawnError === undefined;
      for (const line of (a.stdout ?? '').split('\n').filter((l) => l !== '')) spec.onStdoutLine?.(line);
      for (const line of (a.stderr ?? '').split('\n').filter((l) => l !== '')) spec.onStderrLine?.(line);
      if (ok)
        return {
          exitCode,
          stdout: a.stdout ?? '',
          stderr: a.stderr ?? '',
          stdoutTruncated: false,
          durationMs: 1,
          attempts: attempt,
        };
      const error = new CommandError({
        tool: spec.tool,
        args: spec.args,
        exitCode: a.spawnError === undefined ? exitCode : null,
        signal: null,
        stdout: a.stdout ?? '',
        stderrTail: a.stderr ?? '',
        timedOut: false,
        cancelled: false,
        spawnError: a.spawnError,
      });
      const retryable = spec.retry?.retryable ?? ((e: CommandError) => e.spawnError === undefined);
      if (attempt >= attempts || !retryable(error)) throw error;
    }
  }
}

import { CommandError, type CommandResult, type CommandRunner, type CommandSpec } from '@dreamscape/core';

/** What the fake answers for one run: output, or a failure with kubectl's stderr and exit code. */
export interface FakeAnswer {
  readonly stdout?: string;
  readonly stderr?: string;
  readonly exitCode?: number;
}

/** A runner that records every spec and answers from a script (FIFO), without starting anything. */
export class FakeRunner implements CommandRunner {
  readonly specs: CommandSpec[] = [];
  private readonly answers: FakeAnswer[];

  constructor(answers: FakeAnswer[] = []) {
    this.answers = [...answers];
  }

  answer(...more: FakeAnswer[]): this {
    this.answers.push(...more);
    return this;
  }

  run(spec: CommandSpec): Promise<CommandResult> {
    this.specs.push(spec);
    const a = this.answers.shift() ?? {};
    const exitCode = a.exitCode ?? 0;
    const ok = spec.okExitCodes ?? [0];
    if (!ok.includes(exitCode)) {
      return Promise.reject(
        new CommandError({
          tool: spec.tool,
          args: spec.args,
          exitCode,
          signal: null,
          stdout: a.stdout ?? '',
          stderrTail: a.stderr ?? '',
          timedOut: false,
          cancelled: false,
        }),
      );
    }
    return Promise.resolve({
      exitCode,
      stdout: a.stdout ?? '',
      stderr: a.stderr ?? '',
      stdoutTruncated: false,
      durationMs: 1,
      attempts: 1,
    });
  }

  /** The argv of run `i` without the global flags every call carries. */
  argv(i = this.specs.length - 1): string[] {
    const spec = this.specs[i];
    if (spec === undefined) throw new Error(`no run ${i}`);
    return spec.args.filter((a) => !/^--(kubeconfig|cache-dir|context)=/.test(a));
  }
}

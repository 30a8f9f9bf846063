import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A `run:` script to execute as the runner does. */
export interface ScriptRequest {
  readonly script: string;
  /** The step's `shell:` (or `defaults.run.shell`); undefined for none. */
  readonly shell: string | undefined;
  readonly workingDirectory: string;
  readonly env: Readonly<Record<string, string>>;
  /** RUNNER_TEMP: the script file is written there. */
  readonly tempDir: string;
  /** A safety net for a script that never ends (GitHub's timeout-minutes is not simulated). */
  readonly timeoutMs: number;
}

export interface ScriptResult {
  /** The command line as the log shows it, `{0}` for the script file. */
  readonly shell: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The runner's command line for a shell (Linux): with no `shell:`, `bash -e {0}` (GitHub's
 * documented default; no pipefail); `bash` is `bash --noprofile --norc -eo pipefail {0}`; `sh` is
 * `sh -e {0}`; anything else must be a command line holding `{0}`.
 */
export function shellCommandLine(shell: string | undefined): string {
  if (shell === undefined || shell === '') return 'bash -e {0}';
  if (shell === 'bash') return 'bash --noprofile --norc -eo pipefail {0}';
  if (shell === 'sh') return 'sh -e {0}';
  if (shell === 'python') return 'python {0}';
  if (!shell.includes('{0}'))
    throw new Error(
      `Invalid shell option '${shell}': a built-in (bash, sh, python) or a command line with {0}`,
    );
  return shell;
}

/** Writes the script to a file of RUNNER_TEMP and runs it with the step's shell, argv only. */
export function runScript(r: ScriptRequest): ScriptResult {
  const line = shellCommandLine(r.shell);
  const file = join(r.tempDir, `${randomUUID()}.sh`);
  writeFileSync(file, r.script);
  const [program = 'bash', ...args] = line
    .split(/\s+/)
    .filter((a) => a !== '')
    .map((a) => a.replace('{0}', file));
  const child = spawnSync(program, args, {
    cwd: r.workingDirectory,
    env: r.env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: r.timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.error !== undefined) throw new Error(`${program} could not run: ${child.error.message}`);
  const exitCode = child.status ?? (child.signal === null ? 1 : 128);
  return {
    shell: line,
    exitCode,
    stdout: child.stdout,
    stderr: child.signal === null ? child.stderr : `${child.stderr}\n(ended by ${child.signal})`,
  };
}

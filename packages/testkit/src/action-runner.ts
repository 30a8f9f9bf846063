import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How to run an action's bundle. */
export interface ActionRunOptions {
  /** `with:` values, by input name as action.yml spells it. */
  readonly inputs?: Readonly<Record<string, string>>;
  /** Extra environment (GITHUB_* context, PATH, ...). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The event payload written to GITHUB_EVENT_PATH (and GITHUB_EVENT_NAME). */
  readonly event?: { readonly name: string; readonly payload: unknown };
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /** Kill the action with this signal after `afterMs`. */
  readonly kill?: { readonly signal: NodeJS.Signals; readonly afterMs: number };
  /** Kill the action with this signal as soon as `when()` returns true (polled every `intervalMs`, default 10). */
  readonly killWhen?: {
    readonly signal: NodeJS.Signals;
    readonly when: () => boolean;
    readonly intervalMs?: number;
  };
}

/** What the runner would have seen. */
export interface ActionRunResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputs: Readonly<Record<string, string>>;
  readonly state: Readonly<Record<string, string>>;
  readonly summary: string;
  /** The directory holding GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_STATE and RUNNER_TEMP. */
  readonly dir: string;
  /** `::error::` lines (the step's failure messages). */
  readonly errors: readonly string[];
  readonly durationMs: number;
}

/**
 * Runs `node <actionDir>/dist/index.js` exactly as the runner does: `INPUT_*` variables (name
 * upper-cased, spaces to `_`, dashes kept), and files behind GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
 * GITHUB_STATE, GITHUB_ENV, GITHUB_PATH, GITHUB_EVENT_PATH; then reads back what it wrote.
 */
export async function runActionBundle(
  actionDir: string,
  options: ActionRunOptions = {},
): Promise<ActionRunResult> {
  const entry = join(actionDir, 'dist', 'index.js');
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run \`npm run bundle\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'ds-action-'));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  mkdirSync(join(dir, 'runner-temp'));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('INPUT_')) env[k] = v;
  Object.assign(env, files, {
    RUNNER_TEMP: join(dir, 'runner-temp'),
    GITHUB_ACTIONS: 'true',
    CI: 'true',
  });
  if (options.event !== undefined) {
    const eventPath = join(dir, 'event.json');
    writeFileSync(eventPath, JSON.stringify(options.event.payload, null, 2));
    env.GITHUB_EVENT_PATH = eventPath;
    env.GITHUB_EVENT_NAME = options.event.name;
  }
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) Reflect.deleteProperty(env, k);
    else env[k] = v;
  }
  for (const [name, value] of Object.entries(options.inputs ?? {}))
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;

  const started = Date.now();
  // Its own process group, as a runner's step is: what the action starts (kubectl proxy) goes with it.
  const child = spawn(process.execPath, [entry], {
    cwd: options.cwd ?? actionDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  };
  // SIGKILL takes the whole tree, as a runner's cancellation does; other signals go to the action
  // alone, which must then stop what it started itself.
  const kill = (signal: NodeJS.Signals | undefined): void => {
    if (signal === 'SIGKILL') signalGroup('SIGKILL');
    else child.kill(signal);
  };
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => {
    kill('SIGKILL');
  }, options.timeoutMs ?? 120_000);
  const killTimer =
    options.kill === undefined
      ? undefined
      : setTimeout(() => {
          kill(options.kill?.signal);
        }, options.kill.afterMs);
  const killWhen = options.killWhen;
  const killPoll =
    killWhen === undefined
      ? undefined
      : setInterval(() => {
          if (killWhen.when()) kill(killWhen.signal);
        }, killWhen.intervalMs ?? 10);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.on('close', (code, sig) => {
      resolve([code, sig]);
    });
  });
  clearTimeout(timer);
  // Whatever the action left running (a kubectl proxy of a killed run) ends with it.
  signalGroup('SIGKILL');
  if (killTimer !== undefined) clearTimeout(killTimer);
  if (killPoll !== undefined) clearInterval(killPoll);
  return {
    exitCode,
    signal,
    stdout,
    stderr,
    outputs: parseCommandFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    state: parseCommandFile(readFileSync(files.GITHUB_STATE, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    dir,
    errors: stdout
      .split('\n')
      .filter((l) => l.startsWith('::error'))
      .map((l) => decodeCommandData(l.slice(l.indexOf('::', 2) + 2))),
    durationMs: Date.now() - started,
  };
}

/** Parses the `name<<DELIMITER` / `name=value` format of GITHUB_OUTPUT and GITHUB_STATE. */
export function parseCommandFile(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc !== null) {
      const [, name = '', delimiter = ''] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '');
      result[name] = value.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) result[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return result;
}

function decodeCommandData(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

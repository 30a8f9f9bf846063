import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  ActionError,
  CommandError,
  type CommandResult,
  type CommandRunner,
  type CommandSpec,
  type Logger,
  type RetryPolicy,
} from '@dreamscape/core';
import { isTransientReason, KubectlError, parseKubectlStderr } from './kubectl-error.js';
import type { KubeObject } from './kube-object.js';
import { formatJsonStream } from './manifests.js';
import { rawResponseFromFailure, type RawResponse } from './raw-response.js';
import { resourceForKind, resourceOf, type ObjectRef } from './resource-names.js';
import { parseRolloutHistory, type RolloutRevision } from './rollout-history.js';
import { JsonObjectStream } from './json-stream.js';
import { OFFLINE_RENDER_ENV } from './kustomize-confinement.js';
import { checkKubectlVersion, SUPPORTED_KUBECTL_RANGE } from './kubectl-version.js';
import {
  waitForRollouts,
  type RolloutOutcome,
  type RolloutTarget,
  type RolloutWatchRequest,
  type RunningWatch,
  type WaitForRolloutsOptions,
} from './rollout-wait.js';

/** How to reach the cluster and where kubectl may write. */
export interface KubectlOptions {
  readonly runner: CommandRunner;
  readonly logger: Logger;
  /** The kubectl executable. Default `kubectl` (found on PATH). */
  readonly kubectlPath?: string;
  /**
   * A kubeconfig file. Default: `KUBECONFIG` from the environment as kubectl reads it, else
   * `~/.kube/config` of the real home directory when it exists.
   */
  readonly kubeconfig?: string;
  /** A kubeconfig context other than the current one. */
  readonly context?: string;
  /** This instance's own discovery and HTTP cache (under the runner temp); kubectl's `HOME` goes below it too. */
  readonly cacheDir: string;
  /** Field manager `diffServerSide` compares as (the one ProxyApi applies with). Default `dreamscape`. */
  readonly fieldManager?: string;
  /** kubectl's `--request-timeout` for ordinary calls (`30s`); never applied to watches or the proxy. */
  readonly requestTimeout?: string;
  /** Extra environment for every kubectl run (for credential plugins, proxies). */
  readonly env?: Readonly<Record<string, string>>;
  /** Retries of idempotent calls on transient failures (unreachable, 503, 429, 500, timeouts). Default 3 attempts. */
  readonly retry?: RetryPolicy;
}

/** One permission to check with {@link Kubectl.canI}. */
export interface PermissionCheck {
  readonly verb: string;
  /** `deployments.apps`, `services`, `leases.coordination.k8s.io`… */
  readonly resource: string;
  readonly namespace?: string;
  readonly subresource?: string;
  readonly name?: string;
}

/** A running `kubectl proxy`. */
export interface KubectlProxy {
  /** `http://127.0.0.1:PORT`; API paths go below it (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH`). */
  readonly baseUrl: string;
  /** Stops the proxy process and waits for it to exit. */
  close(): Promise<void>;
}

/** Client and server versions. */
export interface KubeVersion {
  readonly client: string;
  /** Undefined when the server could not be asked. */
  readonly server?: string;
}

/** Internal options of one kubectl run. */
interface ExecOptions {
  readonly stdin?: string;
  readonly okExitCodes?: readonly number[];
  /** Safe to repeat: transient failures are retried. */
  readonly idempotent?: boolean;
  /** Apply `--request-timeout`. Default true. */
  readonly requestTimeout?: boolean;
  readonly signal?: AbortSignal;
  readonly onStdoutLine?: (line: string) => void;
  readonly maxStdoutBytes?: number;
  /** Added to kubectl's environment for this call. */
  readonly env?: Readonly<Record<string, string>>;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 3, initialDelayMs: 1000, maxDelayMs: 5000 };

/** How long `startProxy` waits for kubectl to say where it listens. */
const PROXY_START_TIMEOUT_MS = 30_000;

/**
 * The kubectl driver, for what kubectl does that a plain API call does not: the one
 * `kubectl proxy` of a run (every object read and write then goes through {@link ProxyApi}),
 * rollout watches, history and undo, server-side diff, kustomize rendering, access checks and
 * `get --raw`. Every call is one argv array with this instance's kubeconfig, context and cache
 * directory, and a private `HOME`, so nothing is read from or written to `~/.kube`. Failures are
 * {@link KubectlError}s carrying kubectl's own message and a reason to branch on.
 */
export class Kubectl {
  private readonly runner: CommandRunner;
  private readonly logger: Logger;
  private readonly tool: string;
  private readonly kubeconfig: string | undefined;
  private readonly context: string | undefined;
  private readonly cacheDir: string;
  private readonly homeDir: string;
  private readonly requestTimeout: string | undefined;
  private readonly env: Readonly<Record<string, string>>;
  private readonly retry: RetryPolicy;
  private homeReady = false;
  private callCount = 0;
  private versionCheck: Promise<string> | undefined;
  /** The field manager server-side diffs compare as. */
  readonly fieldManager: string;

  constructor(options: KubectlOptions) {
    this.runner = options.runner;
    this.logger = options.logger;
    this.tool = options.kubectlPath ?? 'kubectl';
    this.context = options.context;
    this.cacheDir = options.cacheDir;
    this.homeDir = join(options.cacheDir, 'home');
    this.fieldManager = options.fieldManager ?? 'dreamscape';
    this.requestTimeout = options.requestTimeout;
    this.env = { ...credentialConfigEnv(options.env ?? {}), ...options.env };
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.kubeconfig = options.kubeconfig ?? defaultKubeconfig(this.env);
  }

  /** How many kubectl processes this instance started (retries included): deploys budget them. */
  get calls(): number {
    return this.callCount;
  }

  /** Flags every command gets. */
  private globalArgs(requestTimeout: boolean): string[] {
    const args: string[] = [];
    if (this.kubeconfig !== undefined) args.push(`--kubeconfig=${this.kubeconfig}`);
    if (this.context !== undefined) args.push(`--context=${this.context}`);
    args.push(`--cache-dir=${this.cacheDir}`);
    if (requestTimeout && this.requestTimeout !== undefined)
      args.push(`--request-timeout=${this.requestTimeout}`);
    return args;
  }

  /** The full spec of one run; exposed through {@link exec} only. */
  private spec(args: readonly string[], options: ExecOptions): CommandSpec {
    const retry: CommandSpec['retry'] =
      options.idempotent === true && this.retry.attempts > 1
        ? {
            ...this.retry,
            retryable: (e: CommandError) => {
              if (e.spawnError !== undefined || e.cancelled || e.timedOut) return false;
              const again = isTransientReason(parseKubectlStderr(e.stderrTail).reason);
              if (again) this.callCount++;
              return again;
            },
          }
        : undefined;
    return {
      tool: this.tool,
      args: [...args, ...this.globalArgs(options.requestTimeout !== false)],
      env: { ...this.env, ...options.env, HOME: this.homeDir },
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
      ...(options.okExitCodes === undefined ? {} : { okExitCodes: options.okExitCodes }),
      ...(retry === undefined ? {} : { retry }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onStdoutLine === undefined ? {} : { onStdoutLine: options.onStdoutLine }),
      ...(options.maxStdoutBytes === undefined ? {} : { maxStdoutBytes: options.maxStdoutBytes }),
    };
  }

  private ensureHome(): void {
    if (this.homeReady) return;
    mkdirSync(this.homeDir, { recursive: true });
    this.homeReady = true;
  }

  /** Runs kubectl once (plus retries for idempotent calls); failures become {@link KubectlError}s. */
  private async exec(args: readonly string[], options: ExecOptions = {}): Promise<CommandResult> {
    this.ensureHome();
    this.callCount++;
    try {
      return await this.runner.run(this.spec(args, options));
    } catch (error) {
      throw this.wrap(error, args);
    }
  }

  private wrap(error: unknown, args: readonly string[]): unknown {
    if (!(error instanceof CommandError)) return error;
    return KubectlError.from(error, { command: this.describeCommand(args) });
  }

  /** `kubectl <args>` for messages: without the global flags, registered secrets redacted. */
  private describeCommand(args: readonly string[]): string {
    return ['kubectl', ...args].map((a) => this.logger.masker.redact(a)).join(' ');
  }

  /** The error for a run that exited with a code we accepted but that still means failure. */
  private failure(args: readonly string[], result: CommandResult): KubectlError {
    const failure = new CommandError({
      tool: this.tool,
      args: args.map((a) => this.logger.masker.redact(a)),
      exitCode: result.exitCode,
      signal: null,
      stdout: result.stdout,
      stderrTail: result.stderr.slice(-4000),
      timedOut: false,
      cancelled: false,
    });
    return KubectlError.from(failure, { command: this.describeCommand(args) });
  }

  private parseJson(args: readonly string[], text: string): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new ActionError(
        `kubectl ${args.join(' ')} printed output that is not JSON: ${text.slice(0, 200)}`,
        {
          cause: error,
        },
      );
    }
  }

  /**
   * Waits for all `targets` (Deployments, StatefulSets, DaemonSets) to roll out, in parallel, with
   * ONE long-running `kubectl get deployments --watch` (or `statefulsets`, `daemonsets`) per
   * namespace and kind, not one poll per second per workload. Each outcome is `complete`, `failed`
   * (ProgressDeadlineExceeded, deleted) or `timeout`.
   */
  waitForRollouts(
    targets: readonly RolloutTarget[],
    options: WaitForRolloutsOptions,
  ): Promise<RolloutOutcome[]> {
    return waitForRollouts(targets, options, {
      logger: this.logger,
      startWatch: (request, onEvent) => this.watchWorkloads(request, onEvent),
    });
  }

  /** `kubectl get deployments --watch --output-watch-events -o json` (or statefulsets, daemonsets) streaming parsed events. */
  private watchWorkloads(
    { kind, namespace, names }: RolloutWatchRequest,
    onEvent: (event: unknown) => void,
  ): RunningWatch {
    const controller = new AbortController();
    const stream = new JsonObjectStream();
    const args = ['get', resourceForKind(kind), `--namespace=${namespace}`];
    // One name: let the server filter. Several: watch the namespace and filter here (field selectors cannot OR).
    if (names.length === 1) args.push(`--field-selector=metadata.name=${names[0] ?? ''}`);
    args.push('--watch', '--output-watch-events', '-o', 'json');
    const ended = this.exec(args, {
      signal: controller.signal,
      requestTimeout: false,
      maxStdoutBytes: 0,
      onStdoutLine: (line) => {
        let events: unknown[];
        try {
          events = stream.push(`${line}\n`);
        } catch (error) {
          stream.reset();
          this.logger.debug(`Ignoring unparsable watch output: ${String(error)}`);
          return;
        }
        for (const event of events) onEvent(event);
      },
    }).then(
      () => undefined,
      (error: unknown) => {
        if (controller.signal.aborted) return undefined;
        if (error instanceof KubectlError) return error;
        throw error;
      },
    );
    return {
      ended,
      stop: () => {
        controller.abort();
      },
    };
  }

  /** `kubectl rollout undo`, to the previous revision or to `toRevision`. */
  async rolloutUndo(ref: ObjectRef, options: { toRevision?: number } = {}): Promise<void> {
    const args = ['rollout', 'undo', `${resourceOf(ref)}/${ref.name}`];
    if (ref.namespace !== undefined) args.push(`--namespace=${ref.namespace}`);
    if (options.toRevision !== undefined) args.push(`--to-revision=${options.toRevision}`);
    await this.exec(args);
  }

  /** The revisions `kubectl rollout history` lists, oldest first. */
  async rolloutHistory(ref: ObjectRef): Promise<RolloutRevision[]> {
    const args = ['rollout', 'history', `${resourceOf(ref)}/${ref.name}`];
    if (ref.namespace !== undefined) args.push(`--namespace=${ref.namespace}`);
    const result = await this.exec(args, { idempotent: true });
    return parseRolloutHistory(result.stdout);
  }

  /**
   * `kubectl get --raw PATH`, e.g. the API server's service proxy
   * `/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH`. HTTP failures are answers, not errors:
   * the status comes from kubectl's request log and the body from the error it kept (a service's
   * own 500 body, or the API server's 503 "no endpoints available"). Not retried: health gates
   * count failures themselves.
   */
  async getRaw(
    path: string,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<RawResponse> {
    const args = ['get', '--raw', path, '-v=6'];
    // A per-call deadline replaces the instance's --request-timeout (kubectl keeps the last flag).
    if (options.timeoutMs !== undefined)
      args.push(`--request-timeout=${Math.max(1, Math.round(options.timeoutMs))}ms`);
    try {
      const result = await this.exec(args, {
        requestTimeout: options.timeoutMs === undefined,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      return { ok: true, status: rawSuccessStatus(result.stderr), body: result.stdout };
    } catch (error) {
      if (error instanceof KubectlError && error.reason !== 'NotInstalled' && error.reason !== 'Cancelled') {
        return rawResponseFromFailure(error.stderrTail);
      }
      throw error;
    }
  }

  /**
   * Starts ONE `kubectl proxy` on a free loopback port for a whole run, so that many HTTP probes go
   * through the API server's service proxy with whatever authentication kubectl supports (tokens,
   * client certificates, exec plugins) without a kubectl process per probe.
   */
  startProxy(): Promise<KubectlProxy> {
    const controller = new AbortController();
    const args = ['proxy', '--port=0', '--address=127.0.0.1'];
    return new Promise<KubectlProxy>((resolve, reject) => {
      let listening = false;
      const run = this.exec(args, {
        signal: controller.signal,
        requestTimeout: false,
        maxStdoutBytes: 64 * 1024,
        onStdoutLine: (line) => {
          const m = /Starting to serve on (\S+):(\d+)/.exec(line);
          if (m === null || listening) return;
          listening = true;
          clearTimeout(startTimer);
          const host = m[1] === '[::]' || m[1] === '0.0.0.0' ? '127.0.0.1' : (m[1] ?? '127.0.0.1');
          resolve({
            baseUrl: `http://${host}:${m[2] ?? ''}`,
            close: async () => {
              controller.abort();
              await run.catch(() => undefined);
            },
          });
        },
      });
      const startTimer = setTimeout(() => {
        controller.abort();
        reject(
          new ActionError(`kubectl proxy did not start listening within ${PROXY_START_TIMEOUT_MS / 1000}s.`),
        );
      }, PROXY_START_TIMEOUT_MS);
      run.then(
        () => {
          clearTimeout(startTimer);
          if (!listening) reject(new ActionError('kubectl proxy exited before it started listening.'));
          else this.logger.warning('kubectl proxy exited.');
        },
        (error: unknown) => {
          clearTimeout(startTimer);
          if (!listening) reject(error instanceof Error ? error : new Error(String(error)));
          else if (!controller.signal.aborted) this.logger.warning(`kubectl proxy stopped: ${String(error)}`);
        },
      );
    });
  }

  /** `kubectl auth can-i`: true for yes, false for no (exit code 1 with `no` is an answer, not an error). */
  async canI(
    verb: string,
    resource: string,
    options: { namespace?: string; subresource?: string; name?: string } = {},
  ): Promise<boolean> {
    const args = [
      'auth',
      'can-i',
      verb,
      options.name === undefined ? resource : `${resource}/${options.name}`,
    ];
    if (options.namespace !== undefined) args.push(`--namespace=${options.namespace}`);
    if (options.subresource !== undefined) args.push(`--subresource=${options.subresource}`);
    const result = await this.exec(args, { okExitCodes: [0, 1], idempotent: true });
    const answer = result.stdout.trim().toLowerCase();
    if (result.exitCode === 0 && answer.startsWith('yes')) return true;
    if (answer.startsWith('no')) return false;
    throw this.failure(args, result);
  }

  /** Checks many permissions (four kubectl processes at a time); returns the denied ones, in input order. */
  async canIAll(checks: readonly PermissionCheck[]): Promise<PermissionCheck[]> {
    const allowed: boolean[] = new Array<boolean>(checks.length).fill(false);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < checks.length) {
        const index = next++;
        const c = checks[index];
        if (c === undefined) continue;
        allowed[index] = await this.canI(c.verb, c.resource, {
          ...(c.namespace === undefined ? {} : { namespace: c.namespace }),
          ...(c.subresource === undefined ? {} : { subresource: c.subresource }),
          ...(c.name === undefined ? {} : { name: c.name }),
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, checks.length) }, worker));
    return checks.filter((_, i) => allowed[i] !== true);
  }

  /**
   * `kubectl diff --server-side` with this field manager: what applying `objects` would change.
   * kubectl runs the external `diff` (diffutils on PATH, or `KUBECTL_EXTERNAL_DIFF`); exit code 1
   * means differences, more than 1 an error.
   */
  async diffServerSide(
    objects: readonly KubeObject[],
    options: { forceConflicts?: boolean; namespace?: string } = {},
  ): Promise<{ changed: boolean; diff: string }> {
    if (objects.length === 0) return { changed: false, diff: '' };
    const args = ['diff', '--server-side', `--field-manager=${this.fieldManager}`];
    if (options.forceConflicts === true) args.push('--force-conflicts');
    if (options.namespace !== undefined) args.push(`--namespace=${options.namespace}`);
    args.push('-f', '-');
    const result = await this.exec(args, {
      stdin: formatJsonStream(objects),
      okExitCodes: [0, 1],
      idempotent: true,
    });
    if (result.exitCode === 0) return { changed: false, diff: result.stdout };
    // Exit code 1 is "differences found" only when kubectl printed a diff and no error of its own.
    if (result.stdout.trim() !== '' || result.stderr.trim() === '')
      return { changed: true, diff: result.stdout };
    throw this.failure(args, result);
  }

  /**
   * Checks once per instance that this kubectl is a supported version ({@link checkKubectlVersion}),
   * with `kubectl version --client` (no cluster call), and logs the version. An older kubectl, or
   * one whose version cannot be read, is an ActionError; a newer one, a warning. Resolves to the
   * version reported (`v1.35.2`).
   */
  requireSupportedVersion(): Promise<string> {
    this.versionCheck ??= this.checkVersion();
    return this.versionCheck;
  }

  private async checkVersion(): Promise<string> {
    const result = await this.exec(['version', '--client', '-o', 'json'], { requestTimeout: false });
    let reported: string;
    try {
      const parsed = JSON.parse(result.stdout) as { clientVersion?: { gitVersion?: unknown } };
      const version = parsed.clientVersion?.gitVersion;
      reported = typeof version === 'string' ? version : '';
    } catch {
      reported = result.stdout;
    }
    const subject = this.tool === 'kubectl' ? 'the kubectl on PATH' : `the kubectl ${this.tool}`;
    const check = checkKubectlVersion(subject, reported);
    if (check.warning !== undefined) this.logger.warning(check.warning);
    else
      this.logger.info(
        `Using kubectl ${check.version} (${subject}); supported: kubectl ${SUPPORTED_KUBECTL_RANGE}.`,
      );
    return check.version;
  }

  /** `kubectl version`: the client's version, and the server's when it answers. */
  async version(): Promise<KubeVersion> {
    const args = ['version', '-o', 'json'];
    const result = await this.exec(args, { okExitCodes: [0, 1] });
    let parsed: { clientVersion?: { gitVersion?: string }; serverVersion?: { gitVersion?: string } } = {};
    try {
      parsed = JSON.parse(result.stdout) as typeof parsed;
    } catch {
      throw this.failure(args, result);
    }
    const client = parsed.clientVersion?.gitVersion;
    if (client === undefined) throw this.failure(args, result);
    const server = parsed.serverVersion?.gitVersion;
    if (server === undefined && result.exitCode === 0) return { client };
    if (server === undefined) {
      this.logger.debug(`kubectl could not ask the server for its version: ${result.stderr.trim()}`);
      return { client };
    }
    return { client, server };
  }

  /**
   * `kubectl kustomize DIR`: the rendered YAML (local only, no cluster access). Never with
   * `--enable-helm`, plugins or `--load-restrictor`: kustomize reads files only below each
   * kustomization's root. `offline` (default true) also keeps git and HTTP from leaving the machine,
   * should a remote target get past the caller's checks ({@link OFFLINE_RENDER_ENV}).
   */
  async kustomize(dir: string, options: { offline?: boolean } = {}): Promise<string> {
    const result = await this.exec(['kustomize', dir], {
      ...(options.offline === false ? {} : { env: OFFLINE_RENDER_ENV }),
    });
    // Deprecation notices (commonLabels, patchesStrategicMerge) arrive on stderr with exit code 0.
    for (const line of result.stderr.split('\n'))
      if (line.trim() !== '') this.logger.warning(`kustomize: ${line.trim()}`);
    return result.stdout;
  }
}

/**
 * Credential plugins that kubectl runs (`aws eks get-token`, `kubelogin` via `az`,
 * `gke-gcloud-auth-plugin`) inherit kubectl's private HOME; these variables keep them reading their
 * configuration from the real home directory. Variables already set win.
 */
function credentialConfigEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const home = env['HOME'] ?? process.env['HOME'] ?? homedir();
  const defaults: Record<string, string> = {
    AWS_CONFIG_FILE: join(home, '.aws', 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, '.aws', 'credentials'),
    AZURE_CONFIG_DIR: join(home, '.azure'),
    CLOUDSDK_CONFIG: join(home, '.config', 'gcloud'),
  };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(defaults)) {
    if (env[key] === undefined && (process.env[key] ?? '') === '') out[key] = value;
  }
  return out;
}

/** The kubeconfig to pass explicitly when the caller gave none (our private HOME hides `~/.kube`). */
function defaultKubeconfig(env: Readonly<Record<string, string>>): string | undefined {
  if ((env['KUBECONFIG'] ?? process.env['KUBECONFIG'] ?? '') !== '') return undefined;
  const home = env['HOME'] ?? process.env['HOME'] ?? homedir();
  const file = join(home, '.kube', 'config');
  return existsSync(file) ? file : undefined;
}

/** The 2xx status kubectl logged for a successful raw request (200 when it logged none). */
function rawSuccessStatus(stderr: string): number {
  const m =
    /\] GET \S+ (\d{3})\b[^\n]* in \d+ milliseconds/.exec(stderr) ??
    /"Response" [^\n]*status="(\d{3})\b/.exec(stderr);
  return m?.[1] === undefined ? 200 : Number(m[1]);
}

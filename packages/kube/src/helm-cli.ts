import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ActionError,
  CommandError,
  SecretMasker,
  type CommandResult,
  type CommandRunner,
} from '@dreamscape/core';
import { OFFLINE_RENDER_ENV } from './kustomize-confinement.js';

/** The helm release action-deploy renders with unless told to take the helm on PATH as it is. */
export const HELM_VERSION = 'v3.17.2';

/** `pinned` (the default): the helm on PATH must be {@link HELM_VERSION}. `path`: any helm on PATH. */
export const HELM_CHOICES = ['pinned', 'path'] as const;
/** One of {@link HELM_CHOICES}. */
export type HelmChoice = (typeof HELM_CHOICES)[number];

/** Characters of helm's error output kept in a message. */
export const HELM_STDERR_CHARS = 2000;

/** Each helm command is stopped after this long (a registry that never answers). */
const COMMAND_TIMEOUT_MS = 5 * 60_000;

/** Options of {@link HelmCli}. */
export interface HelmCliOptions {
  /** The helm executable (an absolute path). */
  readonly tool: string;
  readonly runner: CommandRunner;
  /**
   * A fresh directory for helm's configuration, cache, data and registry credentials; created
   * here, removed by the caller. Nothing is read from or written to the user's helm directories.
   */
  readonly home: string;
  readonly signal?: AbortSignal;
  /** Values never to show: registry passwords. */
  readonly secrets?: readonly string[];
}

/** Runs one helm executable with argv arrays and a private home. */
export class HelmCli {
  readonly tool: string;
  /** HELM_CONFIG_HOME, HELM_CACHE_HOME, HELM_DATA_HOME, HELM_REGISTRY_CONFIG and DOCKER_CONFIG inside `home`. */
  readonly env: Readonly<Record<string, string>>;
  private readonly runner: CommandRunner;
  private readonly signal: AbortSignal | undefined;
  private readonly masker = new SecretMasker();
  private readonly secrets: readonly string[];

  constructor(options: HelmCliOptions) {
    this.tool = options.tool;
    this.runner = options.runner;
    this.signal = options.signal;
    this.secrets = options.secrets ?? [];
    for (const s of this.secrets) this.masker.add(s);
    const dirs = {
      HELM_CONFIG_HOME: join(options.home, 'config'),
      HELM_CACHE_HOME: join(options.home, 'cache'),
      HELM_DATA_HOME: join(options.home, 'data'),
      // helm falls back to Docker's logins (and runs their credential helpers): an empty
      // configuration here, so the only credentials used are the ones given.
      DOCKER_CONFIG: join(options.home, 'docker'),
    };
    for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
    this.env = { ...dirs, HELM_REGISTRY_CONFIG: join(options.home, 'config', 'registry', 'config.json') };
  }

  /**
   * Runs `helm ...args`. `offline` adds {@link OFFLINE_RENDER_ENV}: a render of a chart on disk
   * fetches nothing, and if some template path tried, the proxy on a closed port would refuse it.
   */
  run(args: readonly string[], options: { stdin?: string; offline?: boolean } = {}): Promise<CommandResult> {
    return this.runner.run({
      tool: this.tool,
      args,
      env: { ...(options.offline === true ? OFFLINE_RENDER_ENV : {}), ...this.env },
      timeoutMs: COMMAND_TIMEOUT_MS,
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
      ...(this.secrets.length === 0 ? {} : { secrets: this.secrets }),
      ...(this.signal === undefined ? {} : { signal: this.signal }),
    });
  }

  /**
   * What helm said when it failed, for a message: the end of its stderr (at most
   * {@link HELM_STDERR_CHARS} characters), trimmed, with every secret replaced by `***` whatever
   * the runner did.
   */
  failure(error: CommandError): string {
    let text = (error.stderrTail.trim() || error.spawnError || error.message).trim();
    if (error.timedOut)
      text = `timed out after ${COMMAND_TIMEOUT_MS / 1000} s${text === '' ? '' : `: ${text}`}`;
    text = this.masker.redact(text);
    return text.length <= HELM_STDERR_CHARS ? text : `…${text.slice(text.length - HELM_STDERR_CHARS)}`;
  }

  /** `helm version`, as `v3.17.2`. */
  async version(): Promise<string> {
    try {
      const result = await this.run(['version', '--template', '{{.Version}}']);
      return result.stdout.trim();
    } catch (error) {
      if (!(error instanceof CommandError) || error.cancelled) throw error;
      throw new ActionError(`${this.tool} version failed: ${this.failure(error)}`, {
        cause: error,
        hint: `Install helm ${HELM_VERSION} on the runner before this step (for example azure/setup-helm with version: ${HELM_VERSION}).`,
      });
    }
  }
}

/** The hint of every "wrong helm" error. */
export const HELM_INSTALL_HINT = `Install helm ${HELM_VERSION} before this step, for example with azure/setup-helm and \`version: ${HELM_VERSION}\`, or set the deploy input \`helm: path\` to render with the helm on PATH whatever its version.`;

/**
 * Checks the version of the helm found against the choice: `pinned` requires exactly
 * {@link HELM_VERSION}. Returns the version reported.
 */
export async function checkHelmVersion(cli: HelmCli, choice: HelmChoice): Promise<string> {
  const version = await cli.version();
  if (choice === 'pinned' && version !== HELM_VERSION) {
    const shown = /^v?\d+\.\d+\.\d+[\w.+-]*$/.test(version) ? version : JSON.stringify(version.slice(0, 100));
    throw new ActionError(
      `helm: pinned needs helm ${HELM_VERSION}, but the helm on PATH (${cli.tool}) reports ${shown}.`,
      { hint: HELM_INSTALL_HINT },
    );
  }
  return version;
}

import { ActionError, CommandError } from '@dreamscape/core';
import { BuildahBuilder, type BuildahOptions } from './buildah.js';
import { BuildxBuilder, type BuildxOptions } from './buildx.js';
import type { Builder, BuilderDeps } from './builder.js';

/** What the `builder` input accepts. */
export const BUILDER_PREFERENCES = ['auto', 'buildx', 'buildah'] as const;
export type BuilderPreference = (typeof BUILDER_PREFERENCES)[number];

/** Options for {@link selectBuilder}. */
export interface SelectBuilderOptions extends BuilderDeps {
  readonly preference: BuilderPreference;
  readonly buildx?: BuildxOptions;
  readonly buildah?: BuildahOptions;
  /** How long one probe may take. Default 20 s (`docker info` waits for a slow daemon). */
  readonly probeTimeoutMs?: number;
}

/** Whether a tool answered, with its version line or why not. */
interface Probe {
  readonly ok: boolean;
  readonly detail: string;
}

const BUILDX_HINT =
  'On GitHub-hosted runners add docker/setup-buildx-action before this step; elsewhere install Docker Engine with the buildx plugin and make sure the daemon runs. Or set `builder: buildah`.';
const BUILDAH_HINT =
  'Install buildah (`sudo apt-get install -y buildah` on Debian and Ubuntu; GitHub-hosted Ubuntu runners have it), or set `builder: buildx`.';
const AUTO_HINT =
  'Either run a Docker daemon with the buildx plugin (docker/setup-buildx-action on GitHub-hosted runners) or install buildah (`sudo apt-get install -y buildah`).';

/**
 * Picks the builder. `auto` takes buildx when a Docker daemon answers (`docker buildx version` and
 * `docker info` both succeed), else buildah when it is installed, and logs which and why. An
 * explicit choice whose tool is missing fails with an {@link ActionError} naming the `builder`
 * input and how to install the tool.
 */
export async function selectBuilder(options: SelectBuilderOptions): Promise<Builder> {
  const { logger, preference } = options;
  const buildx = (): Builder => new BuildxBuilder(options, options.buildx);
  const buildah = (): Builder => new BuildahBuilder(options, options.buildah);

  if (preference === 'buildx') {
    const probe = await probeBuildx(options);
    if (!probe.ok)
      throw new ActionError(
        `Input 'builder' is 'buildx', but docker buildx cannot build here: ${probe.detail}.`,
        {
          hint: BUILDX_HINT,
        },
      );
    logger.info(`Builder: buildx, as the 'builder' input asks (${probe.detail}).`);
    return buildx();
  }
  if (preference === 'buildah') {
    const probe = await probeBuildah(options);
    if (!probe.ok)
      throw new ActionError(`Input 'builder' is 'buildah', but buildah cannot run here: ${probe.detail}.`, {
        hint: BUILDAH_HINT,
      });
    logger.info(`Builder: buildah, as the 'builder' input asks (${probe.detail}).`);
    return buildah();
  }

  const dockerProbe = await probeBuildx(options);
  if (dockerProbe.ok) {
    logger.info(`Builder: buildx, because a Docker daemon answers (${dockerProbe.detail}).`);
    return buildx();
  }
  const buildahProbe = await probeBuildah(options);
  if (buildahProbe.ok) {
    logger.info(
      `Builder: buildah (${buildahProbe.detail}), because buildx cannot build here: ${dockerProbe.detail}.`,
    );
    return buildah();
  }
  throw new ActionError(
    `Input 'builder' is 'auto', but no image builder can run here: buildx: ${dockerProbe.detail}; buildah: ${buildahProbe.detail}.`,
    { hint: AUTO_HINT },
  );
}

async function probeBuildx(options: SelectBuilderOptions): Promise<Probe> {
  const docker = options.buildx?.docker ?? 'docker';
  const version = await probe(options, docker, ['buildx', 'version']);
  if (!version.ok) return { ok: false, detail: `\`${docker} buildx version\` failed: ${version.detail}` };
  const info = await probe(options, docker, ['info', '--format', '{{.ServerVersion}}']);
  if (!info.ok) return { ok: false, detail: `no Docker daemon answers (\`${docker} info\`: ${info.detail})` };
  return { ok: true, detail: `${version.detail}, Docker Engine ${info.detail}` };
}

async function probeBuildah(options: SelectBuilderOptions): Promise<Probe> {
  const buildah = options.buildah?.buildah ?? 'buildah';
  const version = await probe(options, buildah, ['--version']);
  return version.ok ? version : { ok: false, detail: `\`${buildah} --version\` failed: ${version.detail}` };
}

async function probe(options: SelectBuilderOptions, tool: string, args: readonly string[]): Promise<Probe> {
  try {
    const result = await options.runner.run({
      tool,
      args,
      env: options.env,
      timeoutMs: options.probeTimeoutMs ?? 20_000,
    });
    return { ok: true, detail: firstLine(result.stdout) || firstLine(result.stderr) };
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    if (error.spawnError !== undefined) return { ok: false, detail: error.spawnError };
    if (error.timedOut) return { ok: false, detail: 'it did not answer in time' };
    return { ok: false, detail: firstLine(error.stderrTail) || `exit code ${error.exitCode ?? 'unknown'}` };
  }
}

function firstLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== '') ?? ''
  );
}

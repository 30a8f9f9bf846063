import { stat } from 'node:fs/promises';
import { ActionError, type Logger } from '@dreamscape/core';
import {
  readDockerfile,
  resolveTarget,
  unknownBuildArgs,
  type DockerfileInfo,
  type DockerfileStage,
} from '../dockerfile.js';
import { parseReference } from '../reference.js';
import type { BuildRequest } from './builder.js';

/** What the checks before a build established. */
export interface BuildPreflight {
  readonly dockerfile: DockerfileInfo;
  /** The stage that will be built (the target, or the last stage). */
  readonly stage: DockerfileStage;
}

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;

/**
 * Checks a request before any builder starts, so that a mistake costs milliseconds and names the
 * input to fix: the context folder exists, the Dockerfile exists and parses, the target is one of
 * its stages, platforms are `os/arch[/variant]`, tags are valid references, and something is
 * tagged when pushing. Build args
 * that no ARG declares and secrets that no `RUN --mount=type=secret` uses are warned about: builders
 * ignore them, which is usually a typo rather than an error.
 */
export async function preflightBuild(request: BuildRequest, logger: Logger): Promise<BuildPreflight> {
  const context = await stat(request.context).catch(() => undefined);
  if (context === undefined)
    throw new ActionError(`The build context ${request.context} does not exist.`, {
      hint: 'Check the `context` input: it is the folder the Dockerfile COPYs from, relative to the repository root.',
    });
  if (!context.isDirectory())
    throw new ActionError(`The build context ${request.context} is not a folder.`, {
      hint: 'The `context` input names a folder; the Dockerfile goes in the `dockerfile` input.',
    });
  const dockerfile = await readDockerfile(request.dockerfile);
  const stage = resolveTarget(dockerfile, request.target);

  const badPlatforms = request.platforms.filter((p) => !PLATFORM.test(p));
  if (badPlatforms.length > 0)
    throw new ActionError(
      `The platform ${badPlatforms.map((p) => `'${p}'`).join(', ')} is not of the form os/arch[/variant].`,
      { hint: 'Use values such as linux/amd64, linux/arm64 or linux/arm/v7 in the `platforms` input.' },
    );
  if (request.push && request.tags.length === 0)
    throw new ActionError('Nothing to push: the build has no tags.', {
      hint: 'Give at least one full image reference in the `tags` input, or set `push: false`.',
    });

  for (const tag of request.tags) parseReference(tag, { input: 'tags' });

  const unknown = unknownBuildArgs(
    dockerfile,
    request.buildArgs.map(([name]) => name),
  );
  if (unknown.length > 0)
    logger.warning(
      `Build args ${unknown.join(', ')} are not declared by any ARG in ${request.dockerfile}; the builder will ignore them.`,
    );
  const mounted = new Set(dockerfile.secretMounts.map((m) => m.id));
  const unused = request.secrets.map((s) => s.id).filter((id) => !mounted.has(id));
  if (unused.length > 0)
    logger.warning(
      `Build secrets ${unused.join(', ')} are not used by any RUN --mount=type=secret in ${request.dockerfile}.`,
    );
  return { dockerfile, stage };
}

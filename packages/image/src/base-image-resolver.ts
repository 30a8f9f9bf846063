import type { CommandRunner, Logger } from '@dreamscape/core';
import type { BuilderName } from './builders/builder.js';
import type { RegistryClient } from './registry-client.js';

/** What {@link resolveBaseImage} asks. */
export interface BaseImageResolverDeps {
  /** The builder that will run the build: only buildah prefers a local copy of a base image. */
  readonly builder: BuilderName;
  readonly runner: CommandRunner;
  readonly registry: Pick<RegistryClient, 'digestOf'>;
  readonly logger: Logger;
}

/**
 * The digest (or local image ID, as `local:<id>`) a base image resolves to for this builder:
 * buildah uses a local copy when it has one, so that wins; otherwise the registry's digest, as any
 * builder pulls it. Undefined, with the reason logged, when neither can tell: the build then has
 * no fingerprint and runs as usual.
 */
export async function resolveBaseImage(
  reference: string,
  deps: BaseImageResolverDeps,
): Promise<string | undefined> {
  if (deps.builder === 'buildah') {
    try {
      const out = await deps.runner.run({
        tool: 'buildah',
        args: ['inspect', '--type', 'image', '--format', '{{.FromImageID}}', reference],
      });
      const id = out.stdout.trim();
      if (id !== '') return `local:${id}`;
    } catch {
      // not in local storage: buildah would pull it, so the registry says what it is
    }
  }
  try {
    return await deps.registry.digestOf(reference);
  } catch (error) {
    deps.logger.info(
      `Base image ${reference} could not be resolved (${error instanceof Error ? error.message : String(error)}).`,
    );
    return undefined;
  }
}

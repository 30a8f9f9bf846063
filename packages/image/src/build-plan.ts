import { ActionError, type Logger } from '@dreamscape/core';
import { isGhcr, normalizeGhcrReference } from './ghcr.js';
import type { GitHubContext } from './github-context.js';
import { ociLabels } from './labels.js';
import type { ImageReference } from './reference.js';
import type { RegistryLogin } from './registry-auth.js';
import { computeTags, DEFAULT_TAG_RULES, imageTags, parseTagRules, type LatestPolicy } from './tags.js';

/** What a build of one image is asked for, as action-build's inputs give it. */
export interface ImageBuildRequest {
  /** The repository as the user wrote it (`ghcr.io/Owner/app`), without tag or digest. */
  readonly image: string;
  /** Tag rules, one per line; empty for {@link DEFAULT_TAG_RULES}. */
  readonly tagRules: string;
  /** `auto` (the tag rules' default) or a {@link LatestPolicy}. */
  readonly latest: 'auto' | LatestPolicy;
  /** Extra labels, after the OCI ones. */
  readonly labels: readonly (readonly [string, string])[];
  readonly push: boolean;
  /** The registry to log in to; the image's registry when undefined. */
  readonly registry: string | undefined;
  readonly username: string;
  /** Empty for anonymous access. */
  readonly password: string;
  /** Registries (`host[:port]`) reached without checking their certificate, or over plain http (`insecure-registries`). */
  readonly insecureRegistries?: readonly string[];
}

/** The names, tags, labels and registry access of a build, decided before anything runs. */
export interface ImageBuildPlan {
  /** The repository, normalised (GHCR names lowercased). */
  readonly name: ImageReference;
  /** Full references, in priority order; may be empty when nothing is pushed. */
  readonly tags: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly push: boolean;
  /** The registry logged in to. */
  readonly registry: string;
  /**
   * Registries the user listed as insecure: reached over https without checking the certificate,
   * or over plain http when they do not speak TLS. A loopback registry needs no listing to fall
   * back to plain http; which registries the builder must reach insecurely is known once the
   * registry client has asked them (`buildOrReuse`).
   */
  readonly insecureRegistries: readonly string[];
  /** Empty for anonymous access; otherwise the one login for {@link registry}. */
  readonly logins: readonly RegistryLogin[];
}

/**
 * Decides what a build is called, tagged and labelled with, and how the registry is reached.
 * Throws an {@link ActionError} that names the input for an image with a tag or digest, for a push
 * whose tag rules produce no tag, and for a push to GHCR without a token: all before any work.
 */
export function planImageBuild(
  request: ImageBuildRequest,
  context: GitHubContext,
  logger: Logger,
): ImageBuildPlan {
  const name = normalizeGhcrReference(request.image, logger, { input: 'image', defaultTag: false });
  if (name.tag !== undefined || name.digest !== undefined) {
    throw new ActionError(
      `Input 'image' must name a repository without a tag or digest, got '${request.image}'. Tags come from the 'tags' rules.`,
    );
  }
  const latest = request.latest === 'auto' ? undefined : request.latest;
  const tagSet = computeTags(parseTagRules(request.tagRules || DEFAULT_TAG_RULES, 'tags'), context, {
    ...(latest === undefined ? {} : { latest }),
    prHeadSha: true,
  });
  const tags = imageTags([name], tagSet.tags);
  if (request.push && tags.length === 0) {
    throw new ActionError(
      `The 'tags' rules produced no tag for this ${context.eventName || 'run'}, so there is nothing to push.`,
      {
        hint: "Add a rule that always applies, such as 'type=sha' or 'type=raw,value=edge'.",
      },
    );
  }
  const labels = ociLabels(context, {
    version: tagSet.version,
    prHeadSha: true,
    extra: [
      ['org.opencontainers.image.title', name.repository.split('/').pop() ?? name.repository],
      ...request.labels,
    ],
  });
  const registry = request.registry ?? name.registry;
  if (request.push && request.password === '' && isGhcr(registry)) {
    throw new ActionError(`Input 'password' is empty, and pushing to ${registry} needs a token.`, {
      hint: 'Leave the default (the workflow token, github.token) and grant the job `permissions: packages: write`.',
    });
  }
  return {
    name,
    tags,
    labels,
    push: request.push,
    registry,
    insecureRegistries: request.insecureRegistries ?? [],
    logins:
      request.password === '' ? [] : [{ registry, username: request.username, password: request.password }],
  };
}

import { ActionError, type Logger } from '@dreamscape/core';
import { FINGERPRINT_LABEL } from './build-fingerprint.js';
import { sha256Digest, type RegistryClient } from './registry-client.js';
import { ImageNotFoundError, RegistryError } from './registry-errors.js';
import {
  formatName,
  formatReference,
  parseReference,
  sameRepository,
  type ImageName,
  type ImageReference,
} from './reference.js';

/**
 * Reuse of an image already in the registry: find one whose {@link FINGERPRINT_LABEL} equals the
 * fingerprint of the build about to run, and point the build's tags at its manifest by storing the
 * very same manifest bytes under each tag (no build, no layer upload).
 */

/** Options for {@link findReusableImage}. */
export interface FindReusableImageOptions {
  readonly client: RegistryClient;
  /** The repository the build pushes to (`ghcr.io/owner/app`); every tag must be in it. */
  readonly name: ImageName | string;
  /** Full references to look at, in order (the build's tags: the first match wins). */
  readonly tags: readonly string[];
  /** The fingerprint of the build about to run (`sha256:<hex>`). */
  readonly fingerprint: string;
  /** Which entry of an index to read the labels of. Default `linux/amd64`, else the first runnable one. */
  readonly platform?: string | undefined;
  readonly logger: Logger;
}

/** An image in the registry that the build can stand on. */
export interface ReusableImage {
  /** The tag it was found under, fully qualified. */
  readonly ref: string;
  /** The repository. */
  readonly name: ImageName;
  /** The digest of the manifest or index the tag points at. */
  readonly manifestDigest: string;
  /** Its exact bytes, to store under other tags. */
  readonly body: Uint8Array;
  readonly mediaType: string;
  /** The labels of its config (of the chosen platform's, for an index). */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The first of `tags` whose image carries `fingerprint` in its {@link FINGERPRINT_LABEL} label.
 * A tag that does not exist (404) is skipped. Reuse only saves time, so any other registry
 * failure ends the search with a warning and undefined: the caller then builds as usual.
 */
export async function findReusableImage(
  options: FindReusableImageOptions,
): Promise<ReusableImage | undefined> {
  const { client, logger, fingerprint } = options;
  const name = toName(options.name);
  for (const tag of options.tags) {
    const ref = inRepository(tag, name);
    const display = formatReference(ref);
    let found = false;
    try {
      const top = await client.getManifest(ref);
      found = true;
      // Read the config through the digest, so that a tag moved meanwhile cannot mix two images.
      const config = await client.getImageConfig(
        { ...name, tag: undefined, digest: top.digest },
        options.platform === undefined ? {} : { platform: options.platform },
      );
      const label = config.labels[FINGERPRINT_LABEL];
      if (label !== fingerprint) {
        logger.info(
          label === undefined
            ? `${display} (${top.digest}) has no build fingerprint.`
            : `${display} (${top.digest}) was built from other inputs (fingerprint ${label}).`,
        );
        continue;
      }
      logger.info(`${display} (${top.digest}) was built from the same inputs (fingerprint ${fingerprint}).`);
      return {
        ref: display,
        name,
        manifestDigest: top.digest,
        body: top.body,
        mediaType: top.mediaType,
        labels: config.labels,
      };
    } catch (error) {
      if (error instanceof ImageNotFoundError) {
        logger.info(found ? `${display}: ${error.message}` : `${display} does not exist yet.`);
        continue;
      }
      if (error instanceof RegistryError) {
        logger.warning(`Looking for an image to reuse stopped at ${display}: ${error.message}`);
        return undefined;
      }
      throw error;
    }
  }
  return undefined;
}

/** Options for {@link tagManifest}. */
export interface TagManifestOptions {
  readonly client: RegistryClient;
  /** The image to point the tags at (as {@link findReusableImage} returns it). */
  readonly image: Pick<ReusableImage, 'name' | 'manifestDigest' | 'body' | 'mediaType'>;
  /** Full references, in the image's repository. */
  readonly tags: readonly string[];
  readonly logger: Logger;
}

/** What happened to one tag. */
export interface TagOutcome {
  /** The tag, fully qualified. */
  readonly ref: string;
  /** `kept`: it already pointed at the digest; `tagged`: the manifest was stored under it. */
  readonly action: 'kept' | 'tagged';
  readonly digest: string;
}

/**
 * Points each tag at `image` by storing its exact manifest bytes under the tag (`PUT
 * /v2/<name>/manifests/<tag>`), skipping tags that already point at its digest. Any failure (a
 * refused push, a registry that rewrites the manifest) throws the registry client's error.
 */
export async function tagManifest(options: TagManifestOptions): Promise<TagOutcome[]> {
  const { client, image, logger } = options;
  const computed = sha256Digest(image.body);
  if (computed !== image.manifestDigest)
    throw new ActionError(
      `The manifest to tag hashes to ${computed}, not to ${image.manifestDigest}; it would not be the same image.`,
    );
  const outcomes: TagOutcome[] = [];
  for (const tag of options.tags) {
    const ref = inRepository(tag, image.name);
    const display = formatReference(ref);
    let current: string | undefined;
    try {
      current = await client.digestOf(ref);
    } catch (error) {
      if (!(error instanceof ImageNotFoundError)) throw error;
    }
    if (current === image.manifestDigest) {
      logger.info(`${display} already points at ${image.manifestDigest}.`);
      outcomes.push({ ref: display, action: 'kept', digest: current });
      continue;
    }
    const digest = await client.putManifest(ref, image.body, image.mediaType);
    logger.info(
      `${display} → ${digest}${current === undefined ? '' : ` (was ${current})`}, by manifest copy.`,
    );
    outcomes.push({ ref: display, action: 'tagged', digest });
  }
  return outcomes;
}

function toName(name: ImageName | string): ImageName {
  if (typeof name !== 'string') return { registry: name.registry, repository: name.repository };
  const ref = parseReference(name, { defaultTag: false });
  return { registry: ref.registry, repository: ref.repository };
}

/** A tag of `name`; anything else is a mistake of the caller, since blobs cannot cross repositories here. */
function inRepository(tag: string, name: ImageName): ImageReference {
  const ref = parseReference(tag);
  if (!sameRepository(ref, name) || ref.tag === undefined || ref.digest !== undefined)
    throw new ActionError(
      `${tag} is not a tag of ${formatName(name)}: an image can be reused only under tags of its own repository.`,
    );
  return ref;
}

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from '@dreamscape/core';
import { hashBuildContext } from './build-context-hash.js';
import { baseImagesOf } from './dockerfile-base-images.js';
import { OCI_LABELS } from './labels.js';
import { parseReference } from './reference.js';

/**
 * A build fingerprint: the sha256 of a canonical document naming every input of a build, stored on
 * the image as the {@link FINGERPRINT_LABEL} label. An image in the registry whose label equals the
 * fingerprint of the build about to run was built from exactly the same inputs, so the build can
 * be skipped and the image re-tagged instead (see docs/adr/0002-build-reuse-by-fingerprint.md).
 */

/** The image label that carries the build fingerprint. */
export const FINGERPRINT_LABEL = 'io.dreamscape.build.fingerprint';

/** The version of the hashed document; bumped whenever what is hashed, or how, changes. */
export const FINGERPRINT_VERSION = 1;

/** Everything a build depends on, as the caller will hand it to the builder. */
export interface BuildFingerprintInput {
  /** The context directory. */
  readonly context: string;
  /** The Dockerfile. */
  readonly dockerfile: string;
  /** The stage built; the last one when undefined or empty. */
  readonly target?: string | undefined;
  /** `--build-arg` pairs; a later pair with the same name wins, as in the builders. */
  readonly buildArgs: readonly (readonly [string, string])[];
  /** Ids of the build secrets (their values are never hashed, so never exposed by the label). */
  readonly secretIds: readonly string[];
  /**
   * The image labels. `org.opencontainers.image.created` (different on every run) and the
   * fingerprint label itself are left out of the hash.
   */
  readonly labels: Readonly<Record<string, string>>;
  /** `linux/amd64`, ... in the order given to the builder; empty for the builder's native platform. */
  readonly platforms: readonly string[];
  /** `buildx` or `buildah`. */
  readonly builder: string;
  /** buildx provenance attestation setting (false when not given). */
  readonly provenance?: boolean | string | undefined;
  /** buildx SBOM attestation (false when not given). */
  readonly sbom?: boolean | undefined;
}

/** How to pin base images. */
export interface BuildFingerprintDeps {
  /**
   * The digest (`sha256:<hex>`) an image reference, as written in the Dockerfile after ARG
   * expansion, stands for now: the manifest or index digest, or the local image's, as the builder
   * will use it. Undefined when it cannot be told; then there is no fingerprint.
   */
  readonly resolveImage: (reference: string) => Promise<string | undefined>;
  readonly logger: Logger;
}

/** A computed fingerprint. */
export interface BuildFingerprint {
  /** `sha256:<hex>`, the value of {@link FINGERPRINT_LABEL}. */
  readonly value: string;
  /** Each base image as written (after ARG expansion) → the digest it was pinned to. */
  readonly baseImages: Readonly<Record<string, string>>;
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/** Labels that differ between two builds of the same inputs, or derive from the fingerprint. */
const UNHASHED_LABELS: ReadonlySet<string> = new Set([OCI_LABELS.created, FINGERPRINT_LABEL]);

/**
 * The fingerprint of a build, or undefined (the reason logged as a warning) when some input cannot
 * be pinned: a base image that does not resolve, a Dockerfile construct whose image depends on the
 * platform, an `ADD` of a URL without `--checksum`, a context that cannot be read. Undefined means
 * "build as usual", never a failure.
 */
export async function computeBuildFingerprint(
  input: BuildFingerprintInput,
  deps: BuildFingerprintDeps,
): Promise<BuildFingerprint | undefined> {
  const outcome = await fingerprint(input, deps);
  if ('reason' in outcome) {
    deps.logger.warning(`No build fingerprint, so no reuse of an earlier image: ${outcome.reason}.`);
    return undefined;
  }
  return outcome;
}

async function fingerprint(
  input: BuildFingerprintInput,
  deps: BuildFingerprintDeps,
): Promise<BuildFingerprint | { readonly reason: string }> {
  const { logger } = deps;
  const started = Date.now();

  let dockerfileBytes: Buffer;
  try {
    dockerfileBytes = await readFile(resolve(input.dockerfile));
  } catch (error) {
    return { reason: `the Dockerfile ${input.dockerfile} cannot be read (${describe(error)})` };
  }

  const bases = baseImagesOf(dockerfileBytes.toString('utf8'), {
    target: input.target,
    buildArgs: input.buildArgs,
    includeSyntax: input.builder !== 'buildah',
  });
  if (!bases.pinnable) return { reason: `the base images cannot be pinned: ${bases.reason}` };
  const baseImages: Record<string, string> = {};
  for (const reference of bases.images) {
    const pinned = parseReference(reference).digest;
    let digest: string | undefined;
    try {
      digest = pinned ?? (await deps.resolveImage(reference));
    } catch (error) {
      return { reason: `the base image ${reference} could not be resolved (${describe(error)})` };
    }
    if (digest === undefined)
      return { reason: `the base image ${reference} could not be resolved to a digest` };
    if (!DIGEST.test(digest))
      return { reason: `the base image ${reference} resolved to '${digest}', which is not a digest` };
    baseImages[reference] = digest;
    logger.debug(`Base image ${reference} → ${digest}`);
  }

  const context = await hashBuildContext({
    context: input.context,
    dockerfile: input.dockerfile,
    builder: input.builder,
  });
  if (!context.hashable) return { reason: `the build context cannot be hashed: ${context.reason}` };

  const document = {
    v: FINGERPRINT_VERSION,
    builder: input.builder,
    target: input.target === undefined || input.target === '' ? null : input.target,
    platforms: [...input.platforms],
    buildArgs: sortedPairs(new Map(input.buildArgs.map(([k, v]) => [k, v]))),
    secretIds: [...new Set(input.secretIds)].sort(byteOrder),
    labels: sortedPairs(new Map(Object.entries(input.labels).filter(([k]) => !UNHASHED_LABELS.has(k)))),
    provenance: input.provenance ?? false,
    sbom: input.sbom ?? false,
    dockerfile: sha256(dockerfileBytes),
    context: context.digest,
    baseImages: sortedPairs(new Map(Object.entries(baseImages))),
  };
  const value = sha256(Buffer.from(JSON.stringify(document), 'utf8'));
  const images = bases.images.length;
  logger.info(
    `Build fingerprint ${value}: ${context.files} files (${context.bytes} bytes) in the context, ${images} base image${images === 1 ? '' : 's'}, ${Date.now() - started} ms.`,
  );
  if (context.ignoreFiles.length > 0) logger.debug(`Ignore files read: ${context.ignoreFiles.join(', ')}`);
  return { value, baseImages };
}

function sortedPairs(map: ReadonlyMap<string, string>): [string, string][] {
  return [...map.entries()].sort(([a], [b]) => byteOrder(a, b));
}

/** Code-unit order differs from byte order outside the BMP; compare the UTF-8 bytes. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import { systemClock, type Clock, type Logger } from '@dreamscape/core';
import { MEDIA_TYPES, isImageManifest, isIndex, type Descriptor, type ImageIndex } from './manifest.js';
import { sha256Digest, type RegistryClient } from './registry-client.js';
import { ImageNotFoundError, RegistryError } from './registry-errors.js';
import { formatName, parseReference, type ImageName } from './reference.js';

/**
 * OCI 1.1 referrers: artifacts (a scan verdict, a signature, an SBOM) attached to an image by a
 * manifest whose `subject` is the image. A registry with the referrers API indexes them itself and
 * says so with `OCI-Subject` on the manifest PUT; for the others the client keeps the referrers tag
 * schema: an index under the tag `sha256-<hex of the subject digest>` listing every referrer.
 */

/** The empty descriptor of the OCI 1.1 image spec: the config of an artifact that needs none. */
export const OCI_EMPTY_DESCRIPTOR = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
} as const;
const EMPTY_CONTENT = new Uint8Array(Buffer.from('{}', 'utf8'));

/** The annotation that dates an artifact; the newest referrer is chosen by it. */
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

/** The manifest a referrer points at: the image, with what its descriptor needs. */
export interface ReferrerSubject extends ImageName {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

/** A referrer as the referrers API or the tag schema index lists it. */
export interface ReferrerDescriptor extends Descriptor {
  readonly artifactType?: string | undefined;
}

/** What to attach. */
export interface Artifact {
  readonly artifactType: string;
  readonly payload: Uint8Array;
  readonly payloadMediaType: string;
  /** Annotations of the artifact manifest; `org.opencontainers.image.created` is added when absent. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Options for {@link attachArtifact}. */
export interface AttachOptions {
  /** Dates the artifact when the annotations do not. Default the system clock. */
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** What {@link attachArtifact} did. */
export interface AttachedArtifact {
  /** The artifact manifest's descriptor, as it is listed among the subject's referrers. */
  readonly descriptor: ReferrerDescriptor;
  /** `referrers-api`: the registry indexes it; `tag-schema`: the client updated {@link referrersTag}. */
  readonly indexedBy: ReferrerSource;
}

/** Where a list of referrers came from. */
export type ReferrerSource = 'referrers-api' | 'tag-schema';

/** The referrers of a subject. */
export interface ReferrerList {
  readonly source: ReferrerSource;
  readonly referrers: readonly ReferrerDescriptor[];
}

/** The newest referrer of a type, with its payload. */
export interface NewestReferrer {
  readonly descriptor: ReferrerDescriptor;
  /** The first layer's descriptor: the payload's media type, digest and size. */
  readonly layer: Descriptor;
  /** The payload, checked against its digest. */
  readonly payload: Uint8Array;
}

/** `sha256-<hex>`: the tag of the referrers tag schema for a subject digest. */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-').slice(0, 128);
}

/**
 * The subject descriptor of an image named by digest (`registry/repo@sha256:...`), from its
 * manifest as the registry holds it.
 */
export async function subjectOf(
  client: RegistryClient,
  name: ImageName,
  digest: string,
): Promise<ReferrerSubject> {
  const manifest = await client.getManifest({ registry: name.registry, repository: name.repository, digest });
  return {
    registry: name.registry,
    repository: name.repository,
    digest: manifest.digest,
    mediaType: manifest.mediaType,
    size: manifest.body.length,
  };
}

/**
 * Attaches an artifact to `subject`: pushes the empty config, the payload as the one layer and an
 * OCI image manifest with `artifactType` and `subject`, by digest. When the registry does not answer
 * with `OCI-Subject`, the referrers tag schema index is updated as well: read (missing: empty),
 * the artifact appended, written back, read again to see that no other writer replaced it in
 * between; a lost race is retried once with the other writer's index.
 *
 * The tag schema has no compare-and-swap: two writers that each read, write and verify within the
 * other's window can still leave one artifact out of the index (the artifact manifest itself is
 * stored either way). Registries with the referrers API do not have this limit.
 */
export async function attachArtifact(
  client: RegistryClient,
  subject: ReferrerSubject,
  artifact: Artifact,
  options: AttachOptions = {},
): Promise<AttachedArtifact> {
  const clock = options.clock ?? systemClock;
  const annotations = {
    [CREATED_ANNOTATION]: new Date(clock.now()).toISOString(),
    ...artifact.annotations,
  };
  await client.putBlob(subject, EMPTY_CONTENT);
  const layerDigest = await client.putBlob(subject, artifact.payload);
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: artifact.artifactType,
    config: OCI_EMPTY_DESCRIPTOR,
    layers: [{ mediaType: artifact.payloadMediaType, digest: layerDigest, size: artifact.payload.length }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  };
  const body = new Uint8Array(Buffer.from(JSON.stringify(manifest), 'utf8'));
  const digest = sha256Digest(body);
  const stored = await client.storeManifest(
    { registry: subject.registry, repository: subject.repository, digest },
    body,
    MEDIA_TYPES.ociManifest,
  );
  const descriptor: ReferrerDescriptor = {
    mediaType: MEDIA_TYPES.ociManifest,
    digest: stored.digest,
    size: body.length,
    artifactType: artifact.artifactType,
    annotations,
  };
  if (stored.subject !== undefined) {
    if (stored.subject !== subject.digest)
      throw new RegistryError(
        `${formatName(subject)}: the registry says the artifact ${stored.digest} refers to ${stored.subject}, not to ${subject.digest}.`,
        { registry: subject.registry, reference: `${formatName(subject)}@${stored.digest}` },
      );
    return { descriptor, indexedBy: 'referrers-api' };
  }
  options.logger?.debug(
    `${subject.registry} did not answer with OCI-Subject; listing ${stored.digest} under the tag ${referrersTag(subject.digest)}`,
  );
  await addToTagIndex(client, subject, descriptor);
  return { descriptor, indexedBy: 'tag-schema' };
}

/**
 * The referrers of `subject` (of `artifactType` when given): from the referrers API when the
 * registry offers it, else from the referrers tag schema index. Filtered by `artifactType` here too,
 * as a registry need not apply the filter.
 */
export async function listReferrers(
  client: RegistryClient,
  subject: ImageName & { readonly digest: string },
  options: { readonly artifactType?: string } = {},
): Promise<ReferrerList> {
  const fromApi = await client.getReferrers(subject, subject.digest, options.artifactType);
  const index = fromApi?.index ?? (await readTagIndex(client, subject));
  const wanted = options.artifactType;
  const referrers = (index?.manifests ?? []).filter(
    (d: ReferrerDescriptor) => wanted === undefined || d.artifactType === wanted,
  );
  return { source: fromApi === undefined ? 'tag-schema' : 'referrers-api', referrers };
}

/**
 * The newest referrer of `artifactType` (by its `org.opencontainers.image.created` annotation; one
 * without it counts as oldest) with its payload, or undefined when there is none. The artifact
 * manifest and the payload are checked against their digests; a payload larger than `maxBytes` is
 * refused before it is downloaded.
 */
export async function readNewestReferrer(
  client: RegistryClient,
  subject: ImageName & { readonly digest: string },
  options: { readonly artifactType: string; readonly maxBytes: number },
): Promise<NewestReferrer | undefined> {
  const { referrers } = await listReferrers(client, subject, { artifactType: options.artifactType });
  const newest = [...referrers].sort(byCreated).at(-1);
  if (newest === undefined) return undefined;
  const display = `${formatName(subject)}@${newest.digest}`;
  const manifest = await client.getManifest({
    registry: subject.registry,
    repository: subject.repository,
    digest: newest.digest,
  });
  const body = manifest.manifest;
  const layer = isImageManifest(body) ? body.layers[0] : undefined;
  if (layer === undefined)
    throw new RegistryError(`The referrer ${display} is not an artifact manifest with a payload layer.`, {
      registry: subject.registry,
      reference: display,
    });
  if (layer.size > options.maxBytes)
    throw new RegistryError(
      `The referrer ${display} has a payload of ${layer.size} bytes, more than the ${options.maxBytes} allowed.`,
      { registry: subject.registry, reference: display },
    );
  const payload = await client.getBlob(subject, layer.digest);
  if (payload.length !== layer.size)
    throw new RegistryError(
      `The payload of the referrer ${display} is ${payload.length} bytes where its manifest says ${layer.size}.`,
      { registry: subject.registry, reference: display },
    );
  return { descriptor: newest, layer, payload };
}

/** Orders referrers oldest first by their created annotation, then by digest. */
function byCreated(a: ReferrerDescriptor, b: ReferrerDescriptor): number {
  const time = (d: ReferrerDescriptor): number => {
    const t = Date.parse(d.annotations?.[CREATED_ANNOTATION] ?? '');
    return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
  };
  const ta = time(a);
  const tb = time(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

/** The referrers tag schema index of `subject`; undefined when the tag does not exist. */
async function readTagIndex(
  client: RegistryClient,
  subject: ImageName & { readonly digest: string },
): Promise<(ImageIndex & { readonly digest: string }) | undefined> {
  const tag = referrersTag(subject.digest);
  try {
    const found = await client.getManifest({
      registry: subject.registry,
      repository: subject.repository,
      tag,
    });
    if (!isIndex(found.mediaType, found.manifest))
      throw new RegistryError(
        `${found.reference} should hold the referrers index of ${subject.digest} but holds a '${found.mediaType}' manifest.`,
        { registry: subject.registry, reference: found.reference },
        {
          hint: 'Something else uses this tag; the referrers of the image cannot be listed until it is removed.',
        },
      );
    return { ...found.manifest, digest: found.digest };
  } catch (error) {
    if (error instanceof ImageNotFoundError) return undefined;
    throw error;
  }
}

/** Appends `descriptor` to the tag schema index, verifying the write and retrying a lost race once. */
async function addToTagIndex(
  client: RegistryClient,
  subject: ReferrerSubject,
  descriptor: ReferrerDescriptor,
): Promise<void> {
  const tag = referrersTag(subject.digest);
  const ref = { registry: subject.registry, repository: subject.repository, tag };
  for (let attempt = 1; attempt <= 2; attempt++) {
    const current = await readTagIndex(client, subject);
    if (current?.manifests.some((d) => d.digest === descriptor.digest) === true) return;
    const { digest: _read, ...index } = current ?? { schemaVersion: 2, manifests: [], digest: '' };
    const next = { ...index, mediaType: MEDIA_TYPES.ociIndex, manifests: [...index.manifests, descriptor] };
    const written = await client.putManifest(
      ref,
      new Uint8Array(Buffer.from(JSON.stringify(next), 'utf8')),
      MEDIA_TYPES.ociIndex,
    );
    const after = await readTagIndex(client, subject);
    if (after?.digest === written || after?.manifests.some((d) => d.digest === descriptor.digest) === true)
      return;
  }
  throw new RegistryError(
    `${formatName(subject)}:${tag}: another writer kept replacing the referrers index; ${descriptor.digest} is stored but not listed in it.`,
    { registry: subject.registry, reference: `${formatName(subject)}:${tag}` },
    { hint: 'Attach the artifact again once the other writer is done.' },
  );
}

/** Attaching and reading artifacts of images named by digest, as a domain package asks for them. */
export interface ImageReferrers {
  /** Attaches `artifact` to `image` (`registry/repository@sha256:...`); returns the referrer's digest. */
  attach(image: string, artifact: Artifact): Promise<{ readonly digest: string }>;
  /** The newest referrer of `image` of a type, with its payload; undefined when there is none. */
  readNewest(
    image: string,
    options: { readonly artifactType: string; readonly maxBytes: number },
  ): Promise<{ readonly digest: string; readonly payload: Uint8Array } | undefined>;
}

/**
 * {@link attachArtifact} and {@link readNewestReferrer} over a registry client, for images named by
 * digest: the registry-backed `ReferrerStore` that `@dreamscape/scan`'s verdict functions take.
 */
export function registryReferrers(client: RegistryClient, options: AttachOptions = {}): ImageReferrers {
  return {
    attach: async (image, artifact) => {
      const ref = byDigest(image);
      const subject = await subjectOf(client, ref, ref.digest);
      const attached = await attachArtifact(client, subject, artifact, options);
      return { digest: attached.descriptor.digest };
    },
    readNewest: async (image, o) => {
      const newest = await readNewestReferrer(client, byDigest(image), o);
      return newest === undefined ? undefined : { digest: newest.descriptor.digest, payload: newest.payload };
    },
  };
}

function byDigest(image: string): ImageName & { readonly digest: string } {
  const ref = parseReference(image);
  if (ref.digest === undefined)
    throw new RegistryError(
      `${image}: artifacts are attached to an image named by digest.`,
      { registry: ref.registry },
      { hint: "Use 'registry/repository@sha256:<hex>' (action-build's digest output)." },
    );
  return { registry: ref.registry, repository: ref.repository, digest: ref.digest };
}

/**
 * The OCI and Docker manifest formats the registry client reads: single-platform manifests,
 * indexes (manifest lists) and image configs, with the media types that tell them apart.
 */

/** Media types of manifests, indexes and configs. */
export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/**
 * The `Accept` header for manifest requests: indexes first, then single manifests, OCI and Docker.
 * Without the index types a registry may answer a multi-platform tag with 404 or a converted manifest.
 */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifest,
].join(', ');

/** `os/architecture[/variant]` */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
}

/** A content descriptor: what a manifest or index points at. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}

/** A single-platform image manifest. */
export interface ImageManifest {
  readonly schemaVersion: number;
  readonly mediaType?: string | undefined;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}

/** An index (manifest list): one manifest per platform, plus attestations. */
export interface ImageIndex {
  readonly schemaVersion: number;
  readonly mediaType?: string | undefined;
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}

/** The parts of an image config we read. */
export interface ImageConfig {
  readonly architecture?: string | undefined;
  readonly os?: string | undefined;
  readonly variant?: string | undefined;
  readonly created?: string | undefined;
  readonly config?:
    | {
        readonly Labels?: Readonly<Record<string, string>> | null | undefined;
        readonly Env?: readonly string[] | null | undefined;
        readonly Entrypoint?: readonly string[] | null | undefined;
        readonly Cmd?: readonly string[] | null | undefined;
        readonly User?: string | undefined;
      }
    | undefined;
}

/** Whether a manifest body (with its Content-Type) is an index rather than a single manifest. */
export function isIndex(mediaType: string | undefined, json: unknown): json is ImageIndex {
  if (mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerManifestList) return true;
  return (
    typeof json === 'object' && json !== null && Array.isArray((json as { manifests?: unknown }).manifests)
  );
}

/** Whether a parsed body is a single-platform manifest with a config descriptor. */
export function isImageManifest(json: unknown): json is ImageManifest {
  if (typeof json !== 'object' || json === null) return false;
  const config = (json as { config?: unknown }).config;
  return (
    typeof config === 'object' &&
    config !== null &&
    typeof (config as { digest?: unknown }).digest === 'string'
  );
}

/** Parses `linux/arm64/v8` (or `linux/amd64`). */
export function parsePlatform(text: string): Platform {
  const [os = '', architecture = '', variant] = text.split('/');
  return { os, architecture, variant };
}

/** `linux/arm64/v8` */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant]
    .filter((p) => p !== undefined && p !== '')
    .join('/');
}

/** Whether an index entry is an attestation (buildx provenance/SBOM), not a runnable image. */
export function isAttestation(descriptor: Descriptor): boolean {
  return (
    descriptor.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (descriptor.platform?.os === 'unknown' && descriptor.platform.architecture === 'unknown')
  );
}

/**
 * The index entry for `platform` (variant matched when asked for), or the first runnable entry
 * when none matches; undefined when the index holds no runnable image at all.
 */
export function selectManifest(index: ImageIndex, platform: Platform): Descriptor | undefined {
  const runnable = index.manifests.filter((m) => !isAttestation(m));
  const exact = runnable.find(
    (m) =>
      m.platform?.os === platform.os &&
      m.platform.architecture === platform.architecture &&
      (platform.variant === undefined || m.platform.variant === platform.variant),
  );
  return exact ?? runnable[0];
}

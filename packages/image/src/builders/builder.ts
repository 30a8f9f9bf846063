import type { Clock, CommandRunner, Logger } from '@dreamscape/core';

/** The builders we drive. */
export const BUILDER_NAMES = ['buildx', 'buildah'] as const;
export type BuilderName = (typeof BUILDER_NAMES)[number];

/** A build secret: mounted at build time (`RUN --mount=type=secret,id=...`), never a build arg. */
export type BuildSecret =
  | { readonly id: string; readonly value: string }
  | { readonly id: string; readonly file: string }
  | { readonly id: string; readonly env: string };

/** Credentials for one registry; the password is registered with the masker before first use. */
export interface RegistryCredentials {
  /** `ghcr.io`, `127.0.0.1:5000`, ... */
  readonly registry: string;
  readonly username: string;
  readonly password: string;
}

/** Everything a builder needs for one image. Paths are absolute. */
export interface BuildRequest {
  readonly context: string;
  readonly dockerfile: string;
  readonly target?: string | undefined;
  readonly buildArgs: readonly (readonly [string, string])[];
  readonly secrets: readonly BuildSecret[];
  readonly labels: Readonly<Record<string, string>>;
  /** Full references (`ghcr.io/owner/app:1.2.3`); the first one is the one whose digest is reported. */
  readonly tags: readonly string[];
  /** `linux/amd64`, ...; empty means the builder's native platform. */
  readonly platforms: readonly string[];
  readonly cacheFrom: readonly string[];
  readonly cacheTo: readonly string[];
  readonly push: boolean;
  /** buildx provenance attestation: false (default: no `unknown/unknown` clutter in GHCR), true, or a mode such as `mode=max`. */
  readonly provenance: boolean | string;
  readonly sbom: boolean;
  /**
   * Registries reached over plain http or without checking their certificate: what the registry
   * client found (a loopback registry without TLS) or the user listed as insecure.
   */
  readonly insecureRegistries?: readonly string[];
  /** Of {@link insecureRegistries}, those reached over plain http (the others: https, certificate unchecked). */
  readonly plainHttpRegistries?: readonly string[];
  /**
   * Of {@link insecureRegistries}, those the build pulls a base image from (a local mirror without
   * TLS): buildah pulls with `--tls-verify=false` for them; a builder buildx creates is told them.
   */
  readonly insecurePulls?: readonly string[];
  readonly signal?: AbortSignal;
}

/** What a build produced. */
export interface BuildResult {
  readonly builder: BuilderName;
  /**
   * `sha256:...` of the manifest (or index) the registry holds for the first tag when pushed; the
   * local image's manifest digest otherwise.
   */
  readonly digest: string;
  /** The local image ID (config digest) when the builder reports one. */
  readonly imageId?: string | undefined;
  readonly platforms: readonly string[];
  /** Raw builder metadata (buildx `--metadata-file` JSON), when there is some. */
  readonly metadata?: unknown;
  readonly durationMs: number;
}

/** How a builder logs in to a registry. */
export interface LoginOptions {
  /** The registry is reached over plain http or without checking its certificate. Default false. */
  readonly insecure?: boolean;
}

/** A container image builder. */
export interface Builder {
  readonly name: BuilderName;
  /** The builder's own version line, for logs and the summary. */
  version(): Promise<string>;
  /** Logs in to a registry with the password on stdin. */
  login(credentials: RegistryCredentials, options?: LoginOptions): Promise<void>;
  build(request: BuildRequest): Promise<BuildResult>;
}

/** What a builder driver is constructed with. */
export interface BuilderDeps {
  readonly runner: CommandRunner;
  readonly logger: Logger;
  /** A private directory for temporary files (secret files, digest files); the runner temp in an action. */
  readonly tempDir: string;
  /** Extra environment for every builder command (e.g. `STORAGE_DRIVER`, `BUILDAH_ISOLATION`). */
  readonly env?: Readonly<Record<string, string>>;
  /** Measures `durationMs`; the system clock by default. */
  readonly clock?: Clock;
}

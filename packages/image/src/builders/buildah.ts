import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ActionError, CommandError, systemClock, type RetryPolicy } from '@dreamscape/core';
import { parseReference } from '../reference.js';
import { preflightBuild } from './build-preflight.js';
import { materializeSecrets } from './build-secrets.js';
import { isTransientFailure } from './buildx.js';
import type {
  Builder,
  BuilderDeps,
  BuildRequest,
  BuildResult,
  LoginOptions,
  RegistryCredentials,
} from './builder.js';

/** buildah's process isolations. */
export const BUILDAH_ISOLATIONS = ['chroot', 'oci', 'rootless'] as const;
export type BuildahIsolation = (typeof BUILDAH_ISOLATIONS)[number];

/**
 * Where buildah keeps images and layers. Each root is a separate cache: tests and benchmarks use a
 * fresh one for a cold build and a shared one for a warm build.
 */
export interface BuildahStorage {
  /** `--root`: images and layers. Default buildah's (`/var/lib/containers/storage` as root). */
  readonly root?: string | undefined;
  /** `--runroot`: locks and mounts. Default buildah's. */
  readonly runroot?: string | undefined;
  /** `--storage-driver` (`overlay`, `vfs`). Default: `STORAGE_DRIVER` from the environment, else buildah's. */
  readonly storageDriver?: string | undefined;
}

/** How the buildah driver runs. */
export interface BuildahOptions extends BuildahStorage {
  /** The buildah executable. Default `buildah` on PATH. */
  readonly buildah?: string;
  /**
   * `--isolation`. Default: buildah's own choice when `BUILDAH_ISOLATION` is set in the
   * environment, else `chroot`, the isolation that works without a container runtime or user
   * namespaces (container jobs, Kubernetes runners, this kind of CI machine).
   */
  readonly isolation?: BuildahIsolation;
  /** `--layers`: reuse cached intermediate layers. Default true. */
  readonly layers?: boolean;
  /** `--format` of the built image. Default buildah's (`oci`). */
  readonly format?: 'oci' | 'docker';
  /** `--authfile` for login and push. Default buildah's (`REGISTRY_AUTH_FILE`, else its per-user file). */
  readonly authFile?: string;
  /**
   * Registries reached over plain HTTP or with an unverified certificate, for login and push
   * (`--tls-verify=false`). A build request adds the ones the registry client found.
   */
  readonly insecureRegistries?: readonly string[];
  /**
   * `--cert-dir` for login and push: a folder of `*.crt` CA certificates to trust (a registry whose
   * certificate a private CA signed). Default buildah's: `/etc/containers/certs.d/<host>/`, then
   * `/etc/docker/certs.d/<host>/`.
   */
  readonly certDir?: string;
  /** Retries of each push (idempotent: same content, same digest). Default 3 attempts from 2 s. */
  readonly pushRetry?: RetryPolicy;
  /** Retries of `buildah login`. Default 3 attempts from 1 s. */
  readonly loginRetry?: RetryPolicy;
}

/** The files and names one build's argv refers to, decided by the driver. */
export interface BuildahArgvFiles {
  /** `--secret` values from {@link materializeSecrets}. */
  readonly secretSpecs: readonly string[];
  readonly iidFile: string;
  /** For a multi-platform build: the local manifest list the per-platform images are added to. */
  readonly manifest?: string | undefined;
}

/** One push of a built image (or manifest list) to one tag. */
export interface BuildahPushSpec {
  /** The local image ID, or the manifest list's name. */
  readonly source: string;
  /** The full reference to push to. */
  readonly destination: string;
  readonly digestFile: string;
  /** Push a manifest list with all its images (`buildah manifest push --all`). */
  readonly manifest: boolean;
  /** Plain HTTP or an unverified certificate (`--tls-verify=false`). */
  readonly insecure: boolean;
}

const DEFAULT_PUSH_RETRY: RetryPolicy = { attempts: 3, initialDelayMs: 2000 };
const DEFAULT_LOGIN_RETRY: RetryPolicy = { attempts: 3, initialDelayMs: 1000 };

/** The global flags (before the subcommand) that select a storage. */
export function buildahGlobalArgs(storage: BuildahStorage): string[] {
  const args: string[] = [];
  if (storage.root !== undefined) args.push('--root', storage.root);
  if (storage.runroot !== undefined) args.push('--runroot', storage.runroot);
  if (storage.storageDriver !== undefined) args.push('--storage-driver', storage.storageDriver);
  return args;
}

/**
 * The argv of `buildah bud` for a request. Pure, so the mapping is table-tested. A multi-platform
 * build goes into a manifest list (`--manifest`) rather than tags; caches are buildah's registry
 * caches (`--cache-from REPO`), so buildx cache specs are translated and the ones buildah cannot use
 * (`type=gha`, `type=local`) are left out (the driver warns). Provenance and SBOM do not exist in
 * buildah.
 */
export function buildahBuildArgs(
  request: BuildRequest,
  files: BuildahArgvFiles,
  options: BuildahOptions & { readonly isolation?: BuildahIsolation | undefined } = {},
): string[] {
  const args = [...buildahGlobalArgs(options), 'bud'];
  if (options.isolation !== undefined) args.push('--isolation', options.isolation);
  if (options.layers !== false) args.push('--layers');
  if (options.format !== undefined) args.push('--format', options.format);
  // buildah has no per-registry switch: a base image from a registry without TLS (a local mirror)
  // turns the checks off for this build's pulls, as `buildah bud --tls-verify=false` does.
  if ((request.insecurePulls ?? []).length > 0) args.push('--tls-verify=false');
  args.push('--file', request.dockerfile);
  if (request.target !== undefined && request.target !== '') args.push('--target', request.target);
  for (const [name, value] of request.buildArgs) args.push('--build-arg', `${name}=${value}`);
  for (const spec of files.secretSpecs) args.push('--secret', spec);
  for (const [key, value] of Object.entries(request.labels)) args.push('--label', `${key}=${value}`);
  if (files.manifest !== undefined) {
    args.push('--manifest', files.manifest, '--platform', request.platforms.join(','));
  } else {
    for (const tag of request.tags) args.push('--tag', tag);
    if (request.platforms.length === 1) args.push('--platform', request.platforms.join(','));
  }
  for (const repo of registryCaches(request.cacheFrom)) args.push('--cache-from', repo);
  for (const repo of registryCaches(request.cacheTo)) args.push('--cache-to', repo);
  // buildah refuses --iidfile when a build makes several images (one per platform).
  if (files.manifest === undefined) args.push('--iidfile', files.iidFile);
  args.push(request.context);
  return args;
}

/** The argv of `buildah push` (or `buildah manifest push --all`) for one tag. */
export function buildahPushArgs(
  push: BuildahPushSpec,
  options: BuildahStorage & {
    readonly authFile?: string | undefined;
    readonly certDir?: string | undefined;
  } = {},
): string[] {
  const args = [...buildahGlobalArgs(options), ...(push.manifest ? ['manifest', 'push', '--all'] : ['push'])];
  args.push('--digestfile', push.digestFile);
  if (push.insecure) args.push('--tls-verify=false');
  else if (options.certDir !== undefined) args.push('--cert-dir', options.certDir);
  if (options.authFile !== undefined) args.push('--authfile', options.authFile);
  args.push(push.source, `docker://${push.destination}`);
  return args;
}

/**
 * Builds with `buildah bud` (daemonless: self-hosted and container runners, this repository's CI)
 * and pushes each tag with `--digestfile`, so the digest reported is the registry's manifest
 * digest, not buildah's local one (they differ: layers are compressed on push).
 */
export class BuildahBuilder implements Builder {
  readonly name = 'buildah' as const;
  private readonly deps: BuilderDeps;
  private readonly options: BuildahOptions;
  private readonly buildah: string;
  private readonly isolation: BuildahIsolation | undefined;

  constructor(deps: BuilderDeps, options: BuildahOptions = {}) {
    this.deps = deps;
    this.options = options;
    this.buildah = options.buildah ?? 'buildah';
    const fromEnv = deps.env?.BUILDAH_ISOLATION ?? process.env.BUILDAH_ISOLATION;
    this.isolation = options.isolation ?? (fromEnv === undefined || fromEnv === '' ? 'chroot' : undefined);
  }

  async version(): Promise<string> {
    const result = await this.run(['--version']);
    return result.trim();
  }

  async login(credentials: RegistryCredentials, options: LoginOptions = {}): Promise<void> {
    this.deps.logger.setSecret(credentials.password);
    const args = ['login', '--username', credentials.username, '--password-stdin'];
    if (this.options.authFile !== undefined) args.push('--authfile', this.options.authFile);
    if (options.insecure === true || this.isInsecure(credentials.registry)) args.push('--tls-verify=false');
    else if (this.options.certDir !== undefined) args.push('--cert-dir', this.options.certDir);
    await this.deps.runner.run({
      tool: this.buildah,
      args: [...args, credentials.registry],
      stdin: credentials.password,
      secrets: [credentials.password],
      env: this.deps.env,
      retry: { ...(this.options.loginRetry ?? DEFAULT_LOGIN_RETRY), retryable: isTransientFailure },
    });
    this.deps.logger.info(`Logged in to ${credentials.registry} as ${credentials.username}.`);
  }

  async build(request: BuildRequest): Promise<BuildResult> {
    const clock = this.deps.clock ?? systemClock;
    const started = clock.now();
    const { stage } = await preflightBuild(request, this.deps.logger);
    this.warnAboutUnsupported(request);
    const secrets = await materializeSecrets(request.secrets, this.deps);
    const workDir = await mkdtemp(join(this.deps.tempDir, 'buildah-'));
    const multi = request.platforms.length > 1;
    const manifest = multi
      ? (request.tags[0] ?? `localhost/dreamscape-build:${process.pid}-${started}`)
      : undefined;
    try {
      if (manifest !== undefined) {
        // `--manifest` adds to an existing list: a list left by an earlier build would keep its images.
        await this.run(['manifest', 'rm', manifest], { okExitCodes: [0, 1, 125] });
      }
      const iidFile = join(workDir, 'iid');
      const args = buildahBuildArgs(
        request,
        { secretSpecs: secrets.specs, iidFile, manifest },
        { ...this.options, isolation: this.isolation },
      );
      this.deps.logger.info(
        `Building stage '${stage.name ?? `#${stage.index}`}' of ${request.dockerfile} with buildah${multi ? ` for ${request.platforms.join(', ')}` : ''}.`,
      );
      const progress = (line: string): void => {
        this.deps.logger.info(line);
      };
      const bud = (argv: readonly string[]): Promise<unknown> =>
        this.deps.runner.run({
          tool: this.buildah,
          args: argv,
          env: this.deps.env,
          ...(request.signal === undefined ? {} : { signal: request.signal }),
          onStdoutLine: progress,
          onStderrLine: progress,
          maxStdoutBytes: 1024 * 1024,
        });
      const caches = registryCaches(request.cacheTo);
      try {
        await bud(args);
      } catch (error) {
        // buildah pushes its cache during the build and stops (125) when that push fails, while a
        // cache export must never fail a build. Whatever failed, the build runs once more without
        // exporting: the local layer cache makes it quick, and a step that really fails fails again
        // with its own error.
        if (caches.length === 0 || !(error instanceof CommandError) || request.signal?.aborted === true)
          throw error;
        if (manifest !== undefined)
          await this.run(['manifest', 'rm', manifest], { okExitCodes: [0, 1, 125] });
        await bud(
          buildahBuildArgs(
            { ...request, cacheTo: [] },
            { secretSpecs: secrets.specs, iidFile, manifest },
            { ...this.options, isolation: this.isolation },
          ),
        );
        this.deps.logger.warning(
          `The build with --cache-to ${caches.join(', ')} failed (${lastLine(error.stderrTail)}) and succeeded without it: the cache was not exported. A cache export never fails a build.`,
        );
      }
      const imageId = manifest === undefined ? (await readFile(iidFile, 'utf8')).trim() : '';
      let platforms = request.platforms;
      let localDigest: string;
      if (manifest !== undefined) {
        await this.verifyManifestPlatforms(manifest, request.platforms);
        localDigest = await this.listDigest(manifest);
      } else {
        const local = await this.inspectImage(imageId);
        localDigest = local.digest;
        if (platforms.length === 0) platforms = [local.platform];
      }

      if (!request.push) {
        this.deps.logger.info(`Built ${manifest ?? imageId.slice(0, 12)} (${localDigest}); not pushing.`);
        return {
          builder: 'buildah',
          digest: localDigest,
          imageId: manifest === undefined ? `sha256:${imageId.replace(/^sha256:/, '')}` : undefined,
          platforms,
          durationMs: clock.now() - started,
        };
      }

      await this.ensureAuthFile();
      const digests: string[] = [];
      for (const [index, tag] of request.tags.entries()) {
        digests.push(
          await this.push(
            {
              source: manifest ?? imageId,
              destination: tag,
              digestFile: join(workDir, `digest-${index}`),
              manifest: manifest !== undefined,
              insecure: this.isInsecure(parseReference(tag).registry, request.insecureRegistries),
            },
            request.signal,
          ),
        );
      }
      const [digest = ''] = digests;
      const differing = request.tags.filter((_, i) => digests[i] !== digest);
      if (differing.length > 0)
        this.deps.logger.warning(
          `The registry reports other digests for ${differing.join(', ')} than ${digest} for ${request.tags[0] ?? ''}.`,
        );
      return {
        builder: 'buildah',
        digest,
        imageId: manifest === undefined ? `sha256:${imageId.replace(/^sha256:/, '')}` : undefined,
        platforms,
        durationMs: clock.now() - started,
      };
    } finally {
      await secrets.cleanup();
      await rm(workDir, { recursive: true, force: true });
    }
  }

  private async push(spec: BuildahPushSpec, signal: AbortSignal | undefined): Promise<string> {
    this.deps.logger.info(`Pushing ${spec.destination}.`);
    await this.deps.runner.run({
      tool: this.buildah,
      args: buildahPushArgs(spec, { ...this.options }),
      env: this.deps.env,
      ...(signal === undefined ? {} : { signal }),
      retry: { ...(this.options.pushRetry ?? DEFAULT_PUSH_RETRY), retryable: isTransientFailure },
      onStderrLine: (line) => {
        this.deps.logger.debug(line);
      },
    });
    const digest = (await readFile(spec.digestFile, 'utf8')).trim();
    if (!/^sha256:[0-9a-f]{64}$/.test(digest))
      throw new ActionError(`buildah pushed ${spec.destination} but wrote no digest (got '${digest}').`);
    this.deps.logger.info(`Pushed ${spec.destination}@${digest}.`);
    return digest;
  }

  /**
   * buildah push refuses an `--authfile` that does not exist; without a login there are no
   * credentials to keep, so an empty one stands for "anonymous" instead of falling back to
   * whatever buildah's default file holds.
   */
  private async ensureAuthFile(): Promise<void> {
    const file = this.options.authFile;
    if (file === undefined) return;
    await writeFile(file, '{"auths":{}}\n', { flag: 'wx', mode: 0o600 }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    });
  }

  /** The local manifest digest and platform of a built image. */
  private async inspectImage(imageId: string): Promise<{ digest: string; platform: string }> {
    const text = await this.run(['inspect', '--type', 'image', imageId]);
    const doc = JSON.parse(text) as {
      FromImageDigest?: string;
      OCIv1?: { os?: string; architecture?: string; variant?: string };
    };
    const oci = doc.OCIv1 ?? {};
    const platform = [
      oci.os ?? 'linux',
      oci.architecture ?? 'amd64',
      ...(oci.variant === undefined ? [] : [oci.variant]),
    ];
    return { digest: doc.FromImageDigest ?? '', platform: platform.join('/') };
  }

  /** The local digest of a manifest list, which `buildah images NAME` would resolve to one platform. */
  private async listDigest(name: string): Promise<string> {
    const images = JSON.parse(await this.run(['images', '--json'])) as {
      names?: string[] | null;
      digest?: string;
    }[];
    return images.find((i) => (i.names ?? []).includes(name))?.digest ?? '';
  }

  /**
   * Refuses a manifest list that lacks a requested platform. buildah 1.28 with `--layers` can reuse
   * one platform's cached step for another when the steps are identical (e.g. `FROM scratch` + COPY)
   * and then lists a single platform.
   */
  private async verifyManifestPlatforms(name: string, wanted: readonly string[]): Promise<void> {
    const list = JSON.parse(await this.run(['manifest', 'inspect', name])) as {
      manifests?: { platform?: { os?: string; architecture?: string; variant?: string } }[];
    };
    const have = new Set(
      (list.manifests ?? []).map((m) =>
        [m.platform?.os, m.platform?.architecture, m.platform?.variant]
          .filter((p) => p !== undefined && p !== '')
          .join('/'),
      ),
    );
    const missing = wanted.filter((p) => !have.has(p));
    if (missing.length > 0)
      throw new ActionError(
        `buildah built a manifest list without ${missing.join(', ')} (it holds ${[...have].join(', ') || 'nothing'}).`,
        {
          hint: 'buildah reused a cached layer across platforms; build this image with the layer cache off (`layers: false`) or with buildx.',
        },
      );
  }

  private warnAboutUnsupported(request: BuildRequest): void {
    const { logger } = this.deps;
    if (request.provenance !== false || request.sbom)
      logger.warning(
        'buildah does not produce provenance or SBOM attestations; the image is pushed without them.',
      );
    const skipped = [...request.cacheFrom, ...request.cacheTo].filter(
      (spec) => registryCaches([spec]).length === 0,
    );
    if (skipped.length > 0)
      logger.warning(`buildah can only use registry caches; ignoring ${skipped.join(', ')}.`);
    if (request.cacheTo.length > 0 && this.options.layers === false)
      logger.warning(
        'buildah writes a registry cache only with the layer cache on; --cache-to will be ignored.',
      );
  }

  private isInsecure(registry: string, fromRequest: readonly string[] = []): boolean {
    return fromRequest.includes(registry) || (this.options.insecureRegistries ?? []).includes(registry);
  }

  private async run(
    args: readonly string[],
    extra: { okExitCodes?: readonly number[] } = {},
  ): Promise<string> {
    const result = await this.deps.runner.run({
      tool: this.buildah,
      args: [...buildahGlobalArgs(this.options), ...args],
      env: this.deps.env,
      ...extra,
    });
    return result.stdout;
  }
}

/** The last line of a command's error output, where buildah says what stopped it. */
function lastLine(text: string): string {
  return (text.trim().split('\n').at(-1) ?? '').slice(0, 300);
}

/** The repositories of registry cache specs (`type=registry,ref=R` or a bare `R`); others are dropped. */
function registryCaches(specs: readonly string[]): string[] {
  const repos: string[] = [];
  for (const spec of specs) {
    const fields = spec.split(',').map((f) => f.trim());
    const type = fields.find((f) => f.startsWith('type='))?.slice('type='.length);
    if (type === undefined && !spec.includes('=')) repos.push(spec);
    else if (type === 'registry') {
      const ref = fields.find((f) => f.startsWith('ref='))?.slice('ref='.length);
      if (ref !== undefined && ref !== '') repos.push(ref);
    }
  }
  return repos;
}

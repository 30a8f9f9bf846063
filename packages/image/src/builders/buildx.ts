import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ActionError, systemClock, type CommandError, type RetryPolicy } from '@dreamscape/core';
import { parseReference } from '../reference.js';
import { preflightBuild } from './build-preflight.js';
import { materializeSecrets } from './build-secrets.js';
import type { Builder, BuilderDeps, BuildRequest, BuildResult, RegistryCredentials } from './builder.js';

/** How the buildx driver runs. */
export interface BuildxOptions {
  /** The docker CLI. Default `docker` on PATH. */
  readonly docker?: string;
  /** A buildx builder instance (`docker buildx --builder NAME`), e.g. one made by setup-buildx-action. */
  readonly builderInstance?: string;
  /** Retries of `docker login`. Default 3 attempts from 1 s. */
  readonly loginRetry?: RetryPolicy;
}

/** The paths and values a build's argv refers to, decided by the driver. */
export interface BuildxArgvFiles {
  readonly metadataFile: string;
  /** `--secret` values from {@link materializeSecrets}. */
  readonly secretSpecs: readonly string[];
}

const DEFAULT_LOGIN_RETRY: RetryPolicy = { attempts: 3, initialDelayMs: 1000 };

/**
 * The argv (after `docker`) of `docker buildx build` for a request. Pure, so the mapping from
 * inputs to flags is table-tested. Decisions it encodes:
 * - provenance and SBOM attestations are off unless asked, so GHCR shows no `unknown/unknown` entries;
 * - every `--cache-to` gets `ignore-error=true` unless it says otherwise: a cache that cannot be
 *   written never fails a build;
 * - a `type=gha` cache without `scope=` is scoped to the image's repository, so several images
 *   built in one repository do not overwrite each other's cache;
 * - the result is pushed when asked, else loaded into the local daemon when there is one platform
 *   (the docker image store holds one platform per tag), else only kept in the build cache.
 */
export function buildxBuildArgs(
  request: BuildRequest,
  files: BuildxArgvFiles,
  options: Pick<BuildxOptions, 'builderInstance'> = {},
): string[] {
  const args = ['buildx'];
  if (options.builderInstance !== undefined) args.push('--builder', options.builderInstance);
  args.push('build', '--progress=plain', '--file', request.dockerfile);
  if (request.target !== undefined && request.target !== '') args.push('--target', request.target);
  for (const [name, value] of request.buildArgs) args.push('--build-arg', `${name}=${value}`);
  for (const spec of files.secretSpecs) args.push('--secret', spec);
  for (const [key, value] of Object.entries(request.labels)) args.push('--label', `${key}=${value}`);
  for (const tag of request.tags) args.push('--tag', tag);
  if (request.platforms.length > 0) args.push('--platform', request.platforms.join(','));
  const scope = ghaScope(request.tags[0]);
  for (const spec of request.cacheFrom) args.push('--cache-from', scopeGhaCache(spec, scope));
  for (const spec of request.cacheTo) args.push('--cache-to', ignoreCacheErrors(scopeGhaCache(spec, scope)));
  args.push(
    `--provenance=${request.provenance === false ? 'false' : request.provenance === true ? 'true' : request.provenance}`,
  );
  args.push(`--sbom=${request.sbom ? 'true' : 'false'}`);
  args.push('--metadata-file', files.metadataFile);
  if (request.push) args.push('--push');
  else if (request.platforms.length <= 1) args.push('--load');
  args.push(request.context);
  return args;
}

/** The parts of buildx's `--metadata-file` JSON that matter here. */
export interface BuildxMetadata {
  /** `containerimage.digest`: the manifest (one platform) or index (several) digest. */
  readonly digest: string | undefined;
  /** `containerimage.config.digest`: the image ID, absent for a multi-platform index. */
  readonly configDigest: string | undefined;
  /** `containerimage.descriptor.mediaType`. */
  readonly mediaType: string | undefined;
  /** `image.name`, split on commas. */
  readonly imageNames: readonly string[];
  /** `buildx.build.ref`: `builder/node/ref`, for `docker buildx history`. */
  readonly buildRef: string | undefined;
  /** `buildx.build.warnings`, decoded (buildx base64-encodes them). */
  readonly warnings: readonly string[];
  /** The whole document. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * Parses what `docker buildx build --metadata-file` wrote (buildx 0.10 and later). `source` names
 * the file in errors.
 */
export function parseBuildxMetadata(text: string, source = 'metadata file'): BuildxMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ActionError(`The buildx ${source} is not JSON.`, { cause: error });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ActionError(`The buildx ${source} is not a JSON object.`);
  const doc = raw as Record<string, unknown>;
  const descriptor = asRecord(doc['containerimage.descriptor']);
  const digest = asString(doc['containerimage.digest']) ?? asString(descriptor?.digest);
  const names = asString(doc['image.name']);
  const warnings = Array.isArray(doc['buildx.build.warnings']) ? doc['buildx.build.warnings'] : [];
  return {
    digest,
    configDigest:
      asString(doc['containerimage.config.digest']) ??
      asString(asRecord(descriptor?.annotations)?.['config.digest']),
    mediaType: asString(descriptor?.mediaType),
    imageNames:
      names === undefined
        ? []
        : names
            .split(',')
            .map((n) => n.trim())
            .filter((n) => n !== ''),
    buildRef: asString(doc['buildx.build.ref']),
    warnings: warnings.map(describeWarning).filter((w) => w !== ''),
    raw: doc,
  };
}

/** Builds with `docker buildx build` (GitHub-hosted runners, anywhere a Docker daemon answers). */
export class BuildxBuilder implements Builder {
  readonly name = 'buildx' as const;
  private readonly deps: BuilderDeps;
  private readonly options: BuildxOptions;
  private readonly docker: string;

  constructor(deps: BuilderDeps, options: BuildxOptions = {}) {
    this.deps = deps;
    this.options = options;
    this.docker = options.docker ?? 'docker';
  }

  async version(): Promise<string> {
    const result = await this.deps.runner.run({
      tool: this.docker,
      args: ['buildx', 'version'],
      env: this.deps.env,
    });
    return result.stdout.trim().split('\n')[0] ?? '';
  }

  async login(credentials: RegistryCredentials): Promise<void> {
    this.deps.logger.setSecret(credentials.password);
    await this.deps.runner.run({
      tool: this.docker,
      args: ['login', '--username', credentials.username, '--password-stdin', credentials.registry],
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
    if (!request.push && request.platforms.length > 1)
      this.deps.logger.warning(
        `Not pushing a ${request.platforms.length}-platform build: the result stays in the build cache only (the docker image store holds one platform per tag).`,
      );
    const secrets = await materializeSecrets(request.secrets, this.deps);
    const workDir = await mkdtemp(join(this.deps.tempDir, 'buildx-'));
    const metadataFile = join(workDir, 'metadata.json');
    try {
      const args = buildxBuildArgs(request, { metadataFile, secretSpecs: secrets.specs }, this.options);
      this.deps.logger.info(
        `Building stage '${stage.name ?? `#${stage.index}`}' of ${request.dockerfile} with docker buildx${request.push ? ` and pushing ${request.tags.join(', ')}` : ''}.`,
      );
      const progress = (line: string): void => {
        this.deps.logger.info(line);
      };
      await this.deps.runner.run({
        tool: this.docker,
        args,
        env: this.deps.env,
        ...(request.signal === undefined ? {} : { signal: request.signal }),
        onStdoutLine: progress,
        onStderrLine: progress,
        maxStdoutBytes: 1024 * 1024,
      });
      const metadata = parseBuildxMetadata(
        await readFile(metadataFile, 'utf8'),
        `metadata file ${metadataFile}`,
      );
      for (const warning of metadata.warnings) this.deps.logger.warning(`buildx: ${warning}`);
      const digest = metadata.digest ?? (request.push ? undefined : metadata.configDigest);
      if (digest === undefined)
        throw new ActionError(
          'docker buildx build finished but reported no image digest (containerimage.digest).',
          {
            hint: 'Use a buildx 0.10 or later builder with an image exporter (--push or --load).',
          },
        );
      return {
        builder: 'buildx',
        digest,
        imageId: metadata.configDigest,
        platforms: request.platforms,
        metadata: metadata.raw,
        durationMs: clock.now() - started,
      };
    } finally {
      await secrets.cleanup();
      await rm(workDir, { recursive: true, force: true });
    }
  }
}

/** Registry failures worth another try: not a refusal of the credentials or the request. */
export function isTransientFailure(error: CommandError): boolean {
  if (error.spawnError !== undefined || error.timedOut || error.cancelled) return false;
  return !/unauthorized|denied|authentication required|incorrect username or password|invalid (reference|username|tag)|manifest unknown|name unknown/i.test(
    error.stderrTail,
  );
}

function scopeGhaCache(spec: string, scope: string | undefined): string {
  const fields = spec.split(',').map((f) => f.trim());
  if (scope === undefined || !fields.includes('type=gha') || fields.some((f) => f.startsWith('scope=')))
    return spec;
  return `${spec},scope=${scope}`;
}

function ignoreCacheErrors(spec: string): string {
  return spec.split(',').some((f) => f.trim().startsWith('ignore-error='))
    ? spec
    : `${spec},ignore-error=true`;
}

function ghaScope(firstTag: string | undefined): string | undefined {
  if (firstTag === undefined) return undefined;
  try {
    return parseReference(firstTag).repository.replace(/[^A-Za-z0-9._-]/g, '-');
  } catch {
    return undefined;
  }
}

function describeWarning(value: unknown): string {
  const warning = asRecord(value);
  const short = asString(warning?.short);
  if (short === undefined) return '';
  const text = Buffer.from(short, 'base64').toString('utf8');
  const url = asString(warning?.url);
  return url === undefined ? text : `${text} (${url})`;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ActionError, CommandError, systemClock, withRetry, type RetryPolicy } from '@dreamscape/core';
import { parseReference } from '../reference.js';
import { isLoopbackRegistry } from '../registry-transport.js';
import { preflightBuild } from './build-preflight.js';
import { materializeSecrets } from './build-secrets.js';
import type { Builder, BuilderDeps, BuildRequest, BuildResult, RegistryCredentials } from './builder.js';
import { classifyBuildxFailure } from './buildx-failure.js';
import { driverNeeds, ownBuilderSpec, parseBuildxInspect, type BuildxInstance } from './buildx-instance.js';

/**
 * What the `buildx-builder` input accepts: `auto` builds with the current builder when its driver
 * can do what the build asks, else with a docker-container builder this action creates; `current`
 * never creates one and fails before building when the current builder's driver falls short.
 */
export const BUILDX_BUILDER_CHOICES = ['auto', 'current'] as const;
export type BuildxBuilderChoice = (typeof BUILDX_BUILDER_CHOICES)[number];

/** How the buildx driver runs. */
export interface BuildxOptions {
  /** The docker CLI. Default `docker` on PATH. */
  readonly docker?: string;
  /**
   * A buildx builder instance (`docker buildx --builder NAME`), e.g. one made by
   * setup-buildx-action. When it is named, it is used or the build fails: it is never replaced.
   */
  readonly builderInstance?: string;
  /** Whether a docker-container builder may be created when the current one cannot build the request. Default `auto`. */
  readonly builder?: BuildxBuilderChoice;
  /** Retries of `docker login`. Default 3 attempts from 1 s. */
  readonly loginRetry?: RetryPolicy;
  /**
   * Attempts of a `buildx build --push` whose push fails on the way (5xx, 429, a dropped
   * connection, a timeout). Default 3 attempts, 5 s then 10 s apart. A refusal is never retried.
   */
  readonly pushRetry?: RetryPolicy;
}

/** The paths and values a build's argv refers to, decided by the driver. */
export interface BuildxArgvFiles {
  readonly metadataFile: string;
  /** `--secret` values from {@link materializeSecrets}. */
  readonly secretSpecs: readonly string[];
}

const DEFAULT_LOGIN_RETRY: RetryPolicy = { attempts: 3, initialDelayMs: 1000 };
const DEFAULT_PUSH_RETRY: RetryPolicy = { attempts: 3, initialDelayMs: 5000 };
const CREATE_HINT =
  'Set `buildx-builder: auto` to let this action create a docker-container builder, add docker/setup-buildx-action before this step, turn on the containerd image store of the Docker daemon, or leave those inputs out.';

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

/**
 * Builds with `docker buildx build` (GitHub-hosted runners, anywhere a Docker daemon answers).
 *
 * Before building, the builder is chosen: the current one (or {@link BuildxOptions.builderInstance})
 * when its driver can do what the request asks; otherwise, with `builder: auto`, a docker-container
 * builder of this action's own (created once, bootstrapped, and reused by later builds with the
 * same settings; the current builder is left as it was). A push that fails on the way is retried by
 * running the same `buildx build --push` again: BuildKit's cache holds every step, so the second
 * run only exports and pushes, and only the blobs the registry does not have yet.
 */
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
    const instance = await this.chooseBuilder(request);
    const secrets = await materializeSecrets(request.secrets, this.deps);
    const workDir = await mkdtemp(join(this.deps.tempDir, 'buildx-'));
    const metadataFile = join(workDir, 'metadata.json');
    try {
      const args = buildxBuildArgs(
        request,
        { metadataFile, secretSpecs: secrets.specs },
        instance === undefined ? {} : { builderInstance: instance },
      );
      this.deps.logger.info(
        `Building stage '${stage.name ?? `#${stage.index}`}' of ${request.dockerfile} with docker buildx${request.push ? ` and pushing ${request.tags.join(', ')}` : ''}.`,
      );
      await this.runBuild(request, args, metadataFile);
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

  /**
   * Runs the build; a push that fails on the way runs it again (see the class comment), up to
   * {@link BuildxOptions.pushRetry}, with a warning naming the attempt and the reason. A refused
   * push fails at once with what the registry said.
   */
  private async runBuild(
    request: BuildRequest,
    args: readonly string[],
    metadataFile: string,
  ): Promise<void> {
    const { logger } = this.deps;
    const policy = this.options.pushRetry ?? DEFAULT_PUSH_RETRY;
    const progress = (line: string): void => {
      logger.info(line);
    };
    let attempts = 0;
    try {
      await withRetry(
        async () => {
          attempts++;
          // A metadata file left by an earlier attempt must not pass for this one's.
          await rm(metadataFile, { force: true });
          await this.deps.runner.run({
            tool: this.docker,
            args,
            env: this.deps.env,
            ...(request.signal === undefined ? {} : { signal: request.signal }),
            onStdoutLine: progress,
            onStderrLine: progress,
            maxStdoutBytes: 1024 * 1024,
          });
        },
        {
          policy,
          ...(this.deps.clock === undefined ? {} : { clock: this.deps.clock }),
          ...(request.signal === undefined ? {} : { signal: request.signal }),
          retryable: (error) =>
            request.push &&
            error instanceof CommandError &&
            !error.timedOut &&
            !error.cancelled &&
            classifyBuildxFailure(error.stderrTail).transient,
          onRetry: (error, attempt, delayMs) => {
            const reason = classifyBuildxFailure((error as CommandError).stderrTail).reason;
            logger.warning(
              `The push of ${request.tags.join(', ')} failed on attempt ${attempt} of ${policy.attempts}: ${reason}. Running docker buildx build --push again in ${Math.round(delayMs / 1000)} s; the build itself comes from the builder's cache.`,
            );
          },
        },
      );
    } catch (error) {
      if (!request.push || !(error instanceof CommandError) || error.timedOut || error.cancelled) throw error;
      const failure = classifyBuildxFailure(error.stderrTail);
      if (!failure.push) throw error;
      if (failure.transient)
        throw new ActionError(
          `The push of ${request.tags.join(', ')} failed ${attempts} time${attempts === 1 ? '' : 's'}; the last time: ${failure.reason}.`,
          { hint: 'The registry kept failing; try again later or check its status page.', cause: error },
        );
      if (!failure.refused)
        throw new ActionError(
          `The push of ${request.tags.join(', ')} failed: ${failure.reason}. Not retried: it does not look like the passing failure of a registry or a network.`,
          { cause: error },
        );
      throw new ActionError(
        `The registry refused the push of ${request.tags.join(', ')}: ${failure.reason}. Not retried: another attempt would get the same answer.`,
        {
          hint: 'Check the username and password or token, and that they may push to this repository (on GHCR with the workflow token: `permissions: packages: write`, and the package giving this repository write access).',
          cause: error,
        },
      );
    }
  }

  /** The builder instance to pass with `--builder`, undefined for the current one (see the class comment). */
  private async chooseBuilder(request: BuildRequest): Promise<string | undefined> {
    const { logger } = this.deps;
    const named = this.options.builderInstance;
    const current = await this.inspect(named);
    const missing = driverNeeds(request).filter((need) => !current.features[need.feature]);
    if (missing.length === 0) {
      this.warnAboutRegistries(request, current);
      return named;
    }
    const what = missing.map((m) => m.what).join('; ');
    const why = `The buildx builder '${current.name}' uses the ${current.driver} driver, which cannot do what ${missing.length === 1 ? 'this input asks' : 'these inputs ask'}: ${what}. ${missing.length === 1 ? 'It needs' : 'They need'} the docker-container driver (or the containerd image store of the Docker daemon).`;
    if (named !== undefined || (this.options.builder ?? 'auto') === 'current')
      throw new ActionError(
        `${why}${named === undefined ? " Input 'buildx-builder' is 'current', so none was created." : ''}`,
        { hint: CREATE_HINT },
      );
    const spec = ownBuilderSpec(request);
    const existing = await this.inspect(spec.name).catch((error: unknown) => {
      if (error instanceof CommandError && /no builder .* found/.test(error.stderrTail)) return undefined;
      throw error;
    });
    if (existing !== undefined && existing.driver !== 'docker-container')
      throw new ActionError(
        `A buildx builder named '${spec.name}' exists with the ${existing.driver} driver; this action creates that name with the docker-container driver.`,
        { hint: `Remove it with \`docker buildx rm ${spec.name}\`.` },
      );
    if (existing === undefined) {
      logger.info(`${why} Creating the docker-container builder '${spec.name}' for it.`);
      await this.createBuilder(spec);
    } else {
      logger.info(
        `${why} Building with the docker-container builder '${spec.name}' an earlier build created.`,
      );
    }
    logger.info(
      `The builder '${current.name}' stays the current one; '${spec.name}' stays for later builds to reuse its cache (\`docker buildx rm ${spec.name}\` removes it).`,
    );
    return spec.name;
  }

  private async inspect(name: string | undefined): Promise<BuildxInstance> {
    const result = await this.deps.runner.run({
      tool: this.docker,
      args: ['buildx', 'inspect', ...(name === undefined ? [] : [name])],
      env: this.deps.env,
      timeoutMs: 60_000,
    });
    return parseBuildxInspect(result.stdout);
  }

  private async createBuilder(spec: ReturnType<typeof ownBuilderSpec>): Promise<void> {
    const dir = await mkdtemp(join(this.deps.tempDir, 'buildx-builder-'));
    try {
      const args = ['buildx', 'create', '--name', spec.name, '--driver', 'docker-container'];
      for (const opt of spec.driverOpts) args.push('--driver-opt', opt);
      if (spec.config !== undefined) {
        // buildx keeps the file's content with the builder: the copy here can go afterwards.
        const file = join(dir, 'buildkitd.toml');
        await writeFile(file, spec.config);
        // `--buildkitd-config` since buildx 0.13; before it, the same flag was called `--config`.
        args.push((await this.buildxBefore(0, 13)) ? '--config' : '--buildkitd-config', file);
      }
      args.push('--bootstrap');
      const progress = (line: string): void => {
        this.deps.logger.info(line);
      };
      await this.deps.runner.run({
        tool: this.docker,
        args,
        env: this.deps.env,
        timeoutMs: 300_000,
        onStderrLine: progress,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Whether `docker buildx version` names a version older than `major.minor` (unknown: no). */
  private async buildxBefore(major: number, minor: number): Promise<boolean> {
    const found = /\bv(\d+)\.(\d+)\./.exec(await this.version());
    if (found === null) return false;
    const [have, haveMinor] = [Number(found[1]), Number(found[2])];
    return have < major || (have === major && haveMinor < minor);
  }

  /**
   * A builder this action did not create takes its registry settings from elsewhere: the Docker
   * daemon's configuration (`docker` driver; it reaches loopback registries over plain http by
   * itself) or its own BuildKit configuration. Say so when a registry needs one.
   */
  private warnAboutRegistries(request: BuildRequest, instance: BuildxInstance): void {
    const plain = new Set(request.plainHttpRegistries ?? []);
    for (const registry of request.insecureRegistries ?? []) {
      if (instance.driver === 'docker' && isLoopbackRegistry(registry)) continue;
      const how = plain.has(registry) ? 'over plain http' : 'without checking its certificate';
      this.deps.logger.warning(
        instance.driver === 'docker'
          ? `${registry} is reached ${how}; the docker driver pushes and pulls as the Docker daemon is configured, so its insecure-registries (daemon.json) must list ${registry}.`
          : `${registry} is reached ${how}; the builder '${instance.name}' pushes or pulls there only if its BuildKit configuration says so ([registry."${registry}"] ${plain.has(registry) ? 'http' : 'insecure'} = true).`,
      );
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

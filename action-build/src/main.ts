import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '@dreamscape/core/actions';
import {
  ActionError,
  FetchHttpClient,
  ProcessCommandRunner,
  type CommandRunner,
  type Logger,
} from '@dreamscape/core';
import {
  computeBuildFingerprint,
  DEFAULT_TAG_RULES,
  FINGERPRINT_LABEL,
  findReusableImage,
  tagManifest,
  computeTags,
  defaultRegistryScheme,
  formatName,
  imageTags,
  isGhcr,
  normalizeGhcrReference,
  ociLabels,
  parseTagRules,
  readGitHubContext,
  RegistryClient,
  revisionOf,
  selectBuilder,
  type BuildRecord,
  type ImageManifest,
  type LatestPolicy,
  type Builder,
  type RegistryLogin,
} from '@dreamscape/image';
import { readInputs } from './inputs.js';
import { renderSummary } from './summary.js';

/** Builds the image, pushes it, proves the digest with the registry and reports. */
export async function run(): Promise<void> {
  await runAction(async (rt) => {
    const started = Date.now();
    const { logger } = rt;
    const inputs = readInputs(rt.inputs, process.env);
    // Credentials are masked before anything else can print them.
    if (inputs.password !== '') logger.setSecret(inputs.password);
    for (const secret of inputs.secrets) if ('value' in secret) logger.setSecret(secret.value);
    // Said up front, and as a notice when 'auto' held back: a build that silently did not push
    // would look like a registry problem.
    const { pushDecision } = inputs;
    if (!pushDecision.push && pushDecision.automatic) logger.notice(`Not pushing: ${pushDecision.reason}`);
    else logger.info(`${pushDecision.push ? 'Pushing' : 'Not pushing'}: ${pushDecision.reason}.`);

    const context = readGitHubContext(process.env);
    const name = normalizeGhcrReference(inputs.image, logger, { input: 'image', defaultTag: false });
    if (name.tag !== undefined || name.digest !== undefined) {
      throw new ActionError(
        `Input 'image' must name a repository without a tag or digest, got '${inputs.image}'. Tags come from the 'tags' rules.`,
      );
    }
    const latest = inputs.latest === 'auto' ? undefined : (inputs.latest as LatestPolicy);
    const tagSet = computeTags(parseTagRules(inputs.tagRules || DEFAULT_TAG_RULES, 'tags'), context, {
      ...(latest === undefined ? {} : { latest }),
      prHeadSha: true,
    });
    const tags = imageTags([name], tagSet.tags);
    if (inputs.push && tags.length === 0) {
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
        ...inputs.labels,
      ],
    });
    const registry = inputs.registry ?? name.registry;
    const insecure = defaultRegistryScheme(registry) === 'http' ? [registry] : [];
    if (inputs.push && inputs.password === '' && isGhcr(registry)) {
      throw new ActionError(`Input 'password' is empty, and pushing to ${registry} needs a token.`, {
        hint: 'Leave the default (the workflow token, github.token) and grant the job `permissions: packages: write`.',
      });
    }
    const logins: RegistryLogin[] =
      inputs.password === '' ? [] : [{ registry, username: inputs.username, password: inputs.password }];
    const registryClient = new RegistryClient({ http: new FetchHttpClient(), logger, logins });

    if (inputs.push) {
      await logger.group(`Registry ${registry}`, async () => {
        // Fails fast, before a long build, on an unreachable registry or wrong credentials.
        await registryClient.verifyLogin(registry);
        logger.info(
          `${registry} answers and accepts ${logins.length === 0 ? 'anonymous access' : `the credentials of ${inputs.username}`}.`,
        );
      });
    }

    const tempRoot = process.env.RUNNER_TEMP ?? tmpdir();
    mkdirSync(tempRoot, { recursive: true });
    const tempDir = mkdtempSync(join(tempRoot, 'dreamscape-build-'));
    try {
      const runner = new ProcessCommandRunner({ logger });
      const builder = await selectBuilder({
        preference: inputs.builder,
        runner,
        logger,
        tempDir,
        // The login lands in the run's temp directory, removed at the end, not in buildah's
        // per-user file, which outlives the job (and, on a self-hosted runner, the next jobs).
        buildah: { insecureRegistries: insecure, authFile: join(tempDir, 'registry-auth.json') },
      });
      const builderVersion = await builder.version();

      // An image built from exactly these inputs may already be in the registry: then point the
      // tags at it instead of building (ADR 0002).
      const fingerprint =
        inputs.push && inputs.reuse
          ? await logger.group('Build fingerprint', () =>
              computeBuildFingerprint(
                {
                  context: inputs.context,
                  dockerfile: inputs.dockerfile,
                  target: inputs.target,
                  buildArgs: inputs.buildArgs,
                  secretIds: inputs.secrets.map((x) => x.id),
                  labels,
                  platforms: inputs.platforms,
                  builder: builder.name,
                  provenance: inputs.provenance,
                  sbom: inputs.sbom,
                },
                {
                  resolveImage: (ref) => resolveBaseImage(ref, builder, runner, registryClient, logger),
                  logger,
                },
              ),
            )
          : undefined;
      const reusable =
        fingerprint === undefined
          ? undefined
          : await findReusableImage({
              client: registryClient,
              name,
              tags,
              fingerprint: fingerprint.value,
              logger,
            });

      let result: { digest: string; platforms: readonly string[] };
      if (reusable !== undefined) {
        result = await logger.group(`Reuse ${reusable.ref}`, async () => {
          logger.info(
            `${reusable.ref} was built from identical inputs (${fingerprint?.value ?? ''}): not rebuilding.`,
          );
          for (const t of await tagManifest({ client: registryClient, image: reusable, tags, logger }))
            logger.info(
              `${t.ref} ${t.action === 'kept' ? 'already points at' : 'now points at'} ${t.digest}`,
            );
          return { digest: reusable.manifestDigest, platforms: inputs.platforms };
        });
      } else {
        if (inputs.push && logins[0] !== undefined) await builder.login(logins[0]);
        result = await logger.group(`Build ${formatName(name)} with ${builder.name}`, () =>
          builder.build({
            context: inputs.context,
            dockerfile: inputs.dockerfile,
            target: inputs.target,
            buildArgs: inputs.buildArgs,
            secrets: inputs.secrets,
            labels:
              fingerprint === undefined ? labels : { ...labels, [FINGERPRINT_LABEL]: fingerprint.value },
            tags: tags.length === 0 ? [`${formatName(name)}:build`] : tags,
            platforms: inputs.platforms,
            cacheFrom: inputs.cacheFrom,
            cacheTo: inputs.cacheTo,
            push: inputs.push,
            provenance: inputs.provenance,
            sbom: inputs.sbom,
            insecureRegistries: insecure,
          }),
        );
      }

      let sizeBytes: number | undefined;
      if (inputs.push) {
        sizeBytes = await logger.group('Verify the pushed digest', async () => {
          for (const tag of tags) {
            const held = await registryClient.digestOf(tag);
            if (held !== result.digest) {
              throw new ActionError(
                `The registry holds ${held} for ${tag}, but ${builder.name} reported ${result.digest}.`,
                { hint: 'Another push to the same tag may have raced this one; re-run the job.' },
              );
            }
            logger.info(`${tag} → ${held} ✓`);
          }
          const ref = `${formatName(name)}@${result.digest}`;
          const top = await registryClient.getManifest(ref);
          if ('layers' in top.manifest) return imageSize(top.manifest);
          // A multi-platform index: report the size of the platform a runner would pull.
          const config = await registryClient.getImageConfig(ref);
          const single = await registryClient.getManifest(`${formatName(name)}@${config.manifestDigest}`);
          return 'layers' in single.manifest ? imageSize(single.manifest) : undefined;
        });
      }

      const record: BuildRecord = {
        image: `${formatName(name)}@${result.digest}`,
        digest: result.digest,
        tags,
        platforms: result.platforms,
        labels,
        builder: reusable === undefined ? builder.name : `${builder.name} (reused)`,
        revision: revisionOf(context, { prHeadSha: true }),
      };
      rt.setOutput('image', record.image);
      rt.setOutput('digest', record.digest);
      rt.setOutput('tags', JSON.stringify(record.tags));
      rt.setOutput('labels', JSON.stringify(record.labels));
      rt.setOutput('metadata', JSON.stringify(record));
      logger.info(`Built ${record.image}${inputs.push ? ' and pushed it' : ''}.`);
      await rt.appendSummary(
        renderSummary({
          record,
          pushed: inputs.push,
          sizeBytes,
          builderVersion,
          durationMs: Date.now() - started,
        }),
      );
    } finally {
      removeQuietly(tempDir);
    }
  });
}

/**
 * The digest (or local image ID) a base image resolves to for this builder: buildah uses a local
 * copy when it has one, so that wins; otherwise the registry's digest, as any builder pulls it.
 */
async function resolveBaseImage(
  ref: string,
  builder: Builder,
  runner: CommandRunner,
  registry: RegistryClient,
  logger: Logger,
): Promise<string | undefined> {
  if (builder.name === 'buildah') {
    try {
      const out = await runner.run({
        tool: 'buildah',
        args: ['inspect', '--type', 'image', '--format', '{{.FromImageID}}', ref],
      });
      const id = out.stdout.trim();
      if (id !== '') return `local:${id}`;
    } catch {
      // not in local storage: buildah would pull it, so the registry says what it is
    }
  }
  try {
    return await registry.digestOf(ref);
  } catch (error) {
    logger.info(
      `Base image ${ref} could not be resolved (${error instanceof Error ? error.message : String(error)}).`,
    );
    return undefined;
  }
}

/** Config plus layers: what a pull downloads (compressed). */
function imageSize(manifest: ImageManifest): number {
  return manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
}

/** Cleans up the run's temporary files; a kubectl still exiting must not turn a result into an error. */
function removeQuietly(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  } catch {
    // The runner deletes RUNNER_TEMP after the job anyway.
  }
}

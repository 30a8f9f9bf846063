import { readFile } from 'node:fs/promises';
import { ActionError, type CommandRunner, type Logger } from '@dreamscape/core';
import { resolveBaseImage } from './base-image-resolver.js';
import type { ImageBuildPlan } from './build-plan.js';
import { computeBuildFingerprint, FINGERPRINT_LABEL, type BuildFingerprint } from './build-fingerprint.js';
import type { BuildRecord } from './build-record.js';
import type { Builder, BuildRequest } from './builders/builder.js';
import { findReusableImage, tagManifest, type ReusableImage } from './image-reuse.js';
import type { ImageManifest } from './manifest.js';
import { baseImagesOf } from './dockerfile-base-images.js';
import { formatName, parseReference } from './reference.js';
import { mayFallBackToHttp } from './registry-transport.js';
import type { RegistryClient } from './registry-client.js';

/** What is built: the builder's request without the names, labels and push the plan decides. */
export type BuildSource = Pick<
  BuildRequest,
  | 'context'
  | 'dockerfile'
  | 'target'
  | 'buildArgs'
  | 'secrets'
  | 'platforms'
  | 'cacheFrom'
  | 'cacheTo'
  | 'provenance'
  | 'sbom'
>;

/** Options for {@link buildOrReuse}. */
export interface BuildOrReuseOptions {
  readonly source: BuildSource;
  readonly plan: ImageBuildPlan;
  /** Look for an image built from identical inputs before building (ADR 0002); only when pushing. */
  readonly reuse: boolean;
  /** The commit built, for the record. */
  readonly revision: string;
  readonly builder: Builder;
  /** Runs `buildah inspect` to pin base images the builder has locally. */
  readonly runner: CommandRunner;
  readonly registry: RegistryClient;
  readonly logger: Logger;
}

/** What {@link buildOrReuse} produced. */
export interface BuildOrReuseResult {
  /** The image by digest; when pushed, the digest every tag was verified to hold. */
  readonly record: BuildRecord;
  /** An image already in the registry was tagged instead of building. */
  readonly reused: boolean;
  /** The fingerprint computed for the build, when there is one. */
  readonly fingerprint: BuildFingerprint | undefined;
  /** Config plus layers of the pushed image (the runner's platform of an index); undefined without a push. */
  readonly sizeBytes: number | undefined;
}

/**
 * Builds the plan's image, or, when pushing with `reuse`, points its tags at an image in the
 * registry whose fingerprint label says it was built from the same inputs. A pushed result is then
 * verified: every tag must hold the reported digest. Each step runs in its own phase (`Build
 * fingerprint`, `Reuse <ref>` or `Build <image> with <builder>`, `Verify the pushed digest`), since
 * which ones run depends on what is decided here.
 */
export async function buildOrReuse(options: BuildOrReuseOptions): Promise<BuildOrReuseResult> {
  const { source, plan, builder, registry, logger } = options;
  const fingerprint =
    plan.push && options.reuse
      ? await logger.group('Build fingerprint', () =>
          computeBuildFingerprint(
            {
              context: source.context,
              dockerfile: source.dockerfile,
              target: source.target,
              buildArgs: source.buildArgs,
              secretIds: source.secrets.map((x) => x.id),
              labels: plan.labels,
              platforms: source.platforms,
              builder: builder.name,
              provenance: source.provenance,
              sbom: source.sbom,
            },
            {
              resolveImage: (ref) =>
                resolveBaseImage(ref, { builder: builder.name, runner: options.runner, registry, logger }),
              logger,
            },
          ),
        )
      : undefined;
  const reusable =
    fingerprint === undefined
      ? undefined
      : await findReusableImage({
          client: registry,
          name: plan.name,
          tags: plan.tags,
          fingerprint: fingerprint.value,
          logger,
        });

  const result =
    reusable === undefined
      ? await build(options, fingerprint)
      : await reuse(options, reusable, fingerprint?.value ?? '');

  const sizeBytes = plan.push
    ? await logger.group('Verify the pushed digest', () =>
        verifyPushed(registry, plan, result.digest, builder.name, logger),
      )
    : undefined;

  return {
    record: {
      image: `${formatName(plan.name)}@${result.digest}`,
      digest: result.digest,
      tags: plan.tags,
      platforms: result.platforms,
      labels: plan.labels,
      builder: reusable === undefined ? builder.name : `${builder.name} (reused)`,
      revision: options.revision,
    },
    reused: reusable !== undefined,
    fingerprint,
    sizeBytes,
  };
}

interface Built {
  readonly digest: string;
  readonly platforms: readonly string[];
}

async function reuse(
  options: BuildOrReuseOptions,
  reusable: ReusableImage,
  fingerprint: string,
): Promise<Built> {
  const { plan, registry, logger } = options;
  return logger.group(`Reuse ${reusable.ref}`, async () => {
    logger.info(`${reusable.ref} was built from identical inputs (${fingerprint}): not rebuilding.`);
    for (const t of await tagManifest({ client: registry, image: reusable, tags: plan.tags, logger }))
      logger.info(`${t.ref} ${t.action === 'kept' ? 'already points at' : 'now points at'} ${t.digest}`);
    return { digest: reusable.manifestDigest, platforms: options.source.platforms };
  });
}

async function build(
  options: BuildOrReuseOptions,
  fingerprint: BuildFingerprint | undefined,
): Promise<Built> {
  const { source, plan, builder, logger } = options;
  const pushes = plan.push ? await builderAccess(options.registry, plan) : undefined;
  const pulls = await baseImageAccess(options.registry, source, plan, logger);
  const access =
    pushes === undefined && pulls.insecureRegistries.length === 0
      ? undefined
      : {
          insecureRegistries: unique([
            ...(pushes?.insecureRegistries ?? plan.insecureRegistries),
            ...pulls.insecureRegistries,
          ]),
          plainHttpRegistries: unique([...(pushes?.plainHttpRegistries ?? []), ...pulls.plainHttpRegistries]),
        };
  const login = plan.logins[0];
  if (plan.push && login !== undefined)
    await builder.login(login, { insecure: access?.insecureRegistries.includes(login.registry) ?? false });
  return logger.group(`Build ${formatName(plan.name)} with ${builder.name}`, () =>
    builder.build({
      context: source.context,
      dockerfile: source.dockerfile,
      target: source.target,
      buildArgs: source.buildArgs,
      secrets: source.secrets,
      labels:
        fingerprint === undefined ? plan.labels : { ...plan.labels, [FINGERPRINT_LABEL]: fingerprint.value },
      tags: plan.tags.length === 0 ? [`${formatName(plan.name)}:build`] : plan.tags,
      platforms: source.platforms,
      cacheFrom: source.cacheFrom,
      cacheTo: source.cacheTo,
      push: plan.push,
      provenance: source.provenance,
      sbom: source.sbom,
      insecureRegistries: access?.insecureRegistries ?? plan.insecureRegistries,
      plainHttpRegistries: access?.plainHttpRegistries ?? [],
      insecurePulls: pulls.insecureRegistries,
    }),
  );
}

/**
 * The registries the builder pushes to (the tags' and the login's), reached as the registry client
 * reached them: over plain http when it fell back to it (a loopback registry without TLS), or
 * without checking the certificate when the user listed it as insecure. Anything else the builder
 * reaches over https with its certificate checked, as it does by default.
 */
async function builderAccess(
  registry: RegistryClient,
  plan: ImageBuildPlan,
): Promise<{ insecureRegistries: string[]; plainHttpRegistries: string[] }> {
  const registries = [...new Set([plan.registry, ...plan.tags.map((t) => parseReference(t).registry)])];
  const insecureRegistries: string[] = [];
  const plainHttpRegistries: string[] = [];
  for (const name of registries) {
    const transport = await registry.transport(name);
    if (transport.scheme === 'http') plainHttpRegistries.push(name);
    if (transport.scheme === 'http' || !transport.verifyTls) insecureRegistries.push(name);
  }
  return { insecureRegistries, plainHttpRegistries };
}

/**
 * The registries of the Dockerfile's base images that the builder must reach without TLS checks:
 * a loopback registry answering plain http (a runner's local mirror), or one the user listed as
 * insecure, as the registry client reached them. Other registries are not asked anything here: the
 * builder pulls from them over https with the certificate checked.
 */
async function baseImageAccess(
  registry: RegistryClient,
  source: BuildSource,
  plan: ImageBuildPlan,
  logger: Logger,
): Promise<{ insecureRegistries: string[]; plainHttpRegistries: string[] }> {
  const none = { insecureRegistries: [], plainHttpRegistries: [] };
  let text: string;
  try {
    text = await readFile(source.dockerfile, 'utf8');
  } catch {
    return none; // the builder says why it cannot read it
  }
  const bases = baseImagesOf(text, {
    target: source.target,
    buildArgs: source.buildArgs,
    includeSyntax: false,
  });
  if (!bases.pinnable) return none;
  const registries = new Set<string>();
  for (const image of bases.images) {
    try {
      registries.add(parseReference(image).registry);
    } catch {
      // a reference the builder will refuse with its own message
    }
  }
  const insecureRegistries: string[] = [];
  const plainHttpRegistries: string[] = [];
  for (const name of registries) {
    if (!mayFallBackToHttp(name, plan.insecureRegistries)) continue;
    let transport;
    try {
      transport = await registry.transport(name);
    } catch {
      continue; // unreachable: the builder's pull reports it
    }
    if (transport.scheme === 'http') plainHttpRegistries.push(name);
    if (transport.scheme === 'http' || !transport.verifyTls) insecureRegistries.push(name);
  }
  if (insecureRegistries.length > 0)
    logger.info(
      `Base images come from ${insecureRegistries.join(', ')} without TLS checks (${plainHttpRegistries.length > 0 ? 'plain http on a loopback address' : 'listed in insecure-registries'}): the builder pulls them the same way.`,
    );
  return { insecureRegistries, plainHttpRegistries };
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/**
 * Every tag must hold `digest` (a concurrent push to the same tag would show here), and the size
 * reported is that of what a runner pulls.
 */
async function verifyPushed(
  registry: RegistryClient,
  plan: ImageBuildPlan,
  digest: string,
  builderName: string,
  logger: Logger,
): Promise<number | undefined> {
  for (const tag of plan.tags) {
    const held = await registry.digestOf(tag);
    if (held !== digest) {
      throw new ActionError(`The registry holds ${held} for ${tag}, but ${builderName} reported ${digest}.`, {
        hint: 'Another push to the same tag may have raced this one; re-run the job.',
      });
    }
    logger.info(`${tag} → ${held} ✓`);
  }
  const ref = `${formatName(plan.name)}@${digest}`;
  const top = await registry.getManifest(ref);
  if ('layers' in top.manifest) return imageSize(top.manifest);
  // A multi-platform index: report the size of the platform a runner would pull.
  const config = await registry.getImageConfig(ref);
  const single = await registry.getManifest(`${formatName(plan.name)}@${config.manifestDigest}`);
  return 'layers' in single.manifest ? imageSize(single.manifest) : undefined;
}

/** Config plus layers: what a pull downloads (compressed). */
function imageSize(manifest: ImageManifest): number {
  return manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
}

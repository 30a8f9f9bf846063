import { createHash } from 'node:crypto';
import { parseReference } from '../reference.js';
import { isLoopbackRegistry } from '../registry-transport.js';
import type { BuildRequest } from './builder.js';

/** What buildx can do with a builder, as buildx itself decides before a build starts. */
export interface BuildxFeatures {
  /** `--cache-to` of any type but `inline`. */
  readonly cacheExport: boolean;
  /** Several platforms at once, and attestations (buildx ties both to the same feature). */
  readonly multiPlatform: boolean;
}

/** A buildx builder as `docker buildx inspect` describes it. */
export interface BuildxInstance {
  readonly name: string;
  /** `docker`, `docker-container`, `kubernetes`, `remote`, ... */
  readonly driver: string;
  readonly features: BuildxFeatures;
}

/** Something a build request asks for that not every driver can do. */
export interface DriverNeed {
  /** The action input that asks for it. */
  readonly input: 'cache-to' | 'platforms' | 'provenance' | 'sbom';
  /** What it asks for, for messages: `cache-to type=gha,mode=max (a cache export)`. */
  readonly what: string;
  readonly feature: keyof BuildxFeatures;
}

/**
 * Reads `docker buildx inspect` output. The `docker` driver exports caches, builds several
 * platforms and attaches attestations only on the containerd image store, which buildx recognises
 * by the worker label `org.mobyproject.buildkit.worker.snapshotter` (shown under `Labels:`); every
 * other driver can. A `Features:` block, which some buildx versions print, is taken as it is.
 */
export function parseBuildxInspect(text: string): BuildxInstance {
  const lines = text.split(/\r?\n/);
  const field = (name: string): string | undefined =>
    lines
      .find((l) => l.startsWith(`${name}:`))
      ?.slice(name.length + 1)
      .trim();
  const name = field('Name') ?? '';
  const driver = field('Driver') ?? '';
  const listed = (feature: string): boolean | undefined => {
    const line = lines.find((l) => l.trim().startsWith(`${feature}:`));
    const value = line?.slice(line.indexOf(':') + 1).trim();
    return value === 'true' ? true : value === 'false' ? false : undefined;
  };
  const containerdStore = lines.some((l) =>
    l.trim().startsWith('org.mobyproject.buildkit.worker.snapshotter:'),
  );
  const full = driver !== 'docker' || containerdStore;
  return {
    name,
    driver,
    features: {
      cacheExport: listed('Cache export') ?? full,
      multiPlatform: listed('Multi-platform build') ?? full,
    },
  };
}

/** Everything in a request that some drivers cannot do, naming the input that asks for it. */
export function driverNeeds(request: BuildRequest): DriverNeed[] {
  const needs: DriverNeed[] = [];
  for (const spec of request.cacheTo) {
    const type = cacheType(spec);
    if (type !== 'inline')
      needs.push({ input: 'cache-to', what: `cache-to ${spec} (a cache export)`, feature: 'cacheExport' });
  }
  if (request.platforms.length > 1)
    needs.push({
      input: 'platforms',
      what: `platforms ${request.platforms.join(',')} (a multi-platform build)`,
      feature: 'multiPlatform',
    });
  if (request.provenance !== false)
    needs.push({
      input: 'provenance',
      what: `provenance ${request.provenance === true ? 'true' : request.provenance} (an attestation)`,
      feature: 'multiPlatform',
    });
  if (request.sbom)
    needs.push({ input: 'sbom', what: 'sbom true (an attestation)', feature: 'multiPlatform' });
  return needs;
}

/** What the builder this action creates is made with. */
export interface OwnBuilderSpec {
  /** `dreamscape-buildx-<hash>`: the same settings give the same name, so a later build reuses it. */
  readonly name: string;
  /** `--driver-opt` values. */
  readonly driverOpts: readonly string[];
  /** The buildkitd.toml, when registries need settings; undefined otherwise. */
  readonly config: string | undefined;
}

/**
 * The docker-container builder for a request. Its BuildKit runs in a container, so a registry on
 * this machine is reachable only with the host's network (`network=host`), and a registry reached
 * over plain http (or without checking its certificate) must be declared in its configuration:
 * `http = true` for the ones in `plainHttpRegistries`, `insecure = true` for the others in
 * `insecureRegistries`, and nothing for any other registry.
 */
export function ownBuilderSpec(request: BuildRequest): OwnBuilderSpec {
  const plain = new Set(request.plainHttpRegistries ?? []);
  const sections = [...new Set(request.insecureRegistries ?? [])]
    .sort()
    .map((registry) =>
      plain.has(registry)
        ? `[registry."${registry}"]\n  http = true\n`
        : `[registry."${registry}"]\n  insecure = true\n`,
    );
  const config = sections.length === 0 ? undefined : sections.join('\n');
  const registries = [
    ...request.tags.map((t) => registryOf(t)),
    ...[...request.cacheFrom, ...request.cacheTo].map((c) => registryOf(cacheRef(c) ?? '')),
  ];
  const driverOpts = registries.some((r) => r !== undefined && isLoopbackRegistry(r)) ? ['network=host'] : [];
  const hash = createHash('sha256')
    .update(JSON.stringify({ driverOpts, config: config ?? '' }))
    .digest('hex')
    .slice(0, 8);
  return { name: `dreamscape-buildx-${hash}`, driverOpts, config };
}

/** The `type=` of a cache spec; a bare reference is a registry cache. */
function cacheType(spec: string): string {
  const fields = spec.split(',').map((f) => f.trim());
  const type = fields.find((f) => f.toLowerCase().startsWith('type='))?.slice('type='.length);
  if (type !== undefined) return type.toLowerCase();
  return spec.includes('=') ? '' : 'registry';
}

/** The image a registry cache spec points at (`ref=`, or a bare reference). */
function cacheRef(spec: string): string | undefined {
  if (cacheType(spec) !== 'registry') return undefined;
  if (!spec.includes('=')) return spec;
  return spec
    .split(',')
    .map((f) => f.trim())
    .find((f) => f.startsWith('ref='))
    ?.slice('ref='.length);
}

function registryOf(reference: string): string | undefined {
  if (reference === '') return undefined;
  try {
    return parseReference(reference).registry;
  } catch {
    return undefined;
  }
}

import { join } from 'node:path';
import {
  InputError,
  readBoolean,
  readEnum,
  readKeyValues,
  readList,
  readOutputPath,
  readString,
  readWorkspacePath,
  type InputSource,
  type OutputRoots,
} from '@dreamscape/core';
import {
  BUILDX_BUILDER_CHOICES,
  decidePush,
  LATEST_POLICIES,
  readInsecureRegistries,
  type BuildSecret,
  type BuildxBuilderChoice,
  type LatestPolicy,
  type PushDecision,
} from '@dreamscape/image';

/** Builder choices for the `builder` input. */
export const BUILDER_CHOICES = ['auto', 'buildx', 'buildah'] as const;

/** Everything action-build was asked to do, validated once. */
export interface BuildInputs {
  /** The image repository as given (`ghcr.io/owner/app`), without tag or digest. */
  readonly image: string;
  readonly context: string;
  readonly dockerfile: string;
  readonly target: string | undefined;
  readonly buildArgs: readonly (readonly [string, string])[];
  readonly secrets: readonly BuildSecret[];
  /** The tag rules text (one rule per line), parsed by the tag rules of @dreamscape/image. */
  readonly tagRules: string;
  readonly latest: 'auto' | LatestPolicy;
  readonly labels: readonly (readonly [string, string])[];
  readonly push: boolean;
  /** Why {@link push} is what it is (`push: auto` depends on the event). */
  readonly pushDecision: PushDecision;
  readonly builder: (typeof BUILDER_CHOICES)[number];
  /** `buildx-builder`: whether buildx may create a docker-container builder when the current one falls short. */
  readonly buildxBuilder: BuildxBuilderChoice;
  readonly platforms: readonly string[];
  readonly cacheFrom: readonly string[];
  readonly cacheTo: readonly string[];
  /** The registry to log in to; defaults to the image's registry. */
  readonly registry: string | undefined;
  readonly username: string;
  readonly password: string;
  /** `insecure-registries`: hosts reached without checking their certificate, or over plain http. */
  readonly insecureRegistries: readonly string[];
  readonly provenance: boolean | string;
  readonly sbom: boolean;
  /** Reuse an image built from identical inputs instead of rebuilding (ADR 0002). */
  readonly reuse: boolean;
}

const SECRET_ID = /^[A-Za-z0-9_.-]+$/;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;

/**
 * Reads and validates the inputs. `env` supplies the runner's context (`GITHUB_WORKSPACE`,
 * `GITHUB_EVENT_NAME`, `GITHUB_REPOSITORY`, `GITHUB_ACTOR`).
 */
export function readInputs(src: InputSource, env: Readonly<Record<string, string | undefined>>): BuildInputs {
  const workspace = env.GITHUB_WORKSPACE ?? process.cwd();
  const repository = env.GITHUB_REPOSITORY ?? '';
  const image = readString(src, 'image', { default: repository === '' ? '' : `ghcr.io/${repository}` });
  if (image === '') throw new InputError('image', '', 'an image repository such as ghcr.io/OWNER/NAME');

  const context = readWorkspacePath(
    'context',
    readString(src, 'context', { default: '.' }),
    workspace,
    'directory',
  );
  const dockerfileInput = readString(src, 'dockerfile');
  const dockerfile =
    dockerfileInput === ''
      ? readWorkspacePathOrExplain(context, workspace)
      : readWorkspacePath('dockerfile', dockerfileInput, workspace, 'file');

  const pushDecision = decidePush(
    readEnum(src, 'push', ['auto', 'true', 'false'] as const, 'auto'),
    env.GITHUB_EVENT_NAME ?? '',
  );

  const platforms = readList(src, 'platforms');
  for (const p of platforms) {
    if (!PLATFORM.test(p))
      throw new InputError('platforms', p, 'platforms such as linux/amd64, linux/arm64/v8');
  }

  const roots = {
    workspace,
    // Without RUNNER_TEMP only the workspace: the system's /tmp is shared with everything else.
    runnerTemp: env.RUNNER_TEMP,
  };

  const provenanceText = readString(src, 'provenance', { default: 'false' });
  const provenance =
    provenanceText === 'false'
      ? false
      : provenanceText === 'true'
        ? true
        : validateProvenance(provenanceText);

  return {
    image,
    context,
    dockerfile,
    target: readString(src, 'target') || undefined,
    buildArgs: readKeyValues(src, 'build-args', {
      keyPattern: /^[A-Za-z_][A-Za-z0-9_]*$/,
      keyDescription: 'an ARG name',
    }),
    secrets: readSecrets(src, workspace),
    tagRules: readString(src, 'tags'),
    latest: readEnum(src, 'latest', ['auto', ...LATEST_POLICIES] as const, 'auto'),
    labels: readKeyValues(src, 'labels', {
      keyPattern: /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(\.[a-z0-9-]+)*$/i,
      keyDescription: 'a label key such as org.opencontainers.image.vendor',
    }),
    push: pushDecision.push,
    pushDecision,
    builder: readEnum(src, 'builder', BUILDER_CHOICES, 'auto'),
    buildxBuilder: readEnum(src, 'buildx-builder', BUILDX_BUILDER_CHOICES, 'auto'),
    platforms,
    cacheFrom: readCaches(src, 'cache-from', 'src', roots),
    cacheTo: readCaches(src, 'cache-to', 'dest', roots),
    registry: readString(src, 'registry') || undefined,
    username: readString(src, 'username', { default: env.GITHUB_ACTOR ?? '' }),
    password: readString(src, 'password'),
    insecureRegistries: readInsecureRegistries(src),
    provenance,
    sbom: readBoolean(src, 'sbom', false),
    reuse: readBoolean(src, 'reuse', true),
  };
}

function readWorkspacePathOrExplain(context: string, workspace: string): string {
  try {
    return readWorkspacePath('dockerfile', join(context, 'Dockerfile'), workspace, 'file');
  } catch (error) {
    throw new InputError('dockerfile', '', 'a Dockerfile path inside the workspace', {
      reason: `no Dockerfile in the context directory ${context}`,
      cause: error,
    });
  }
}

/**
 * `cache-from` / `cache-to` specs, read the way buildx reads them: comma-separated `key=value`
 * fields, the key case-insensitive. A `type=local` cache names a directory (`src=` to read, `dest=`
 * to write) that must stay inside the workspace or the runner temp directory, and is passed on
 * resolved to an absolute path so that the path checked is the path used. A key given twice (buildx
 * keeps the last) and quotes (buildx reads the spec as CSV) are refused: the spec checked is the
 * spec buildx reads.
 */
function readCaches(
  src: InputSource,
  name: 'cache-from' | 'cache-to',
  key: 'src' | 'dest',
  roots: OutputRoots,
): string[] {
  return readList(src, name, { commas: false }).map((spec) => {
    if (spec.includes('"')) throw new InputError(name, spec, 'key=value fields without quotes');
    const fields = new Map<string, string>();
    for (const field of spec.split(',')) {
      const at = field.indexOf('=');
      const k = (at < 0 ? field : field.slice(0, at)).trim().toLowerCase();
      if (fields.has(k))
        throw new InputError(name, spec, 'each key once, e.g. type=local,dest=PATH', {
          reason: `'${k}' is given twice`,
        });
      fields.set(k, at < 0 ? '' : field.slice(at + 1).trim());
    }
    if (fields.get('type')?.toLowerCase() !== 'local') return spec;
    if (!fields.has(key))
      throw new InputError(
        name,
        spec,
        `type=local,${key}=PATH, a directory inside the workspace or the runner temp directory`,
      );
    // Every path of a local cache, whichever direction it is for.
    for (const k of ['src', 'dest'] as const) {
      const value = fields.get(k);
      if (value !== undefined) fields.set(k, readOutputPath(name, value, roots));
    }
    fields.set('type', 'local');
    return [...fields].map(([k, v]) => `${k}=${v}`).join(',');
  });
}

function validateProvenance(text: string): string {
  if (/^mode=(min|max)$/.test(text)) return text;
  throw new InputError('provenance', text, "'false' (default), 'true', 'mode=min' or 'mode=max'");
}

/** `secrets`: `id=value` lines (masked); `secret-files`: `id=path` lines inside the workspace. */
function readSecrets(src: InputSource, workspace: string): BuildSecret[] {
  const secrets: BuildSecret[] = [];
  const seen = new Set<string>();
  const add = (input: string, secret: BuildSecret): void => {
    if (seen.has(secret.id))
      throw new InputError(input, secret.id, 'each secret id once', { reason: 'duplicate id' });
    seen.add(secret.id);
    secrets.push(secret);
  };
  for (const [id, value] of readSecretLines(src, 'secrets')) {
    if (value === '') throw new InputError('secrets', `${id}=`, 'id=value lines with a non-empty value');
    add('secrets', { id, value });
  }
  for (const [id, path] of readSecretLines(src, 'secret-files')) {
    add('secret-files', { id, file: readWorkspacePath('secret-files', path, workspace, 'file') });
  }
  return secrets;
}

function readSecretLines(src: InputSource, name: string): [string, string][] {
  // The value may itself contain '=' and must never be echoed in an error: show the id only.
  const pairs: [string, string][] = [];
  for (const line of src(name).split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    const id = eq < 0 ? '' : line.slice(0, eq).trim();
    if (eq <= 0 || !SECRET_ID.test(id)) {
      throw new InputError(
        name,
        eq <= 0 ? '(a line without "=")' : id,
        'one id=value per line, id made of letters, digits, _ . -',
      );
    }
    pairs.push([id, line.slice(eq + 1)]);
  }
  return pairs;
}

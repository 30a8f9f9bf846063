import {
  DocumentError,
  INPUT_DOCUMENT_LIMITS,
  InputError,
  parseJsonDocument,
  previewValue,
} from '@dreamscape/core';
import type { ImagePin } from '@dreamscape/kube';
import { parseReference, type ImageReference } from './reference.js';

/** One image of a deploy (the kustomize pin this input becomes): name in the manifests, repository, digest. */
export type { ImagePin };

const ACCEPTED =
  'one `name=registry/repository@sha256:<digest>` per line (no tag), and/or action-build build records (a JSON object, an array of them, or an object of them keyed by service)';

/** One build record's `image`, and its `digest` field when it has one. */
interface RecordImage {
  readonly image: string;
  readonly digest: unknown;
  /** How an error names the record: its service key, or its image. */
  readonly label: string;
}

/**
 * Reads the `images` input: `name=ref` lines (name as the manifests write it; the ref must carry a
 * digest) and/or build-record JSON from action-build. Each becomes a pin of the rendered overlay.
 */
export function parseImagesInput(text: string, input = 'images'): ImagePin[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const pins: ImagePin[] = [];
  const jsonStart = /^[[{]/.test(trimmed);
  if (jsonStart) {
    const doc = parseJson(trimmed, trimmed, input, 'not valid JSON');
    for (const record of recordsOf(doc, input)) pins.push(pinFromRecord(record, input));
  } else {
    for (const raw of trimmed.split(/\r?\n/)) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('{')) {
        const record = parseJson(line, line, input, 'a line that starts with { is not valid JSON');
        for (const image of recordsOf(record, input)) pins.push(pinFromRecord(image, input));
        continue;
      }
      const eq = line.indexOf('=');
      if (eq <= 0) throw new InputError(input, line, ACCEPTED, { reason: 'expected name=ref' });
      pins.push(pinFromRef(line.slice(eq + 1).trim(), line, input, line.slice(0, eq).trim()));
    }
  }
  const seen = new Map<string, ImagePin>();
  for (const pin of pins) {
    const earlier = seen.get(pin.name);
    if (earlier !== undefined && earlier.digest !== pin.digest)
      throw new InputError(input, pin.name, ACCEPTED, {
        reason: `'${pin.name}' is given twice with different digests`,
      });
    seen.set(pin.name, pin);
  }
  return [...seen.values()];
}

/** JSON within the input limits (size, nesting, number of values), or an error naming the input. */
function parseJson(text: string, shown: string, input: string, syntax: string): unknown {
  try {
    return parseJsonDocument(text, `Input '${input}'`, INPUT_DOCUMENT_LIMITS);
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    throw new InputError(input, shown, ACCEPTED, {
      reason: error.kind === 'syntax' ? `${syntax} (${error.problem})` : error.problem,
      hint: error.hint,
      cause: error,
    });
  }
}

/** The `image` (and `digest`) of every build record in a JSON document. */
function recordsOf(doc: unknown, input: string): RecordImage[] {
  const one = (value: unknown, key: string | undefined): RecordImage => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const record = value as { image?: unknown; digest?: unknown };
      if (typeof record.image === 'string')
        return { image: record.image, digest: record.digest, label: key ?? record.image };
    }
    throw new InputError(input, previewValue(value), ACCEPTED, {
      reason: `a build record${key === undefined ? '' : ` ('${key}')`} needs an \`image\` field`,
    });
  };
  if (Array.isArray(doc)) return doc.map((record) => one(record, undefined));
  if (typeof doc === 'object' && doc !== null) {
    if ('image' in doc) return [one(doc, undefined)];
    return Object.entries(doc).map(([key, record]) => one(record, key));
  }
  throw new InputError(input, previewValue(doc), ACCEPTED);
}

/**
 * A record's pin. Its `digest` field, when there is one, must be the digest of its `image`: the
 * two disagreeing means the record was edited or assembled from two builds, and deploying either
 * would deploy something nobody asked for.
 */
function pinFromRecord(record: RecordImage, input: string): ImagePin {
  const pin = pinFromRef(record.image, record.image, input);
  if (record.digest !== undefined && record.digest !== pin.digest)
    throw new InputError(input, record.image, ACCEPTED, {
      reason: `the build record of '${record.label}' has the digest ${previewValue(record.digest, 80)}, but its image is pinned to ${pin.digest}; they must agree (rebuild, or pass the record action-build wrote unchanged)`,
    });
  return pin;
}

function pinFromRef(refText: string, shown: string, input: string, name?: string): ImagePin {
  let ref: ImageReference;
  try {
    ref = parseReference(refText, { input, defaultTag: false });
  } catch (error) {
    throw new InputError(input, shown, ACCEPTED, {
      reason: error instanceof Error ? error.message : String(error),
      cause: error,
    });
  }
  if (ref.digest === undefined)
    throw new InputError(input, shown, ACCEPTED, {
      reason: `${refText} has no digest: deploys are pinned by digest (use action-build's 'image' output, name@sha256:...)`,
    });
  // Kubernetes pulls `repo:tag@digest` by the digest alone and the tag is never checked, so a tag
  // next to a digest can only mislead whoever reads it: refused rather than silently dropped.
  if (ref.tag !== undefined)
    throw new InputError(input, shown, ACCEPTED, {
      reason: `${refText} has both a tag (${ref.tag}) and a digest: a deploy pins the digest only and would drop the tag unchecked; give the image without the tag (repository@sha256:...)`,
    });
  // The repository as written (digest dropped), so a familiar name such as `nginx` stays one.
  const repository = refText.replace(/@.*$/, '');
  const pinName = name ?? repository;
  if (name !== undefined && !/^[a-z0-9][a-z0-9._/:-]*$/i.test(name))
    throw new InputError(input, shown, ACCEPTED, { reason: `'${name}' is not an image name` });
  return { name: pinName, ...(pinName === repository ? {} : { newName: repository }), digest: ref.digest };
}

/**
 * Where a deploy's images may come from: repository prefixes such as `ghcr.io/owner/` (one per
 * line of `allowed-images`), or `*` for anywhere. Each pin's repository, normalized
 * (`nginx` is `docker.io/library/nginx`), must start with one of them; an error names the input,
 * the image and the prefixes accepted.
 */
export function checkImageOrigins(
  pins: readonly ImagePin[],
  allowed: readonly string[],
  input = 'images',
): void {
  if (allowed.includes('*')) return;
  const prefixes = allowed.map((p) => (p.endsWith('/') ? p : `${p}/`).toLowerCase());
  for (const pin of pins) {
    const written = pin.newName ?? pin.name;
    const ref = parseReference(`${written}@${pin.digest}`, { input, defaultTag: false });
    const repository = `${ref.registry}/${ref.repository}`;
    if (!prefixes.some((prefix) => `${repository}/`.startsWith(prefix)))
      throw new InputError(
        input,
        `${written}@${pin.digest}`,
        `images from ${prefixes.map((p) => `'${p}'`).join(', ')} (the 'allowed-images' input lists the registries and repository prefixes a deploy may pull from; '*' allows any)`,
        { reason: `${repository} is not under an allowed prefix` },
      );
  }
}

/** What `allowed-images` accepts when it is empty: the repository owner's GitHub packages. */
export function defaultImageOrigins(owner: string): string[] {
  return owner === '' ? [] : [`ghcr.io/${owner.toLowerCase()}/`];
}

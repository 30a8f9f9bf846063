import { DocumentError, INPUT_DOCUMENT_LIMITS, InputError, parseJsonDocument } from '@dreamscape/core';

/** An image pinned by digest, the only kind of image this package scans. */
export interface ScanTarget {
  /** `registry/repository@sha256:...`: what the scanner is given (a tag is informational only). */
  readonly reference: string;
  /** `ghcr.io`, `docker.io`, `127.0.0.1:5000`, ... */
  readonly registry: string;
  /** `owner/name` (Docker Hub's official images get `library/`). */
  readonly repository: string;
  /** `registry/repository`, without tag or digest. */
  readonly name: string;
  readonly tag: string | undefined;
  readonly digest: string;
}

/** What the `image` input accepts, for error messages. */
export const IMAGE_INPUT_FORMAT =
  "an image reference with a digest (registry/owner/name[:tag]@sha256:<64 hex>) or the build record JSON that action-build writes as 'metadata'";

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Parses the `image` input: a reference with a digest, or a build record (JSON with `image` and
 * `digest`). A reference without a digest is refused: scanning a tag scans whatever the tag points
 * at now, and the verdict could not be tied to what gets deployed.
 */
export function parseScanTarget(text: string, input = 'image'): ScanTarget {
  const value = text.trim();
  if (value === '') throw new InputError(input, '', IMAGE_INPUT_FORMAT);
  if (value.startsWith('{')) return fromBuildRecord(value, input);
  return parseReference(value, input);
}

function fromBuildRecord(text: string, input: string): ScanTarget {
  let record: unknown;
  try {
    record = parseJsonDocument(text, `Input '${input}'`, INPUT_DOCUMENT_LIMITS);
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    throw new InputError(input, text, IMAGE_INPUT_FORMAT, {
      reason: error.kind === 'syntax' ? 'it looks like JSON but does not parse' : error.problem,
      hint: error.hint,
      cause: error,
    });
  }
  const fields = typeof record === 'object' && record !== null ? (record as Record<string, unknown>) : {};
  const image = fields.image;
  if (typeof image !== 'string' || image === '')
    throw new InputError(input, text, IMAGE_INPUT_FORMAT, { reason: "the build record has no 'image'" });
  const target = parseReference(image, input);
  const digest = fields.digest;
  if (typeof digest === 'string' && digest !== '' && digest !== target.digest)
    throw new InputError(input, text, IMAGE_INPUT_FORMAT, {
      reason: `the build record's digest ${digest} differs from the digest in its image ${target.digest}`,
    });
  return target;
}

function parseReference(text: string, input: string): ScanTarget {
  const fail = (reason: string): InputError => new InputError(input, text, IMAGE_INPUT_FORMAT, { reason });
  const at = text.indexOf('@');
  if (at < 0) throw fail('it has no digest; scan the exact image that will be deployed (image@sha256:...)');
  const digest = text.slice(at + 1);
  if (!DIGEST.test(digest)) throw fail(`'${digest}' is not a sha256 digest`);
  let rest = text.slice(0, at);
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw fail(`'${tag}' is not a valid tag`);
  }
  const { registry, repository, name } = splitRepositoryName(rest, fail);
  return { reference: `${name}@${digest}`, registry, repository, name, tag, digest };
}

/**
 * A repository name without tag or digest, with Docker's defaults: the first component is a
 * registry when it has `.` or `:` or is `localhost`, else the registry is `docker.io`, where a
 * one-component name gets `library/` (`redis` is `docker.io/library/redis`).
 */
export function splitRepositoryName(
  text: string,
  fail: (reason: string) => Error,
): { readonly registry: string; readonly repository: string; readonly name: string } {
  const slash = text.indexOf('/');
  const first = slash < 0 ? '' : text.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  const registry = hasRegistry ? first : 'docker.io';
  let repository = hasRegistry ? text.slice(slash + 1) : text;
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  for (const part of repository.split('/'))
    if (!COMPONENT.test(part))
      throw fail(`'${part}' is not a valid repository name component (lowercase letters, digits, . _ -)`);
  return { registry, repository, name: `${registry}/${repository}` };
}

/** The default code scanning category (and PR comment key) for an image: one per image name. */
export function defaultCategory(target: ScanTarget): string {
  return `image/${target.name}`;
}

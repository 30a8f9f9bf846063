import { ActionError } from '@dreamscape/core';

/**
 * Image references as Docker and the OCI distribution spec write them:
 * `[registry/]path[:tag][@sha256:<64 hex>]`.
 *
 * - The first `/`-separated component is a registry when it contains `.` or `:` or is `localhost`;
 *   otherwise the registry is Docker Hub (`docker.io`) and a one-component path gets `library/`.
 * - The path is lowercase components (`a-z`, `0-9`) separated by `/`; inside a component, words are
 *   joined by `.`, `_`, `__` or one or more `-`.
 * - A tag is 1–128 characters of `[A-Za-z0-9_.-]` that does not start with `.` or `-`.
 * - A digest is `sha256:` followed by 64 lowercase hex characters.
 *
 * So `nginx` is `docker.io/library/nginx:latest`, and `127.0.0.1:5000/app@sha256:…` keeps its registry.
 */

/** Docker Hub, as references spell it once normalized. */
export const DOCKER_HUB = 'docker.io';
/** The tag a reference without tag or digest means. */
export const DEFAULT_TAG = 'latest';

/** A repository in a registry, without tag or digest: `ghcr.io/owner/app`. */
export interface ImageName {
  /** `docker.io`, `ghcr.io`, `127.0.0.1:5000`, ... (lowercase). */
  readonly registry: string;
  /** `library/nginx`, `owner/app`, ... */
  readonly repository: string;
}

/** A parsed image reference. At least one of `tag` and `digest` is set once normalized. */
export interface ImageReference extends ImageName {
  readonly tag?: string | undefined;
  /** `sha256:<64 hex>` */
  readonly digest?: string | undefined;
}

/** What {@link parseReference} and friends accept, for error messages. */
export const REFERENCE_FORMAT =
  "[registry/]path[:tag][@sha256:<64 hex>], e.g. 'nginx', 'ghcr.io/owner/app:1.2.3' or '127.0.0.1:5000/app@sha256:…'";
/** What a repository path may be, for error messages. */
export const PATH_FORMAT =
  "lowercase components of a-z and 0-9 separated by '/'; inside a component, words joined by '.', '_', '__' or dashes";
/** What a tag may be, for error messages. */
export const TAG_FORMAT = "1 to 128 characters of A-Z a-z 0-9 _ . - that do not start with '.' or '-'";
/** What a digest may be, for error messages. */
export const DIGEST_FORMAT = "'sha256:' followed by 64 lowercase hex characters";

const TAG_PATTERN = /^[\w][\w.-]{0,127}$/;
const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;
const COMPONENT_PATTERN = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST_LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const REGISTRY_PATTERN = new RegExp(
  `^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`,
);
/** Docker's limit on `registry/path`. */
const NAME_MAX = 255;

/** An image reference (or name, tag or digest) that is not well formed. */
export class ImageReferenceError extends ActionError {
  /** The text as given. */
  readonly reference: string;
  /** What is wrong with it. */
  readonly reason: string;
  /** What would have been accepted. */
  readonly accepted: string;
  /** The input it came from, when known. */
  readonly input: string | undefined;

  constructor(reference: string, reason: string, accepted: string, input?: string) {
    const shown = JSON.stringify(reference.length > 300 ? `${reference.slice(0, 300)}…` : reference);
    super(
      input === undefined
        ? `Image reference ${shown} is invalid: ${reason}. Accepted: ${accepted}.`
        : `Input '${input}' has an invalid image reference ${shown}: ${reason}. Accepted: ${accepted}.`,
    );
    this.name = 'ImageReferenceError';
    this.reference = reference;
    this.reason = reason;
    this.accepted = accepted;
    this.input = input;
  }
}

/** Options for {@link parseReference}. */
export interface ParseReferenceOptions {
  /** The input the text came from, named in errors. */
  readonly input?: string | undefined;
  /** Give a reference without tag or digest the tag `latest`. Default true. */
  readonly defaultTag?: boolean | undefined;
}

/** Whether `tag` is a valid tag. */
export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/** Whether `digest` is `sha256:` + 64 lowercase hex. */
export function isValidDigest(digest: string): boolean {
  return DIGEST_PATTERN.test(digest);
}

/** Returns `digest` when valid, otherwise throws an {@link ImageReferenceError} explaining why. */
export function validateDigest(digest: string, input?: string): string {
  if (isValidDigest(digest)) return digest;
  throw new ImageReferenceError(digest, digestProblem(digest), DIGEST_FORMAT, input);
}

/** Returns `tag` when valid, otherwise throws an {@link ImageReferenceError} explaining why. */
export function validateTag(tag: string, input?: string): string {
  if (isValidTag(tag)) return tag;
  throw new ImageReferenceError(tag, tagProblem(tag), TAG_FORMAT, input);
}

/**
 * Why `path` is not a valid repository path, or undefined when it is. The reasons name the
 * offending component so that a user can fix it.
 */
export function repositoryPathProblem(path: string): string | undefined {
  if (path === '') return 'the repository path is empty';
  const components = path.split('/');
  for (const component of components) {
    if (component === '')
      return `the path '${path}' has an empty component (a leading, trailing or doubled '/')`;
    if (COMPONENT_PATTERN.test(component)) continue;
    if (/[A-Z]/.test(component)) return `the path component '${component}' has uppercase letters`;
    const bad = [...new Set(component.replace(/[a-z0-9._-]/g, ''))];
    if (bad.length > 0)
      return `the path component '${component}' contains ${bad.map((c) => describeChar(c)).join(', ')}`;
    if (/^[._-]/.test(component)) return `the path component '${component}' starts with a separator`;
    if (/[._-]$/.test(component)) return `the path component '${component}' ends with a separator`;
    const run = /[._-]{2,}/.exec(component)?.[0] ?? '';
    return `the path component '${component}' has the separator sequence '${run}' (only '.', '_', '__' or dashes join words)`;
  }
  return undefined;
}

/**
 * Parses an image reference, applying Docker Hub's defaults (`nginx` → `docker.io/library/nginx`)
 * and, unless told otherwise, the `latest` tag when neither a tag nor a digest is given.
 * Throws an {@link ImageReferenceError} saying what is wrong and what is accepted.
 */
export function parseReference(text: string, options: ParseReferenceOptions = {}): ImageReference {
  const parts = splitReference(text, options.input);
  let tag = parts.tag;
  if (tag === undefined && parts.digest === undefined && options.defaultTag !== false) tag = DEFAULT_TAG;
  return { registry: parts.registry, repository: parts.repository, tag, digest: parts.digest };
}

/**
 * Parses a repository name without tag or digest (`ghcr.io/owner/app`, `nginx`), as an `images`
 * input lists them. A tag or digest is refused, since tags are computed separately.
 */
export function parseImageName(
  text: string,
  options: { readonly input?: string | undefined } = {},
): ImageName {
  const parts = splitReference(text, options.input);
  if (parts.tag !== undefined || parts.digest !== undefined)
    throw new ImageReferenceError(
      text,
      'an image name has no tag or digest here (tags are computed from the tag rules)',
      '[registry/]path, e.g. ghcr.io/owner/app',
      options.input,
    );
  return { registry: parts.registry, repository: parts.repository };
}

/** `registry/repository[:tag][@digest]`, fully qualified. */
export function formatReference(ref: ImageReference): string {
  return `${formatName(ref)}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** `registry/repository`, without tag or digest. */
export function formatName(name: ImageName): string {
  return `${name.registry}/${name.repository}`;
}

/** The fully qualified form of a reference: `nginx` → `docker.io/library/nginx:latest`. */
export function normalizeReference(text: string, options: ParseReferenceOptions = {}): string {
  return formatReference(parseReference(text, options));
}

/**
 * The short form people type: Docker Hub's registry and `library/` dropped
 * (`docker.io/library/nginx:latest` → `nginx:latest`); other registries are kept.
 */
export function familiarReference(ref: ImageReference): string {
  let name = formatName(ref);
  if (ref.registry === DOCKER_HUB)
    name = ref.repository.startsWith('library/') ? ref.repository.slice('library/'.length) : ref.repository;
  return `${name}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** Options for {@link withDigest}. */
export interface WithDigestOptions {
  /** Keep the tag next to the digest (`app:1.2@sha256:…`). Default false: `app@sha256:…`. */
  readonly keepTag?: boolean;
}

/** The same repository pinned to `digest` (validated). */
export function withDigest(
  ref: ImageName | ImageReference,
  digest: string,
  options: WithDigestOptions = {},
): ImageReference {
  validateDigest(digest);
  const tag = options.keepTag === true && 'tag' in ref ? ref.tag : undefined;
  return { registry: ref.registry, repository: ref.repository, tag, digest };
}

/** The same repository with `tag` (validated) and no digest. */
export function withTag(ref: ImageName | ImageReference, tag: string): ImageReference {
  validateTag(tag);
  return { registry: ref.registry, repository: ref.repository, tag, digest: undefined };
}

/** Whether two references name the same registry and repository. */
export function sameRepository(a: ImageName, b: ImageName): boolean {
  return a.registry === b.registry && a.repository === b.repository;
}

interface ReferenceParts {
  readonly registry: string;
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

function splitReference(text: string, input: string | undefined): ReferenceParts {
  const fail = (reason: string, accepted: string = REFERENCE_FORMAT): never => {
    throw new ImageReferenceError(text, reason, accepted, input);
  };
  if (text === '') return fail('it is empty');
  if (/\s/.test(text)) return fail('it contains whitespace');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
    return fail("it is a URL; write the registry host without a scheme (no 'https://')");

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) fail(digestProblem(digest), DIGEST_FORMAT);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) fail(tagProblem(tag), TAG_FORMAT);
  }

  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!REGISTRY_PATTERN.test(first))
      fail(
        `the registry '${first}' is not a host name with an optional port`,
        'a registry such as ghcr.io or 127.0.0.1:5000',
      );
    registry = first.toLowerCase();
    if (registry === 'index.docker.io') registry = DOCKER_HUB;
    path = rest.slice(slash + 1);
  }
  if (registry === DOCKER_HUB && path !== '' && !path.includes('/')) path = `library/${path}`;

  const problem = repositoryPathProblem(path);
  if (problem !== undefined) fail(problem, PATH_FORMAT);
  const length = registry.length + 1 + path.length;
  if (length > NAME_MAX) fail(`the name is ${length} characters long, more than ${NAME_MAX}`, PATH_FORMAT);
  return { registry, repository: path, tag, digest };
}

function tagProblem(tag: string): string {
  if (tag === '') return 'the tag is empty';
  if (tag.length > 128) return `the tag is ${tag.length} characters long, more than 128`;
  if (/^[.-]/.test(tag)) return `the tag '${tag}' starts with '${tag.charAt(0)}'`;
  const bad = [...new Set(tag.replace(/[\w.-]/g, ''))];
  return `the tag '${tag}' contains ${bad.map((c) => describeChar(c)).join(', ')}`;
}

function digestProblem(digest: string): string {
  if (digest === '') return "the digest after '@' is empty";
  const colon = digest.indexOf(':');
  if (colon < 0) return `the digest '${digest}' has no algorithm (expected 'sha256:')`;
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (algorithm !== 'sha256') return `the digest algorithm '${algorithm}' is not supported`;
  if (/[A-F]/.test(hex)) return 'the digest has uppercase hex characters';
  if (!/^[0-9a-f]*$/.test(hex)) return 'the digest has characters that are not hex';
  return `the digest has ${hex.length} hex characters instead of 64`;
}

function describeChar(c: string): string {
  if (c === ' ') return 'a space';
  return `'${c}'`;
}

import { InputError } from '@dreamscape/core';
import { parseScanTarget, splitRepositoryName } from './image-reference.js';

/**
 * An entry of `scan-exempt`: images `require-scan` does not ask a verdict of (docs/adr/0016).
 * Third-party images (a redis, a postgres, an exporter) carry no verdict of ours and cannot be given
 * one in a registry we cannot write to; an exemption says so by name, in the workflow, reviewed.
 */
export interface ScanExemption {
  /** The entry as written, for logs and summaries. */
  readonly text: string;
  /** `registry/repository` (`docker.io/library/redis`), or the path every exempted name is under. */
  readonly name: string;
  /** `quay.io/prometheus/*`: every repository under `name`, not `name` itself. */
  readonly under: boolean;
  /** `redis@sha256:…`: only this digest of the repository. */
  readonly digest?: string;
}

/** What `scan-exempt` accepts, for error messages. */
export const SCAN_EXEMPT_FORMAT =
  "one entry per line or comma-separated: a repository ('redis', 'docker.io/library/redis'), one digest of it ('redis@sha256:<64 hex>'), or every repository under a path ('quay.io/prometheus/*'); at most 100";

/** How many entries `scan-exempt` may have: a list longer than this is not a list a person reviews. */
export const SCAN_EXEMPT_LIMIT = 100;

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Parses the entries of `scan-exempt` (already split into items), refusing the first bad one. */
export function parseScanExemptions(entries: readonly string[], input = 'scan-exempt'): ScanExemption[] {
  if (entries.length > SCAN_EXEMPT_LIMIT)
    throw new InputError(input, entries.join(', '), SCAN_EXEMPT_FORMAT, {
      reason: `it has ${String(entries.length)} entries`,
    });
  return entries.map((entry) => parseExemption(entry, input));
}

function parseExemption(text: string, input: string): ScanExemption {
  const fail = (reason: string): InputError => new InputError(input, text, SCAN_EXEMPT_FORMAT, { reason });
  if (text.includes('*')) {
    if (!text.endsWith('/*') && text !== '*')
      throw fail("'*' is accepted only as the whole last component ('quay.io/prometheus/*')");
    const path = text === '*' ? '' : text.slice(0, -2);
    if (path === '' || /^[/*]*$/.test(path))
      throw fail('it would exempt every image: set require-scan: false instead');
    if (path.includes('*')) throw fail("'*' is accepted only as the whole last component");
    if (path.includes('@')) throw fail("a path ending in '/*' has no digest");
    if (isRegistryOnly(path)) return { text, name: registryHost(path, fail), under: true };
    if (path.lastIndexOf(':') > path.lastIndexOf('/')) throw fail("a path ending in '/*' has no tag");
    // `bitnami/*` is every repository under docker.io/bitnami (Docker's `library/` is only for a
    // one-component name): the path is read as the registry and path of a name one level deeper.
    const first = path.split('/')[0] ?? '';
    const prefix = isRegistryOnly(first) ? path : `docker.io/${path}`;
    const { name } = splitRepositoryName(`${prefix}/x`, fail);
    return { text, name: canonicalName(name.slice(0, -2)), under: true };
  }
  const at = text.indexOf('@');
  let rest = at < 0 ? text : text.slice(0, at);
  const colon = rest.lastIndexOf(':');
  if (!rest.includes('/') && isRegistryOnly(colon < 0 ? rest : rest.slice(0, colon)))
    throw fail(`'${rest}' is a registry host, not a repository: write '${rest}/*' for every image it holds`);
  if (colon > rest.lastIndexOf('/')) {
    // `redis:7@sha256:…`, as manifests write it: the digest decides, the tag is dropped.
    if (at < 0)
      throw fail(
        'a tag is not accepted: a deployed image is pinned by digest, and a tag may name another image tomorrow; name the repository, or the repository and one digest',
      );
    rest = rest.slice(0, colon);
  }
  if (at >= 0) {
    const digest = text.slice(at + 1);
    if (!DIGEST.test(digest)) throw fail(`'${digest}' is not a sha256 digest`);
    return { text, name: canonicalName(splitRepositoryName(rest, fail).name), under: false, digest };
  }
  return { text, name: canonicalName(splitRepositoryName(rest, fail).name), under: false };
}

/** `quay.io`, `registry.example:5000`, `localhost`: a first component that is a registry and nothing more. */
function isRegistryOnly(path: string): boolean {
  return !path.includes('/') && (path.includes('.') || path.includes(':') || path === 'localhost');
}

/** A registry host as an entry names it, lowercase, its port in range; Docker Hub's aliases as `docker.io`. */
function registryHost(text: string, fail: (reason: string) => Error): string {
  const host = text.toLowerCase();
  const port = /:([0-9]{1,5})$/.exec(host)?.[1];
  if (!/^[a-z0-9.-]+(:[0-9]{1,5})?$/.test(host) || (port !== undefined && Number(port) > 65_535))
    throw fail(`'${text}' is not a registry host`);
  return canonicalName(host);
}

/** Docker Hub's other host names. */
const DOCKER_HUB_ALIASES = ['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'];

/** `registry/path` compared as Docker compares it: the host lowercase, Docker Hub's aliases as `docker.io`. */
function canonicalName(name: string): string {
  const slash = name.indexOf('/');
  const host = (slash < 0 ? name : name.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? '' : name.slice(slash);
  return `${DOCKER_HUB_ALIASES.includes(host) ? 'docker.io' : host}${path}`;
}

/**
 * The `/*` entry that covers every repository under `name` (a registry, or a registry and a
 * namespace), or undefined: what action-deploy refuses for `scan-registry` and the repository
 * owner's namespace, since such an entry would turn `require-scan` off for the team's own images.
 */
export function exemptionCoveringAll(
  name: string,
  exemptions: readonly ScanExemption[],
): ScanExemption | undefined {
  const wanted = canonicalName(name);
  return exemptions.find((e) => e.under && (wanted === e.name || wanted.startsWith(`${e.name}/`)));
}

/**
 * The exemption that covers `image` (a reference pinned by digest), or undefined. A name covers
 * every digest of its repository; a name with a digest only that digest; `path/*` every repository
 * under the path, at any depth.
 */
export function exemptionFor(image: string, exemptions: readonly ScanExemption[]): ScanExemption | undefined {
  if (exemptions.length === 0) return undefined;
  let target;
  try {
    target = parseScanTarget(image, 'image');
  } catch {
    return undefined;
  }
  const name = canonicalName(target.name);
  return exemptions.find((e) =>
    e.under
      ? name.startsWith(`${e.name}/`)
      : e.name === name && (e.digest === undefined || e.digest === target.digest),
  );
}

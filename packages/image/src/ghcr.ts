import type { Logger } from '@dreamscape/core';
import {
  formatReference,
  ImageReferenceError,
  parseReference,
  type ImageReference,
  type ParseReferenceOptions,
} from './reference.js';

/**
 * GitHub Container Registry rules. GHCR names are `ghcr.io/OWNER/IMAGE[/MORE]`: the owner is a
 * GitHub user or organisation, and every part must be lowercase. GitHub repositories often have
 * uppercase letters (`DreamScape/Voyage`), so we lowercase the path and say so in a notice rather
 * than fail; anything else that GHCR would refuse is refused here first, with the reason.
 */

/** GHCR's host. */
export const GHCR_HOST = 'ghcr.io';

const OWNER_FORMAT =
  "a GitHub user or organisation: letters, digits and single '-' inside, at most 39 characters";
const GHCR_FORMAT = `ghcr.io/OWNER/IMAGE[:tag][@sha256:…], OWNER being ${OWNER_FORMAT}`;

/** Whether a registry host is GHCR. */
export function isGhcr(registry: string): boolean {
  return registry.toLowerCase() === GHCR_HOST;
}

/**
 * Parses an image reference as a user wrote it in an input. For GHCR the owner and image path are
 * lowercased (with a notice on `logger`), the owner is checked against GitHub's login rules and an
 * image name is required after it. Other registries are parsed by {@link parseReference} as they are.
 * Tags keep their case: tags are case-sensitive.
 */
export function normalizeGhcrReference(
  text: string,
  logger: Logger,
  options: ParseReferenceOptions = {},
): ImageReference {
  const host = /^([^/]+)\//.exec(text)?.[1];
  if (host === undefined || !isGhcr(host)) return parseReference(text, options);

  const fail = (reason: string, accepted = GHCR_FORMAT): never => {
    throw new ImageReferenceError(text, reason, accepted, options.input);
  };
  if (/\s/.test(text)) fail('it contains whitespace');
  const afterHost = text.slice(host.length + 1);
  const at = afterHost.indexOf('@');
  const beforeDigest = at < 0 ? afterHost : afterHost.slice(0, at);
  const colon = beforeDigest.lastIndexOf(':');
  const pathEnd = colon > beforeDigest.lastIndexOf('/') ? colon : beforeDigest.length;
  const path = beforeDigest.slice(0, pathEnd);
  const suffix = afterHost.slice(pathEnd);

  const [owner = '', ...image] = path.split('/');
  if (owner === '') fail('the owner is missing after ghcr.io/');
  if (image.length === 0 || image.every((part) => part === ''))
    fail(`no image name after the owner '${owner}'`, 'ghcr.io/OWNER/IMAGE, e.g. ghcr.io/octo-org/app');
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/.test(owner))
    fail(`the owner '${owner}' is not a GitHub user or organisation name`, OWNER_FORMAT);

  const lowered = path.toLowerCase();
  if (lowered !== path)
    logger.notice(
      `Image name '${GHCR_HOST}/${path}' lowercased to '${GHCR_HOST}/${lowered}': GHCR accepts lowercase repository names only.`,
    );
  return parseReference(`${GHCR_HOST}/${lowered}${suffix}`, options);
}

/**
 * The GHCR image for a GitHub repository (`GITHUB_REPOSITORY`, `Owner/Repo`), optionally with a
 * different image name or a sub-path: `ghcrImageFor('DreamScape/platform', logger, 'platform/voyage')`
 * → `ghcr.io/dreamscape/platform/voyage`. Lowercased with a notice, validated like any GHCR name.
 */
export function ghcrImageFor(githubRepository: string, logger: Logger, imageName?: string): string {
  const [owner = '', repo = ''] = githubRepository.split('/');
  const ref = normalizeGhcrReference(`${GHCR_HOST}/${owner}/${imageName ?? repo}`, logger, {
    defaultTag: false,
  });
  return formatReference(ref);
}

import { systemClock, type Clock } from '@dreamscape/core';
import { revisionOf, type GitHubContext } from './github-context.js';

/**
 * OCI image annotations (as labels) that say where an image comes from. `source` is what links a
 * GHCR package to its repository: it must be on the image before the package's first push.
 */

/** The label keys we set, by short name. */
export const OCI_LABELS = {
  title: 'org.opencontainers.image.title',
  description: 'org.opencontainers.image.description',
  url: 'org.opencontainers.image.url',
  source: 'org.opencontainers.image.source',
  version: 'org.opencontainers.image.version',
  created: 'org.opencontainers.image.created',
  revision: 'org.opencontainers.image.revision',
  licenses: 'org.opencontainers.image.licenses',
} as const;

/** Options for {@link ociLabels}. */
export interface OciLabelOptions {
  /** The image's version: the highest-priority tag ({@link TagSet.version}). Omitted when ''. */
  readonly version: string;
  /** Time of `created`. */
  readonly clock?: Clock;
  /** On pull requests, `revision` is the PR head commit rather than the merge commit. */
  readonly prHeadSha?: boolean;
  /** Labels given by the user; they override ours key by key. */
  readonly extra?: Readonly<Record<string, string>> | readonly (readonly [string, string])[];
}

/**
 * The OCI labels for an image built in this run: title (repository name), description, url and
 * source (repository web address), version, created (ISO 8601 from the clock), revision (commit)
 * and licenses (SPDX id). Fields the context does not know are left out rather than set empty.
 */
export function ociLabels(context: GitHubContext, options: OciLabelOptions): Record<string, string> {
  const repo = context.repository;
  const labels: Record<string, string> = {};
  const set = (key: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') labels[key] = value;
  };
  set(OCI_LABELS.title, repo.name);
  set(OCI_LABELS.description, repo.description);
  set(OCI_LABELS.url, repo.htmlUrl);
  set(OCI_LABELS.source, repo.htmlUrl);
  set(OCI_LABELS.version, options.version);
  set(OCI_LABELS.created, new Date((options.clock ?? systemClock).now()).toISOString());
  set(OCI_LABELS.revision, revisionOf(context, { prHeadSha: options.prHeadSha === true }));
  set(OCI_LABELS.licenses, repo.license);
  const extra = options.extra ?? {};
  const pairs: readonly (readonly [string, string])[] = isPairList(extra) ? extra : Object.entries(extra);
  for (const [key, value] of pairs) labels[key] = value;
  return labels;
}

function isPairList(
  value: Readonly<Record<string, string>> | readonly (readonly [string, string])[],
): value is readonly (readonly [string, string])[] {
  return Array.isArray(value);
}

import type { PathPattern } from './path-glob.js';
import type { ServiceDefinition } from './services-file.js';

/** Why a service was selected. */
export type SelectionReason =
  | { readonly kind: 'all'; readonly why: string }
  | { readonly kind: 'shared'; readonly file: string; readonly pattern: string }
  | { readonly kind: 'context' | 'dockerfile' | 'path'; readonly file: string };

/** The services a set of changed files concerns. */
export interface ServiceSelection {
  /** Selected services, in the order of the services file. */
  readonly selected: readonly ServiceDefinition[];
  /** The first reason found for each selected service, by name. */
  readonly reasons: ReadonlyMap<string, SelectionReason>;
  /** Every service was selected (asked for, or a shared path changed). */
  readonly all: boolean;
  /** Changed files that concern no service and no shared path. */
  readonly unmatched: readonly string[];
}

/** Every service, for one reason (asked for all, no base to compare with). */
export function selectAll(services: readonly ServiceDefinition[], why: string): ServiceSelection {
  const reason: SelectionReason = { kind: 'all', why };
  return {
    selected: services,
    reasons: new Map(services.map((s) => [s.name, reason])),
    all: true,
    unmatched: [],
  };
}

/**
 * Maps changed paths (repository-relative, as `git diff --name-only` prints them) to services.
 * A file concerns a service when it is the service's Dockerfile, lies in its build context (the
 * whole repository for a context of `.`), or matches one of its `paths`. A file matching one of
 * `shared` concerns every service: the services file itself, a workflow, a base image definition.
 * Deleted and renamed files are changes too: the caller passes both names of a rename.
 */
export function selectServices(
  services: readonly ServiceDefinition[],
  changedFiles: readonly string[],
  shared: readonly PathPattern[] = [],
): ServiceSelection {
  const files = [...new Set(changedFiles.map(normalizePath).filter((f) => f !== ''))];
  for (const file of files) {
    const pattern = shared.find((p) => p.matches(file));
    if (pattern !== undefined) {
      const reason: SelectionReason = { kind: 'shared', file, pattern: pattern.source };
      return {
        selected: services,
        reasons: new Map(services.map((s) => [s.name, reason])),
        all: true,
        unmatched: [],
      };
    }
  }
  const reasons = new Map<string, SelectionReason>();
  const matched = new Set<string>();
  for (const service of services) {
    for (const file of files) {
      const reason = reasonFor(service, file);
      if (reason === undefined) continue;
      matched.add(file);
      if (!reasons.has(service.name)) reasons.set(service.name, reason);
    }
  }
  const selected = services.filter((s) => reasons.has(s.name));
  return {
    selected,
    reasons,
    all: selected.length === services.length && services.length > 0,
    unmatched: files.filter((f) => !matched.has(f)),
  };
}

function reasonFor(service: ServiceDefinition, file: string): SelectionReason | undefined {
  if (file === service.dockerfile) return { kind: 'dockerfile', file };
  if (service.context === '.' || file.startsWith(`${service.context}/`)) return { kind: 'context', file };
  if (service.paths.some((p) => p.matches(file))) return { kind: 'path', file };
  return undefined;
}

/** `./a//b` → `a/b`; backslashes become slashes. */
function normalizePath(path: string): string {
  return path
    .trim()
    .replace(/\\/g, '/')
    .replace(/\/{2,}/g, '/')
    .replace(/^(?:\.\/)+/, '');
}

/** One line saying why a service was selected, for logs and the job summary. */
export function describeReason(reason: SelectionReason): string {
  switch (reason.kind) {
    case 'all':
      return reason.why;
    case 'shared':
      return `${reason.file} changed (shared path ${reason.pattern})`;
    case 'dockerfile':
      return `its Dockerfile ${reason.file} changed`;
    case 'context':
      return `${reason.file} changed`;
    case 'path':
      return `${reason.file} changed (one of its paths)`;
  }
}

/**
 * The normalized vulnerability model every scanner report is turned into. Trivy and Grype say the
 * same things with different words; everything after parsing (policy, SARIF, summaries) only ever
 * sees these types.
 */

/** Severities, most severe first. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Whether a fix exists: `fixed` (an upgrade is available), `not-fixed`, `wont-fix` (the vendor said no), `unknown`. */
export const FIX_STATES = ['fixed', 'not-fixed', 'wont-fix', 'unknown'] as const;
export type FixState = (typeof FIX_STATES)[number];

/** How severe, as a number that orders severities (higher is worse). */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = {
  critical: 5,
  high: 4,
  medium: 3,
  low: 2,
  negligible: 1,
  unknown: 0,
};

/** Which fix state wins when two matches of the same package disagree: a known fix beats everything. */
const FIX_STATE_RANK: Readonly<Record<FixState, number>> = {
  fixed: 3,
  'wont-fix': 2,
  'not-fixed': 1,
  unknown: 0,
};

/** One package a vulnerability was found in. */
export interface AffectedPackage {
  readonly name: string;
  /** The installed version. */
  readonly version: string;
  /** The ecosystem as the scanner names it: `debian`, `apk`, `npm`, `java-archive`, `rpm`, ... */
  readonly type: string;
  readonly purl: string | undefined;
  /** Versions that fix it, when known. */
  readonly fixedVersions: readonly string[];
  readonly fixState: FixState;
  /** Where the scanner found it: Trivy's result target, or the file Grype read the package from. */
  readonly target: string;
  /** The layer (digest or diff ID) that introduced the package, when known. */
  readonly layer: string | undefined;
}

/** One vulnerability in one package, as a scanner reports it (before de-duplication). */
export interface PackageFinding {
  readonly id: string;
  /** Other identifiers of the same vulnerability (a GHSA's CVE and vice versa). */
  readonly aliases: readonly string[];
  readonly severity: Severity;
  readonly cvssScore: number | undefined;
  readonly title: string;
  readonly description: string;
  readonly primaryUrl: string | undefined;
  readonly urls: readonly string[];
  readonly package: AffectedPackage;
}

/** One vulnerability, de-duplicated across packages and identifiers, with every package it affects. */
export interface Finding {
  /** The preferred identifier: a CVE when there is one. */
  readonly id: string;
  /** Every other identifier the scanner linked to it, sorted. */
  readonly aliases: readonly string[];
  /** The most severe rating any match gave it. */
  readonly severity: Severity;
  readonly cvssScore: number | undefined;
  readonly title: string;
  readonly description: string;
  readonly primaryUrl: string | undefined;
  readonly urls: readonly string[];
  /** `fixed` when at least one affected package has a fix; otherwise the most telling of the others. */
  readonly fixState: FixState;
  readonly packages: readonly AffectedPackage[];
}

/** Orders severities, most severe first. */
export function compareSeverity(a: Severity, b: Severity): number {
  return SEVERITY_RANK[b] - SEVERITY_RANK[a];
}

/** Whether `severity` is at or above `threshold`. */
export function atOrAbove(severity: Severity, threshold: Severity): boolean {
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold];
}

/** The fix state that describes both `a` and `b` together (see {@link Finding.fixState}). */
export function combineFixStates(a: FixState, b: FixState): FixState {
  return FIX_STATE_RANK[a] >= FIX_STATE_RANK[b] ? a : b;
}

/** Orders findings for people and for truncation: most severe, then highest CVSS, then by id. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    compareSeverity(a.severity, b.severity) ||
    (b.cvssScore ?? -1) - (a.cvssScore ?? -1) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** A zeroed count per severity. */
export function emptyCounts(): Record<Severity, number> {
  return { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
}

/** Counts findings per severity. */
export function countBySeverity(findings: Iterable<Finding>): Record<Severity, number> {
  const counts = emptyCounts();
  for (const f of findings) counts[f.severity]++;
  return counts;
}

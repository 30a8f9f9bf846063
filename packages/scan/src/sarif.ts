import { gzipSync } from 'node:zlib';
import type { AffectedPackage, Finding, Severity } from './finding.js';
import type { EvaluatedFinding, PolicyResult } from './policy.js';
import type { ScannerName } from './scan-report.js';

/** GitHub code scanning's limits for one upload (see "SARIF support for code scanning"). */
export const GITHUB_SARIF_LIMITS = {
  resultsPerRun: 25_000,
  gzippedBytes: 10 * 1024 * 1024,
} as const;

/** `security-severity` when the finding has no CVSS score that agrees with its severity. */
export const SECURITY_SEVERITY: Readonly<Record<Severity, number | undefined>> = {
  critical: 9.5,
  high: 8.0,
  medium: 5.5,
  low: 2.0,
  negligible: 0.5,
  unknown: undefined,
};

/** The CVSS band GitHub maps each severity to: a score outside it would show another severity. */
const BANDS: Readonly<Record<Severity, readonly [number, number] | undefined>> = {
  critical: [9.0, 10.0],
  high: [7.0, 8.9],
  medium: [4.0, 6.9],
  low: [0.1, 3.9],
  negligible: [0.1, 3.9],
  unknown: undefined,
};

const LEVEL: Readonly<Record<Severity, 'error' | 'warning' | 'note'>> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  negligible: 'note',
  unknown: 'note',
};

const TOOL: Readonly<Record<ScannerName, { name: string; uri: string }>> = {
  trivy: { name: 'Trivy', uri: 'https://github.com/aquasecurity/trivy' },
  grype: { name: 'Grype', uri: 'https://github.com/anchore/grype' },
};

/** What {@link buildSarif} needs. */
export interface SarifOptions {
  readonly scanner: ScannerName;
  readonly scannerVersion: string;
  readonly policy: PolicyResult;
  /** The code scanning category (`automationDetails.id`); one per image. */
  readonly category: string;
  /** The scanned image, `registry/path@sha256:...`. */
  readonly image: string;
  /** The image name without tag or digest: the location of results when there is no Dockerfile. */
  readonly imageName: string;
  /** The Dockerfile the image was built from, relative to the repository root, and the line to point at. */
  readonly dockerfile?: { readonly path: string; readonly line: number } | undefined;
  /** Overrides {@link GITHUB_SARIF_LIMITS} (tests). */
  readonly limits?: { readonly resultsPerRun?: number; readonly gzippedBytes?: number };
}

/** A SARIF log, serialized, and what was left out to stay within GitHub's limits. */
export interface SarifOutput {
  readonly json: string;
  /** Results written. */
  readonly results: number;
  /** Results there would have been without limits (one per finding and package). */
  readonly totalResults: number;
  readonly truncated: boolean;
  readonly gzippedBytes: number;
}

interface SarifRule {
  readonly id: string;
  readonly name: string;
  readonly shortDescription: { readonly text: string };
  readonly fullDescription: { readonly text: string };
  readonly help: { readonly text: string; readonly markdown: string };
  readonly helpUri?: string;
  readonly defaultConfiguration: { readonly level: string };
  readonly properties: Record<string, unknown>;
}

/**
 * Builds a SARIF 2.1.0 log for `github/codeql-action/upload-sarif`: one rule per vulnerability (the
 * rule id is the vulnerability id, stable across runs), one result per affected package, with
 * `security-severity`, a location (the Dockerfile, or the image name as a pseudo-path) and a
 * partial fingerprint. Above GitHub's limits it keeps the most severe results and says so in the
 * run's properties.
 */
export function buildSarif(options: SarifOptions): SarifOutput {
  const limits = { ...GITHUB_SARIF_LIMITS, ...options.limits };
  const evaluated = options.policy.evaluated;
  let totalResults = 0;
  for (const e of evaluated) totalResults += e.finding.packages.length;

  // Findings are already most severe first, so a prefix is always the most severe results.
  let budget = Math.min(totalResults, limits.resultsPerRun);
  for (;;) {
    const log = render(options, evaluated, budget, totalResults);
    const json = JSON.stringify(log);
    const gzipped = gzippedSize(json, limits.gzippedBytes);
    if (gzipped <= limits.gzippedBytes || budget === 0) {
      return { json, results: budget, totalResults, truncated: budget < totalResults, gzippedBytes: gzipped };
    }
    // Shrink in proportion, with a margin, rather than one result at a time.
    budget = Math.max(0, Math.floor((budget * limits.gzippedBytes * 0.9) / gzipped));
  }
}

/**
 * The gzipped size as GitHub would measure it, cheaply: the fastest level compresses worse, so when
 * it already fits, the real upload fits too; only near the limit is the default level worth its time.
 */
function gzippedSize(json: string, limit: number): number {
  const fast = gzipSync(json, { level: 1 }).length;
  return fast <= limit ? fast : gzipSync(json).length;
}

function render(
  options: SarifOptions,
  evaluated: readonly EvaluatedFinding[],
  budget: number,
  totalResults: number,
): Record<string, unknown> {
  const rules: SarifRule[] = [];
  const results: Record<string, unknown>[] = [];
  const location = resultLocation(options);
  outer: for (const e of evaluated) {
    let ruleIndex = -1;
    for (const pkg of e.finding.packages) {
      if (results.length >= budget) break outer;
      if (ruleIndex < 0) {
        ruleIndex = rules.length;
        rules.push(rule(e.finding));
      }
      results.push(result(e, pkg, ruleIndex, location, options.image));
    }
  }
  const tool = TOOL[options.scanner];
  const numericVersion = /^\d/.test(options.scannerVersion);
  const truncated = results.length < totalResults;
  const category = options.category.endsWith('/') ? options.category : `${options.category}/`;
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            informationUri: tool.uri,
            ...(numericVersion ? { version: options.scannerVersion } : {}),
            rules,
          },
        },
        // GitHub takes everything before the last '/' of this id as the category: the trailing
        // slash makes the whole configured category the category.
        automationDetails: { id: category },
        results,
        properties: {
          image: options.image,
          scannerVersion: options.scannerVersion,
          verdict: options.policy.verdict,
          severityThreshold: options.policy.threshold,
          totalResults,
          ...(truncated
            ? {
                truncated: true,
                truncation: `Only the ${results.length} most severe of ${totalResults} results are included, to stay within GitHub code scanning's limits (${GITHUB_SARIF_LIMITS.resultsPerRun} results per run, 10 MB gzipped). The full list is in the scan report.`,
              }
            : {}),
        },
      },
    ],
  };
}

interface ResultLocation {
  readonly uri: string;
  readonly line: number;
  /** The `locations` array, one object shared by every result (they all point at the same place). */
  readonly json: readonly Record<string, unknown>[];
}

function resultLocation(options: SarifOptions): ResultLocation {
  // A registry host with a port (localhost:5000/app) would read as a URI scheme: encode each segment.
  const path = options.dockerfile?.path ?? options.imageName;
  const uri = path.split('/').map(encodeURIComponent).join('/');
  const line = options.dockerfile?.line ?? 1;
  return {
    uri,
    line,
    json: [
      {
        physicalLocation: {
          artifactLocation: { uri },
          region: { startLine: line, startColumn: 1, endLine: line, endColumn: 1 },
        },
      },
    ],
  };
}

/** `security-severity`: the CVSS score when it falls in the band of the finding's severity, else the severity's value. */
export function securitySeverity(finding: Finding): string | undefined {
  const band = BANDS[finding.severity];
  const score = finding.cvssScore;
  if (band !== undefined && score !== undefined && score >= band[0] && score <= band[1])
    return score.toFixed(1);
  return SECURITY_SEVERITY[finding.severity]?.toFixed(1);
}

function rule(finding: Finding): SarifRule {
  const summary = shortText(finding);
  const description = sentence(finding.description !== '' ? finding.description : summary);
  const severity = securitySeverity(finding);
  const packages = finding.packages
    .map(
      (p) =>
        `| ${md(p.name)} | ${md(p.version)} | ${md(p.fixedVersions.join(', ') || p.fixState)} | ${md(p.target)} |`,
    )
    .join('\n');
  const refs = finding.urls.slice(0, 5);
  const markdown = [
    `**${finding.id}** (${finding.severity}${finding.cvssScore === undefined ? '' : `, CVSS ${finding.cvssScore}`})${finding.aliases.length > 0 ? `, also known as ${finding.aliases.join(', ')}` : ''}`,
    '',
    md(finding.description !== '' ? finding.description : summary),
    '',
    '| Package | Installed | Fixed in | Target |',
    '| --- | --- | --- | --- |',
    packages,
    ...(refs.length > 0 ? ['', '**References**', '', ...refs.map((u) => `- ${u}`)] : []),
  ].join('\n');
  const text = [
    `${finding.id} (${finding.severity}): ${summary}`,
    ...finding.packages.map(
      (p) => `Package ${p.name} ${p.version}, fixed in: ${p.fixedVersions.join(', ') || p.fixState}.`,
    ),
    ...refs,
  ].join('\n');
  const tags = ['vulnerability', 'security', finding.severity];
  return {
    id: finding.id,
    name: ruleName(finding),
    shortDescription: { text: sentence(clip(`${finding.id}: ${summary}`, 1000)) },
    fullDescription: { text: clip(description, 4000) },
    help: { text, markdown },
    ...(finding.primaryUrl === undefined ? {} : { helpUri: finding.primaryUrl }),
    defaultConfiguration: { level: LEVEL[finding.severity] },
    properties: {
      ...(severity === undefined ? {} : { 'security-severity': severity }),
      precision: 'very-high',
      tags,
    },
  };
}

function result(
  e: EvaluatedFinding,
  pkg: AffectedPackage,
  ruleIndex: number,
  location: ResultLocation,
  image: string,
): Record<string, unknown> {
  const f = e.finding;
  const fix =
    pkg.fixedVersions.length > 0 ? `fixed in ${pkg.fixedVersions.join(', ')}` : `no fix (${pkg.fixState})`;
  const fingerprint = fingerprintOf(
    `${f.id}\u0000${pkg.type}\u0000${pkg.name}\u0000${pkg.version}\u0000${pkg.target}`,
  );
  return {
    ruleId: f.id,
    ruleIndex,
    level: LEVEL[f.severity],
    message: {
      text: `${f.id} (${f.severity}) in ${pkg.name} ${pkg.version}: ${fix}. Target: ${pkg.target || image}.`,
    },
    locations: location.json,
    partialFingerprints: { 'dreamscapeFinding/v1': fingerprint },
    // Against the image running in the target environment (`fail-on: new`): SARIF's own words.
    ...(e.baseline === undefined ? {} : { baselineState: e.baseline === 'known' ? 'unchanged' : 'new' }),
    properties: {
      package: pkg.name,
      installedVersion: pkg.version,
      fixedVersions: pkg.fixedVersions,
      fixState: pkg.fixState,
      packageType: pkg.type,
      ...(pkg.purl === undefined ? {} : { purl: pkg.purl }),
      ...(pkg.layer === undefined ? {} : { layer: pkg.layer }),
      policyStatus: e.status,
    },
  };
}

/**
 * A stable 64-bit fingerprint (two 32-bit FNV-1a hashes with different offsets), as 16 hex digits.
 * It only has to tell results apart and stay the same across runs; a cryptographic hash per result
 * cost more than the rest of the result.
 */
export function fingerprintOf(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** A rule name in the PascalCase SARIF expects, from the package type. */
function ruleName(finding: Finding): string {
  const type = finding.packages[0]?.type ?? 'package';
  return `${type.replace(/(^|[^A-Za-z0-9])([A-Za-z0-9])/g, (_m, _sep: string, c: string) => c.toUpperCase())}Vulnerability`;
}

function shortText(finding: Finding): string {
  if (finding.title !== '') return finding.title;
  const first = /^[^.\n]*[.\n]?/.exec(finding.description)?.[0]?.trim() ?? '';
  return first !== '' ? first.replace(/\.$/, '') : `${finding.packages[0]?.name ?? 'package'} vulnerability`;
}

function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/** Escapes what would break a Markdown table cell. */
function md(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

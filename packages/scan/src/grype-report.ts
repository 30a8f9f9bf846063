import { deduplicate } from './deduplicate.js';
import type { FixState, PackageFinding, Severity } from './finding.js';
import { asArray, asObject, asString, optionalNumber, optionalString, stringList } from './json-fields.js';
import { visitJson, type JsonSource } from './json-stream.js';
import { ScannerReportError, type ScanReport } from './scan-report.js';
import { SharedText } from './shared-text.js';

const SEVERITY: Readonly<Record<string, Severity>> = {
  critical: 'critical',
  high: 'high',
  medium: 'medium',
  low: 'low',
  negligible: 'negligible',
  unknown: 'unknown',
};

const FIX_STATE: Readonly<Record<string, FixState>> = {
  fixed: 'fixed',
  'not-fixed': 'not-fixed',
  'wont-fix': 'wont-fix',
  unknown: 'unknown',
};

/**
 * Normalizes `grype -o json`. Each match is one vulnerability in one package; the identifiers in
 * `relatedVulnerabilities` (the CVE behind a GHSA, the NVD record behind a distro record) become
 * aliases, which is how the GHSA match and the CVE match of one flaw end up as one finding.
 */
export function parseGrypeReport(json: unknown, source: string): ScanReport {
  const report = asObject(json);
  if (report === undefined || !Array.isArray(report.matches))
    throw new ScannerReportError(
      'grype',
      source,
      "it has no 'matches' array, so it is not a Grype JSON report",
    );
  const shared = new SharedText();
  const matches = report.matches.map((entry: unknown, i) => grypeMatch(entry, i, source, shared));
  return finish(matches, report.descriptor, report.source);
}

/**
 * Normalizes a Grype report straight from its bytes, one match at a time (see
 * {@link streamTrivyReport} for why).
 */
export function streamGrypeReport(input: Uint8Array | JsonSource, source: string): ScanReport {
  const matches: PackageFinding[] = [];
  const shared = new SharedText();
  const seen = { matches: false };
  let descriptor: unknown;
  let scanned: unknown;
  visitJson(
    input,
    [['matches', '*'], ['descriptor'], ['source']],
    (path, value) => {
      if (path[0] === 'matches' && typeof path[1] === 'number')
        matches.push(grypeMatch(value, path[1], source, shared));
      else if (path[0] === 'descriptor') descriptor = value;
      else scanned = value;
    },
    (path) => {
      if (path.length === 1 && path[0] === 'matches') seen.matches = true;
    },
    // How it matched is never read.
    { omit: ['matchDetails'] },
  );
  if (!seen.matches)
    throw new ScannerReportError(
      'grype',
      source,
      "it has no 'matches' array, so it is not a Grype JSON report",
    );
  return finish(matches, descriptor, scanned);
}

function finish(matches: PackageFinding[], descriptor: unknown, scanned: unknown): ScanReport {
  const target = asObject(asObject(scanned)?.target);
  return {
    scanner: 'grype',
    scannerVersion: asString(asObject(descriptor)?.version, 'unknown'),
    artifact: optionalString(target?.userInput) ?? asString(asObject(scanned)?.target),
    matchCount: matches.length,
    findings: deduplicate(matches),
  };
}

function grypeMatch(entry: unknown, i: number, source: string, shared: SharedText): PackageFinding {
  const match = asObject(entry);
  const vuln = asObject(match?.vulnerability);
  const artifact = asObject(match?.artifact);
  const id = optionalString(vuln?.id);
  const name = optionalString(artifact?.name);
  if (vuln === undefined || artifact === undefined || id === undefined || name === undefined)
    throw new ScannerReportError('grype', source, `matches[${i}] has no vulnerability.id or artifact.name`);
  const related = asArray(match?.relatedVulnerabilities).map(asObject);
  const fix = asObject(vuln.fix);
  const fixed = stringList(fix?.versions);
  const location = asObject(asArray(artifact.locations)[0]);
  const aliases = new Set<string>();
  for (const r of related) {
    const rid = optionalString(r?.id);
    if (rid !== undefined && rid !== id) aliases.add(rid);
  }
  const urls = new Set(stringList(vuln.urls));
  for (const r of related) for (const u of stringList(r?.urls)) urls.add(u);
  const text = shared.share(id, {
    title: '',
    description:
      optionalString(vuln.description) ??
      related.map((r) => optionalString(r?.description)).find((d) => d !== undefined) ??
      '',
    primaryUrl: optionalString(vuln.dataSource),
    urls: [...urls],
  });
  return {
    id,
    aliases: [...aliases],
    severity: SEVERITY[asString(vuln.severity).toLowerCase()] ?? 'unknown',
    cvssScore: cvssScore([vuln, ...related]),
    ...text,
    package: {
      name,
      version: asString(artifact.version),
      type: asString(artifact.type, 'unknown'),
      purl: optionalString(artifact.purl),
      fixedVersions: fixed,
      fixState: fixed.length > 0 ? 'fixed' : (FIX_STATE[asString(fix?.state)] ?? 'unknown'),
      target: asString(location?.path),
      layer: shared.intern(optionalString(location?.layerID)),
    },
  };
}

/** The best CVSS v3 (else v2) base score of the match itself, else of its related records. */
function cvssScore(records: readonly (Record<string, unknown> | undefined)[]): number | undefined {
  for (const v3 of [true, false]) {
    for (const record of records) {
      for (const entry of asArray(record?.cvss)) {
        const cvss = asObject(entry);
        if (asString(cvss?.version).startsWith('3') !== v3) continue;
        const score = optionalNumber(asObject(cvss?.metrics)?.baseScore);
        if (score !== undefined && score > 0) return score;
      }
    }
  }
  return undefined;
}

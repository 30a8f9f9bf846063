import { deduplicate } from './deduplicate.js';
import type { FixState, PackageFinding, Severity } from './finding.js';
import { asArray, asObject, asString, optionalNumber, optionalString, stringList } from './json-fields.js';
import { ScannerReportError, type ScanReport } from './scan-report.js';

const SEVERITY: Readonly<Record<string, Severity>> = {
  CRITICAL: 'critical',
  HIGH: 'high',
  MEDIUM: 'medium',
  LOW: 'low',
  UNKNOWN: 'unknown',
};

/**
 * Trivy's `Status` in our words. `affected`, `fix_deferred` and `under_investigation` may still get
 * a fix; `will_not_fix` and `end_of_life` will not.
 */
const STATUS: Readonly<Record<string, FixState>> = {
  fixed: 'fixed',
  affected: 'not-fixed',
  fix_deferred: 'not-fixed',
  under_investigation: 'unknown',
  will_not_fix: 'wont-fix',
  end_of_life: 'wont-fix',
  not_affected: 'unknown',
  unknown: 'unknown',
};

/** CVSS sources in order of trust when the report's own severity source has none. */
const CVSS_SOURCES = ['nvd', 'ghsa', 'redhat'];

/**
 * Normalizes `trivy image --format json` (SchemaVersion 2). Trivy omits empty arrays, so a missing
 * `Results` or `Vulnerabilities` means none.
 */
export function parseTrivyReport(json: unknown, source: string): ScanReport {
  const report = asObject(json);
  if (report === undefined || typeof report.SchemaVersion !== 'number')
    throw new ScannerReportError(
      'trivy',
      source,
      'it has no SchemaVersion, so it is not a Trivy JSON report',
    );
  if (report.SchemaVersion !== 2)
    throw new ScannerReportError(
      'trivy',
      source,
      `SchemaVersion ${report.SchemaVersion} is not supported (2 is)`,
    );
  if (report.Results !== undefined && !Array.isArray(report.Results))
    throw new ScannerReportError('trivy', source, "'Results' is not an array");

  const matches: PackageFinding[] = [];
  for (const [r, entry] of asArray(report.Results).entries()) {
    const result = asObject(entry);
    if (result === undefined) throw new ScannerReportError('trivy', source, `Results[${r}] is not an object`);
    const target = asString(result.Target);
    const type = asString(result.Type, asString(result.Class, 'unknown'));
    for (const [v, item] of asArray(result.Vulnerabilities).entries()) {
      const vuln = asObject(item);
      const id = optionalString(vuln?.VulnerabilityID);
      const name = optionalString(vuln?.PkgName);
      if (vuln === undefined || id === undefined || name === undefined)
        throw new ScannerReportError(
          'trivy',
          source,
          `Results[${r}].Vulnerabilities[${v}] has no VulnerabilityID or PkgName`,
        );
      const fixed = splitVersions(asString(vuln.FixedVersion));
      const status = optionalString(vuln.Status);
      const fixState: FixState =
        fixed.length > 0 ? 'fixed' : status === undefined ? 'not-fixed' : (STATUS[status] ?? 'unknown');
      const layer = asObject(vuln.Layer);
      const urls = stringList(vuln.References);
      const primaryUrl = optionalString(vuln.PrimaryURL);
      matches.push({
        id,
        aliases: [],
        severity: SEVERITY[asString(vuln.Severity).toUpperCase()] ?? 'unknown',
        cvssScore: cvssScore(vuln.CVSS, optionalString(vuln.SeveritySource)),
        title: asString(vuln.Title),
        description: asString(vuln.Description),
        primaryUrl,
        urls,
        package: {
          name,
          version: asString(vuln.InstalledVersion),
          type,
          purl: optionalString(asObject(vuln.PkgIdentifier)?.PURL),
          fixedVersions: fixed,
          fixState,
          target,
          layer: optionalString(layer?.Digest) ?? optionalString(layer?.DiffID),
        },
      });
    }
  }
  return {
    scanner: 'trivy',
    scannerVersion: asString(asObject(report.Trivy)?.Version, 'unknown'),
    artifact: asString(report.ArtifactName),
    matchCount: matches.length,
    findings: deduplicate(matches),
  };
}

/** Trivy lists several fixed versions comma-separated (one per release line). */
function splitVersions(text: string): string[] {
  return text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The CVSS v3 (else v4, else v2) score of the report's severity source, else of the most trusted one. */
function cvssScore(value: unknown, preferred: string | undefined): number | undefined {
  const cvss = asObject(value);
  if (cvss === undefined) return undefined;
  const sources = [...(preferred === undefined ? [] : [preferred]), ...CVSS_SOURCES, ...Object.keys(cvss)];
  for (const field of ['V3Score', 'V40Score', 'V2Score']) {
    for (const s of sources) {
      const score = optionalNumber(asObject(cvss[s])?.[field]);
      if (score !== undefined && score > 0) return score;
    }
  }
  return undefined;
}

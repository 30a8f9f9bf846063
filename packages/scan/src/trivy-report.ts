import { deduplicate } from './deduplicate.js';
import type { FixState, PackageFinding, Severity } from './finding.js';
import { asArray, asObject, asString, optionalNumber, optionalString, stringList } from './json-fields.js';
import { visitJson, type JsonSource } from './json-stream.js';
import { ScannerReportError, type ScanReport } from './scan-report.js';
import { SharedText } from './shared-text.js';

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

/** Members of a vulnerability entry that nothing reads: cut before parsing. */
const TRIVY_UNREAD = [
  'PkgID',
  'DataSource',
  'Fingerprint',
  'CweIDs',
  'VendorSeverity',
  'VendorIDs',
  'PublishedDate',
  'LastModifiedDate',
];

/** Trivy links no identifiers: one shared empty list instead of one per match. */
const NO_ALIASES: readonly string[] = Object.freeze([]);

/** CVSS sources in order of trust when the report's own severity source has none. */
const CVSS_SOURCES = ['nvd', 'ghsa', 'redhat'];

/** The result (target) a vulnerability entry belongs to. */
interface TrivyResult {
  target: string;
  type: string;
}

/**
 * Normalizes an already parsed `trivy image --format json` report (SchemaVersion 2). Trivy omits
 * empty arrays, so a missing `Results` or `Vulnerabilities` means none.
 */
export function parseTrivyReport(json: unknown, source: string): ScanReport {
  const report = asObject(json);
  if (report === undefined || typeof report.SchemaVersion !== 'number')
    throw new ScannerReportError(
      'trivy',
      source,
      'it has no SchemaVersion, so it is not a Trivy JSON report',
    );
  checkSchema(report.SchemaVersion, source);
  if (report.Results !== undefined && !Array.isArray(report.Results))
    throw new ScannerReportError('trivy', source, "'Results' is not an array");
  const matches: PackageFinding[] = [];
  const shared = new SharedText();
  for (const [r, entry] of asArray(report.Results).entries()) {
    const result = asObject(entry);
    if (result === undefined) throw new ScannerReportError('trivy', source, `Results[${r}] is not an object`);
    const context = resultContext(result);
    for (const [v, item] of asArray(result.Vulnerabilities).entries())
      matches.push(trivyMatch(item, context, r, v, source, shared));
  }
  return {
    scanner: 'trivy',
    scannerVersion: asString(asObject(report.Trivy)?.Version, 'unknown'),
    artifact: asString(report.ArtifactName),
    matchCount: matches.length,
    findings: deduplicate(matches),
  };
}

/**
 * Normalizes a Trivy report from its bytes or a file, parsing one vulnerability entry at a time and
 * skipping what is never read (image metadata, package lists): the memory a 100,000-match report
 * needs is the findings, not the JSON tree.
 */
export function streamTrivyReport(input: Uint8Array | JsonSource, source: string): ScanReport {
  let schema: unknown;
  let version = 'unknown';
  let artifact = '';
  const matches: PackageFinding[] = [];
  const shared = new SharedText();
  let current = -1;
  let context: TrivyResult = { target: '', type: 'unknown' };
  // Entries of the current result, in case its Target or Type comes after its Vulnerabilities.
  let pending: { -readonly [K in keyof PackageFinding['package']]: PackageFinding['package'][K] }[] = [];
  const enterResult = (r: number): void => {
    if (r === current) return;
    current = r;
    context = { target: '', type: 'unknown' };
    pending = [];
  };
  visitJson(
    input,
    [
      ['SchemaVersion'],
      ['Trivy'],
      ['ArtifactName'],
      ['Results', '*', 'Target'],
      ['Results', '*', 'Type'],
      ['Results', '*', 'Class'],
      ['Results', '*', 'Vulnerabilities', '*'],
    ],
    (path, value) => {
      const [top, r, field, v] = path;
      if (top === 'SchemaVersion') schema = value;
      else if (top === 'Trivy') version = asString(asObject(value)?.Version, 'unknown');
      else if (top === 'ArtifactName') artifact = asString(value);
      else if (typeof r === 'number') {
        enterResult(r);
        if (field === 'Vulnerabilities' && typeof v === 'number') {
          const match = trivyMatch(value, context, r, v, source, shared);
          matches.push(match);
          pending.push(match.package);
        } else if (field === 'Target') {
          context.target = asString(value);
          for (const p of pending) p.target = context.target;
        } else if (
          (field === 'Type' || (field === 'Class' && context.type === 'unknown')) &&
          typeof value === 'string'
        ) {
          context.type = value;
          for (const p of pending) p.type = value;
        }
      }
    },
    (path) => {
      if (path.length === 2 && path[0] === 'Results' && typeof path[1] === 'number') enterResult(path[1]);
    },
    { omit: TRIVY_UNREAD },
  );
  if (typeof schema !== 'number')
    throw new ScannerReportError(
      'trivy',
      source,
      'it has no SchemaVersion, so it is not a Trivy JSON report',
    );
  checkSchema(schema, source);
  return {
    scanner: 'trivy',
    scannerVersion: version,
    artifact,
    matchCount: matches.length,
    findings: deduplicate(matches),
  };
}

function checkSchema(version: number, source: string): void {
  if (version !== 2)
    throw new ScannerReportError('trivy', source, `SchemaVersion ${version} is not supported (2 is)`);
}

function resultContext(result: Record<string, unknown>): TrivyResult {
  return {
    target: asString(result.Target),
    type: asString(result.Type, asString(result.Class, 'unknown')),
  };
}

function trivyMatch(
  item: unknown,
  result: TrivyResult,
  r: number,
  v: number,
  source: string,
  shared: SharedText,
): PackageFinding {
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
  const text = shared.share(id, {
    title: asString(vuln.Title),
    description: asString(vuln.Description),
    primaryUrl: optionalString(vuln.PrimaryURL),
    urls: stringList(vuln.References),
  });
  return {
    id,
    aliases: NO_ALIASES,
    severity: SEVERITY[asString(vuln.Severity).toUpperCase()] ?? 'unknown',
    cvssScore: cvssScore(vuln.CVSS, optionalString(vuln.SeveritySource)),
    ...text,
    package: {
      name,
      version: asString(vuln.InstalledVersion),
      type: result.type,
      purl: optionalString(asObject(vuln.PkgIdentifier)?.PURL),
      fixedVersions: fixed,
      fixState,
      target: result.target,
      layer: shared.intern(optionalString(layer?.Digest) ?? optionalString(layer?.DiffID)),
    },
  };
}

/** Trivy lists several fixed versions comma-separated (one per release line). */
function splitVersions(text: string): string[] {
  if (text === '') return [];
  if (!text.includes(',')) return [text.trim()];
  return text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The CVSS v3 (else v4, else v2) score of the report's severity source, else of the most trusted one. */
function cvssScore(value: unknown, preferred: string | undefined): number | undefined {
  const cvss = asObject(value);
  if (cvss === undefined) return undefined;
  for (const field of ['V3Score', 'V40Score', 'V2Score']) {
    const score = (source: string | undefined): number | undefined => {
      if (source === undefined) return undefined;
      const n = optionalNumber(asObject(cvss[source])?.[field]);
      return n !== undefined && n > 0 ? n : undefined;
    };
    const found =
      score(preferred) ?? score(CVSS_SOURCES[0]) ?? score(CVSS_SOURCES[1]) ?? score(CVSS_SOURCES[2]);
    if (found !== undefined) return found;
    for (const source of Object.keys(cvss)) {
      const other = score(source);
      if (other !== undefined) return other;
    }
  }
  return undefined;
}

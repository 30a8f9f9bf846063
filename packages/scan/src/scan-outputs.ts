import { closeSync, openSync, writeSync } from 'node:fs';
import type { Finding, Severity } from './finding.js';
import type { PolicyResult, WaiverUse } from './policy.js';
import type { ScanReport } from './scan-report.js';

/** The action's outputs, as strings the runner stores. */
export interface ScanOutputs {
  readonly verdict: 'pass' | 'fail';
  /** `{"before":{"critical":1,...},"after":{...}}` */
  readonly counts: string;
  readonly total: string;
  readonly fixable: string;
  /** `{"applied":[...],"expired":[...],"unused":[...]}` */
  readonly waived: string;
}

/** Shapes the policy result into outputs. */
export function scanOutputs(report: ScanReport, policy: PolicyResult): ScanOutputs {
  return {
    verdict: policy.verdict,
    counts: JSON.stringify(policy.counts),
    total: String(report.findings.length),
    fixable: String(report.findings.filter((f) => f.fixState === 'fixed').length),
    waived: JSON.stringify(waiverSummary(policy)),
  };
}

function waiverSummary(policy: PolicyResult): Record<string, unknown> {
  const use = ({ waiver: w, findings }: WaiverUse): Record<string, unknown> => ({
    id: w.id,
    ...(w.package === undefined ? {} : { package: w.package }),
    owner: w.owner,
    reason: w.reason,
    expires: w.expires,
    findings,
  });
  return {
    applied: policy.waivers.applied.map(use),
    expired: policy.waivers.expired.map(use),
    unused: policy.waivers.unused.map((w) => ({ id: w.id, owner: w.owner, expires: w.expires })),
  };
}

/** What the normalized report file (the `report-file` output) holds. */
export interface NormalizedReportOptions {
  readonly image: string;
  readonly category: string;
  readonly report: ScanReport;
  readonly policy: PolicyResult;
  readonly generatedAt: string;
}

/**
 * Writes the normalized JSON report (the `report-file` output): every finding with its packages
 * and the policy's decision, counts, waivers and the verdict. Findings are written one per line as
 * they are serialized, so a 100,000-match report never exists as one string in memory.
 */
export function writeNormalizedReport(file: string, o: NormalizedReportOptions): void {
  const header = {
    schema: 'dreamscape.scan/v1',
    generatedAt: o.generatedAt,
    image: o.image,
    category: o.category,
    scanner: { name: o.report.scanner, version: o.report.scannerVersion },
    policy: { severityThreshold: o.policy.threshold, ignoreUnfixed: o.policy.ignoreUnfixed },
    verdict: o.policy.verdict,
    reasons: o.policy.reasons,
    counts: o.policy.counts,
    matches: o.report.matchCount,
    total: o.report.findings.length,
    waivers: waiverSummary(o.policy),
  };
  const fd = openSync(file, 'w');
  try {
    const head = JSON.stringify(header);
    writeSync(fd, `${head.slice(0, -1)},"findings":[`);
    let chunk: string[] = [];
    const flush = (): void => {
      if (chunk.length > 0) writeSync(fd, chunk.join(''));
      chunk = [];
    };
    o.policy.evaluated.forEach((e, i) => {
      const finding = { ...findingJson(e.finding), status: e.status, waivedBy: e.waivers.map((w) => w.id) };
      chunk.push(`${i === 0 ? '' : ','}\n${JSON.stringify(finding)}`);
      if (chunk.length >= 500) flush();
    });
    flush();
    writeSync(fd, '\n]}\n');
  } finally {
    closeSync(fd);
  }
}

function findingJson(f: Finding): Record<string, unknown> & { severity: Severity } {
  return {
    id: f.id,
    aliases: f.aliases,
    severity: f.severity,
    cvssScore: f.cvssScore ?? null,
    fixState: f.fixState,
    title: f.title,
    description: f.description,
    primaryUrl: f.primaryUrl ?? null,
    urls: f.urls,
    packages: f.packages.map((p) => ({
      name: p.name,
      version: p.version,
      type: p.type,
      purl: p.purl ?? null,
      fixedVersions: p.fixedVersions,
      fixState: p.fixState,
      target: p.target,
      layer: p.layer ?? null,
    })),
  };
}

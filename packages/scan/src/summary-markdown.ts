import { SEVERITIES, type Severity } from './finding.js';
import { fixedVulnerabilities } from './baseline.js';
import type { FindingStatus, PolicyResult, WaiverUse } from './policy.js';
import type { ScannerName } from './scan-report.js';

/** What the job summary and the pull-request comment show. */
export interface ScanSummaryOptions {
  readonly image: string;
  readonly scanner: ScannerName;
  readonly scannerVersion: string;
  readonly category: string;
  readonly policy: PolicyResult;
  /** How many findings the "top findings" table lists. Default 10. */
  readonly topFindings?: number;
  /** SARIF results written and whether they were truncated, when SARIF was written. */
  readonly sarif?: { readonly results: number; readonly totalResults: number; readonly truncated: boolean };
}

const LABEL: Readonly<Record<Severity, string>> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  negligible: 'Negligible',
  unknown: 'Unknown',
};

const STATUS: Readonly<Record<FindingStatus, string>> = {
  blocking: '⛔ blocking',
  known: 'known (runs now)',
  allowed: 'below threshold',
  waived: 'waived',
  'ignored-unfixed': 'no fix, ignored',
};

const SCANNER: Readonly<Record<ScannerName, string>> = { trivy: 'Trivy', grype: 'Grype' };

/**
 * Renders the scan as Markdown: the verdict and why, a table per severity before and after policy,
 * the top findings with their fixed versions, and the waivers applied and expired.
 */
export function renderScanSummary(options: ScanSummaryOptions): string {
  const p = options.policy;
  const pass = p.verdict === 'pass';
  const lines: string[] = [
    `### ${pass ? '✅' : '❌'} Image scan ${pass ? 'passed' : 'failed'}: \`${options.image}\``,
    '',
    `Scanned with **${SCANNER[options.scanner]} ${cell(options.scannerVersion)}**, severity threshold **${p.threshold}**, ignore-unfixed **${p.ignoreUnfixed ? 'on' : 'off'}**, category \`${options.category}\`.`,
    '',
    `**Verdict: ${p.verdict}.** ${p.reasons.map(cell).join(' ')}`,
    '',
    '| Severity | Found | After policy |',
    '| --- | ---: | ---: |',
  ];
  let before = 0;
  let after = 0;
  for (const s of SEVERITIES) {
    before += p.counts.before[s];
    after += p.counts.after[s];
    if (p.counts.before[s] === 0 && (s === 'negligible' || s === 'unknown')) continue;
    lines.push(`| ${LABEL[s]} | ${p.counts.before[s]} | ${p.counts.after[s]} |`);
  }
  lines.push(`| **Total** | **${before}** | **${after}** |`, '');

  lines.push(...baselineSection(p, options.topFindings ?? 10));

  const compared = p.baseline?.status === 'found';
  const top = p.evaluated.slice(0, options.topFindings ?? 10);
  if (top.length > 0) {
    lines.push(
      `#### Top findings${p.evaluated.length > top.length ? ` (${top.length} of ${p.evaluated.length})` : ''}`,
      '',
      `| ID | Severity | Package | Installed | Fixed in | Policy |${compared ? ' Runs now |' : ''}`,
      `| --- | --- | --- | --- | --- | --- |${compared ? ' --- |' : ''}`,
    );
    for (const e of top) {
      const f = e.finding;
      const pkg = f.packages[0];
      const others = f.packages.length > 1 ? ` (+${f.packages.length - 1} more)` : '';
      const id = f.primaryUrl === undefined ? cell(f.id) : `[${cell(f.id)}](${f.primaryUrl})`;
      lines.push(
        `| ${id} | ${LABEL[f.severity]} | ${cell(pkg?.name ?? '')}${others} | ${cell(pkg?.version ?? '')} | ${cell(fixedIn(pkg?.fixedVersions ?? [], f.fixState))} | ${STATUS[e.status]} |${compared ? ` ${e.baseline === 'known' ? 'yes (known)' : '**no (new)**'} |` : ''}`,
      );
    }
    lines.push('');
  } else {
    lines.push('No vulnerabilities found.', '');
  }

  const { applied, expired, unused } = p.waivers;
  if (applied.length + expired.length + unused.length > 0) {
    lines.push('#### Waivers', '');
    if (applied.length > 0) lines.push(...waiverTable('Applied', applied));
    if (expired.length > 0) lines.push(...waiverTable('Expired (no longer waive anything)', expired));
    if (unused.length > 0)
      lines.push(
        `Not matching any finding: ${unused.map((w) => `\`${cell(w.id)}\`${w.package === undefined ? '' : ` in ${cell(w.package)}`}`).join(', ')}.`,
        '',
      );
  }
  if (options.sarif?.truncated === true)
    lines.push(
      `> SARIF holds the ${options.sarif.results} most severe of ${options.sarif.totalResults} results (GitHub code scanning limits); the full list is in the scan report.`,
      '',
    );
  return lines.join('\n');
}

/**
 * New, fixed and known findings against the image running in the target environment, or why there
 * was nothing to compare with. Empty when no baseline was asked for.
 */
function baselineSection(p: PolicyResult, limit: number): string[] {
  const b = p.baseline;
  if (b === undefined) return [];
  if (b.status === 'none')
    return [`> No baseline to compare with: ${cell(b.reason)}. Every finding was judged.`, ''];
  const lines = [
    `#### Against what runs now: ${cell(b.source)}`,
    '',
    `\`${cell(b.image)}\`, scanned ${b.verdictCreatedAt.slice(0, 10)}.${p.failOn === 'new' ? ' Only new findings can fail this scan (`fail-on: new`).' : ''}`,
    '',
    '| New | Fixed | Known |',
    '| ---: | ---: | ---: |',
    `| ${b.new} | ${fixedVulnerabilities(b.fixed).length} | ${b.known} |`,
    '',
  ];
  if (b.fixed.length > 0) {
    const shown = b.fixed.slice(0, limit);
    lines.push(
      `**Fixed**${b.fixed.length > shown.length ? ` (${shown.length} of ${b.fixed.length})` : ''}`,
      '',
      '| ID | Severity | Package | Was installed |',
      '| --- | --- | --- | --- |',
      ...shown.map(
        (f) => `| ${cell(f.id)} | ${LABEL[f.severity]} | ${cell(f.package)} | ${cell(f.installedVersion)} |`,
      ),
      '',
    );
  }
  return lines;
}

function waiverTable(title: string, uses: readonly WaiverUse[]): string[] {
  return [
    `**${title}**`,
    '',
    '| ID | Package | Owner | Expires | Reason | Findings |',
    '| --- | --- | --- | --- | --- | --- |',
    ...uses.map(
      ({ waiver: w, findings }) =>
        `| ${cell(w.id)} | ${cell(w.package ?? 'any')} | ${cell(w.owner)} | ${w.expires} | ${cell(w.reason)} | ${findings.length === 0 ? 'none' : cell(findings.join(', '))} |`,
    ),
    '',
  ];
}

function fixedIn(versions: readonly string[], state: string): string {
  if (versions.length > 0) return versions.join(', ');
  return state === 'wont-fix' ? "won't fix" : state === 'not-fixed' ? 'no fix yet' : 'unknown';
}

/** Text safe inside a Markdown table cell and free of HTML. */
function cell(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ');
}

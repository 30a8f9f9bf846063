import { ageText, type VerdictCheck, type VerdictStatus } from './scan-requirement.js';

/** How each judgement reads in a report: `accepted` as `passing`, a refusal as what was found. */
export const VERDICT_STATUS_TEXT: Readonly<Record<VerdictStatus, string>> = {
  accepted: '✅ passing',
  exempt: '➖ exempt',
  missing: '❌ missing',
  failing: '❌ failing',
  'too-old': '❌ too-old',
  'not-allowed': '❌ not-allowed',
  unreadable: '❌ unreadable',
};

/** Text from a registry (an error message) made safe for one table cell. */
function cell(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/**
 * The Markdown table of judged images, one row each in the order given: the image, its status, the
 * age of its newest verdict at `now`, the scanner and the threshold the verdict was made with, and
 * for a refusal what was found and how to fix it, in the words of a deploy's refusal.
 */
export function verdictTable(checks: readonly VerdictCheck[], now: number): string[] {
  const rows = checks.map((c) => {
    const v = c.verdict;
    const made = Date.parse(v?.createdAt ?? '');
    const age = v === undefined ? '—' : Number.isNaN(made) ? 'unknown' : ageText(now - made);
    const scanner = v === undefined ? '—' : cell(`${v.scanner.name} ${v.scanner.version}`);
    const fix = c.status === 'accepted' ? '' : cell(c.detail);
    return `| \`${c.image}\` | ${VERDICT_STATUS_TEXT[c.status]} | ${age} | ${scanner} | ${v?.policy.threshold ?? '—'} | ${fix} |`;
  });
  return [
    '| Image | Status | Verdict age | Scanner | Threshold | Refusal and fix |',
    '|---|---|---|---|---|---|',
    ...rows,
  ];
}

/**
 * The job summary's section for the verdicts a deploy accepted: how many passed and how many
 * `scan-exempt` exempted (with their entries), then the table.
 */
export function acceptedVerdictsSection(checks: readonly VerdictCheck[], now: number): string[] {
  const exempt = checks.filter((c) => c.status === 'exempt').length;
  const passing = checks.length - exempt;
  const images = (n: number): string => `${String(n)} image${n === 1 ? '' : 's'}`;
  return [
    '#### 🔍 Scan verdicts',
    '',
    exempt === 0
      ? `require-scan: ${images(checks.length)}, each with a passing verdict.`
      : `require-scan: ${images(passing)} with a passing verdict; ${images(exempt)} exempted by scan-exempt, asked no verdict.`,
    '',
    ...verdictTable(checks, now),
    '',
  ];
}

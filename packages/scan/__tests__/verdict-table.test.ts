import { describe, expect, it } from '@jest/globals';
import { SEVERITIES } from '../src/finding.js';
import { judgeVerdict, type ScanRequirement, type VerdictCheck } from '../src/scan-requirement.js';
import type { ScanVerdict } from '../src/verdict.js';
import { verdictTable } from '../src/verdict-table.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const DAY = 24 * 3_600_000;
const REQUIREMENT: ScanRequirement = { maxAgeMs: 7 * DAY, scanners: ['trivy'], threshold: 'critical' };
const image = (c: string): string => `ghcr.io/acme/web@sha256:${c.repeat(64)}`;

function verdict(ref: string, over: Partial<ScanVerdict> = {}): ScanVerdict {
  const zero = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as ScanVerdict['counts']['after'];
  return {
    schema: 1,
    image: ref,
    result: 'pass',
    policy: { threshold: 'high', ignoreUnfixed: false, failOn: 'fail-build' },
    counts: { before: zero, after: zero },
    findings: [],
    waivers: [],
    scanner: { name: 'trivy', version: '0.74.0' },
    createdAt: new Date(NOW - 2 * 3_600_000 - 5 * 60_000).toISOString(),
    ...over,
  };
}

describe('verdictTable', () => {
  it('gives every judged image a row: status, verdict age, scanner, threshold, and for a refusal the fix', () => {
    const checks: VerdictCheck[] = [
      judgeVerdict(image('a'), verdict(image('a')), REQUIREMENT, NOW),
      judgeVerdict(image('b'), undefined, REQUIREMENT, NOW),
      judgeVerdict(
        image('c'),
        verdict(image('c'), { createdAt: new Date(NOW - 9 * DAY).toISOString() }),
        REQUIREMENT,
        NOW,
      ),
      judgeVerdict(
        image('d'),
        verdict(image('d'), { scanner: { name: 'grype', version: '0.90.0' } }),
        REQUIREMENT,
        NOW,
      ),
      {
        image: image('e'),
        status: 'unreadable',
        detail: 'its verdict could not be read: 502 <html>a | b</html>\nBad Gateway',
      },
    ];
    expect(verdictTable(checks, NOW)).toEqual([
      '| Image | Status | Verdict age | Scanner | Threshold | Refusal and fix |',
      '|---|---|---|---|---|---|',
      `| \`${image('a')}\` | ✅ passing | 2h 5m | trivy 0.74.0 | high |  |`,
      `| \`${image('b')}\` | ❌ missing | — | — | — | no scan verdict is attached to this digest: scan it with action-scan (attach-verdict) before deploying |`,
      `| \`${image('c')}\` | ❌ too-old | 9d | trivy 0.74.0 | high | its newest verdict is 9d old, more than scan-max-age 7d (trivy 0.74.0, threshold high, 2026-11-28T12:00:00.000Z): scan it again |`,
      `| \`${image('d')}\` | ❌ not-allowed | 2h 5m | grype 0.90.0 | high | its newest verdict comes from grype, and scan-scanners allows trivy (grype 0.90.0, threshold high, 2026-12-07T09:55:00.000Z) |`,
      `| \`${image('e')}\` | ❌ unreadable | — | — | — | its verdict could not be read: 502 &lt;html&gt;a \\| b&lt;/html&gt; Bad Gateway |`,
    ]);
  });

  it('shows a failing verdict with its counts, and a date it cannot read as an unknown age', () => {
    const counts = { critical: 2, high: 1, medium: 0, low: 0, negligible: 0, unknown: 0 };
    const failing = verdict(image('a'), {
      result: 'fail',
      counts: { before: counts, after: counts },
    });
    const undated = verdict(image('b'), { createdAt: 'yesterday' });
    const [, , fails, old] = verdictTable(
      [
        judgeVerdict(image('a'), failing, REQUIREMENT, NOW),
        judgeVerdict(image('b'), undated, REQUIREMENT, NOW),
      ],
      NOW,
    );
    expect(fails).toMatch(
      / \| ❌ failing \| 2h 5m \| trivy 0\.74\.0 \| high \| its newest verdict fails \(2 critical, 1 high; .*\): fix or waive the findings, rebuild and scan again \|$/,
    );
    expect(old).toMatch(
      / \| ❌ too-old \| unknown \| trivy 0\.74\.0 \| high \| its newest verdict is of an unknown age, /,
    );
  });
});

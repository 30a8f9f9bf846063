import { describe, expect, it } from '@jest/globals';
import { SEVERITIES } from '../src/finding.js';
import {
  checkScanVerdicts,
  judgeVerdict,
  scanRefusal,
  type ScanRequirement,
} from '../src/scan-requirement.js';
import type { ScanVerdict } from '../src/verdict.js';
import { VERDICT_ARTIFACT_TYPE } from '../src/verdict.js';
import type { ReferrerStore } from '../src/verdict-referrers.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const DAY = 24 * 3_600_000;
const IMAGE = `ghcr.io/acme/web@sha256:${'a'.repeat(64)}`;
const REQUIREMENT: ScanRequirement = {
  maxAgeMs: 7 * DAY,
  scanners: ['trivy', 'grype'],
  threshold: 'critical',
};

function verdict(over: Partial<ScanVerdict> = {}): ScanVerdict {
  const zero = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as ScanVerdict['counts']['after'];
  return {
    schema: 1,
    image: IMAGE,
    result: 'pass',
    policy: { threshold: 'high', ignoreUnfixed: false, failOn: 'fail-build' },
    counts: { before: zero, after: zero },
    findings: [],
    waivers: [],
    scanner: { name: 'trivy', version: '0.74.0' },
    createdAt: new Date(NOW - DAY).toISOString(),
    ...over,
  };
}

describe('judgeVerdict', () => {
  it('accepts a passing verdict from an allowed scanner, strict enough and recent enough', () => {
    expect(judgeVerdict(IMAGE, verdict(), REQUIREMENT, NOW).status).toBe('accepted');
    // The age limit is inclusive.
    const edge = verdict({ createdAt: new Date(NOW - 7 * DAY).toISOString() });
    expect(judgeVerdict(IMAGE, edge, REQUIREMENT, NOW).status).toBe('accepted');
  });

  it.each([
    ['no verdict', undefined, 'missing', /no scan verdict is attached/],
    ['a failing verdict', verdict({ result: 'fail' }), 'failing', /its newest verdict fails/],
    [
      'a verdict a second too old',
      verdict({ createdAt: new Date(NOW - 7 * DAY - 1000).toISOString() }),
      'too-old',
      /more than scan-max-age 7d/,
    ],
    ['a verdict with an unreadable date', verdict({ createdAt: 'yesterday' }), 'too-old', /scan it again/],
    [
      'a verdict from a scanner not allowed',
      verdict({ scanner: { name: 'grype', version: '0.90.0' } }),
      'not-allowed',
      /comes from grype, and scan-scanners allows trivy/,
    ],
    [
      'a verdict made with a looser threshold',
      verdict({ policy: { threshold: 'none', ignoreUnfixed: false, failOn: 'report-only' } }),
      'not-allowed',
      /made with threshold none, looser than the critical/,
    ],
  ] as const)('refuses %s', (_what, v, status, detail) => {
    const requirement = _what.includes('scanner') ? { ...REQUIREMENT, scanners: ['trivy'] } : REQUIREMENT;
    const check = judgeVerdict(IMAGE, v, requirement, NOW);
    expect(check.status).toBe(status);
    expect(check.detail).toMatch(detail);
  });

  it('takes a stricter threshold than asked for', () => {
    const strict = verdict({ policy: { threshold: 'low', ignoreUnfixed: true, failOn: 'fail-build' } });
    expect(judgeVerdict(IMAGE, strict, { ...REQUIREMENT, threshold: 'high' }, NOW).status).toBe('accepted');
    const loose = verdict({ policy: { threshold: 'critical', ignoreUnfixed: false, failOn: 'fail-build' } });
    expect(judgeVerdict(IMAGE, loose, { ...REQUIREMENT, threshold: 'high' }, NOW).status).toBe('not-allowed');
  });
});

describe('checkScanVerdicts', () => {
  it('reads every image, judges each, and never accepts one whose verdict cannot be read', async () => {
    const other = `ghcr.io/acme/api@sha256:${'b'.repeat(64)}`;
    const store: ReferrerStore = {
      attach: () => Promise.reject(new Error('not used')),
      readNewest: (image, o) => {
        expect(o.artifactType).toBe(VERDICT_ARTIFACT_TYPE);
        if (image === other) return Promise.reject(new Error('401 Unauthorized'));
        return Promise.resolve({
          digest: `sha256:${'c'.repeat(64)}`,
          payload: new TextEncoder().encode(JSON.stringify(verdict())),
        });
      },
    };
    const checks = await checkScanVerdicts([IMAGE, other, 'ghcr.io/acme/tagged:v1'], store, REQUIREMENT, NOW);
    expect(checks.map((c) => c.status)).toEqual(['accepted', 'unreadable', 'unreadable']);
    expect(checks[1]?.detail).toMatch(/could not be read: 401 Unauthorized/);
    const refusal = scanRefusal(checks);
    expect(refusal?.message).toMatch(/^require-scan refused 2 of 3 images; nothing was written:/);
    expect(refusal?.message).toContain(`- ${other}: unreadable:`);
    expect(scanRefusal(checks.slice(0, 1))).toBeUndefined();
  });
});

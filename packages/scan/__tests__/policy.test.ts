import { describe, expect, it } from '@jest/globals';
import { evaluatePolicy, parseScanReport, parseWaivers, type Threshold, type Waiver } from '../src/index.js';
import { scannerFixture as fixture } from '@dreamscape/testkit';

const debian = parseScanReport('trivy', fixture('trivy-image-debian-buster.json'), 'debian').findings;
const alpine = parseScanReport('trivy', fixture('trivy-image-alpine-310.json'), 'alpine').findings;
const rhel = parseScanReport('grype', fixture('grype-image-rhel-wontfix.json'), 'rhel').findings;
const java = parseScanReport('grype', fixture('grype-image-alpine-java.json'), 'java').findings;
const NOW = Date.parse('2026-11-26T12:00:00Z');

function waivers(yaml: string): Waiver[] {
  return parseWaivers(yaml, 'waivers.yml');
}

describe('evaluatePolicy', () => {
  it.each<[string, Threshold, 'pass' | 'fail', number]>([
    ['debian', 'critical', 'fail', 1],
    ['debian', 'high', 'fail', 1],
    ['debian', 'medium', 'fail', 1],
    ['debian', 'low', 'fail', 2],
    ['debian', 'none', 'pass', 0],
    ['alpine', 'high', 'pass', 0],
    ['alpine', 'medium', 'fail', 2],
    ['rhel', 'medium', 'pass', 0],
    ['rhel', 'low', 'fail', 1],
  ])('%s at threshold %s → %s with %d blocking', (name, threshold, verdict, blocking) => {
    const findings = { debian, alpine, rhel }[name] ?? [];
    const result = evaluatePolicy(findings, { threshold, ignoreUnfixed: false, waivers: [], now: NOW });
    expect(result.verdict).toBe(verdict);
    expect(result.blocking).toBe(blocking);
    // Everything is reported, whatever the verdict.
    expect(result.evaluated).toHaveLength(findings.length);
  });

  it("ignore-unfixed drops the RHEL won't-fix finding and the Debian unfixed one, and counts after policy", () => {
    const r = evaluatePolicy(rhel, { threshold: 'low', ignoreUnfixed: true, waivers: [], now: NOW });
    expect(r.verdict).toBe('pass');
    expect(r.evaluated[0]?.status).toBe('ignored-unfixed');
    expect(r.counts.before.low).toBe(1);
    expect(r.counts.after.low).toBe(0);
    const d = evaluatePolicy(debian, { threshold: 'low', ignoreUnfixed: true, waivers: [], now: NOW });
    expect(d.evaluated.map((e) => [e.finding.id, e.status])).toEqual([
      ['CVE-2019-18224', 'blocking'],
      ['CVE-2019-18276', 'ignored-unfixed'],
    ]);
    expect(d.reasons).toContain('1 finding without a fix ignored (ignore-unfixed).');
  });

  it('an active waiver waives; the verdict passes and says why', () => {
    const r = evaluatePolicy(debian, {
      threshold: 'high',
      ignoreUnfixed: false,
      waivers: waivers('- {id: CVE-2019-18224, reason: no IDN input, owner: "@sec", expires: 2026-11-26}'),
      now: NOW,
    });
    expect(r.verdict).toBe('pass');
    expect(r.evaluated[0]?.status).toBe('waived');
    expect(r.counts.before.critical).toBe(1);
    expect(r.counts.after.critical).toBe(0);
    expect(r.waivers.applied.map((u) => [u.waiver.id, u.findings])).toEqual([
      ['CVE-2019-18224', ['CVE-2019-18224']],
    ]);
    expect(r.reasons).toEqual([
      "No finding at or above 'high' after waivers.",
      '1 finding waived by 1 waiver.',
    ]);
  });

  it('an expired waiver stops waiving and is listed with what it would have covered', () => {
    const r = evaluatePolicy(debian, {
      threshold: 'high',
      ignoreUnfixed: false,
      waivers: waivers('- {id: CVE-2019-18224, reason: no IDN input, owner: "@sec", expires: 2026-11-25}'),
      now: NOW,
    });
    expect(r.verdict).toBe('fail');
    expect(r.evaluated[0]?.status).toBe('blocking');
    expect(r.evaluated[0]?.expiredWaivers.map((w) => w.id)).toEqual(['CVE-2019-18224']);
    expect(r.waivers.applied).toEqual([]);
    expect(r.waivers.expired.map((u) => [u.waiver.id, u.findings])).toEqual([
      ['CVE-2019-18224', ['CVE-2019-18224']],
    ]);
    expect(r.reasons).toContain(
      'The waiver for CVE-2019-18224 (owner @sec) expired on 2026-11-25 and no longer applies.',
    );
  });

  it('matches waivers by alias (GHSA for a finding shown as its CVE)', () => {
    const r = evaluatePolicy(java, {
      threshold: 'medium',
      ignoreUnfixed: false,
      waivers: waivers('- {id: ghsa-cfh5-3ghh-wfjx, reason: r, owner: o, expires: 2030-01-01}'),
      now: NOW,
    });
    expect(r.verdict).toBe('pass');
    expect(r.evaluated[0]?.finding.id).toBe('CVE-2014-3577');
    expect(r.evaluated[0]?.status).toBe('waived');
  });

  it('a package waiver covers only that package: the finding stays until every package is covered', () => {
    const one = waivers(
      '- {id: CVE-2019-1549, package: libssl1.1, reason: r, owner: o, expires: 2030-01-01}',
    );
    const partial = evaluatePolicy(alpine, {
      threshold: 'medium',
      ignoreUnfixed: false,
      waivers: one,
      now: NOW,
    });
    expect(partial.evaluated.find((e) => e.finding.id === 'CVE-2019-1549')?.status).toBe('blocking');
    expect(partial.waivers.unused.map((w) => w.package)).toEqual(['libssl1.1']);
    const both = waivers(
      [
        '- {id: CVE-2019-1549, package: libssl1.1, reason: r, owner: o, expires: 2030-01-01}',
        '- {id: CVE-2019-1549, package: libcrypto1.1, reason: r, owner: o, expires: 2030-01-01}',
      ].join('\n'),
    );
    const full = evaluatePolicy(alpine, {
      threshold: 'medium',
      ignoreUnfixed: false,
      waivers: both,
      now: NOW,
    });
    expect(full.evaluated.find((e) => e.finding.id === 'CVE-2019-1549')?.status).toBe('waived');
    expect(full.waivers.applied).toHaveLength(2);
    // CVE-2019-1551 still blocks.
    expect(full.verdict).toBe('fail');
    expect(full.blocking).toBe(1);
  });

  it('explains a failure with the blocking findings and their packages', () => {
    const r = evaluatePolicy(alpine, { threshold: 'medium', ignoreUnfixed: false, waivers: [], now: NOW });
    expect(r.reasons[0]).toBe(
      "2 findings at or above 'medium' after waivers: CVE-2019-1549 (medium, libcrypto1.1, libssl1.1); CVE-2019-1551 (medium, libcrypto1.1, libssl1.1).",
    );
  });
});

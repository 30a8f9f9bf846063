import { describe, expect, it } from '@jest/globals';
import { evaluatePolicy, parseScanReport, parseWaivers, renderScanSummary } from '../src/index.js';
import { scannerFixture as fixture } from '@dreamscape/testkit';

const debian = parseScanReport('trivy', fixture('trivy-image-debian-buster.json'), 'debian').findings;
const NOW = Date.parse('2026-11-26T12:00:00Z');
const image = `ghcr.io/dreamscape/auth@sha256:${'a'.repeat(64)}`;

describe('renderScanSummary', () => {
  it('shows the verdict and why, counts before and after policy, and the top findings with fixes', () => {
    const policy = evaluatePolicy(debian, { threshold: 'high', ignoreUnfixed: false, waivers: [], now: NOW });
    const md = renderScanSummary({
      image,
      scanner: 'trivy',
      scannerVersion: '0.74.0',
      category: 'image/x',
      policy,
    });
    expect(md).toContain(`### ❌ Image scan failed: \`${image}\``);
    expect(md).toContain(
      'Scanned with **Trivy 0.74.0**, severity threshold **high**, ignore-unfixed **off**',
    );
    expect(md).toContain(
      "**Verdict: fail.** 1 finding at or above 'high' after waivers: CVE-2019-18224 (critical, libidn2-0).",
    );
    expect(md).toContain('| Critical | 1 | 1 |');
    expect(md).toContain('| Low | 1 | 1 |');
    expect(md).toContain('| **Total** | **2** | **2** |');
    expect(md).toContain(
      '| [CVE-2019-18224](https://avd.aquasec.com/nvd/cve-2019-18224) | Critical | libidn2-0 | 2.0.5-1 | 2.0.5-1+deb10u1 | ⛔ blocking |',
    );
    expect(md).toContain('| Low | bash | 5.0-4 | no fix yet | below threshold |');
    expect(md).not.toContain('#### Waivers');
  });

  it('lists waivers applied and expired, and the counts they changed', () => {
    const waivers = parseWaivers(
      [
        '- {id: CVE-2019-18224, reason: "no IDN | input", owner: "@sec", expires: 2030-01-01}',
        '- {id: CVE-2019-18276, reason: old, owner: "@ops", expires: 2026-01-01}',
        '- {id: CVE-2000-1, reason: gone, owner: "@ops", expires: 2030-01-01}',
      ].join('\n'),
      'w.yml',
    );
    const policy = evaluatePolicy(debian, { threshold: 'low', ignoreUnfixed: false, waivers, now: NOW });
    const md = renderScanSummary({
      image,
      scanner: 'trivy',
      scannerVersion: '0.74.0',
      category: 'image/x',
      policy,
    });
    expect(md).toContain('| Critical | 1 | 0 |');
    expect(md).toContain('**Applied**');
    expect(md).toContain('| CVE-2019-18224 | any | @sec | 2030-01-01 | no IDN \\| input | CVE-2019-18224 |');
    expect(md).toContain('**Expired (no longer waive anything)**');
    expect(md).toContain('| CVE-2019-18276 | any | @ops | 2026-01-01 | old | CVE-2019-18276 |');
    expect(md).toContain('Not matching any finding: `CVE-2000-1`.');
    expect(md).toContain(
      'The waiver for CVE-2019-18276 (owner @ops) expired on 2026-01-01 and no longer applies.',
    );
  });

  it('says so for a clean image, and escapes HTML from scanner data', () => {
    const clean = evaluatePolicy([], { threshold: 'high', ignoreUnfixed: false, waivers: [], now: NOW });
    const md = renderScanSummary({
      image,
      scanner: 'grype',
      scannerVersion: '<b>1</b>',
      category: 'c',
      policy: clean,
    });
    expect(md).toContain('### ✅ Image scan passed');
    expect(md).toContain('No vulnerabilities found.');
    expect(md).toContain('Grype &lt;b&gt;1&lt;/b&gt;');
  });

  it('limits the top findings and notes SARIF truncation', () => {
    const policy = evaluatePolicy(debian, { threshold: 'high', ignoreUnfixed: false, waivers: [], now: NOW });
    const md = renderScanSummary({
      image,
      scanner: 'trivy',
      scannerVersion: '0.74.0',
      category: 'c',
      policy,
      topFindings: 1,
      sarif: { results: 1, totalResults: 2, truncated: true },
    });
    expect(md).toContain('#### Top findings (1 of 2)');
    expect(md).not.toContain('| bash |');
    expect(md).toContain('SARIF holds the 1 most severe of 2 results');
  });
});

import { describe, expect, it } from '@jest/globals';
import { countBySeverity, parseTrivyReport, ScannerReportError } from '../src/index.js';
import { scannerFixture as fixture } from '@dreamscape/testkit';

const parse = (name: string) => parseTrivyReport(JSON.parse(fixture(name)) as unknown, name);

describe('parseTrivyReport', () => {
  it('normalizes the Debian image report: one critical fixed, one low without a fix', () => {
    const report = parse('trivy-image-debian-buster.json');
    expect(report.scanner).toBe('trivy');
    expect(report.scannerVersion).toBe('dev');
    expect(report.matchCount).toBe(2);
    expect(report.findings.map((f) => [f.id, f.severity, f.fixState, f.cvssScore])).toEqual([
      ['CVE-2019-18224', 'critical', 'fixed', 9.8],
      ['CVE-2019-18276', 'low', 'not-fixed', 7.8],
    ]);
    const [libidn, bash] = report.findings;
    expect(libidn?.packages).toEqual([
      {
        name: 'libidn2-0',
        version: '2.0.5-1',
        type: 'debian',
        purl: 'pkg:deb/debian/libidn2-0@2.0.5-1?arch=amd64&distro=debian-10.1',
        fixedVersions: ['2.0.5-1+deb10u1'],
        fixState: 'fixed',
        target: 'testdata/fixtures/images/debian-buster.tar.gz (debian 10.1)',
        layer: 'sha256:4a56a430b2bac33260d6449e162017e2b23076c6411a17b46db67f5b84dde2bd',
      },
    ]);
    expect(libidn?.title).toBe('libidn2: heap-based buffer overflow in idn2_to_ascii_4i in lib/lookup.c');
    expect(libidn?.primaryUrl).toBe('https://avd.aquasec.com/nvd/cve-2019-18224');
    expect(libidn?.urls).toHaveLength(14);
    // A DSA covers several CVEs: it is not an alias that could merge different flaws.
    expect(libidn?.aliases).toEqual([]);
    expect(bash?.packages[0]?.fixedVersions).toEqual([]);
    expect(countBySeverity(report.findings)).toEqual({
      critical: 1,
      high: 0,
      medium: 0,
      low: 1,
      negligible: 0,
      unknown: 0,
    });
  });

  it('groups the Alpine report: 4 matches, 2 CVEs, each in libcrypto1.1 and libssl1.1', () => {
    const report = parse('trivy-image-alpine-310.json');
    expect(report.matchCount).toBe(4);
    expect(report.findings).toHaveLength(2);
    for (const f of report.findings) {
      expect(f.severity).toBe('medium');
      expect(f.fixState).toBe('fixed');
      expect(f.packages.map((p) => p.name).sort()).toEqual(['libcrypto1.1', 'libssl1.1']);
    }
    const byId = Object.fromEntries(report.findings.map((f) => [f.id, f]));
    expect(byId['CVE-2019-1549']?.packages.map((p) => p.fixedVersions)).toEqual([
      ['1.1.1d-r0'],
      ['1.1.1d-r0'],
    ]);
    expect(byId['CVE-2019-1551']?.packages.map((p) => p.fixedVersions)).toEqual([
      ['1.1.1d-r2'],
      ['1.1.1d-r2'],
    ]);
    expect(byId['CVE-2019-1549']?.cvssScore).toBe(5.3);
  });

  it('reads a language-package (npm lockfile) report with its purl and GHSA severity source', () => {
    const report = parse('trivy-fs-npm-lockfile.json');
    expect(report.findings).toHaveLength(1);
    const [jquery] = report.findings;
    expect(jquery?.id).toBe('CVE-2019-11358');
    expect(jquery?.severity).toBe('medium');
    expect(jquery?.packages[0]).toMatchObject({
      name: 'jquery',
      version: '3.3.9',
      type: 'npm',
      purl: 'pkg:npm/jquery@3.3.9',
      fixedVersions: ['3.4.0'],
      target: 'package-lock.json',
      layer: undefined,
    });
    // The report's severity source is GHSA, which has no CVSS here: NVD's score is used.
    expect(jquery?.cvssScore).toBe(6.1);
  });

  it('treats a result without Vulnerabilities as a clean image', () => {
    const report = parse('trivy-image-zero-vulns-sl-micro.json');
    expect(report.matchCount).toBe(0);
    expect(report.findings).toEqual([]);
  });

  it('accepts a report without Results at all', () => {
    expect(parseTrivyReport({ SchemaVersion: 2 }, 'x.json').findings).toEqual([]);
  });

  it('maps Trivy statuses to fix states and splits several fixed versions', () => {
    const vuln = (extra: Record<string, unknown>) => ({
      SchemaVersion: 2,
      Results: [
        {
          Target: 't',
          Type: 'ubuntu',
          Vulnerabilities: [
            { VulnerabilityID: 'CVE-1', PkgName: 'p', InstalledVersion: '1', Severity: 'HIGH', ...extra },
          ],
        },
      ],
    });
    const state = (extra: Record<string, unknown>) =>
      parseTrivyReport(vuln(extra), 'x').findings[0]?.packages[0]?.fixState;
    expect(state({ Status: 'will_not_fix' })).toBe('wont-fix');
    expect(state({ Status: 'end_of_life' })).toBe('wont-fix');
    expect(state({ Status: 'fix_deferred' })).toBe('not-fixed');
    expect(state({ Status: 'under_investigation' })).toBe('unknown');
    expect(state({})).toBe('not-fixed');
    const fixed = parseTrivyReport(vuln({ FixedVersion: '1.2.3, 1.3.0', Status: 'fixed' }), 'x').findings[0];
    expect(fixed?.packages[0]?.fixedVersions).toEqual(['1.2.3', '1.3.0']);
    expect(fixed?.severity).toBe('high');
  });

  it('refuses what is not a Trivy report, naming the file', () => {
    expect(() => parseTrivyReport({ matches: [] }, 'out/report.json')).toThrow(ScannerReportError);
    expect(() => parseTrivyReport({ matches: [] }, 'out/report.json')).toThrow(
      'The trivy report out/report.json is not usable: it has no SchemaVersion',
    );
    expect(() => parseTrivyReport({ SchemaVersion: 1 }, 'r.json')).toThrow(
      'SchemaVersion 1 is not supported',
    );
    expect(() =>
      parseTrivyReport({ SchemaVersion: 2, Results: [{ Vulnerabilities: [{ PkgName: 'x' }] }] }, 'r.json'),
    ).toThrow('Results[0].Vulnerabilities[0] has no VulnerabilityID or PkgName');
  });
});

import { describe, expect, it } from '@jest/globals';
import { parseGrypeReport, ScannerReportError } from '../src/index.js';
import { scannerFixture as fixture } from '@dreamscape/testkit';

const parse = (name: string) => parseGrypeReport(JSON.parse(fixture(name)) as unknown, name);

describe('parseGrypeReport', () => {
  it('merges the GHSA match and the CVE match of one flaw in the Java archive', () => {
    const report = parse('grype-image-alpine-java.json');
    expect(report.scanner).toBe('grype');
    expect(report.scannerVersion).toBe('0.65.1');
    expect(report.matchCount).toBe(2);
    expect(report.findings).toHaveLength(1);
    const [f] = report.findings;
    expect(f?.id).toBe('CVE-2014-3577');
    expect(f?.aliases).toEqual(['GHSA-cfh5-3ghh-wfjx']);
    expect(f?.severity).toBe('medium');
    // The GHSA match knows the fix; the CPE match does not: the fix wins.
    expect(f?.fixState).toBe('fixed');
    expect(f?.packages).toEqual([
      {
        name: 'httpclient',
        version: '4.1.1',
        type: 'java-archive',
        purl: 'pkg:maven/org.apache.httpcomponents/httpclient@4.1.1',
        fixedVersions: ['4.3.5'],
        fixState: 'fixed',
        target: '/TwilioNotifier.hpi',
        layer: 'sha256:6cc6db176440e3dc3218d2e325716c1922ea9d900b61d7ad6f388fd0ed2b4ef9',
      },
    ]);
    // Only a CVSS v2 score exists for it.
    expect(f?.cvssScore).toBe(5.8);
    expect(f?.description).toContain('Apache HttpComponents HttpClient before 4.3.5');
  });

  it("keeps the RHEL won't-fix flaw as one finding across its six RPMs", () => {
    const report = parse('grype-image-rhel-wontfix.json');
    expect(report.matchCount).toBe(6);
    expect(report.findings).toHaveLength(1);
    const [f] = report.findings;
    expect(f?.id).toBe('CVE-2020-12413');
    expect(f?.aliases).toEqual([]);
    // Red Hat rates it Low; NVD's Medium in relatedVulnerabilities is context, not the distro's rating.
    expect(f?.severity).toBe('low');
    expect(f?.fixState).toBe('wont-fix');
    expect(f?.cvssScore).toBe(5.9);
    expect(f?.packages.map((p) => p.name).sort()).toEqual([
      'nspr',
      'nss',
      'nss-softokn',
      'nss-softokn-freebl',
      'nss-sysinit',
      'nss-util',
    ]);
    expect(f?.packages.every((p) => p.fixState === 'wont-fix' && p.type === 'rpm')).toBe(true);
    expect(f?.primaryUrl).toBe('https://access.redhat.com/security/cve/CVE-2020-12413');
    expect(report.artifact).toContain('keycloak/keycloak:21.0.2@sha256:347a');
  });

  it('reads Negligible and unknown severities', () => {
    const match = (severity: string) => ({
      vulnerability: { id: 'CVE-9', severity, fix: { versions: [], state: 'not-fixed' } },
      artifact: { name: 'p', version: '1', type: 'deb', locations: [] },
    });
    const report = parseGrypeReport({ matches: [match('Negligible')] }, 'r.json');
    expect(report.findings[0]?.severity).toBe('negligible');
    expect(report.findings[0]?.fixState).toBe('not-fixed');
    expect(parseGrypeReport({ matches: [match('Whatever')] }, 'r.json').findings[0]?.severity).toBe(
      'unknown',
    );
  });

  it('refuses what is not a Grype report, naming the file', () => {
    expect(() => parseGrypeReport({ SchemaVersion: 2 }, 'g.json')).toThrow(ScannerReportError);
    expect(() => parseGrypeReport({ SchemaVersion: 2 }, 'g.json')).toThrow(
      "The grype report g.json is not usable: it has no 'matches' array",
    );
    expect(() => parseGrypeReport({ matches: [{ vulnerability: { id: 'x' } }] }, 'g.json')).toThrow(
      'matches[0] has no vulnerability.id or artifact.name',
    );
  });
});

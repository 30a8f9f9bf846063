import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { scannerFixture as fixture, validateSarif } from '@dreamscape/testkit';
import {
  buildSarif,
  evaluatePolicy,
  fingerprintOf,
  parseScanReport,
  securitySeverity,
  type Finding,
  type PolicyResult,
  type ScannerName,
} from '../src/index.js';

interface SarifLog {
  version: string;
  runs: {
    tool: { driver: { name: string; version?: string; rules: Record<string, unknown>[] } };
    automationDetails: { id: string };
    results: {
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
      partialFingerprints: Record<string, string>;
      properties: Record<string, unknown>;
    }[];
    properties: Record<string, unknown>;
  }[];
}

const dir = mkdtempSync(join(tmpdir(), 'ds-sarif-'));

function policyFor(scanner: ScannerName, file: string): PolicyResult {
  const report = parseScanReport(scanner, fixture(file), file);
  return evaluatePolicy(report.findings, {
    threshold: 'high',
    ignoreUnfixed: false,
    waivers: [],
    now: Date.now(),
  });
}

function build(scanner: ScannerName, file: string, extra: Partial<Parameters<typeof buildSarif>[0]> = {}) {
  return buildSarif({
    scanner,
    scannerVersion: '0.74.0',
    policy: policyFor(scanner, file),
    category: 'image/ghcr.io/dreamscape/auth',
    image: `ghcr.io/dreamscape/auth@sha256:${'a'.repeat(64)}`,
    imageName: 'ghcr.io/dreamscape/auth',
    ...extra,
  });
}

describe('buildSarif', () => {
  it('writes one rule per vulnerability and one result per affected package, with stable ids', () => {
    const out = build('trivy', 'trivy-image-alpine-310.json');
    const log = JSON.parse(out.json) as SarifLog;
    expect(log.version).toBe('2.1.0');
    const run = log.runs[0]!;
    expect(run.tool.driver.name).toBe('Trivy');
    expect(run.tool.driver.version).toBe('0.74.0');
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual(['CVE-2019-1549', 'CVE-2019-1551']);
    expect(run.results.map((r) => [r.ruleId, r.ruleIndex, r.properties.package])).toEqual([
      ['CVE-2019-1549', 0, 'libcrypto1.1'],
      ['CVE-2019-1549', 0, 'libssl1.1'],
      ['CVE-2019-1551', 1, 'libcrypto1.1'],
      ['CVE-2019-1551', 1, 'libssl1.1'],
    ]);
    expect(out.results).toBe(4);
    expect(out.truncated).toBe(false);
    // The whole category is the category: GitHub cuts the id at its last '/'.
    expect(run.automationDetails.id).toBe('image/ghcr.io/dreamscape/auth/');
    // The same finding gets the same fingerprint in the next run; different packages differ.
    const again = JSON.parse(build('trivy', 'trivy-image-alpine-310.json').json) as SarifLog;
    const prints = run.results.map((r) => r.partialFingerprints['dreamscapeFinding/v1']);
    expect(again.runs[0]!.results.map((r) => r.partialFingerprints['dreamscapeFinding/v1'])).toEqual(prints);
    expect(new Set(prints).size).toBe(4);
  });

  it('maps severity to level and security-severity, and describes the rule in text and Markdown', () => {
    const log = JSON.parse(build('trivy', 'trivy-image-debian-buster.json').json) as SarifLog;
    const run = log.runs[0]!;
    const [critical, low] = run.tool.driver.rules as {
      id: string;
      shortDescription: { text: string };
      fullDescription: { text: string };
      help: { text: string; markdown: string };
      helpUri: string;
      defaultConfiguration: { level: string };
      properties: { 'security-severity': string; tags: string[] };
    }[];
    expect(critical?.properties['security-severity']).toBe('9.8');
    expect(critical?.properties.tags).toEqual(['vulnerability', 'security', 'critical']);
    expect(critical?.defaultConfiguration.level).toBe('error');
    expect(critical?.shortDescription.text).toBe(
      'CVE-2019-18224: libidn2: heap-based buffer overflow in idn2_to_ascii_4i in lib/lookup.c.',
    );
    expect(critical?.fullDescription.text).toContain('GNU libidn2 before 2.1.1');
    expect(critical?.help.markdown).toContain('| libidn2-0 | 2.0.5-1 | 2.0.5-1+deb10u1 |');
    expect(critical?.help.text).toContain('Package libidn2-0 2.0.5-1, fixed in: 2.0.5-1+deb10u1.');
    expect(critical?.helpUri).toBe('https://avd.aquasec.com/nvd/cve-2019-18224');
    // CVSS 7.8 would show the Debian-LOW bash flaw as high: the severity's own value is used.
    expect(low?.properties['security-severity']).toBe('2.0');
    expect(run.results.map((r) => r.level)).toEqual(['error', 'note']);
    expect(run.results[0]?.message.text).toBe(
      'CVE-2019-18224 (critical) in libidn2-0 2.0.5-1: fixed in 2.0.5-1+deb10u1. Target: testdata/fixtures/images/debian-buster.tar.gz (debian 10.1).',
    );
  });

  it('points results at the image name, or at the Dockerfile line when given', () => {
    const byImage = JSON.parse(
      build('trivy', 'trivy-fs-npm-lockfile.json', { imageName: 'localhost:5000/app' }).json,
    ) as SarifLog;
    expect(byImage.runs[0]!.results[0]!.locations[0]!.physicalLocation.artifactLocation.uri).toBe(
      'localhost%3A5000/app',
    );
    const byFile = JSON.parse(
      build('trivy', 'trivy-fs-npm-lockfile.json', {
        dockerfile: { path: 'services/auth/Dockerfile', line: 12 },
      }).json,
    ) as SarifLog;
    const loc = byFile.runs[0]!.results[0]!.locations[0]!.physicalLocation;
    expect(loc.artifactLocation.uri).toBe('services/auth/Dockerfile');
    expect(loc.region.startLine).toBe(12);
  });

  it('keeps the most severe results when over the result limit, and says so', () => {
    const out = build('trivy', 'trivy-image-debian-buster.json', { limits: { resultsPerRun: 1 } });
    const run = (JSON.parse(out.json) as SarifLog).runs[0]!;
    expect(out.truncated).toBe(true);
    expect(out.totalResults).toBe(2);
    expect(run.results.map((r) => r.ruleId)).toEqual(['CVE-2019-18224']);
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual(['CVE-2019-18224']);
    expect(run.properties.truncated).toBe(true);
    expect(run.properties.truncation).toContain('Only the 1 most severe of 2 results');
  });

  it('shrinks to fit the gzipped size limit', () => {
    const one = build('trivy', 'trivy-image-debian-buster.json', { limits: { resultsPerRun: 1 } });
    const two = build('trivy', 'trivy-image-debian-buster.json');
    expect(two.gzippedBytes).toBeGreaterThan(one.gzippedBytes);
    const limit = Math.floor((one.gzippedBytes + two.gzippedBytes) / 2);
    const out = build('trivy', 'trivy-image-debian-buster.json', { limits: { gzippedBytes: limit } });
    expect(out.truncated).toBe(true);
    expect(out.results).toBe(1);
    expect(gzipSync(out.json).length).toBeLessThanOrEqual(limit);
    expect(out.gzippedBytes).toBeLessThanOrEqual(limit);
    expect((JSON.parse(out.json) as SarifLog).runs[0]!.results[0]!.ruleId).toBe('CVE-2019-18224');
  });

  it('keeps fingerprints identical across versions of the action (alerts are matched by them)', () => {
    // A change here re-opens every alert users have dismissed: only ever change it deliberately.
    expect(fingerprintOf('CVE-2019-18224\u0000debian\u0000libidn2-0\u00002.0.5-1\u0000t')).toBe(
      '916eec89b3b7eb62',
    );
    expect(fingerprintOf('')).toBe('811c9dc55ad1e806');
    expect(fingerprintOf('a')).not.toBe(fingerprintOf('b'));
  });

  it("uses the CVSS score when it agrees with the severity's band", () => {
    const f = (severity: Finding['severity'], cvssScore?: number) => ({ severity, cvssScore }) as Finding;
    expect(securitySeverity(f('high', 7.5))).toBe('7.5');
    expect(securitySeverity(f('high', 9.8))).toBe('8.0');
    expect(securitySeverity(f('medium'))).toBe('5.5');
    expect(securitySeverity(f('critical'))).toBe('9.5');
    expect(securitySeverity(f('unknown', 5))).toBeUndefined();
  });

  it.each<[ScannerName, string]>([
    ['trivy', 'trivy-image-debian-buster.json'],
    ['trivy', 'trivy-image-alpine-310.json'],
    ['trivy', 'trivy-fs-npm-lockfile.json'],
    ['trivy', 'trivy-image-zero-vulns-sl-micro.json'],
    ['grype', 'grype-image-alpine-java.json'],
    ['grype', 'grype-image-rhel-wontfix.json'],
  ])('SARIF for %s %s passes Microsoft SARIF Multitool validate --rule-kind Gh;Sarif', (scanner, file) => {
    const path = join(dir, `${file}.sarif`);
    writeFileSync(path, build(scanner, file, { dockerfile: { path: 'Dockerfile', line: 3 } }).json);
    const validation = validateSarif(path);
    expect(validation.errors).toEqual([]);
    expect(validation.warnings).toEqual([]);
  });

  it('the validator really catches a broken file (so the checks above can fail)', () => {
    const path = join(dir, 'broken.sarif');
    const log = JSON.parse(build('trivy', 'trivy-image-debian-buster.json').json) as SarifLog;
    const run = log.runs[0]!;
    // A rule without descriptions, a result pointing past the rules and without a location.
    const broken = {
      ...log,
      runs: [
        {
          ...run,
          tool: { driver: { ...run.tool.driver, rules: [{ id: 'CVE-1' }] } },
          results: [{ ruleId: 'CVE-1', ruleIndex: 5, message: { text: 'x' } }],
        },
      ],
    };
    writeFileSync(path, JSON.stringify(broken));
    const ids = validateSarif(path).errors.map((e) => e.ruleId);
    expect(ids).toContain('SARIF1009');
    expect(ids).toContain('GH2012');
  });
});

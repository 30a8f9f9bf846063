import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseGrypeReport,
  parseScanReport,
  parseTrivyReport,
  readScanReport,
  ScannerReportError,
} from '../src/index.js';
import { scannerFixture as fixture } from '@dreamscape/testkit';

describe('parseScanReport', () => {
  it('dispatches on the scanner', () => {
    expect(parseScanReport('trivy', fixture('trivy-image-debian-buster.json'), 'a').findings).toHaveLength(2);
    expect(parseScanReport('grype', fixture('grype-image-rhel-wontfix.json'), 'b').findings).toHaveLength(1);
  });

  it('refuses a log instead of JSON and shows how it begins', () => {
    const run = () =>
      parseScanReport('trivy', '2026-11-26T03:00:00Z\tINFO\tVulnerability scanning', 'r.json');
    expect(run).toThrow(ScannerReportError);
    expect(run).toThrow(
      'The trivy report r.json is not usable: it is not JSON (it begins with "2026-11-26T03:00:00Z INFO',
    );
  });

  it('refuses an empty file and a report of the other scanner', () => {
    expect(() => parseScanReport('grype', '  \n', 'g.json')).toThrow(
      'The grype report g.json is not usable: it is empty',
    );
    expect(() => parseScanReport('grype', fixture('trivy-image-debian-buster.json'), 'g.json')).toThrow(
      "it has no 'matches' array",
    );
  });

  it.each([
    ['trivy', 'trivy-image-debian-buster.json'],
    ['trivy', 'trivy-image-alpine-310.json'],
    ['trivy', 'trivy-fs-npm-lockfile.json'],
    ['trivy', 'trivy-image-zero-vulns-sl-micro.json'],
    ['grype', 'grype-image-alpine-java.json'],
    ['grype', 'grype-image-rhel-wontfix.json'],
  ] as const)('streaming %s %s from the file gives what parsing the whole JSON gives', (scanner, name) => {
    const text = fixture(name);
    const whole =
      scanner === 'trivy'
        ? parseTrivyReport(JSON.parse(text), name)
        : parseGrypeReport(JSON.parse(text), name);
    const file = join(mkdtempSync(join(tmpdir(), 'ds-report-')), name);
    writeFileSync(file, text);
    expect(readScanReport(scanner, file)).toEqual({ ...whole });
    expect(parseScanReport(scanner, text, name)).toEqual(whole);
  });

  it('reads a Trivy result whose Target comes after its Vulnerabilities', () => {
    const text = JSON.stringify({
      SchemaVersion: 2,
      Results: [
        {
          Vulnerabilities: [{ VulnerabilityID: 'CVE-1', PkgName: 'p', Severity: 'LOW' }],
          Target: 't',
          Type: 'apk',
        },
      ],
    });
    const report = parseScanReport('trivy', text, 'r.json');
    expect(report.findings[0]?.packages[0]).toMatchObject({ target: 't', type: 'apk' });
  });

  it('refuses a truncated report with where it broke', () => {
    const text = fixture('grype-image-alpine-java.json');
    expect(() => parseScanReport('grype', text.slice(0, 5000), 'cut.json')).toThrow(
      /The grype report cut\.json is not usable: it is not valid JSON: .* at byte \d+/,
    );
  });
});

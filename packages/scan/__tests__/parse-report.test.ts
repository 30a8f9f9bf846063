import { describe, expect, it } from '@jest/globals';
import { parseScanReport, ScannerReportError } from '../src/index.js';
import { fixture } from './support/stand-in-scanner.js';

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
});

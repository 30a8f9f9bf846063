import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  evaluatePolicy,
  parseScanReport,
  parseWaivers,
  scanOutputs,
  writeNormalizedReport,
} from '../src/index.js';
import { scannerFixture as fixture } from '@dreamscape/testkit';

const report = parseScanReport('grype', fixture('grype-image-alpine-java.json'), 'java');
const NOW = Date.parse('2026-11-26T12:00:00Z');

describe('scanOutputs and normalizedReport', () => {
  const waivers = parseWaivers(
    [
      '- {id: GHSA-cfh5-3ghh-wfjx, reason: r, owner: o, expires: 2026-01-01}',
      '- {id: CVE-1999-1, reason: r, owner: o, expires: 2030-01-01}',
    ].join('\n'),
    'w.yml',
  );
  const policy = evaluatePolicy(report.findings, {
    threshold: 'medium',
    ignoreUnfixed: false,
    waivers,
    now: NOW,
  });

  it('shapes the outputs', () => {
    const out = scanOutputs(report, policy);
    expect(out.verdict).toBe('fail');
    expect(JSON.parse(out.counts)).toEqual({
      before: { critical: 0, high: 0, medium: 1, low: 0, negligible: 0, unknown: 0 },
      after: { critical: 0, high: 0, medium: 1, low: 0, negligible: 0, unknown: 0 },
    });
    expect(out.total).toBe('1');
    expect(out.fixable).toBe('1');
    expect(JSON.parse(out.waived)).toEqual({
      applied: [],
      expired: [
        {
          id: 'GHSA-cfh5-3ghh-wfjx',
          owner: 'o',
          reason: 'r',
          expires: '2026-01-01',
          findings: ['CVE-2014-3577'],
        },
      ],
      unused: [{ id: 'CVE-1999-1', owner: 'o', expires: '2030-01-01' }],
    });
  });

  it('writes every finding with its packages and the policy decision, as valid JSON', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ds-report-')), 'report.json');
    writeNormalizedReport(file, {
      image: 'img@sha256:x',
      category: 'c',
      report,
      policy,
      generatedAt: '2026-11-26T12:00:00.000Z',
    });
    const text = readFileSync(file, 'utf8');
    // One finding per line, so that the file greps well.
    expect(text.split('\n').filter((l) => l.includes('"id":"CVE-2014-3577"'))).toHaveLength(1);
    const json = JSON.parse(text) as Record<string, unknown> & { findings: Record<string, unknown>[] };
    expect(json.schema).toBe('dreamscape.scan/v1');
    expect(json.scanner).toEqual({ name: 'grype', version: '0.65.1' });
    expect(json.matches).toBe(2);
    expect(json.total).toBe(1);
    expect(json.verdict).toBe('fail');
    expect(json.findings[0]).toMatchObject({
      id: 'CVE-2014-3577',
      aliases: ['GHSA-cfh5-3ghh-wfjx'],
      severity: 'medium',
      fixState: 'fixed',
      status: 'blocking',
      waivedBy: [],
      packages: [{ name: 'httpclient', version: '4.1.1', fixedVersions: ['4.3.5'], type: 'java-archive' }],
    });
  });
});

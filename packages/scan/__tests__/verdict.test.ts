import { describe, expect, it } from '@jest/globals';
import type { Clock } from '@dreamscape/core';
import {
  VERDICT_MAX_BYTES,
  VerdictError,
  buildVerdict,
  evaluatePolicy,
  parseVerdict,
  serializeVerdict,
  type Finding,
  type ScanVerdict,
  type Waiver,
} from '../src/index.js';

const IMAGE = `ghcr.io/dreamscape-labs/voyage@sha256:${'a'.repeat(64)}`;
const NOW = '2025-03-01T12:00:00.000Z';
const clock: Clock = { now: () => Date.parse(NOW), sleep: () => Promise.resolve() };

function finding(id: string, severity: Finding['severity'], packages: [string, string, string[]][]): Finding {
  const fixState = packages.some(([, , fixed]) => fixed.length > 0) ? 'fixed' : 'not-fixed';
  return {
    id,
    aliases: [],
    severity,
    cvssScore: undefined,
    title: id,
    description: '',
    primaryUrl: undefined,
    urls: [],
    fixState,
    packages: packages.map(([name, version, fixedVersions]) => ({
      name,
      version,
      type: 'debian',
      purl: undefined,
      fixedVersions,
      fixState: fixedVersions.length > 0 ? 'fixed' : 'not-fixed',
      target: 'debian 12',
      layer: undefined,
    })),
  };
}

const WAIVER: Waiver = {
  id: 'CVE-2024-0003',
  package: undefined,
  reason: 'Not reachable: the tool is never run.',
  owner: 'platform-team',
  expires: '2025-12-31',
  expiresAt: Date.parse('2026-01-01T00:00:00Z'),
};

function verdict(): ScanVerdict {
  const findings = [
    finding('CVE-2024-0001', 'critical', [
      ['openssl', '3.0.11-1', ['3.0.14-1']],
      ['libssl3', '3.0.11-1', ['3.0.14-1', '3.0.15-1']],
    ]),
    finding('CVE-2024-0002', 'medium', [['zlib', '1.2.13', []]]),
    finding('CVE-2024-0003', 'high', [['curl', '7.88.1', []]]),
  ];
  const policy = evaluatePolicy(findings, {
    threshold: 'high',
    ignoreUnfixed: false,
    waivers: [WAIVER],
    now: clock.now(),
  });
  return buildVerdict({
    image: IMAGE,
    report: { scanner: 'grype', scannerVersion: '0.116.0', artifact: IMAGE, matchCount: 4, findings },
    policy,
    failOn: 'fail-build',
    database: { version: 'v6.0.2', updatedAt: '2025-02-28T06:00:00Z' },
    clock,
  });
}

describe('buildVerdict', () => {
  it('records the image, the policy, every finding per package with its status, the waivers and the scanner', () => {
    const v = verdict();
    expect(v).toMatchObject({
      schema: 1,
      image: IMAGE,
      result: 'fail',
      policy: { threshold: 'high', ignoreUnfixed: false, failOn: 'fail-build' },
      scanner: {
        name: 'grype',
        version: '0.116.0',
        database: { version: 'v6.0.2', updatedAt: '2025-02-28T06:00:00Z' },
      },
      createdAt: NOW,
    });
    expect(v.counts.before).toEqual({ critical: 1, high: 1, medium: 1, low: 0, negligible: 0, unknown: 0 });
    expect(v.counts.after).toEqual({ critical: 1, high: 0, medium: 1, low: 0, negligible: 0, unknown: 0 });
    expect(v.findings).toEqual([
      {
        id: 'CVE-2024-0001',
        package: 'openssl',
        installedVersion: '3.0.11-1',
        fixedVersion: '3.0.14-1',
        severity: 'critical',
        status: 'blocking',
      },
      {
        id: 'CVE-2024-0001',
        package: 'libssl3',
        installedVersion: '3.0.11-1',
        fixedVersion: '3.0.14-1, 3.0.15-1',
        severity: 'critical',
        status: 'blocking',
      },
      {
        id: 'CVE-2024-0002',
        package: 'zlib',
        installedVersion: '1.2.13',
        severity: 'medium',
        status: 'allowed',
      },
      {
        id: 'CVE-2024-0003',
        package: 'curl',
        installedVersion: '7.88.1',
        severity: 'high',
        status: 'waived',
      },
    ]);
    expect(v.waivers).toEqual([
      {
        id: 'CVE-2024-0003',
        reason: WAIVER.reason,
        owner: 'platform-team',
        expires: '2025-12-31',
        findings: ['CVE-2024-0003'],
      },
    ]);
  });

  it('refuses an image named by tag', () => {
    const v = verdict();
    expect(() =>
      buildVerdict({
        image: 'ghcr.io/dreamscape-labs/voyage:1.0.0',
        report: { scanner: 'trivy', scannerVersion: '0.74.0', artifact: '', matchCount: 0, findings: [] },
        policy: evaluatePolicy([], {
          threshold: v.policy.threshold,
          ignoreUnfixed: false,
          waivers: [],
          now: 0,
        }),
        failOn: 'fail-build',
        clock,
      }),
    ).toThrow("the image must be named by digest ('registry/repository@sha256:<hex>')");
  });
});

describe('parseVerdict', () => {
  const text = (value: unknown): string => JSON.stringify(value);
  const refusal = (bytes: string | Uint8Array): VerdictError => {
    try {
      parseVerdict(bytes, 'the test verdict');
    } catch (error) {
      if (error instanceof VerdictError) return error;
      throw error;
    }
    throw new Error('expected a refusal');
  };

  it('reads back exactly what was serialized', () => {
    const v = verdict();
    expect(parseVerdict(serializeVerdict(v), 'the test verdict')).toEqual(v);
  });

  it('refuses an unknown schema, saying which it reads', () => {
    const error = refusal(text({ ...verdict(), schema: 2 }));
    expect(error.message).toBe(
      'The scan verdict the test verdict is not usable: schema 2 is not supported (this version reads schema 1).',
    );
    expect(error.hint).toContain('update the action that reads it');
    expect(refusal(text({ ...verdict(), schema: undefined })).message).toContain(
      'schema missing is not supported',
    );
  });

  it('refuses a document larger than 4 MiB before parsing it', () => {
    const big = `${text(verdict()).slice(0, -1)},"pad":"${' '.repeat(VERDICT_MAX_BYTES)}"}`;
    expect(refusal(big).message).toContain(`more than the ${VERDICT_MAX_BYTES} a verdict may have`);
  });

  it('refuses what is not JSON, unknown fields, wrong types and an image not named by digest', () => {
    expect(refusal('{"schema":1,').message).toContain('it is not JSON');
    expect(refusal(text({ ...verdict(), extra: true })).message).toContain(
      "the document has the unknown field 'extra'",
    );
    expect(refusal(text({ ...verdict(), result: 'maybe' })).message).toContain(
      '\'result\' is "maybe", not one of pass, fail',
    );
    const v = verdict();
    expect(refusal(text({ ...v, findings: [{ ...v.findings[0], severity: 'severe' }] })).message).toContain(
      'finding 1: \'severity\' is "severe"',
    );
    expect(
      refusal(text({ ...v, counts: { ...v.counts, after: { ...v.counts.after, high: -1 } } })).message,
    ).toContain("'counts.after': 'high' is not a count");
    expect(refusal(text({ ...v, image: 'ghcr.io/x/y:latest' })).message).toContain('is not named by digest');
    expect(refusal(text({ ...v, createdAt: 'yesterday' })).message).toContain('is not an ISO 8601 time');
  });
});

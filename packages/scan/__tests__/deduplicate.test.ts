import { describe, expect, it } from '@jest/globals';
import { deduplicate, type PackageFinding } from '../src/index.js';

function match(
  id: string,
  aliases: string[],
  pkg: string,
  extra: Partial<PackageFinding> = {},
): PackageFinding {
  return {
    id,
    aliases,
    severity: 'medium',
    cvssScore: undefined,
    title: '',
    description: '',
    primaryUrl: undefined,
    urls: [],
    package: {
      name: pkg,
      version: '1.0',
      type: 'npm',
      purl: undefined,
      fixedVersions: [],
      fixState: 'not-fixed',
      target: 'package-lock.json',
      layer: undefined,
    },
    ...extra,
  };
}

describe('deduplicate', () => {
  it('links identifiers transitively and prefers the CVE as the id', () => {
    const findings = deduplicate([
      match('GHSA-aaaa', ['CVE-2024-1'], 'a'),
      match('CVE-2024-1', [], 'b'),
      match('OSV-9', ['GHSA-aaaa'], 'c'),
      match('CVE-2024-2', [], 'd'),
    ]);
    expect(findings.map((f) => [f.id, f.aliases, f.packages.map((p) => p.name)])).toEqual([
      ['CVE-2024-1', ['GHSA-aaaa', 'OSV-9'], ['a', 'b', 'c']],
      ['CVE-2024-2', [], ['d']],
    ]);
  });

  it('merges two matches of the same package: fixed versions united, a known fix wins, worst severity kept', () => {
    const [f] = deduplicate([
      match('GHSA-x', ['CVE-1'], 'lib', { severity: 'medium', cvssScore: 5 }),
      match('CVE-1', [], 'lib', {
        severity: 'high',
        cvssScore: 7.5,
        title: 'from the CVE',
        package: { ...match('CVE-1', [], 'lib').package, fixedVersions: ['2.0'], fixState: 'fixed' },
      }),
    ]);
    expect(f?.packages).toHaveLength(1);
    expect(f?.packages[0]?.fixedVersions).toEqual(['2.0']);
    expect(f?.packages[0]?.fixState).toBe('fixed');
    expect(f?.fixState).toBe('fixed');
    expect(f?.severity).toBe('high');
    expect(f?.cvssScore).toBe(7.5);
    expect(f?.title).toBe('from the CVE');
  });

  it('orders by severity, then CVSS, then id', () => {
    const ids = deduplicate([
      match('CVE-3', [], 'x', { severity: 'low' }),
      match('CVE-2', [], 'x', { severity: 'critical', cvssScore: 9.1 }),
      match('CVE-1', [], 'x', { severity: 'critical', cvssScore: 9.8 }),
      match('CVE-0', [], 'x', { severity: 'critical', cvssScore: 9.1 }),
    ]).map((f) => f.id);
    expect(ids).toEqual(['CVE-1', 'CVE-0', 'CVE-2', 'CVE-3']);
  });

  it('merges 100,000 matches over 20,000 vulnerabilities (speed is measured by npm run bench:scan)', () => {
    const matches = Array.from({ length: 100_000 }, (_, i) =>
      match(
        `CVE-2024-${i % 20_000}`,
        i % 2 === 0 ? [`GHSA-${i % 20_000}`] : [],
        `pkg-${Math.floor(i / 20_000)}`,
      ),
    );
    const findings = deduplicate(matches);
    expect(findings).toHaveLength(20_000);
    expect(findings.every((f) => f.packages.length === 5 && f.id.startsWith('CVE-'))).toBe(true);
    expect(findings.find((f) => f.id === 'CVE-2024-7')?.aliases).toEqual([]);
    expect(findings.find((f) => f.id === 'CVE-2024-8')?.aliases).toEqual(['GHSA-8']);
  });
});

import { describe, expect, it } from '@jest/globals';
import { InputError } from '@dreamscape/core';
import {
  exemptionCoveringAll,
  exemptionFor,
  parseScanExemptions,
  SCAN_EXEMPT_LIMIT,
} from '../src/scan-exemptions.js';
import { checkScanVerdicts, isRefused, scanRefusal, type ScanRequirement } from '../src/scan-requirement.js';
import type { ReferrerStore } from '../src/verdict-referrers.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

/** The entry that exempts `image` under `entries`, or undefined. */
function exempting(image: string, ...entries: string[]): string | undefined {
  return exemptionFor(image, parseScanExemptions(entries))?.text;
}

describe('parseScanExemptions', () => {
  it("reads names with Docker's defaults: a short and a long spelling are one repository", () => {
    expect(parseScanExemptions(['redis', 'docker.io/library/postgres', 'bitnami/redis'])).toEqual([
      { text: 'redis', name: 'docker.io/library/redis', under: false },
      { text: 'docker.io/library/postgres', name: 'docker.io/library/postgres', under: false },
      { text: 'bitnami/redis', name: 'docker.io/bitnami/redis', under: false },
    ]);
  });

  it('reads one digest, and paths ending in /* (a registry, a Docker Hub namespace, a deeper path)', () => {
    expect(
      parseScanExemptions([`redis@${A}`, 'quay.io/*', 'bitnami/*', 'library/*', 'ghcr.io/acme/tools/*']),
    ).toEqual([
      { text: `redis@${A}`, name: 'docker.io/library/redis', under: false, digest: A },
      { text: 'quay.io/*', name: 'quay.io', under: true },
      { text: 'bitnami/*', name: 'docker.io/bitnami', under: true },
      { text: 'library/*', name: 'docker.io/library', under: true },
      { text: 'ghcr.io/acme/tools/*', name: 'ghcr.io/acme/tools', under: true },
    ]);
    expect(parseScanExemptions(['localhost:5000/*', '127.0.0.1:5000/vendor/*'])).toEqual([
      { text: 'localhost:5000/*', name: 'localhost:5000', under: true },
      { text: '127.0.0.1:5000/vendor/*', name: '127.0.0.1:5000/vendor', under: true },
    ]);
  });

  it.each([
    ['redis:7', /a tag is not accepted: a deployed image is pinned by digest/],
    [
      'quay.io',
      /'quay\.io' is a registry host, not a repository: write 'quay\.io\/\*' for every image it holds/,
    ],
    ['localhost:5000', /'localhost:5000' is a registry host, not a repository: write 'localhost:5000\/\*'/],
    ['localhost', /'localhost' is a registry host/],
    [`ghcr.io@${A}`, /'ghcr\.io' is a registry host/],
    ['quay.io:99999/*', /'quay\.io:99999' is not a registry host/],
    ['*', /it would exempt every image: set require-scan: false instead/],
    ['/*', /it would exempt every image/],
    ['*/*', /it would exempt every image/],
    ['quay.io/prom*', /'\*' is accepted only as the whole last component/],
    ['quay.io/*/exporter', /'\*' is accepted only as the whole last component/],
    ['quay.io/*/*', /'\*' is accepted only as the whole last component/],
    [`redis@${A}/*`, /has no digest/],
    ['quay.io/prometheus:v1/*', /has no tag/],
    ['redis@sha256:abc', /'sha256:abc' is not a sha256 digest/],
    ['Redis', /'Redis' is not a valid repository name component/],
    ['quay.io/Prometheus/*', /'Prometheus' is not a valid repository name component/],
    ['quay_io:99999999/*', /is not a registry host/],
  ])('refuses %j, naming the input, the entry and what is accepted', (entry, reason) => {
    let error: unknown;
    try {
      parseScanExemptions(['redis', entry]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).toContain(`Input 'scan-exempt' has an invalid value ${JSON.stringify(entry)}`);
    expect(message).toMatch(reason);
    expect(message).toContain("Accepted: one entry per line or comma-separated: a repository ('redis'");
  });

  it('takes a reference with a tag and a digest, as manifests write it: the digest decides', () => {
    expect(parseScanExemptions([`redis:7.2@${A}`])).toEqual([
      { text: `redis:7.2@${A}`, name: 'docker.io/library/redis', under: false, digest: A },
    ]);
  });

  it("reads a host as Docker does: lowercase, and Docker Hub's other names as docker.io", () => {
    expect(
      parseScanExemptions(['QUAY.IO/prometheus/node-exporter', 'Quay.io/*', 'index.docker.io/library/redis']),
    ).toEqual([
      { text: 'QUAY.IO/prometheus/node-exporter', name: 'quay.io/prometheus/node-exporter', under: false },
      { text: 'Quay.io/*', name: 'quay.io', under: true },
      { text: 'index.docker.io/library/redis', name: 'docker.io/library/redis', under: false },
    ]);
  });

  it(`refuses more than ${String(SCAN_EXEMPT_LIMIT)} entries`, () => {
    const many = Array.from({ length: SCAN_EXEMPT_LIMIT + 1 }, (_, i) => `vendor/tool-${String(i)}`);
    expect(() => parseScanExemptions(many)).toThrow(/it has 101 entries/);
    expect(parseScanExemptions(many.slice(1))).toHaveLength(SCAN_EXEMPT_LIMIT);
  });
});

describe('exemptionFor', () => {
  it('covers every digest of a named repository, however either side is spelled', () => {
    expect(exempting(`docker.io/library/redis@${A}`, 'redis')).toBe('redis');
    expect(exempting(`redis@${B}`, 'docker.io/library/redis')).toBe('docker.io/library/redis');
    expect(exempting(`redis:7.2@${B}`, 'redis')).toBe('redis');
  });

  it('covers only the digest an entry names', () => {
    expect(exempting(`redis@${A}`, `redis@${A}`)).toBe(`redis@${A}`);
    expect(exempting(`redis@${B}`, `redis@${A}`)).toBeUndefined();
  });

  it('never widens a name: another repository, a longer name, another registry or namespace', () => {
    expect(exempting(`docker.io/library/redis-exporter@${A}`, 'redis')).toBeUndefined();
    expect(exempting(`docker.io/bitnami/redis@${A}`, 'redis')).toBeUndefined();
    expect(exempting(`ghcr.io/library/redis@${A}`, 'redis')).toBeUndefined();
    expect(exempting(`quay.io/prometheus-extra/node@${A}`, 'quay.io/prometheus/*')).toBeUndefined();
    expect(exempting(`quay.io/prometheus@${A}`, 'quay.io/prometheus/*')).toBeUndefined();
  });

  it('covers every repository under a path, at any depth', () => {
    expect(exempting(`quay.io/prometheus/node-exporter@${A}`, 'quay.io/prometheus/*')).toBe(
      'quay.io/prometheus/*',
    );
    expect(exempting(`quay.io/a/b/c@${A}`, 'quay.io/*')).toBe('quay.io/*');
    expect(exempting(`bitnami/postgresql@${A}`, 'bitnami/*')).toBe('bitnami/*');
    expect(exempting(`postgres@${A}`, 'library/*')).toBe('library/*');
    expect(exempting(`postgres@${A}`, 'bitnami/*')).toBeUndefined();
  });

  it("matches hosts as Docker does, on either side: case, and Docker Hub's aliases", () => {
    expect(exempting(`quay.io/prometheus/node@${A}`, 'QUAY.IO/prometheus/*')).toBe('QUAY.IO/prometheus/*');
    expect(exempting(`index.docker.io/library/redis@${A}`, 'redis')).toBe('redis');
    expect(exempting(`registry-1.docker.io/bitnami/redis@${A}`, 'bitnami/*')).toBe('bitnami/*');
    expect(exempting(`quay.io.evil.example/prometheus/node@${A}`, 'quay.io/*')).toBeUndefined();
    expect(exempting(`localhost:5000/tools/x@${A}`, 'localhost/*')).toBeUndefined();
  });

  it('takes the first entry that covers an image, and exempts nothing with no entries', () => {
    expect(exempting(`redis@${A}`, 'postgres', 'library/*', 'redis')).toBe('library/*');
    expect(exemptionFor(`redis@${A}`, [])).toBeUndefined();
  });
});

describe('exemptionCoveringAll', () => {
  it('finds an entry that covers every repository of a registry or a namespace, and no narrower one', () => {
    const entries = (...e: string[]): ReturnType<typeof parseScanExemptions> => parseScanExemptions(e);
    expect(exemptionCoveringAll('ghcr.io', entries('redis', 'ghcr.io/*'))?.text).toBe('ghcr.io/*');
    expect(exemptionCoveringAll('ghcr.io/acme', entries('ghcr.io/*'))?.text).toBe('ghcr.io/*');
    expect(exemptionCoveringAll('ghcr.io/acme', entries('GHCR.io/acme/*'))?.text).toBe('GHCR.io/acme/*');
    expect(
      exemptionCoveringAll('ghcr.io/acme', entries('ghcr.io/acme/tools/*', 'ghcr.io/acme')),
    ).toBeUndefined();
    expect(exemptionCoveringAll('ghcr.io', entries('ghcr.io/acme/*', 'quay.io/*'))).toBeUndefined();
  });
});

describe('require-scan with exemptions', () => {
  const requirement: ScanRequirement = {
    maxAgeMs: 7 * 24 * 3_600_000,
    scanners: ['trivy', 'grype'],
    threshold: 'critical',
    exempt: parseScanExemptions(['redis']),
  };

  it('judges an exempted image exempt without reading its verdict, and refuses only the others', async () => {
    const read: string[] = [];
    const store: ReferrerStore = {
      attach: () => Promise.reject(new Error('not used')),
      readNewest: (image) => {
        read.push(image);
        return Promise.resolve(undefined);
      },
    };
    const own = `ghcr.io/acme/web@${A}`;
    const checks = await checkScanVerdicts([`redis@${B}`, own], store, requirement, Date.now());
    expect(checks.map((c) => [c.image, c.status])).toEqual([
      [`redis@${B}`, 'exempt'],
      [own, 'missing'],
    ]);
    expect(checks[0]?.detail).toBe("exempted by scan-exempt entry 'redis'; no verdict was read");
    expect(read).toEqual([own]);
    expect(checks.map(isRefused)).toEqual([false, true]);
    const refusal = scanRefusal(checks)?.message ?? '';
    expect(refusal).toContain('require-scan refused 1 of 2 images');
    expect(refusal).not.toContain('redis');
    expect(scanRefusal(checks.slice(0, 1))).toBeUndefined();
  });
});

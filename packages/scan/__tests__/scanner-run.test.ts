import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger, ProcessCommandRunner, type Clock } from '@dreamscape/core';
import {
  grypeDriver,
  parseScanTarget,
  runScan,
  ScanFailedError,
  ScannerReportError,
  trivyDriver,
  updateDatabase,
  type ScannerDriver,
} from '../src/index.js';
import { writeStandInScanner, type StandInOptions } from '@dreamscape/testkit';

const target = parseScanTarget(`ghcr.io/dreamscape/auth:1.2.3@sha256:${'b'.repeat(64)}`);
const sleeps: number[] = [];
const clock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => {
    sleeps.push(ms);
    return Promise.resolve();
  },
};

function setup(options: StandInOptions) {
  const scanner = writeStandInScanner(options);
  const logger = new MemoryLogger();
  const dir = mkdtempSync(join(tmpdir(), 'ds-run-'));
  const driver: ScannerDriver = options.name === 'trivy' ? trivyDriver : grypeDriver;
  return {
    scanner,
    logger,
    driver,
    dbDir: join(dir, 'db'),
    workDir: join(dir, 'work'),
    runner: new ProcessCommandRunner({ logger, clock }),
  };
}

describe('updateDatabase', () => {
  it('retries with backoff and says what happened', async () => {
    sleeps.length = 0;
    const s = setup({ name: 'trivy', version: '0.74.0', dbFailures: 2 });
    const result = await updateDatabase({ ...s, binary: s.scanner.path });
    expect(result.status).toBe('updated');
    expect(result.attempts).toBe(3);
    expect(sleeps).toEqual([2000, 4000]);
    expect(s.logger.text()).toContain('failed (attempt 1 of 3); retrying in 2000ms');
    expect(s.logger.text()).toContain('TOOMANYREQUESTS');
    expect(result.message).toContain('(after 3 attempts)');
    expect(trivyDriver.hasDb(s.dbDir)).toBe(true);
    expect(s.scanner.calls().at(-1)?.args).toEqual([
      'image',
      '--download-db-only',
      '--cache-dir',
      s.dbDir,
      '--no-progress',
    ]);
  });

  it('fails with the scanner’s words when every attempt fails and nothing is cached', async () => {
    const s = setup({ name: 'grype', version: '0.116.0', dbFailures: 99 });
    const attempt = updateDatabase({
      ...s,
      binary: s.scanner.path,
      retry: { attempts: 2, initialDelayMs: 10 },
    });
    await expect(attempt).rejects.toThrow(ScanFailedError);
    await expect(
      updateDatabase({ ...s, binary: s.scanner.path, retry: { attempts: 2, initialDelayMs: 10 } }),
    ).rejects.toThrow(
      'Could not download the grype vulnerability database after 2 attempts: failed to load vulnerability db: unable to update vulnerability database: unable to download db: 503 Service Unavailable',
    );
    expect(s.scanner.calls()[0]?.env.GRYPE_DB_CACHE_DIR).toBe(s.dbDir);
  });

  it('goes on with the cached database when a refresh fails', async () => {
    const s = setup({ name: 'trivy', version: '0.74.0', dbFailures: 1 });
    await updateDatabase({ ...s, binary: s.scanner.path, retry: { attempts: 2, initialDelayMs: 10 } });
    const failing = writeStandInScanner({ name: 'trivy', version: '0.74.0', dbFailures: 99 });
    const result = await updateDatabase({
      ...s,
      binary: failing.path,
      retry: { attempts: 2, initialDelayMs: 10 },
    });
    expect(result.status).toBe('cached');
    expect(result.message).toContain(`scanning with the database cached in ${s.dbDir}`);
    expect(
      s.logger.entries.some((e) => e.level === 'warning' && e.message.includes('Could not refresh')),
    ).toBe(true);
  });
});

describe('runScan', () => {
  it('runs trivy with JSON output into a file and credentials only in its environment', async () => {
    const s = setup({ name: 'trivy', version: '0.74.0', report: 'trivy-image-alpine-310.json' });
    s.logger.setSecret('hunter2-password');
    const { report, reportFile } = await runScan({
      ...s,
      binary: s.scanner.path,
      target,
      credentials: { username: 'bot', password: 'hunter2-password' },
      timeoutMs: 60_000,
    });
    expect(report.findings).toHaveLength(2);
    expect(reportFile).toBe(join(s.workDir, 'trivy-report.json'));
    const call = s.scanner.calls().at(-1)!;
    expect(call.args).toEqual([
      'image',
      '--format',
      'json',
      '--output',
      reportFile,
      '--scanners',
      'vuln',
      '--cache-dir',
      s.dbDir,
      '--skip-db-update',
      '--image-src',
      'remote',
      '--no-progress',
      '--exit-code',
      '0',
      '--timeout',
      '60s',
      `ghcr.io/dreamscape/auth@sha256:${'b'.repeat(64)}`,
    ]);
    expect(call.args.join(' ')).not.toContain('hunter2');
    expect(call.env).toMatchObject({ TRIVY_USERNAME: 'bot', TRIVY_PASSWORD: 'hunter2-password' });
    expect(s.logger.text(true)).not.toContain('hunter2-password');
    expect(s.logger.text()).toContain('reported 4 matches: 2 distinct vulnerabilities');
  });

  it('runs grype against the registry with its auth variables', async () => {
    const s = setup({ name: 'grype', version: '0.116.0', report: 'grype-image-alpine-java.json' });
    const { report } = await runScan({
      ...s,
      binary: s.scanner.path,
      target,
      credentials: { username: 'bot', password: 'pw-123456' },
      timeoutMs: 60_000,
    });
    expect(report.findings.map((f) => f.id)).toEqual(['CVE-2014-3577']);
    const call = s.scanner.calls().at(-1)!;
    expect(call.args).toEqual([
      `registry:ghcr.io/dreamscape/auth@sha256:${'b'.repeat(64)}`,
      '-o',
      'json',
      '--file',
      join(s.workDir, 'grype-report.json'),
    ]);
    expect(call.env).toMatchObject({
      GRYPE_REGISTRY_AUTH_AUTHORITY: 'ghcr.io',
      GRYPE_REGISTRY_AUTH_USERNAME: 'bot',
      GRYPE_REGISTRY_AUTH_PASSWORD: 'pw-123456',
      GRYPE_DB_AUTO_UPDATE: 'false',
      GRYPE_DB_CACHE_DIR: s.dbDir,
    });
  });

  it.each([
    ['crash', ScanFailedError, 'trivy could not scan ghcr.io/dreamscape/auth@sha256:bbbb'],
    ['crash', ScanFailedError, 'panic: runtime error: invalid memory address or nil pointer dereference'],
    ['unreachable-registry', ScanFailedError, 'lookup registry.invalid: no such host'],
    [
      'non-json',
      ScannerReportError,
      'is not usable: it is not JSON (it begins with "2026-11-26T03:00:00Z INFO',
    ],
    ['no-report', ScannerReportError, 'trivy exited successfully but did not write it'],
  ] as const)('a scanner that goes %s fails clearly (%#)', async (mode, type, message) => {
    const s = setup({ name: 'trivy', version: '0.74.0', report: 'trivy-image-debian-buster.json', mode });
    const attempt = runScan({
      ...s,
      binary: s.scanner.path,
      target,
      credentials: undefined,
      timeoutMs: 60_000,
    });
    await expect(attempt).rejects.toThrow(type);
    await expect(
      runScan({ ...s, binary: s.scanner.path, target, credentials: undefined, timeoutMs: 60_000 }),
    ).rejects.toThrow(message);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FetchHttpClient, MemoryLogger, ProcessCommandRunner, type Clock } from '@dreamscape/core';
import {
  expectedChecksum,
  grypeDriver,
  resolveScanner,
  ScannerInstallError,
  trivyDriver,
  type ResolveScannerOptions,
} from '../src/index.js';
import {
  buildReleaseArchive,
  checksumsFile,
  startReleaseServer,
  type ReleaseServer,
} from './support/release-server.js';
import { writeStandInScanner } from './support/stand-in-scanner.js';

const LINUX = { os: 'linux', arch: 'amd64' } as const;
const instantClock: Clock = { now: () => Date.now(), sleep: () => Promise.resolve() };

function options(server: ReleaseServer, extra: Partial<ResolveScannerOptions> = {}) {
  const logger = new MemoryLogger();
  const root = mkdtempSync(join(tmpdir(), 'ds-install-'));
  return {
    logger,
    toolCacheDir: join(root, 'tool-cache'),
    options: {
      driver: trivyDriver,
      version: '0.74.0',
      toolCacheDir: join(root, 'tool-cache'),
      tempDir: join(root, 'temp'),
      downloadUrl: server.urlTemplate,
      platform: LINUX,
      pathEnv: '/nonexistent',
      runner: new ProcessCommandRunner({ logger }),
      http: new FetchHttpClient(),
      logger,
      clock: instantClock,
      ...extra,
    } satisfies ResolveScannerOptions,
  };
}

describe('resolveScanner', () => {
  // The release holds the stand-in: once installed, running it leaves a trace in its call log.
  const released = writeStandInScanner({
    name: 'trivy',
    version: '0.74.0',
    report: 'trivy-image-debian-buster.json',
  });
  const archive = buildReleaseArchive(released.path, 'trivy');
  const archiveName = 'trivy_0.74.0_Linux-64bit.tar.gz';
  let good: ReleaseServer;
  let tampered: ReleaseServer;
  let unlisted: ReleaseServer;

  beforeAll(async () => {
    good = await startReleaseServer({
      [archiveName]: archive,
      'trivy_0.74.0_checksums.txt': checksumsFile({
        [archiveName]: archive,
        'other.tar.gz': Buffer.from('x'),
      }),
    });
    // Same archive, but the published checksum is of something else.
    tampered = await startReleaseServer({
      [archiveName]: archive,
      'trivy_0.74.0_checksums.txt': checksumsFile({ [archiveName]: Buffer.from('another archive') }),
    });
    unlisted = await startReleaseServer({
      [archiveName]: archive,
      'trivy_0.74.0_checksums.txt': checksumsFile({ 'trivy_0.74.0_macOS-ARM64.tar.gz': archive }),
    });
  });
  afterAll(async () => {
    await Promise.all([good.close(), tampered.close(), unlisted.close()]);
  });

  it('downloads, verifies the sha256 against the checksums file, extracts with tar and caches', async () => {
    const { options: o, logger, toolCacheDir } = options(good);
    const resolved = await resolveScanner(o);
    expect(resolved).toEqual({
      path: join(toolCacheDir, 'trivy', '0.74.0', 'x64', 'trivy'),
      version: '0.74.0',
      source: 'download',
    });
    expect(existsSync(join(toolCacheDir, 'trivy', '0.74.0', 'x64.complete'))).toBe(true);
    expect(good.requests).toEqual([
      '/releases/v0.74.0/trivy_0.74.0_checksums.txt',
      `/releases/v0.74.0/${archiveName}`,
    ]);
    expect(logger.text()).toContain(`Verified ${archiveName}: sha256`);

    // The second run finds it in the tool cache and downloads nothing.
    const before = good.requests.length;
    const again = await resolveScanner({ ...o });
    expect(again.source).toBe('tool-cache');
    expect(good.requests.length).toBe(before);
  });

  it('refuses an archive whose sha256 is not the published one, and runs nothing', async () => {
    const callsBefore = released.calls().length;
    const { options: o, toolCacheDir, logger } = options(tampered);
    const attempt = resolveScanner(o);
    await expect(attempt).rejects.toThrow(ScannerInstallError);
    await expect(resolveScanner(o)).rejects.toThrow(
      /Refusing to run trivy 0\.74\.0 from http:\/\/127\.0\.0\.1:\d+\/releases\/v0\.74\.0\/trivy_0\.74\.0_Linux-64bit\.tar\.gz: its sha256 is [0-9a-f]{64}, but .* publishes [0-9a-f]{64}/,
    );
    // Nothing was extracted into the cache, nothing was executed.
    expect(existsSync(join(toolCacheDir, 'trivy'))).toBe(false);
    expect(released.calls().length).toBe(callsBefore);
    expect(logger.entries.filter((e) => e.message.startsWith('$ '))).toEqual([]);
  });

  it('refuses to install when the checksums file does not list the archive', async () => {
    const { options: o } = options(unlisted);
    await expect(resolveScanner(o)).rejects.toThrow(
      /has no sha256 for trivy_0\.74\.0_Linux-64bit\.tar\.gz: refusing to install an unverifiable trivy/,
    );
  });

  it('uses the scanner on PATH when its version is the pinned one', async () => {
    const onPath = writeStandInScanner({ name: 'trivy', version: '0.74.0' });
    const { options: o } = options(good, { pathEnv: `/nonexistent:${onPath.binDir}` });
    const before = good.requests.length;
    await expect(resolveScanner(o)).resolves.toEqual({
      path: onPath.path,
      version: '0.74.0',
      source: 'path',
    });
    expect(good.requests.length).toBe(before);
  });

  it('installs the pinned version when the one on PATH is another', async () => {
    const old = writeStandInScanner({ name: 'trivy', version: '0.50.0' });
    const { options: o, logger } = options(good, { pathEnv: old.binDir });
    const resolved = await resolveScanner(o);
    expect(resolved.source).toBe('download');
    expect(logger.text()).toContain(`${old.path} is trivy 0.50.0, not the pinned 0.74.0: installing 0.74.0.`);
  });

  it('says which URL failed when the release is not there', async () => {
    const { options: o } = options(good, { version: '9.9.9' });
    await expect(resolveScanner(o)).rejects.toThrow(
      /Could not download http:\/\/127\.0\.0\.1:\d+\/releases\/v9\.9\.9\/trivy_9\.9\.9_checksums\.txt: HTTP 404/,
    );
  });

  it('refuses a release whose binary reports another version', async () => {
    const liar = writeStandInScanner({ name: 'grype', version: '0.1.0' });
    const grypeArchive = buildReleaseArchive(liar.path, 'grype');
    const name = 'grype_0.116.0_linux_amd64.tar.gz';
    const server = await startReleaseServer({
      [name]: grypeArchive,
      'grype_0.116.0_checksums.txt': checksumsFile({ [name]: grypeArchive }),
    });
    try {
      const { options: o, toolCacheDir } = options(server, { driver: grypeDriver, version: '0.116.0' });
      await expect(resolveScanner(o)).rejects.toThrow(
        'The downloaded grype reports version 0.1.0, not 0.116.0.',
      );
      // Never marked complete, so never trusted from the cache.
      expect(readdirSync(join(toolCacheDir, 'grype', '0.116.0'))).toEqual(['x64']);
    } finally {
      await server.close();
    }
  });
});

describe('expectedChecksum', () => {
  it('reads sha256sum lines, text and binary mode', () => {
    const a = 'a'.repeat(64);
    const b = 'B'.repeat(64);
    const text = `${a}  one.tar.gz\n${b} *two.tar.gz\n`;
    expect(expectedChecksum(text, 'one.tar.gz')).toBe(a);
    expect(expectedChecksum(text, 'two.tar.gz')).toBe('b'.repeat(64));
    expect(expectedChecksum(text, 'three.tar.gz')).toBeUndefined();
  });
});

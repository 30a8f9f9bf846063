import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger, ProcessCommandRunner, type Clock } from '@dreamscape/core';
import {
  grypeDriver,
  PUBLISHED_SCANNER_SHA256,
  publishedScannerSha256,
  resolveScanner,
  ScannerInstallError,
  trivyDriver,
  type ResolveScannerOptions,
} from '../src/index.js';
import {
  buildReleaseArchive,
  checksumsFile,
  sha256Of,
  startReleaseServer,
  writeStandInScanner,
  type ReleaseServer,
} from '@dreamscape/testkit';

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
      http: server.httpClient,
      logger,
      clock: instantClock,
      ...extra,
    } satisfies ResolveScannerOptions,
  };
}

describe('resolveScanner', () => {
  // The releases hold the stand-in: once installed, running it leaves a trace in its call log. It
  // is not the real trivy, so its sha256 is not the published one: only a caller's pin accepts it.
  const released = writeStandInScanner({
    name: 'trivy',
    version: '0.75.0',
    report: 'trivy-image-debian-buster.json',
  });
  const archive = buildReleaseArchive(released.path, 'trivy');
  const archiveName = 'trivy_0.75.0_Linux-64bit.tar.gz';
  const pin = sha256Of(archive);
  let server: ReleaseServer;

  beforeAll(async () => {
    server = await startReleaseServer({
      [archiveName]: archive,
      // A checksums file vouching for the archive: never asked for, never believed.
      'trivy_0.75.0_checksums.txt': checksumsFile({ [archiveName]: archive }),
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('downloads from a custom https location with the caller’s sha256, verifies, extracts with tar and caches', async () => {
    const { options: o, logger, toolCacheDir } = options(server, { version: '0.75.0', sha256: pin });
    const before = server.requests.length;
    const resolved = await resolveScanner(o);
    expect(resolved).toEqual({
      path: join(toolCacheDir, 'trivy', '0.75.0', 'x64', 'trivy'),
      version: '0.75.0',
      source: 'download',
    });
    expect(existsSync(join(toolCacheDir, 'trivy', '0.75.0', 'x64.complete'))).toBe(true);
    // Only the archive: the server's own checksums file is not consulted.
    expect(server.requests.slice(before)).toEqual([`/releases/v0.75.0/${archiveName}`]);
    expect(logger.text()).toContain(`Verified ${archiveName}: sha256 ${pin} matches scanner-sha256.`);

    // The second run finds it in the tool cache and downloads nothing.
    const after = server.requests.length;
    const again = await resolveScanner({ ...o });
    expect(again.source).toBe('tool-cache');
    expect(server.requests.length).toBe(after);
  });

  it('refuses an archive whose checksum the server vouches for but which is not the published release', async () => {
    // The pinned version from "its own" release server: archive and checksums file agree with each
    // other, as they would on a hijacked release or a lying mirror. The built-in sha256 decides.
    const fake = buildReleaseArchive(released.path, 'trivy');
    const name = 'trivy_0.74.0_Linux-64bit.tar.gz';
    const hijacked = await startReleaseServer({
      [name]: fake,
      'trivy_0.74.0_checksums.txt': checksumsFile({ [name]: fake }),
    });
    try {
      const callsBefore = released.calls().length;
      const {
        options: o,
        toolCacheDir,
        logger,
      } = options(hijacked, {
        driver: { ...trivyDriver, downloadUrl: hijacked.urlTemplate },
        downloadUrl: undefined,
      });
      const attempt = resolveScanner(o);
      await expect(attempt).rejects.toThrow(ScannerInstallError);
      await expect(attempt).rejects.toThrow(
        `its sha256 is ${sha256Of(fake)}, but the published sha256 built into this action says ${PUBLISHED_SCANNER_SHA256[name] ?? ''}.`,
      );
      expect(hijacked.requests).toEqual([`/releases/v0.74.0/${name}`]);
      // Nothing was extracted into the cache, nothing was executed.
      expect(existsSync(join(toolCacheDir, 'trivy'))).toBe(false);
      expect(released.calls().length).toBe(callsBefore);
      expect(logger.entries.filter((e) => e.message.startsWith('$ '))).toEqual([]);
    } finally {
      await hijacked.close();
    }
  });

  it('refuses an archive that does not match the caller’s sha256, and runs nothing', async () => {
    const callsBefore = released.calls().length;
    const wrong = 'a'.repeat(64);
    const { options: o, toolCacheDir } = options(server, { version: '0.75.0', sha256: wrong });
    await expect(resolveScanner(o)).rejects.toThrow(
      new RegExp(
        `^Refusing to run trivy 0\\.75\\.0 from https://127\\.0\\.0\\.1:\\d+/releases/v0\\.75\\.0/trivy_0\\.75\\.0_Linux-64bit\\.tar\\.gz: its sha256 is ${pin}, but scanner-sha256 says ${wrong}\\.$`,
      ),
    );
    expect(existsSync(join(toolCacheDir, 'trivy'))).toBe(false);
    expect(released.calls().length).toBe(callsBefore);
  });

  it.each([
    [
      'plain http',
      { downloadUrl: 'http://127.0.0.1:9/releases/v{version}', sha256: 'a'.repeat(64) },
      /only https URLs are accepted/,
    ],
    [
      'a custom location without a sha256',
      { version: '0.75.0' },
      /custom location .* without scanner-sha256/,
    ],
    [
      'a sha256 that is not one',
      { version: '0.75.0', sha256: 'abc123' },
      /scanner-sha256 "abc123" is not a sha256/,
    ],
    [
      'a sha256 that disagrees with the published one',
      { sha256: 'b'.repeat(64) },
      /disagrees with the sha256 published for trivy_0\.74\.0_Linux-64bit\.tar\.gz \(2ae6fe3e/,
    ],
  ] as const)('refuses %s before downloading anything', async (_name, extra, message) => {
    const { options: o } = options(server, extra);
    const before = server.requests.length;
    await expect(resolveScanner(o)).rejects.toThrow(message);
    expect(server.requests.length).toBe(before);
  });

  it('refuses a version without a built-in sha256 unless the caller pins one, saying what to do', async () => {
    const { options: o } = options(server, {
      driver: { ...trivyDriver, downloadUrl: server.urlTemplate },
      downloadUrl: undefined,
      version: '0.75.0',
    });
    const before = server.requests.length;
    const attempt = resolveScanner(o);
    await expect(attempt).rejects.toThrow(
      'There is no built-in sha256 for trivy_0.75.0_Linux-64bit.tar.gz (trivy 0.75.0 on linux/amd64): refusing to install an unverifiable trivy.',
    );
    await expect(attempt).rejects.toMatchObject({
      hint: expect.stringContaining('Set scanner-sha256') as unknown,
    });
    expect(server.requests.length).toBe(before);
  });

  it('uses the scanner on PATH when its version is the pinned one', async () => {
    const onPath = writeStandInScanner({ name: 'trivy', version: '0.74.0' });
    const { options: o } = options(server, { pathEnv: `/nonexistent:${onPath.binDir}` });
    const before = server.requests.length;
    await expect(resolveScanner(o)).resolves.toEqual({
      path: onPath.path,
      version: '0.74.0',
      source: 'path',
    });
    expect(server.requests.length).toBe(before);
  });

  it('installs the wanted version when the one on PATH is another', async () => {
    const old = writeStandInScanner({ name: 'trivy', version: '0.50.0' });
    const { options: o, logger } = options(server, { pathEnv: old.binDir, version: '0.75.0', sha256: pin });
    const resolved = await resolveScanner(o);
    expect(resolved.source).toBe('download');
    expect(logger.text()).toContain(`${old.path} is trivy 0.50.0, not the pinned 0.75.0: installing 0.75.0.`);
  });

  it('says which URL failed when the release is not there', async () => {
    const { options: o } = options(server, { version: '9.9.9', sha256: pin });
    await expect(resolveScanner(o)).rejects.toThrow(
      /Could not download https:\/\/127\.0\.0\.1:\d+\/releases\/v9\.9\.9\/trivy_9\.9\.9_Linux-64bit\.tar\.gz: HTTP 404/,
    );
  });

  it('refuses a release whose binary reports another version', async () => {
    const liar = writeStandInScanner({ name: 'grype', version: '0.1.0' });
    const grypeArchive = buildReleaseArchive(liar.path, 'grype');
    const name = 'grype_0.117.0_linux_amd64.tar.gz';
    const releases = await startReleaseServer({ [name]: grypeArchive });
    try {
      const { options: o, toolCacheDir } = options(releases, {
        driver: grypeDriver,
        version: '0.117.0',
        sha256: sha256Of(grypeArchive),
      });
      await expect(resolveScanner(o)).rejects.toThrow(
        'The downloaded grype reports version 0.1.0, not 0.117.0.',
      );
      // Never marked complete, so never trusted from the cache.
      expect(readdirSync(join(toolCacheDir, 'grype', '0.117.0'))).toEqual(['x64']);
    } finally {
      await releases.close();
    }
  });
});

describe('the built-in sha256 table', () => {
  it('covers the pinned trivy and grype on Linux and macOS, amd64 and arm64', () => {
    const platforms = [
      { os: 'linux', arch: 'amd64' },
      { os: 'linux', arch: 'arm64' },
      { os: 'darwin', arch: 'amd64' },
      { os: 'darwin', arch: 'arm64' },
    ] as const;
    for (const driver of [trivyDriver, grypeDriver])
      for (const platform of platforms) {
        const { archive } = driver.releaseAsset(driver.pinnedVersion, platform);
        expect([archive, publishedScannerSha256(archive)]).toEqual([
          archive,
          expect.stringMatching(/^[0-9a-f]{64}$/),
        ]);
      }
    expect(Object.keys(PUBLISHED_SCANNER_SHA256)).toHaveLength(8);
    expect(publishedScannerSha256('toString')).toBeUndefined();
  });
});

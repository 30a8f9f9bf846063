import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseVersionOutput, type DatabaseInfo, type ScannerDriver } from './scanner-driver.js';

/**
 * Trivy. Pinned to a release we have read the release layout of (goreleaser: `trivy_<v>_Linux-64bit.tar.gz`
 * and `trivy_<v>_checksums.txt`); credentials go in TRIVY_USERNAME/TRIVY_PASSWORD.
 */
export const trivyDriver: ScannerDriver = {
  name: 'trivy',
  binary: 'trivy',
  pinnedVersion: '0.74.0',
  downloadUrl: 'https://github.com/aquasecurity/trivy/releases/download/v{version}',
  versionArgs: ['--version'],
  parseVersion: parseVersionOutput,
  releaseAsset(version, platform) {
    const os = platform.os === 'linux' ? 'Linux' : 'macOS';
    const arch = platform.arch === 'amd64' ? '64bit' : 'ARM64';
    return {
      archive: `trivy_${version}_${os}-${arch}.tar.gz`,
      binary: 'trivy',
    };
  },
  updateDbCommand(binary, dbDir) {
    return {
      tool: binary,
      args: ['image', '--download-db-only', '--cache-dir', dbDir, '--no-progress'],
    };
  },
  hasDb(dbDir) {
    return existsSync(join(dbDir, 'db', 'trivy.db'));
  },
  databaseInfo(dbDir) {
    return trivyDatabaseInfo(dbDir);
  },
  scanCommand(binary, o) {
    return {
      tool: binary,
      args: [
        'image',
        '--format',
        'json',
        '--output',
        o.reportFile,
        '--scanners',
        'vuln',
        '--cache-dir',
        o.dbDir,
        '--skip-db-update',
        '--image-src',
        'remote',
        '--no-progress',
        '--exit-code',
        '0',
        '--timeout',
        `${Math.ceil(o.timeoutMs / 1000)}s`,
        o.image,
      ],
      env:
        o.credentials === undefined
          ? {}
          : { TRIVY_USERNAME: o.credentials.username, TRIVY_PASSWORD: o.credentials.password },
      ...(o.credentials === undefined ? {} : { secrets: [o.credentials.password] }),
      timeoutMs: o.timeoutMs + 30_000,
    };
  },
};

/**
 * Trivy writes `db/metadata.json` beside its database: `{"Version": 2, "UpdatedAt": "...", ...}`.
 * Anything missing, unreadable or oddly shaped gives nothing rather than a guess.
 */
export function trivyDatabaseInfo(dbDir: string): DatabaseInfo | undefined {
  let doc: unknown;
  try {
    const text = readFileSync(join(dbDir, 'db', 'metadata.json'), 'utf8');
    if (text.length > 64 * 1024) return undefined;
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const { Version: version, UpdatedAt: updatedAt } = doc as { Version?: unknown; UpdatedAt?: unknown };
  const when = typeof updatedAt === 'string' ? Date.parse(updatedAt) : Number.NaN;
  const info = {
    ...(typeof version === 'number' && Number.isSafeInteger(version) ? { version: String(version) } : {}),
    ...(Number.isNaN(when) ? {} : { updatedAt: new Date(when).toISOString() }),
  };
  return Object.keys(info).length === 0 ? undefined : info;
}

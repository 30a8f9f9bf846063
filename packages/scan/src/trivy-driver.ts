import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseVersionOutput, type ScannerDriver } from './scanner-driver.js';

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

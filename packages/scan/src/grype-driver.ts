import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseVersionOutput, type ScannerDriver } from './scanner-driver.js';

/**
 * Grype. Releases are `grype_<v>_<os>_<arch>.tar.gz` with `grype_<v>_checksums.txt`; the database
 * lives in GRYPE_DB_CACHE_DIR; credentials go in GRYPE_REGISTRY_AUTH_* for the image's registry.
 */
export const grypeDriver: ScannerDriver = {
  name: 'grype',
  binary: 'grype',
  pinnedVersion: '0.116.0',
  downloadUrl: 'https://github.com/anchore/grype/releases/download/v{version}',
  versionArgs: ['version'],
  parseVersion: parseVersionOutput,
  releaseAsset(version, platform) {
    return {
      archive: `grype_${version}_${platform.os}_${platform.arch}.tar.gz`,
      binary: 'grype',
    };
  },
  updateDbCommand(binary, dbDir) {
    return {
      tool: binary,
      args: ['db', 'update'],
      env: { GRYPE_DB_CACHE_DIR: dbDir, GRYPE_CHECK_FOR_APP_UPDATE: 'false' },
    };
  },
  hasDb(dbDir) {
    if (!existsSync(dbDir)) return false;
    return readdirSync(dbDir).some((schema) => existsSync(join(dbDir, schema, 'vulnerability.db')));
  },
  scanCommand(binary, o) {
    return {
      tool: binary,
      // `registry:` makes Grype pull from the registry itself: no Docker daemon needed or consulted.
      args: [`registry:${o.image}`, '-o', 'json', '--file', o.reportFile],
      env: {
        GRYPE_DB_CACHE_DIR: o.dbDir,
        GRYPE_DB_AUTO_UPDATE: 'false',
        GRYPE_CHECK_FOR_APP_UPDATE: 'false',
        ...(o.credentials === undefined
          ? {}
          : {
              GRYPE_REGISTRY_AUTH_AUTHORITY: o.registry,
              GRYPE_REGISTRY_AUTH_USERNAME: o.credentials.username,
              GRYPE_REGISTRY_AUTH_PASSWORD: o.credentials.password,
            }),
      },
      ...(o.credentials === undefined ? {} : { secrets: [o.credentials.password] }),
      timeoutMs: o.timeoutMs,
    };
  },
};

import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { grypeDriver } from '../src/index.js';

describe('grypeDriver', () => {
  it('names the release archive', () => {
    expect(grypeDriver.releaseAsset('0.116.0', { os: 'linux', arch: 'arm64' })).toEqual({
      archive: 'grype_0.116.0_linux_arm64.tar.gz',
      binary: 'grype',
    });
  });

  it('reads `grype version` and `grype --version`', () => {
    expect(grypeDriver.parseVersion('Application:         grype\nVersion:             0.116.0\n')).toBe(
      '0.116.0',
    );
    expect(grypeDriver.parseVersion('grype 0.116.0\n')).toBe('0.116.0');
    expect(grypeDriver.parseVersion('no version here')).toBeUndefined();
  });

  it('scans from the registry without the database auto-update, credentials for the image registry only', () => {
    const spec = grypeDriver.scanCommand('/bin/grype', {
      image: '127.0.0.1:5000/a@sha256:1',
      registry: '127.0.0.1:5000',
      reportFile: '/tmp/g.json',
      dbDir: '/db',
      credentials: { username: 'u', password: 'secret-pw' },
      timeoutMs: 60_000,
    });
    expect(spec.args).toEqual(['registry:127.0.0.1:5000/a@sha256:1', '-o', 'json', '--file', '/tmp/g.json']);
    expect(spec.env).toMatchObject({
      GRYPE_DB_AUTO_UPDATE: 'false',
      GRYPE_REGISTRY_AUTH_AUTHORITY: '127.0.0.1:5000',
      GRYPE_REGISTRY_AUTH_PASSWORD: 'secret-pw',
    });
    expect(spec.secrets).toEqual(['secret-pw']);
    expect(grypeDriver.updateDbCommand('/bin/grype', '/db')).toMatchObject({
      args: ['db', 'update'],
      env: { GRYPE_DB_CACHE_DIR: '/db' },
    });
  });

  it('finds a cached database under any schema directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-grype-db-'));
    expect(grypeDriver.hasDb(dir)).toBe(false);
    mkdirSync(join(dir, '6'));
    writeFileSync(join(dir, '6', 'vulnerability.db'), '');
    expect(grypeDriver.hasDb(dir)).toBe(true);
  });
});

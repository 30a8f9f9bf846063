import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trivyDriver } from '../src/index.js';

describe('trivyDriver', () => {
  it.each([
    [{ os: 'linux', arch: 'amd64' }, 'trivy_0.74.0_Linux-64bit.tar.gz'],
    [{ os: 'linux', arch: 'arm64' }, 'trivy_0.74.0_Linux-ARM64.tar.gz'],
    [{ os: 'darwin', arch: 'arm64' }, 'trivy_0.74.0_macOS-ARM64.tar.gz'],
  ] as const)('names the release archive for %j', (platform, archive) => {
    expect(trivyDriver.releaseAsset('0.74.0', platform)).toEqual({
      archive,
      binary: 'trivy',
    });
  });

  it('reads its version output', () => {
    expect(trivyDriver.parseVersion('Version: 0.74.0\nVulnerability DB:\n  Version: 2\n')).toBe('0.74.0');
  });

  it('passes credentials in the environment and registers the password for redaction', () => {
    const spec = trivyDriver.scanCommand('/bin/trivy', {
      image: 'r/a@sha256:1',
      registry: 'r',
      reportFile: '/tmp/r.json',
      dbDir: '/db',
      credentials: { username: 'u', password: 'p4ssw0rd' },
      timeoutMs: 120_000,
    });
    expect(spec.args).not.toContain('p4ssw0rd');
    expect(spec.env).toEqual({ TRIVY_USERNAME: 'u', TRIVY_PASSWORD: 'p4ssw0rd' });
    expect(spec.secrets).toEqual(['p4ssw0rd']);
    expect(spec.args.slice(-3)).toEqual(['--timeout', '120s', 'r/a@sha256:1']);
  });

  it('knows a cached database when it sees one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-trivy-db-'));
    expect(trivyDriver.hasDb(dir)).toBe(false);
    mkdirSync(join(dir, 'db'));
    writeFileSync(join(dir, 'db', 'trivy.db'), '');
    expect(trivyDriver.hasDb(dir)).toBe(true);
  });
});

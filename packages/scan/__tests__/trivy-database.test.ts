import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCANNER_DRIVERS, trivyDatabaseInfo } from '../src/index.js';

function dbDir(metadata?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ds-trivy-db-'));
  mkdirSync(join(dir, 'db'));
  if (metadata !== undefined) writeFileSync(join(dir, 'db', 'metadata.json'), metadata);
  return dir;
}

describe('the vulnerability database a scan used', () => {
  it("reads Trivy's db/metadata.json: the schema version and when the database was built", () => {
    const dir = dbDir(
      JSON.stringify({
        Version: 2,
        NextUpdate: '2026-12-08T00:22:16.563012418Z',
        UpdatedAt: '2026-12-07T00:22:16.563012418Z',
        DownloadedAt: '2026-12-07T06:14:32.123456789Z',
      }),
    );
    expect(SCANNER_DRIVERS.trivy.databaseInfo?.(dir)).toEqual({
      version: '2',
      updatedAt: '2026-12-07T00:22:16.563Z',
    });
  });

  it('gives nothing for a missing, broken or oddly shaped file rather than a guess', () => {
    expect(trivyDatabaseInfo(dbDir())).toBeUndefined();
    expect(trivyDatabaseInfo(dbDir('{not json'))).toBeUndefined();
    expect(trivyDatabaseInfo(dbDir('{"Version":"two","UpdatedAt":"yesterday"}'))).toBeUndefined();
    expect(trivyDatabaseInfo(dbDir(JSON.stringify({ UpdatedAt: '2026-12-07T00:00:00Z' })))).toEqual({
      updatedAt: '2026-12-07T00:00:00.000Z',
    });
    // Grype keeps no such file where it can be read: its verdicts carry no database.
    expect('databaseInfo' in SCANNER_DRIVERS.grype).toBe(false);
  });
});

import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { SCANNER_DRIVERS, type ScannerDriver } from '@dreamscape/scan';
import { writeStandInScanner } from '@dreamscape/testkit';

const run = promisify(execFile);

/** A scanner the demo can run without the network: installed, with its database already there. */
export interface OfflineScanner {
  readonly name: 'trivy' | 'grype';
  /** The installed version, given to action-scan as `scanner-version` so it runs this binary. */
  readonly version: string;
  /** The database directory, given as `cache-dir`. */
  readonly dbDir: string;
  /**
   * Environment for the action: every place the scanner could download from points at a closed
   * loopback port, so a scanner that tries fails at once, locally, and the cached database is used.
   */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Set when no scanner can run here: a stand-in `trivy` on PATH replays this recorded report for
   * every image, so action-scan runs its whole path (policy, SARIF, summary, the verdict attached).
   */
  readonly recorded?: string;
}

/** The recorded Trivy report the demo replays when no scanner can run offline. */
export const RECORDED_REPORT = 'trivy-image-alpine-310.json';

/**
 * A stand-in Trivy of the pinned version that replays {@link RECORDED_REPORT}, with a database
 * directory it says is there: action-scan then runs exactly as with a real scanner.
 */
export function recordedScanner(dir: string, path: string): OfflineScanner {
  const driver = SCANNER_DRIVERS.trivy;
  const standIn = writeStandInScanner(
    { name: 'trivy', version: driver.pinnedVersion, report: RECORDED_REPORT },
    join(dir, 'recorded-trivy'),
  );
  const dbDir = join(dir, 'recorded-trivy', 'cache');
  mkdirSync(join(dbDir, 'db'), { recursive: true });
  writeFileSync(join(dbDir, 'db', 'trivy.db'), 'recorded');
  return {
    name: 'trivy',
    version: driver.pinnedVersion,
    dbDir,
    env: { PATH: `${standIn.binDir}:${path}`, TRIVY_DB_REPOSITORY: `${NOWHERE}/trivy-db` },
    recorded: RECORDED_REPORT,
  };
}

/** Why no scan runs. */
export interface NoScanner {
  readonly name: 'none';
  readonly reason: string;
}

/** Nothing listens on the discard port of the loopback address: connections are refused at once. */
export const NOWHERE = '127.0.0.1:9';

/**
 * Trivy, else Grype, when one is on PATH and its vulnerability database is already on disk
 * (`TRIVY_CACHE_DIR` or `~/.cache/trivy`; `GRYPE_DB_CACHE_DIR` or `~/.cache/grype/db`). Otherwise
 * the reason, to print: the demo never lets a scanner download itself or its database.
 */
export async function findOfflineScanner(
  env: Readonly<Record<string, string | undefined>>,
): Promise<OfflineScanner | NoScanner> {
  const reasons: string[] = [];
  const candidates = [
    {
      driver: SCANNER_DRIVERS.trivy,
      dbDir: env.TRIVY_CACHE_DIR ?? join(homedir(), '.cache', 'trivy'),
      fill: "run 'trivy image --download-db-only' once",
      env: {
        TRIVY_DB_REPOSITORY: `${NOWHERE}/trivy-db`,
        TRIVY_JAVA_DB_REPOSITORY: `${NOWHERE}/trivy-java-db`,
        TRIVY_CHECKS_BUNDLE_REPOSITORY: `${NOWHERE}/trivy-checks`,
        TRIVY_SKIP_JAVA_DB_UPDATE: 'true',
        // The demo registry speaks plain http on 127.0.0.1.
        TRIVY_INSECURE: 'true',
      },
    },
    {
      driver: SCANNER_DRIVERS.grype,
      dbDir: env.GRYPE_DB_CACHE_DIR ?? join(homedir(), '.cache', 'grype', 'db'),
      fill: "run 'grype db update' once",
      env: {
        GRYPE_DB_UPDATE_URL: `http://${NOWHERE}/grype/listing.json`,
        GRYPE_CHECK_FOR_APP_UPDATE: 'false',
        GRYPE_REGISTRY_INSECURE_USE_HTTP: 'true',
      },
    },
  ] as const;
  for (const c of candidates) {
    const name = c.driver.name;
    const version = await versionOf(c.driver, env);
    if (version === undefined) reasons.push(`${name} is not on PATH`);
    else if (!c.driver.hasDb(c.dbDir))
      reasons.push(`${name} ${version} has no vulnerability database in ${c.dbDir} (${c.fill})`);
    else return { name, version, dbDir: c.dbDir, env: c.env };
  }
  return { name: 'none', reason: reasons.join('; ') };
}

async function versionOf(
  driver: ScannerDriver,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string | undefined> {
  try {
    const { stdout } = await run(driver.binary, [...driver.versionArgs], {
      env: { ...env },
      timeout: 30_000,
    });
    return driver.parseVersion(stdout);
  } catch {
    return undefined;
  }
}

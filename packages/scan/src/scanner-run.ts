import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  ActionError,
  CommandError,
  type CommandRunner,
  type Logger,
  type RetryPolicy,
} from '@dreamscape/core';
import type { ScanTarget } from './image-reference.js';
import { readScanReport } from './parse-report.js';
import { ScannerReportError, type ScanReport } from './scan-report.js';
import type { RegistryCredentials, ScannerDriver } from './scanner-driver.js';

/** The scanner ran and failed: the image could not be pulled, the database is missing, it crashed. */
export class ScanFailedError extends ActionError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.name = 'ScanFailedError';
  }
}

/** Default retries for database downloads, which hit rate limits and flaky mirrors. */
export const DB_RETRY: RetryPolicy = { attempts: 3, initialDelayMs: 2000, maxDelayMs: 30_000 };

/** What {@link updateDatabase} did. */
export interface DatabaseUpdate {
  /** `updated`: fresh; `cached`: the refresh failed and the database already in the cache is used. */
  readonly status: 'updated' | 'cached';
  readonly attempts: number;
  /** One sentence for the log and the summary. */
  readonly message: string;
}

/** What {@link updateDatabase} needs. */
export interface UpdateDatabaseOptions {
  readonly driver: ScannerDriver;
  readonly binary: string;
  /** Kept between runs (tool cache or a directory the workflow caches). */
  readonly dbDir: string;
  readonly runner: CommandRunner;
  readonly logger: Logger;
  readonly retry?: RetryPolicy;
}

/**
 * Downloads or refreshes the vulnerability database, retrying with backoff. When every attempt
 * fails but a database is already cached, the scan goes on with it and says so; with no database
 * at all it fails with the scanner's own words.
 */
export async function updateDatabase(o: UpdateDatabaseOptions): Promise<DatabaseUpdate> {
  const policy = o.retry ?? DB_RETRY;
  mkdirSync(o.dbDir, { recursive: true });
  const spec = o.driver.updateDbCommand(o.binary, o.dbDir);
  try {
    const result = await o.runner.run({ ...spec, timeoutMs: 15 * 60_000, retry: policy });
    const message = `${o.driver.name} vulnerability database is up to date in ${o.dbDir}${result.attempts > 1 ? ` (after ${result.attempts} attempts)` : ''}.`;
    o.logger.info(message);
    return { status: 'updated', attempts: result.attempts, message };
  } catch (error) {
    const reason =
      error instanceof CommandError ? lastLine(error.stderrTail) || error.message : String(error);
    if (o.driver.hasDb(o.dbDir)) {
      const message = `Could not refresh the ${o.driver.name} vulnerability database after ${policy.attempts} attempts (${reason}); scanning with the database cached in ${o.dbDir}.`;
      o.logger.warning(message);
      return { status: 'cached', attempts: policy.attempts, message };
    }
    throw new ScanFailedError(
      `Could not download the ${o.driver.name} vulnerability database after ${policy.attempts} attempts: ${reason}`,
      {
        hint: 'This is usually a rate limit or an unreachable database mirror. Re-run the job, cache the database directory (cache-dir) between runs, or point the scanner at a mirror through its environment (TRIVY_DB_REPOSITORY, GRYPE_DB_UPDATE_URL).',
        cause: error,
      },
    );
  }
}

/** What {@link runScan} needs. */
export interface RunScanOptions {
  readonly driver: ScannerDriver;
  readonly binary: string;
  readonly target: ScanTarget;
  /** Where the JSON report is written. */
  readonly workDir: string;
  readonly dbDir: string;
  readonly credentials: RegistryCredentials | undefined;
  readonly timeoutMs: number;
  readonly runner: CommandRunner;
  readonly logger: Logger;
}

/**
 * Runs the scanner with JSON output into a file (never parsing its log) and normalizes the report.
 */
export async function runScan(o: RunScanOptions): Promise<{ report: ScanReport; reportFile: string }> {
  mkdirSync(o.workDir, { recursive: true });
  const reportFile = join(o.workDir, `${o.driver.name}-report.json`);
  rmSync(reportFile, { force: true });
  const spec = o.driver.scanCommand(o.binary, {
    image: o.target.reference,
    registry: o.target.registry,
    reportFile,
    dbDir: o.dbDir,
    credentials: o.credentials,
    timeoutMs: o.timeoutMs,
  });
  try {
    await o.runner.run({
      ...spec,
      onStderrLine: (line) => {
        o.logger.debug(line);
      },
    });
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    const what =
      error.spawnError ?? (error.timedOut ? 'timed out' : lastLines(error.stderrTail, 5) || error.message);
    throw new ScanFailedError(`${o.driver.name} could not scan ${o.target.reference}: ${what}`, {
      hint:
        o.credentials === undefined
          ? 'Check that the image exists and is reachable; for a private image set registry-username and registry-password.'
          : 'Check that the image exists and that registry-username/registry-password may pull it.',
      cause: error,
    });
  }
  if (!existsSync(reportFile))
    throw new ScannerReportError(
      o.driver.name,
      reportFile,
      `${o.driver.name} exited successfully but did not write it`,
    );
  const report = readScanReport(o.driver.name, reportFile);
  o.logger.info(
    `${o.driver.name} ${report.scannerVersion} reported ${report.matchCount} matches: ${report.findings.length} distinct vulnerabilities.`,
  );
  return { report, reportFile };
}

function lastLine(text: string): string {
  return lastLines(text, 1);
}

function lastLines(text: string, n: number): string {
  return text
    .trim()
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join('\n');
}

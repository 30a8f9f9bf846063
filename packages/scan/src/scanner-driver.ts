import type { CommandSpec } from '@dreamscape/core';
import type { ScannerName } from './scan-report.js';

/** The operating system and CPU a release archive is built for. */
export interface ScannerPlatform {
  readonly os: 'linux' | 'darwin';
  readonly arch: 'amd64' | 'arm64';
}

/** The file names of one release. */
export interface ReleaseAsset {
  /** The `.tar.gz` holding the binary. */
  readonly archive: string;
  /** The binary's path inside the archive. */
  readonly binary: string;
}

/** Registry credentials, handed to the scanner through its environment, never its argv. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** How to run one scan. */
export interface ScanCommandOptions {
  readonly image: string;
  readonly registry: string;
  readonly reportFile: string;
  readonly dbDir: string;
  readonly credentials: RegistryCredentials | undefined;
  readonly timeoutMs: number;
}

/** Which vulnerability database a scan used: it goes into the verdict. */
export interface DatabaseInfo {
  readonly version?: string;
  /** When the database was built (ISO 8601, UTC). */
  readonly updatedAt?: string;
}

/** Everything that differs between Trivy and Grype, behind one shape. */
export interface ScannerDriver {
  readonly name: ScannerName;
  /** The executable's file name. */
  readonly binary: string;
  /** The version installed when none is asked for. */
  readonly pinnedVersion: string;
  /** Where releases are downloaded from: a directory URL with `{version}`. */
  readonly downloadUrl: string;
  /** Arguments that make the binary print its version. */
  readonly versionArgs: readonly string[];
  /** The version in the output of {@link versionArgs}, without a leading `v`. */
  parseVersion(output: string): string | undefined;
  releaseAsset(version: string, platform: ScannerPlatform): ReleaseAsset;
  /** Downloads or refreshes the vulnerability database into `dbDir`. */
  updateDbCommand(binary: string, dbDir: string): CommandSpec;
  /** Whether `dbDir` already holds a database (usable when a refresh fails). */
  hasDb(dbDir: string): boolean;
  /** The database's version and build time, when the scanner records them where they can be read. */
  databaseInfo?(dbDir: string): DatabaseInfo | undefined;
  /** Scans an image, writing the JSON report to `reportFile`. */
  scanCommand(binary: string, options: ScanCommandOptions): CommandSpec;
}

/** `Version: 0.74.0` (Trivy, Grype), `grype 0.116.0`, `v0.74.0`: the first version-looking word. */
export function parseVersionOutput(output: string): string | undefined {
  const labelled = /^\s*Version:\s*v?(\d+\.\d+\.\d+[^\s]*)/m.exec(output);
  if (labelled?.[1] !== undefined) return labelled[1];
  return /\bv?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\b/.exec(output)?.[1];
}

import { ActionError } from '@dreamscape/core';
import type { Finding } from './finding.js';

/** The scanners this package drives. */
export const SCANNERS = ['trivy', 'grype'] as const;
export type ScannerName = (typeof SCANNERS)[number];

/** A scanner's JSON report, normalized. */
export interface ScanReport {
  readonly scanner: ScannerName;
  /** The version the report says produced it (`dev` for development builds). */
  readonly scannerVersion: string;
  /** What the scanner says it scanned. */
  readonly artifact: string;
  /** Matches in the report before de-duplication (one per vulnerability and package). */
  readonly matchCount: number;
  /** De-duplicated, most severe first. */
  readonly findings: readonly Finding[];
}

/** A scanner's output that is not the JSON report it should be. */
export class ScannerReportError extends ActionError {
  readonly scanner: ScannerName;
  readonly source: string;

  constructor(scanner: ScannerName, source: string, problem: string, options: { cause?: unknown } = {}) {
    super(`The ${scanner} report ${source} is not usable: ${problem}`, {
      hint: `Make sure the ${scanner} version is one this action supports and that it wrote JSON (not a table or a log).`,
      cause: options.cause,
    });
    this.name = 'ScannerReportError';
    this.scanner = scanner;
    this.source = source;
  }
}

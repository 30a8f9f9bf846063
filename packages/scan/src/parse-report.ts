import { parseGrypeReport } from './grype-report.js';
import { ScannerReportError, type ScannerName, type ScanReport } from './scan-report.js';
import { parseTrivyReport } from './trivy-report.js';

/**
 * Parses a scanner's JSON report text. Anything that is not JSON (a log, a table, an empty file)
 * fails with an error that names the scanner, the file and shows how the text begins.
 */
export function parseScanReport(scanner: ScannerName, text: string, source: string): ScanReport {
  if (text.trim() === '') throw new ScannerReportError(scanner, source, 'it is empty');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const start = text.trimStart().slice(0, 80).replace(/\s+/g, ' ');
    throw new ScannerReportError(
      scanner,
      source,
      `it is not JSON (it begins with ${JSON.stringify(start)})`,
      {
        cause: error,
      },
    );
  }
  return scanner === 'trivy' ? parseTrivyReport(json, source) : parseGrypeReport(json, source);
}

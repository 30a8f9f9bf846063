import { closeSync, openSync, readSync } from 'node:fs';
import { streamGrypeReport } from './grype-report.js';
import { fileSource, JsonStreamError, type JsonSource } from './json-stream.js';
import { ScannerReportError, type ScannerName, type ScanReport } from './scan-report.js';
import { streamTrivyReport } from './trivy-report.js';

/**
 * Parses a scanner's JSON report given as text or bytes. Anything that is not JSON (a log, a
 * table, an empty file) fails with an error that names the scanner, the source and shows how the
 * text begins.
 */
export function parseScanReport(
  scanner: ScannerName,
  input: string | Uint8Array,
  source: string,
): ScanReport {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  checkHead(scanner, Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 400)), source);
  return stream(scanner, bytes, source);
}

/**
 * Reads and parses the report file a scanner wrote, a window at a time: memory follows the
 * findings, not the size of the file.
 */
export function readScanReport(scanner: ScannerName, file: string): ScanReport {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(400);
    const n = readSync(fd, head, 0, head.length, 0);
    checkHead(scanner, head.subarray(0, n), file);
    return stream(scanner, fileSource(fd), file);
  } finally {
    closeSync(fd);
  }
}

function checkHead(scanner: ScannerName, head: Buffer, source: string): void {
  const text = head.toString('utf8').trimStart();
  if (text === '' && head.length < 400) throw new ScannerReportError(scanner, source, 'it is empty');
  if (!text.startsWith('{')) {
    const start = text.slice(0, 80).replace(/\s+/g, ' ');
    throw new ScannerReportError(scanner, source, `it is not JSON (it begins with ${JSON.stringify(start)})`);
  }
}

function stream(scanner: ScannerName, input: Uint8Array | JsonSource, source: string): ScanReport {
  try {
    return scanner === 'trivy' ? streamTrivyReport(input, source) : streamGrypeReport(input, source);
  } catch (error) {
    if (error instanceof JsonStreamError)
      throw new ScannerReportError(scanner, source, `it is not valid JSON: ${error.message}`, {
        cause: error,
      });
    throw error;
  }
}

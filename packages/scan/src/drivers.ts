import { grypeDriver } from './grype-driver.js';
import type { ScannerName } from './scan-report.js';
import type { ScannerDriver } from './scanner-driver.js';
import { trivyDriver } from './trivy-driver.js';

/** Every supported scanner, by name. */
export const SCANNER_DRIVERS: Readonly<Record<ScannerName, ScannerDriver>> = {
  trivy: trivyDriver,
  grype: grypeDriver,
};

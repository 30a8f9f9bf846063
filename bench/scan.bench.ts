// Benchmark of the scan pipeline on a synthetic Trivy report of 100,000 matches shaped like the real
// ones in packages/scan/__tests__/fixtures/scanners (20,000 CVEs, each in 5 packages, full fields):
// read + normalize + de-duplicate, gate (policy with waivers), SARIF (truncated to GitHub's limits
// and gzip-checked) and the job summary, exactly as action-scan does them. The normalized report
// file action-scan also writes is timed on its own line.
//
//   npm run bench:scan            (BENCH_FINDINGS=100000 by default)
//
// The baseline, measured in the same run, is JSON.parse of the same file: the part no parser can
// avoid. The last line is machine-readable: `scan: findings=<n> seconds=<s> peak_mb=<MB>`, where
// seconds is the pipeline's wall time and peak_mb the process's peak resident memory (maxRSS, after
// the report file too). The bench is bundled with ncc and run by plain node, like the action itself:
// no TypeScript compiler in the process to inflate the memory figure.
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import {
  buildSarif,
  evaluatePolicy,
  parseWaivers,
  readScanReport,
  renderScanSummary,
  writeNormalizedReport,
} from '@dreamscape/scan';

const FINDINGS = Math.max(1000, Number(process.env['BENCH_FINDINGS'] ?? 100_000));
const PACKAGES_PER_CVE = 5;
const SEVERITIES = ['CRITICAL', 'HIGH', 'HIGH', 'MEDIUM', 'MEDIUM', 'MEDIUM', 'LOW', 'LOW', 'UNKNOWN'];
const IMAGE = `ghcr.io/dreamscape/bench@sha256:${'b'.repeat(64)}`;

/** One vulnerability entry with every field a real `trivy image` entry carries. */
function entry(i: number): Record<string, unknown> {
  const cve = Math.floor(i / PACKAGES_PER_CVE);
  const pkg = `lib${i % PACKAGES_PER_CVE}-${cve % 800}`;
  const id = `CVE-20${10 + (cve % 15)}-${10000 + cve}`;
  const severity = SEVERITIES[cve % SEVERITIES.length] ?? 'LOW';
  const fixed = cve % 3 !== 0;
  const score = { CRITICAL: 9.8, HIGH: 7.5, MEDIUM: 5.3, LOW: 3.1, UNKNOWN: 0 }[severity] ?? 0;
  return {
    VulnerabilityID: id,
    PkgID: `${pkg}@1.${cve % 40}.${i % 9}-1`,
    PkgName: pkg,
    PkgIdentifier: {
      PURL: `pkg:deb/debian/${pkg}@1.${cve % 40}.${i % 9}-1?arch=amd64&distro=debian-12.5`,
      UID: (0x1000000 + i).toString(16),
    },
    InstalledVersion: `1.${cve % 40}.${i % 9}-1`,
    ...(fixed ? { FixedVersion: `1.${cve % 40}.${(i % 9) + 1}-1+deb12u1` } : {}),
    Status: fixed ? 'fixed' : cve % 2 === 0 ? 'affected' : 'will_not_fix',
    Layer: {
      Digest: `sha256:${(cve % 7).toString(16).repeat(64)}`,
      DiffID: `sha256:${((cve + 3) % 7).toString(16).repeat(64)}`,
    },
    SeveritySource: 'debian',
    PrimaryURL: `https://avd.aquasec.com/nvd/${id.toLowerCase()}`,
    DataSource: {
      ID: 'debian',
      Name: 'Debian Security Tracker',
      URL: 'https://salsa.debian.org/security-tracker-team/security-tracker',
    },
    Fingerprint: `sha256:${(i * 2654435761).toString(16).padStart(64, '0').slice(0, 64)}`,
    Title: `${pkg}: heap-based buffer overflow in parse_record() via a crafted input (${id})`,
    Description: `A flaw was found in ${pkg} before 1.${cve % 40}.${(i % 9) + 1}. A remote attacker could send a crafted request that triggers an out-of-bounds write in parse_record(), causing a denial of service or possibly code execution with the privileges of the process.`,
    Severity: severity,
    CweIDs: ['CWE-787'],
    VendorSeverity: { debian: 2, nvd: 3 },
    CVSS: {
      nvd: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', V3Score: score },
    },
    References: [
      `https://security-tracker.debian.org/tracker/${id}`,
      `https://nvd.nist.gov/vuln/detail/${id}`,
      `https://www.cve.org/CVERecord?id=${id}`,
    ],
    PublishedDate: '2024-03-01T15:15:00Z',
    LastModifiedDate: '2024-06-10T12:00:00Z',
  };
}

/** Streams the report to disk so that generating it does not count towards the pipeline's memory. */
async function writeReport(path: string): Promise<void> {
  const out = createWriteStream(path);
  const write = (text: string): Promise<void> =>
    out.write(text) ? Promise.resolve() : new Promise((resolve) => out.once('drain', resolve));
  await write('{"SchemaVersion":2,"Trivy":{"Version":"0.74.0"},"ArtifactName":"' + IMAGE + '",');
  await write('"ArtifactType":"container_image","Results":[');
  const perResult = 10_000;
  for (let r = 0; r * perResult < FINDINGS; r++) {
    await write(
      `${r === 0 ? '' : ','}{"Target":"bench (debian 12.5) part ${r}","Class":"os-pkgs","Type":"debian","Vulnerabilities":[`,
    );
    for (let i = r * perResult; i < Math.min(FINDINGS, (r + 1) * perResult); i++)
      await write(`${i === r * perResult ? '' : ','}${JSON.stringify(entry(i))}`);
    await write(']}');
  }
  await write(']}\n');
  out.end();
  await finished(out);
}

/** With BENCH_DEBUG=1, memory after each phase (to see where the peak comes from). */
function memory(phase: string): void {
  if (process.env['BENCH_DEBUG'] !== '1') return;
  const m = process.memoryUsage();
  const mb = (n: number): string => `${Math.round(n / 1024 / 1024)}MB`;
  console.log(
    `  [${phase}] rss ${mb(m.rss)}, heap ${mb(m.heapUsed)}, external ${mb(m.external)}, peak ${Math.round(process.resourceUsage().maxRSS / 1024)}MB`,
  );
}

function seconds(from: bigint): number {
  return Number(process.hrtime.bigint() - from) / 1e9;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-bench-scan-'));
  try {
    // BENCH_REPORT reuses a report written by an earlier run (for profiling the pipeline alone).
    const file = process.env['BENCH_REPORT'] ?? join(dir, 'trivy-report.json');
    if (process.env['BENCH_REPORT'] === undefined) await writeReport(file);
    const sizeMb = statSync(file).size / 1024 / 1024;

    const waivers = parseWaivers(
      Array.from(
        { length: 50 },
        (_, k) =>
          `- {id: CVE-20${10 + (k % 15)}-${10000 + k * 7}, reason: bench, owner: "@bench", expires: ${k % 2 === 0 ? '2099-01-01' : '2020-01-01'}}`,
      ).join('\n'),
      'bench-waivers.yml',
    );

    memory('report written');
    const cpuStart = process.cpuUsage();
    let started = process.hrtime.bigint();
    const report = readScanReport('trivy', file);
    const normalized = seconds(started);
    memory('normalized');
    const policy = evaluatePolicy(report.findings, {
      threshold: 'high',
      ignoreUnfixed: false,
      waivers,
      now: Date.now(),
    });
    const gated = seconds(started);
    memory('gated');
    const sarif = buildSarif({
      scanner: 'trivy',
      scannerVersion: report.scannerVersion,
      policy,
      category: 'image/ghcr.io/dreamscape/bench',
      image: IMAGE,
      imageName: 'ghcr.io/dreamscape/bench',
    });
    const sarifDone = seconds(started);
    memory('sarif');
    const summary = renderScanSummary({
      image: IMAGE,
      scanner: 'trivy',
      scannerVersion: report.scannerVersion,
      category: 'image/ghcr.io/dreamscape/bench',
      policy,
      sarif,
    });
    const total = seconds(started);
    const cpu = process.cpuUsage(cpuStart);
    memory('summary');

    // Not part of the measured pipeline (normalize, gate, SARIF, summary), but action-scan writes it:
    // timed on its own, and its memory counts in the peak.
    started = process.hrtime.bigint();
    const reportFile = join(dir, 'report.json');
    writeNormalizedReport(reportFile, {
      image: IMAGE,
      category: 'image/ghcr.io/dreamscape/bench',
      report,
      policy,
      generatedAt: new Date().toISOString(),
    });
    const reportSeconds = seconds(started);
    memory('report file');
    const peakMb = process.resourceUsage().maxRSS / 1024;

    // The baseline runs after the peak is taken, so that it cannot inflate the pipeline's memory.
    started = process.hrtime.bigint();
    const baseline = JSON.parse(readFileSync(file, 'utf8')) as { Results: unknown[] };
    const baselineSeconds = seconds(started);
    if (baseline.Results.length === 0) throw new Error('empty synthetic report');

    console.log(
      `report: ${report.matchCount} matches, ${report.findings.length} distinct vulnerabilities, ${sizeMb.toFixed(1)} MB of JSON`,
    );
    console.log(
      `phases: normalize ${normalized.toFixed(2)}s, gate ${(gated - normalized).toFixed(2)}s, sarif ${(sarifDone - gated).toFixed(2)}s (${sarif.results} of ${sarif.totalResults} results, ${(sarif.gzippedBytes / 1024 / 1024).toFixed(1)} MB gzipped${sarif.truncated ? ', truncated' : ''}), summary ${(total - sarifDone).toFixed(3)}s (${(summary.length / 1024).toFixed(0)} KB); report file ${reportSeconds.toFixed(2)}s (${(statSync(reportFile).size / 1024 / 1024).toFixed(0)} MB, not in seconds=)`,
    );
    console.log(
      `baseline: JSON.parse alone ${baselineSeconds.toFixed(2)}s; pipeline/baseline = ${(total / baselineSeconds).toFixed(1)}x; verdict ${policy.verdict}; CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)}s for the pipeline`,
    );
    console.log(
      `scan: findings=${report.matchCount} seconds=${total.toFixed(2)} peak_mb=${Math.round(peakMb)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// No top-level await: the bench is bundled with ncc (see package.json) and runs with plain node.
main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

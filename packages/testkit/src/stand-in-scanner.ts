import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The real scanner reports kept byte-for-byte in packages/scan/__tests__/fixtures/scanners: they
 * stay beside the scan tests that parse them; the stand-in only copies them.
 */
export const SCANNER_FIXTURES = fileURLToPath(
  new URL('../../scan/__tests__/fixtures/scanners', import.meta.url),
);

/** Reads one of the real scanner reports. */
export function scannerFixture(name: string): string {
  return readFileSync(join(SCANNER_FIXTURES, name), 'utf8');
}

/** How the stand-in behaves when asked to scan. */
export type StandInMode =
  /** Writes the configured real report where it was told to. */
  | 'report'
  /** Crashes like a Go panic. */
  | 'crash'
  /** Writes a log line instead of JSON. */
  | 'non-json'
  /** Exits 0 without writing a report. */
  | 'no-report'
  /** Fails the way the scanners fail when the registry cannot be reached. */
  | 'unreachable-registry';

/** Configuration of a stand-in `trivy` or `grype`. */
export interface StandInOptions {
  readonly name: 'trivy' | 'grype';
  /** What `--version`/`version` answers. */
  readonly version: string;
  /** Fixture file name (in {@link SCANNER_FIXTURES}) written as the report. */
  readonly report?: string;
  readonly mode?: StandInMode;
  /** Database updates that fail before one succeeds. */
  readonly dbFailures?: number;
}

/** One invocation as the stand-in saw it. */
export interface StandInCall {
  readonly args: readonly string[];
  /** The scanner-related variables it was given (credentials, database settings). */
  readonly env: Readonly<Record<string, string>>;
}

/** A stand-in scanner on disk. */
export interface StandInScanner {
  /** Directory holding the executable: put it first on PATH. */
  readonly binDir: string;
  /** The executable. */
  readonly path: string;
  /** Every invocation so far. */
  calls(): StandInCall[];
}

/**
 * Writes a small executable named like the real scanner that answers its version command like the
 * real tool, "downloads" a database into the cache directory it is given (failing the first
 * `dbFailures` times), and on a scan writes one of the real recorded reports to the `--output`
 * (Trivy) or `--file` (Grype) path, or misbehaves as `mode` says. It records its argv and the
 * scanner variables of its environment, so tests can prove credentials never reach argv.
 */
export function writeStandInScanner(options: StandInOptions, dir?: string): StandInScanner {
  const root = dir ?? mkdtempSync(join(tmpdir(), `ds-stand-in-${options.name}-`));
  const binDir = join(root, 'bin');
  mkdirSync(binDir, { recursive: true });
  const config = {
    name: options.name,
    version: options.version,
    report: options.report === undefined ? null : join(SCANNER_FIXTURES, options.report),
    mode: options.mode ?? 'report',
    dbFailures: options.dbFailures ?? 0,
    log: join(root, 'calls.jsonl'),
    state: join(root, 'db-attempts'),
  };
  writeFileSync(join(root, 'config.json'), JSON.stringify(config));
  writeFileSync(config.log, '');
  const path = join(binDir, options.name);
  writeFileSync(path, standInScript(process.execPath, join(root, 'config.json')));
  chmodSync(path, 0o755);
  return {
    binDir,
    path,
    calls: () =>
      readFileSync(config.log, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as StandInCall),
  };
}

/** The script itself: plain CommonJS so it runs with any node and no package.json around it. */
function standInScript(node: string, configPath: string): string {
  return `#!${node}
'use strict';
const fs = require('fs');
const path = require('path');
const cfg = JSON.parse(fs.readFileSync(${JSON.stringify(configPath)}, 'utf8'));
const args = process.argv.slice(2);
const env = {};
for (const [k, v] of Object.entries(process.env)) if (/^(TRIVY_|GRYPE_)/.test(k)) env[k] = v;
fs.appendFileSync(cfg.log, JSON.stringify({ args, env }) + '\\n');
const flag = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const fail = (code, text) => { process.stderr.write(text + '\\n'); process.exit(code); };

if (cfg.name === 'trivy' && args[0] === '--version') {
  process.stdout.write('Version: ' + cfg.version + '\\n');
  process.exit(0);
}
if (cfg.name === 'grype' && args[0] === 'version') {
  process.stdout.write('Application:         grype\\nVersion:             ' + cfg.version + '\\nPlatform:            linux/amd64\\n');
  process.exit(0);
}

const isDbUpdate = cfg.name === 'trivy' ? args.includes('--download-db-only') : args[0] === 'db' && args[1] === 'update';
if (isDbUpdate) {
  const attempts = (fs.existsSync(cfg.state) ? Number(fs.readFileSync(cfg.state, 'utf8')) : 0) + 1;
  fs.writeFileSync(cfg.state, String(attempts));
  if (attempts <= cfg.dbFailures) {
    fail(1, cfg.name === 'trivy'
      ? 'FATAL\\tFatal error\\tinit error: DB error: failed to download vulnerability DB: OCI artifact error: GET https://mirror.gcr.io/v2/aquasec/trivy-db/manifests/2: TOOMANYREQUESTS: rate limit exceeded'
      : 'failed to load vulnerability db: unable to update vulnerability database: unable to download db: 503 Service Unavailable');
  }
  if (cfg.name === 'trivy') {
    const dir = path.join(flag('--cache-dir'), 'db');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'trivy.db'), 'db');
    // As Trivy records the database it downloaded.
    fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify({ Version: 2, NextUpdate: '2026-12-08T00:22:16.563012418Z', UpdatedAt: '2026-12-07T00:22:16.563012418Z', DownloadedAt: '2026-12-07T06:14:32.123456789Z' }));
  } else {
    const dir = path.join(process.env.GRYPE_DB_CACHE_DIR, '6');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'vulnerability.db'), 'db');
  }
  process.exit(0);
}

const isScan = cfg.name === 'trivy' ? args[0] === 'image' : /^registry:/.test(args[0] || '');
if (!isScan) fail(2, 'stand-in ' + cfg.name + ': unexpected arguments ' + JSON.stringify(args));
const out = cfg.name === 'trivy' ? flag('--output') : flag('--file');
if (!out) fail(2, 'stand-in ' + cfg.name + ': no output file argument');
switch (cfg.mode) {
  case 'crash':
    fail(2, 'panic: runtime error: invalid memory address or nil pointer dereference\\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1a2b3c]');
  case 'non-json':
    fs.writeFileSync(out, '2026-11-26T03:00:00Z\\tINFO\\tVulnerability scanning is enabled\\n');
    process.exit(0);
  case 'no-report':
    process.exit(0);
  case 'unreachable-registry':
    fail(1, cfg.name === 'trivy'
      ? 'FATAL\\tFatal error\\timage scan error: scan error: unable to initialize a scan service: unable to initialize an image scan service: unable to find the specified image "' + args[args.length - 1] + '" in ["remote"]: remote error: Get "https://registry.invalid/v2/": dial tcp: lookup registry.invalid: no such host'
      : '1 error occurred:\\n\\t* failed to catalog: could not fetch image "' + args[0] + '": unable to use OciRegistry source: failed to get image descriptor from registry: Get "https://registry.invalid/v2/": dial tcp: lookup registry.invalid: no such host');
  default:
    fs.copyFileSync(cfg.report, out);
    process.exit(0);
}
`;
}

import { createHash } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { arch as hostArch, platform as hostPlatform } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  ActionError,
  CommandError,
  HttpTransportError,
  withRetry,
  type Clock,
  type CommandRunner,
  type HttpClient,
  type Logger,
} from '@dreamscape/core';
import { publishedScannerSha256, SHA256_HEX } from './scanner-checksums.js';
import type { ReleaseAsset, ScannerDriver, ScannerPlatform } from './scanner-driver.js';

/** Where the scanner binary came from. */
export type ScannerSource = 'path' | 'tool-cache' | 'download';

/** A scanner ready to run. */
export interface ResolvedScanner {
  readonly path: string;
  readonly version: string;
  readonly source: ScannerSource;
}

/** What {@link resolveScanner} needs. */
export interface ResolveScannerOptions {
  readonly driver: ScannerDriver;
  readonly version: string;
  /** The runner's tool cache (`RUNNER_TOOL_CACHE`): `<cache>/<tool>/<version>/<arch>/`. */
  readonly toolCacheDir: string;
  /** Scratch space for the download (`RUNNER_TEMP`). */
  readonly tempDir: string;
  /**
   * Release directory URL template with `{version}` (https only); default the scanner's GitHub
   * releases. A custom one needs {@link sha256}: a mirror is trusted for nothing.
   */
  readonly downloadUrl?: string | undefined;
  /**
   * The archive's sha256 as the caller pinned it (`scanner-sha256`). Required for a custom
   * {@link downloadUrl} and for a version or platform without a built-in checksum; where both
   * exist they must agree.
   */
  readonly sha256?: string | undefined;
  /** Default: this machine. */
  readonly platform?: ScannerPlatform;
  /** The PATH to look on. Default `process.env.PATH`. */
  readonly pathEnv?: string | undefined;
  readonly runner: CommandRunner;
  readonly http: HttpClient;
  readonly logger: Logger;
  readonly clock?: Clock;
}

/** The scanner could not be installed, or a download failed verification. */
export class ScannerInstallError extends ActionError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.name = 'ScannerInstallError';
  }
}

/** This machine as release archives name it. */
export function hostScannerPlatform(): ScannerPlatform {
  const os = hostPlatform();
  const cpu = hostArch();
  if ((os !== 'linux' && os !== 'darwin') || (cpu !== 'x64' && cpu !== 'arm64'))
    throw new ScannerInstallError(`There is no scanner release for ${os}/${cpu}.`, {
      hint: 'Run on a Linux or macOS runner (x64 or arm64), or put the scanner on PATH yourself.',
    });
  return { os, arch: cpu === 'x64' ? 'amd64' : 'arm64' };
}

/**
 * Finds the scanner at the wanted version: on PATH when its version matches, else in the tool
 * cache, else downloads the release archive over https and checks its sha256 against the one we
 * ship for that release (or the caller's `sha256`) BEFORE extracting or running anything; then
 * extracts the binary with `tar` and caches it. Nothing the download server says is trusted: it
 * is never asked for a checksums file.
 */
export async function resolveScanner(o: ResolveScannerOptions): Promise<ResolvedScanner> {
  const { driver, version, logger } = o;
  const onPath = findOnPath(driver.binary, o.pathEnv ?? process.env.PATH ?? '');
  if (onPath !== undefined) {
    const found = await versionOf(o, onPath);
    if (found === version) {
      logger.info(`Using ${driver.name} ${found} from PATH (${onPath}).`);
      return { path: onPath, version: found, source: 'path' };
    }
    logger.info(
      `${onPath} is ${driver.name} ${found ?? 'of an unknown version'}, not the pinned ${version}: installing ${version}.`,
    );
  }

  const platform = o.platform ?? hostScannerPlatform();
  const cacheArch = platform.arch === 'amd64' ? 'x64' : 'arm64';
  const versionDir = join(o.toolCacheDir, driver.name, version);
  const cachedDir = join(versionDir, cacheArch);
  const cachedBinary = join(cachedDir, driver.binary);
  // The marker is written only after verification, so a half-written cache entry is never trusted.
  if (existsSync(`${cachedDir}.complete`) && existsSync(cachedBinary)) {
    const found = await versionOf(o, cachedBinary);
    if (found === version) {
      logger.info(`Using ${driver.name} ${version} from the tool cache (${cachedBinary}).`);
      return { path: cachedBinary, version, source: 'tool-cache' };
    }
    logger.warning(`The cached ${cachedBinary} reports version ${found ?? 'unknown'}: downloading again.`);
  }

  const asset = driver.releaseAsset(version, platform);
  const base = releaseBase(o, version);
  const expected = expectedSha256(o, asset, platform);
  const archiveUrl = `${base}/${asset.archive}`;
  logger.info(`Downloading ${driver.name} ${version}: ${archiveUrl}`);
  const archive = await download(o, archiveUrl);
  const actual = createHash('sha256').update(archive).digest('hex');
  if (actual !== expected.sha256)
    throw new ScannerInstallError(
      `Refusing to run ${driver.name} ${version} from ${archiveUrl}: its sha256 is ${actual}, but ${expected.source} says ${expected.sha256}.`,
      {
        hint: 'The download was corrupted or tampered with. Nothing was extracted or run. Retry, or check scanner-download-url and scanner-sha256.',
      },
    );
  logger.info(`Verified ${asset.archive}: sha256 ${actual} matches ${expected.source}.`);

  mkdirSync(o.tempDir, { recursive: true });
  const work = mkdtempSync(join(o.tempDir, `${driver.name}-install-`));
  try {
    const archivePath = join(work, asset.archive);
    writeFileSync(archivePath, archive);
    const extractDir = join(work, 'x');
    mkdirSync(extractDir);
    try {
      await o.runner.run({ tool: 'tar', args: ['-xzf', archivePath, '-C', extractDir, '--', asset.binary] });
    } catch (error) {
      throw new ScannerInstallError(
        `Could not extract ${asset.binary} from ${asset.archive}: ${error instanceof CommandError ? error.stderrTail.trim() || error.message : String(error)}`,
        { cause: error },
      );
    }
    rmSync(cachedDir, { recursive: true, force: true });
    mkdirSync(cachedDir, { recursive: true });
    copyFileSync(join(extractDir, asset.binary), cachedBinary);
    chmodSync(cachedBinary, 0o755);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const installed = await versionOf(o, cachedBinary);
  if (installed !== version)
    throw new ScannerInstallError(
      `The downloaded ${driver.name} reports version ${installed ?? 'unknown'}, not ${version}.`,
      { hint: 'Check scanner-download-url: it must serve the release named by scanner-version.' },
    );
  writeFileSync(`${cachedDir}.complete`, '');
  logger.info(`Installed ${driver.name} ${version} into ${cachedBinary}.`);
  return { path: cachedBinary, version, source: 'download' };
}

/** The release directory, `{version}` filled in; only https. */
function releaseBase(o: ResolveScannerOptions, version: string): string {
  const template = o.downloadUrl ?? o.driver.downloadUrl;
  if (!/^https:\/\/[^\s/]+/i.test(template))
    throw new ScannerInstallError(
      `Refusing to download ${o.driver.name} from ${template}: only https URLs are accepted.`,
      { hint: 'Set scanner-download-url to an https URL (or leave it empty for the GitHub release).' },
    );
  if (o.downloadUrl !== undefined && o.sha256 === undefined)
    throw new ScannerInstallError(
      `Refusing to download ${o.driver.name} from the custom location ${o.downloadUrl} without scanner-sha256: a mirror cannot vouch for its own files.`,
      { hint: 'Set scanner-sha256 to the sha256 the project publishes for the archive.' },
    );
  return template.replace(/\{version\}/g, version).replace(/\/+$/, '');
}

/** What the archive must hash to, and who says so. */
function expectedSha256(
  o: ResolveScannerOptions,
  asset: ReleaseAsset,
  platform: ScannerPlatform,
): { sha256: string; source: string } {
  const builtIn = publishedScannerSha256(asset.archive);
  const given = o.sha256?.toLowerCase();
  if (given !== undefined && !SHA256_HEX.test(given))
    throw new ScannerInstallError(`scanner-sha256 "${o.sha256 ?? ''}" is not a sha256 (64 hex digits).`);
  if (given !== undefined && builtIn !== undefined && given !== builtIn)
    throw new ScannerInstallError(
      `scanner-sha256 ${given} disagrees with the sha256 published for ${asset.archive} (${builtIn}): refusing to install ${o.driver.name}.`,
      { hint: 'Leave scanner-sha256 empty for this release, or correct it.' },
    );
  if (given !== undefined)
    return { sha256: given, source: builtIn === undefined ? 'scanner-sha256' : 'the published sha256' };
  if (builtIn !== undefined)
    return { sha256: builtIn, source: 'the published sha256 built into this action' };
  throw new ScannerInstallError(
    `There is no built-in sha256 for ${asset.archive} (${o.driver.name} ${o.version} on ${platform.os}/${platform.arch}): refusing to install an unverifiable ${o.driver.name}.`,
    {
      hint: `Set scanner-sha256 to the sha256 the project publishes for ${asset.archive}, put ${o.driver.name} ${o.version} on PATH, or use the pinned version ${o.driver.pinnedVersion}.`,
    },
  );
}

function findOnPath(binary: string, pathEnv: string): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function versionOf(o: ResolveScannerOptions, binary: string): Promise<string | undefined> {
  try {
    const result = await o.runner.run({ tool: binary, args: [...o.driver.versionArgs], timeoutMs: 60_000 });
    return o.driver.parseVersion(`${result.stdout}\n${result.stderr}`);
  } catch (error) {
    o.logger.debug(`${binary} ${o.driver.versionArgs.join(' ')} failed: ${String(error)}`);
    return undefined;
  }
}

async function download(o: ResolveScannerOptions, url: string): Promise<Uint8Array> {
  return withRetry(
    async () => {
      let response;
      try {
        response = await o.http.request({ method: 'GET', url, timeoutMs: 300_000 });
      } catch (error) {
        if (error instanceof HttpTransportError)
          throw new DownloadError(`Could not download ${url}: ${error.message}`, true, error);
        throw error;
      }
      if (response.status !== 200)
        throw new DownloadError(
          `Could not download ${url}: HTTP ${response.status}`,
          response.status >= 500 || response.status === 429,
        );
      return response.body;
    },
    {
      policy: { attempts: 3, initialDelayMs: 1000 },
      retryable: (e) => e instanceof DownloadError && e.transient,
      onRetry: (e, attempt, delay) => {
        o.logger.warning(
          `${e instanceof Error ? e.message : String(e)} (attempt ${attempt}); retrying in ${delay}ms`,
        );
      },
      ...(o.clock === undefined ? {} : { clock: o.clock }),
    },
  );
}

class DownloadError extends ScannerInstallError {
  readonly transient: boolean;
  constructor(message: string, transient: boolean, cause?: unknown) {
    super(message, {
      hint: 'Check network access to the release server, or set scanner-download-url to a mirror.',
      cause,
    });
    this.transient = transient;
  }
}

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A release directory served on 127.0.0.1, like a scanner's GitHub release or a mirror of it. */
export interface ReleaseServer {
  /** The release directory URL template (with `{version}`), for `scanner-download-url`. */
  readonly urlTemplate: string;
  /** Paths requested so far. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Files a release server serves, by name. */
export type ReleaseFiles = Readonly<Record<string, Uint8Array | string>>;

/** Builds a real `.tar.gz` (with the system `tar`) holding `binaryPath` under the name `member`. */
export function buildReleaseArchive(binaryPath: string, member: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'ds-release-'));
  const staging = join(dir, 'staging');
  execFileSync('mkdir', ['-p', staging]);
  execFileSync('cp', [binaryPath, join(staging, member)]);
  execFileSync('tar', ['-czf', join(dir, 'release.tar.gz'), '-C', staging, member]);
  return readFileSync(join(dir, 'release.tar.gz'));
}

/** `sha256sum`-style lines for the given files. */
export function checksumsFile(files: Readonly<Record<string, Uint8Array>>): string {
  return Object.entries(files)
    .map(([name, data]) => `${createHash('sha256').update(data).digest('hex')}  ${name}`)
    .join('\n')
    .concat('\n');
}

/** Serves `files` under `/releases/v<version>/` for any version. */
export async function startReleaseServer(files: ReleaseFiles): Promise<ReleaseServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    const name = /^\/releases\/v[^/]+\/([^/?]+)$/.exec(path)?.[1];
    const body = name === undefined ? undefined : files[name];
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(body);
  });
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    urlTemplate: `http://127.0.0.1:${port}/releases/v{version}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

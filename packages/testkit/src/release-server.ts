import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpClient, HttpRequest, HttpResponse } from '@dreamscape/core';
import { makeServerCertificate } from './registry.js';

/**
 * A release directory served over https on 127.0.0.1 with a certificate from a throwaway CA, like
 * a scanner's GitHub release or a mirror of it. Processes trust it with `NODE_EXTRA_CA_CERTS`
 * ({@link caCertPath}); in-process code through {@link httpClient}.
 */
export interface ReleaseServer {
  /** The release directory URL template (with `{version}`), for `scanner-download-url`. */
  readonly urlTemplate: string;
  /** The CA that signed the server's certificate. */
  readonly caCertPath: string;
  /** A real https client that trusts {@link caCertPath} (Node's fetch cannot be told to in-process). */
  readonly httpClient: HttpClient;
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

/** The sha256 of `data`, as `sha256sum` prints it. */
export function sha256Of(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `sha256sum`-style lines for the given files. */
export function checksumsFile(files: Readonly<Record<string, Uint8Array>>): string {
  return Object.entries(files)
    .map(([name, data]) => `${sha256Of(data)}  ${name}`)
    .join('\n')
    .concat('\n');
}

/** Serves `files` under `/releases/v<version>/` for any version. */
export async function startReleaseServer(files: ReleaseFiles): Promise<ReleaseServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-release-tls-'));
  const caCertPath = makeServerCertificate(dir);
  const ca = readFileSync(caCertPath);
  const requests: string[] = [];
  const server = createServer(
    { cert: readFileSync(join(dir, 'server.crt')), key: readFileSync(join(dir, 'server.key')) },
    (req, res) => {
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
    },
  );
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    urlTemplate: `https://127.0.0.1:${port}/releases/v{version}`,
    caCertPath,
    httpClient: { request: (req) => httpsGet(req, ca) },
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

function httpsGet(req: HttpRequest, ca: Buffer): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const r = httpsRequest(
      req.url,
      { method: req.method, ca, agent: false, timeout: req.timeoutMs ?? 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = new Uint8Array(Buffer.concat(chunks));
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (typeof v === 'string') headers[k.toLowerCase()] = v;
          resolve({
            status: res.statusCode ?? 0,
            headers,
            body,
            text: () => Buffer.from(body).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end();
  });
}

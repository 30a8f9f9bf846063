import { execFileSync } from 'node:child_process';
import { randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from './tools.js';

/**
 * A token service in the shape GHCR's is, for a real `docker-registry` configured with
 * `auth: token`: `GET /token?service=...&scope=repository:NAME:pull,push` checks Basic credentials
 * and answers `{"token": "<JWT>"}`, an RS256 JWT whose header carries the signing certificate
 * (`x5c`) that the registry checks against its `rootcertbundle`.
 */

/** Options for {@link startTokenIssuer}. */
export interface TokenIssuerOptions {
  /** username → password. */
  readonly users: Readonly<Record<string, string>>;
  /** The `service` (JWT audience) the registry announces. Default `ds-registry`. */
  readonly service?: string;
  /** The JWT issuer the registry expects. Default `ds-token-issuer`. */
  readonly issuer?: string;
  /** Grant `pull` to requests without credentials, as for a public GHCR image. Default false. */
  readonly anonymousPull?: boolean;
  /**
   * Users granted `pull` only, whatever they ask for: a workflow token with `packages: read`.
   * Default none (every user gets what it asks for).
   */
  readonly pullOnly?: readonly string[];
  /** Token lifetime. Default 300 s. */
  readonly expiresInSeconds?: number;
}

/** One request the issuer answered, for tests to assert on (how many tokens, for which scope). */
export interface TokenRequestRecord {
  readonly service: string;
  readonly scopes: readonly string[];
  /** The authenticated user; undefined for anonymous requests and refused credentials. */
  readonly account: string | undefined;
  /** 200 (token issued) or 401 (credentials refused). */
  readonly status: number;
}

/** A running issuer. */
export interface RunningTokenIssuer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `http://127.0.0.1:PORT/token`, the registry's `realm`. */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM file of the signing certificate: the registry's `rootcertbundle`. */
  readonly certPath: string;
  /** Every request so far, oldest first. */
  readonly requests: readonly TokenRequestRecord[];
  close(): Promise<void>;
}

interface Access {
  readonly type: string;
  readonly name: string;
  readonly actions: string[];
}

/** Starts the issuer on a free port of 127.0.0.1, with a fresh RSA key and self-signed certificate. */
export async function startTokenIssuer(options: TokenIssuerOptions): Promise<RunningTokenIssuer> {
  const openssl = requireTool('openssl');
  const dir = mkdtempSync(join(tmpdir(), 'ds-token-issuer-'));
  const keyPath = join(dir, 'issuer.key');
  const certPath = join(dir, 'issuer.crt');
  execFileSync(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      '/CN=ds-token-issuer',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const privateKey = readFileSync(keyPath, 'utf8');
  const certificate = new X509Certificate(readFileSync(certPath));
  const x5c = [certificate.raw.toString('base64')];
  const service = options.service ?? 'ds-registry';
  const issuer = options.issuer ?? 'ds-token-issuer';
  const lifetime = options.expiresInSeconds ?? 300;
  const requests: TokenRequestRecord[] = [];

  // GET with Basic credentials (the token spec), or POST of an OAuth2 password grant (the form
  // `grant_type=password&username=…&password=…&scope=…`, which helm's OCI client sends).
  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const form = req.method === 'POST' ? new URLSearchParams(body) : undefined;
    const params = form ?? url.searchParams;
    const scopes = params
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter((s) => s !== '');
    const requestedService = params.get('service') ?? '';
    const credentials =
      form?.get('grant_type') === 'password'
        ? { username: form.get('username') ?? '', password: form.get('password') ?? '' }
        : parseBasic(req.headers.authorization);
    let account: string | undefined;
    if (credentials !== undefined) {
      if (options.users[credentials.username] !== credentials.password) {
        requests.push({ service: requestedService, scopes, account: undefined, status: 401 });
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] }),
        );
        return;
      }
      account = credentials.username;
    }
    const access: Access[] = [];
    for (const scope of scopes) {
      const [type = '', ...rest] = scope.split(':');
      const actions = (rest.pop() ?? '').split(',').filter((a) => a !== '');
      const name = rest.join(':');
      const granted =
        account !== undefined
          ? options.pullOnly?.includes(account) === true
            ? actions.filter((a) => a === 'pull')
            : actions
          : options.anonymousPull === true
            ? actions.filter((a) => a === 'pull')
            : [];
      access.push({ type, name, actions: granted });
    }
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(
      { typ: 'JWT', alg: 'RS256', x5c },
      {
        iss: issuer,
        sub: account ?? '',
        aud: service,
        iat: now,
        nbf: now - 10,
        exp: now + lifetime,
        jti: randomUUID(),
        access,
      },
      privateKey,
    );
    requests.push({ service: requestedService, scopes, account, status: 200 });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: lifetime,
        issued_at: new Date(now * 1000).toISOString(),
      }),
    );
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    realm: `${url}/token`,
    service,
    issuer,
    certPath,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (m === null) return undefined;
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function signJwt(header: object, claims: object, privateKeyPem: string): string {
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(claims)}`;
  const signature = sign('RSA-SHA256', Buffer.from(input), privateKeyPem).toString('base64url');
  return `${input}.${signature}`;
}

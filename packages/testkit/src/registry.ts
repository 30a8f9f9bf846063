import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForHttp } from './ports.js';
import { startTokenIssuer, type RunningTokenIssuer } from './token-issuer.js';
import { requireTool } from './tools.js';

/**
 * How the registry authenticates:
 * - `none`: open to everyone (the default);
 * - `htpasswd`: Basic authentication against a bcrypt htpasswd file (made with `htpasswd -B`);
 * - `token`: the Bearer token flow GHCR uses, with a {@link startTokenIssuer} token service on
 *   127.0.0.1 that checks the users' Basic credentials.
 */
export type RegistryAuth =
  | { readonly mode: 'none' }
  | { readonly mode: 'htpasswd'; readonly users: Readonly<Record<string, string>> }
  | {
      readonly mode: 'token';
      readonly users: Readonly<Record<string, string>>;
      /** The `service` the registry announces (e.g. `ghcr.io` to look like GHCR). Default `ds-registry`. */
      readonly service?: string;
      /** Anonymous requests may pull (a public image). Default false. */
      readonly anonymousPull?: boolean;
      /** Users that may pull but not push (a token with `packages: read`). Default none. */
      readonly pullOnly?: readonly string[];
    };

/** Options for {@link startRegistry}. */
export interface RegistryOptions {
  /** Extra top-level YAML appended to the registry configuration. */
  readonly extraConfig?: string;
  /** Authentication; default none. */
  readonly auth?: RegistryAuth;
  /**
   * Serve https with a certificate for 127.0.0.1 signed by a CA made for this registry
   * ({@link RunningRegistry.caCertPath}): trust it with `NODE_EXTRA_CA_CERTS` (Node) or
   * `/etc/containers/certs.d/<host>/ca.crt` (buildah). Default false: plain http.
   */
  readonly tls?: boolean;
}

/** A running Debian `docker-registry` (distribution 2.8) on 127.0.0.1. */
export interface RunningRegistry {
  /** `127.0.0.1:PORT`, as it appears in image references. */
  readonly host: string;
  /** `http://127.0.0.1:PORT` (`https://` with tls). */
  readonly url: string;
  readonly dataDir: string;
  readonly authMode: RegistryAuth['mode'];
  /** The users that may log in (username → password); empty without auth. */
  readonly users: Readonly<Record<string, string>>;
  /** The token service, in `token` mode. */
  readonly tokenIssuer: RunningTokenIssuer | undefined;
  /** The CA certificate (PEM file) of a tls registry. */
  readonly caCertPath: string | undefined;
  /** Everything the registry printed, for failing tests to show. */
  log(): string;
  close(): Promise<void>;
}

/** Starts a real registry on a free loopback port with its storage in a temporary directory. */
export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  const bin = requireTool('docker-registry');
  const dir = mkdtempSync(join(tmpdir(), 'ds-registry-'));
  const port = await freePort();
  const auth = options.auth ?? { mode: 'none' };
  let tokenIssuer: RunningTokenIssuer | undefined;
  const authConfig: string[] = [];
  if (auth.mode === 'htpasswd') {
    const htpasswd = requireTool('htpasswd');
    const lines = Object.entries(auth.users).map(([user, password]) =>
      // -i: the password comes on stdin, never on a command line
      execFileSync(htpasswd, ['-niB', user], { input: password, encoding: 'utf8' }).trim(),
    );
    writeFileSync(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    authConfig.push('auth:', '  htpasswd:', '    realm: ds-registry', `    path: ${join(dir, 'htpasswd')}`);
  } else if (auth.mode === 'token') {
    tokenIssuer = await startTokenIssuer({
      users: auth.users,
      ...(auth.service === undefined ? {} : { service: auth.service }),
      ...(auth.anonymousPull === undefined ? {} : { anonymousPull: auth.anonymousPull }),
      ...(auth.pullOnly === undefined ? {} : { pullOnly: auth.pullOnly }),
    });
    authConfig.push(
      'auth:',
      '  token:',
      `    realm: ${tokenIssuer.realm}`,
      `    service: ${tokenIssuer.service}`,
      `    issuer: ${tokenIssuer.issuer}`,
      `    rootcertbundle: ${tokenIssuer.certPath}`,
    );
  }
  const caCertPath = options.tls === true ? makeServerCertificate(dir) : undefined;

  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(caCertPath === undefined
      ? []
      : ['  tls:', `    certificate: ${join(dir, 'server.crt')}`, `    key: ${join(dir, 'server.key')}`]),
    ...authConfig,
    options.extraConfig ?? '',
  ].join('\n');
  writeFileSync(join(dir, 'config.yml'), config);
  let output = '';
  const child: ChildProcess = spawn(bin, ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const scheme = caCertPath === undefined ? 'http' : 'https';
  const url = `${scheme}://127.0.0.1:${port}`;
  const cleanup = async (): Promise<void> => {
    await tokenIssuer?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Node's fetch would not trust the test CA: wait for the port when serving https.
    if (caCertPath === undefined) await waitForHttp(`${url}/v2/`);
    else await waitForTcp(port);
  } catch (error) {
    child.kill('SIGKILL');
    await cleanup();
    throw new Error(`docker-registry did not start:\n${output}`, { cause: error });
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    dataDir: join(dir, 'data'),
    authMode: auth.mode,
    users: auth.mode === 'none' ? {} : auth.users,
    tokenIssuer,
    caCertPath,
    log: () => output,
    close: () =>
      new Promise<void>((resolve) => {
        // Already ended (also when a signal ended it: then only signalCode is set).
        if (child.exitCode !== null || child.signalCode !== null) {
          void cleanup().then(resolve);
          return;
        }
        child.once('exit', () => {
          void cleanup().then(resolve);
        });
        child.kill('SIGTERM');
      }),
  };
}

/**
 * A CA and a server certificate for 127.0.0.1 signed by it, in `dir` (`server.crt`, `server.key`);
 * returns the CA's path, for `NODE_EXTRA_CA_CERTS` or an https client's `ca`.
 */
export function makeServerCertificate(dir: string): string {
  const openssl = requireTool('openssl');
  const run = (args: string[]): void => {
    execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=ds-test-ca',
  ]);
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  ]);
  // Checked here so a broken certificate shows up as such, not as a TLS error in some later test.
  readFileSync(join(dir, 'server.crt'));
  return join(dir, 'ca.crt');
}

function waitForTcp(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', (error) => {
        socket.destroy();
        if (Date.now() > deadline)
          reject(new Error(`127.0.0.1:${port} did not accept connections`, { cause: error }));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

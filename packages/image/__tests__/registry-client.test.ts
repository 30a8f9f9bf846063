import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import {
  FetchHttpClient,
  HttpTransportError,
  MemoryLogger,
  type Clock,
  type HttpClient,
  type HttpRequest,
} from '@dreamscape/core';
import {
  freePort,
  pushTestImage,
  startRegistry,
  type PushedTestImage,
  type RunningRegistry,
} from '@dreamscape/testkit';
import {
  ImageNotFoundError,
  RegistryAuthError,
  RegistryClient,
  RegistryError,
  RegistryUnavailableError,
  attachArtifact,
  isLoopbackRegistry,
  listReferrers,
  readInsecureRegistries,
  subjectOf,
  type RegistryClientOptions,
} from '../src/index.js';

const PASSWORD = 'Pa55-w0rd-that-must-never-be-logged';
const USERS = { alice: PASSWORD };
const LABELS = {
  'org.opencontainers.image.title': 'voyage',
  'org.opencontainers.image.source': 'https://github.com/dreamscape-labs/platform',
};

/** A clock whose sleeps return at once and are recorded, so retries cost no time. */
function fastClock(): Clock & { readonly slept: number[] } {
  const slept: number[] = [];
  let now = Date.now();
  return {
    slept,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

/** A MemoryLogger that also keeps every line as it was handed over, before any masking. */
class RawLogger extends MemoryLogger {
  readonly raw: string[] = [];
  override debug(message: string): void {
    this.raw.push(message);
    super.debug(message);
  }
  override info(message: string): void {
    this.raw.push(message);
    super.info(message);
  }
  override notice(message: string): void {
    this.raw.push(message);
    super.notice(message);
  }
  override warning(message: string): void {
    this.raw.push(message);
    super.warning(message);
  }
  override error(message: string): void {
    this.raw.push(message);
    super.error(message);
  }
}

function client(overrides: Partial<RegistryClientOptions> & { logger: MemoryLogger }): RegistryClient {
  return new RegistryClient({ http: new FetchHttpClient(), clock: fastClock(), ...overrides });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

/** The error `promise` rejects with, which must be a `type`. */
async function failureOf<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(type);
  if (!(error instanceof type)) throw error;
  return error;
}

function expectNoCredentialsIn(logger: RawLogger, registry: RunningRegistry): void {
  const everything = [...logger.raw, logger.text(true)].join('\n');
  expect(everything).not.toContain(PASSWORD);
  expect(everything).not.toContain(Buffer.from(`alice:${PASSWORD}`).toString('base64'));
  // And it was registered with the masker before use, so nothing downstream prints it either.
  if (registry.authMode !== 'none') expect(logger.masker.values()).toContain(PASSWORD);
}

describe.each(['none', 'htpasswd', 'token'] as const)(
  'RegistryClient against docker-registry (auth: %s)',
  (mode) => {
    let registry: RunningRegistry;
    let single: PushedTestImage;
    let multi: PushedTestImage;
    const credentials = mode === 'none' ? undefined : { username: 'alice', password: PASSWORD };

    beforeAll(async () => {
      registry = await startRegistry({ auth: mode === 'none' ? { mode } : { mode, users: USERS } });
      single = await pushTestImage(registry, 'dreamscape/voyage', '1.4.2', { labels: LABELS, credentials });
      multi = await pushTestImage(registry, 'dreamscape/gateway', 'multi', {
        labels: LABELS,
        credentials,
        platforms: ['linux/arm64/v8', 'linux/amd64'],
        attestation: true,
      });
    });
    afterAll(async () => {
      await registry.close();
    });

    const logins = (): RegistryClientOptions['logins'] =>
      credentials === undefined ? [] : [{ registry: registry.host, ...credentials }];

    it('reports the digest of a tag as the digest of the pushed manifest', async () => {
      const logger = new RawLogger();
      const registryClient = client({ logger, logins: logins() });
      expect(await registryClient.digestOf(single.reference)).toBe(single.digest);
      expect(await registryClient.digestOf(`${registry.host}/dreamscape/voyage@${single.digest}`)).toBe(
        single.digest,
      );
      expect(await registryClient.digestOf(multi.reference)).toBe(multi.digest);
      expect(await registryClient.exists(single.reference)).toBe(true);
      expectNoCredentialsIn(logger, registry);
    });

    it('reads the labels back from the image config', async () => {
      const logger = new RawLogger();
      const result = await client({ logger, logins: logins() }).getImageConfig(single.reference);
      expect(result.labels).toEqual(LABELS);
      expect(result.digest).toBe(single.digest);
      expect(result.configDigest).toBe(single.manifests[0]?.configDigest);
      expect(result.platform).toBeUndefined();
    });

    it('stores the exact bytes of a manifest or an index under a new tag, which then serves the same digest', async () => {
      const logger = new RawLogger();
      const registryClient = client({ logger, logins: logins() });
      const tag = `${registry.host}/dreamscape/voyage:copied-${mode}`;
      expect(await registryClient.putManifest(tag, Buffer.from(single.body), single.mediaType)).toBe(
        single.digest,
      );
      expect(await registryClient.digestOf(tag)).toBe(single.digest);
      expect(Buffer.from((await registryClient.getManifest(tag)).body).toString()).toBe(single.body);
      const indexTag = `${registry.host}/dreamscape/gateway:copied-${mode}`;
      expect(await registryClient.putManifest(indexTag, Buffer.from(multi.body), multi.mediaType)).toBe(
        multi.digest,
      );
      expect(await registryClient.digestOf(indexTag)).toBe(multi.digest);
      expectNoCredentialsIn(logger, registry);
    });

    it('says so when a manifest is PUT into a repository that lacks its blobs', async () => {
      const registryClient = client({ logger: new RawLogger(), logins: logins() });
      const tag = `${registry.host}/dreamscape/elsewhere:1`;
      const error = await failureOf(
        registryClient.putManifest(tag, Buffer.from(single.body), single.mediaType),
        RegistryError,
      );
      expect(error.status).toBe(400);
      expect(error.message).toBe(
        `${registry.host} answered 400 Bad Request to PUT of the manifest for ${tag}: MANIFEST_BLOB_UNKNOWN blob unknown to registry.`,
      );
      expect(error.hint).toContain('a manifest can only be tagged in the repository it was pushed to');
    });

    it('refuses to store bytes under a digest they do not hash to, before sending anything', async () => {
      const registryClient = client({ logger: new RawLogger(), logins: logins() });
      const ref = `${registry.host}/dreamscape/voyage@${multi.digest}`;
      const error = await failureOf(
        registryClient.putManifest(ref, Buffer.from(single.body), single.mediaType),
        RegistryError,
      );
      expect(error.message).toBe(
        `${ref}: the manifest to store hashes to ${single.digest}, not to the digest it is to be stored under.`,
      );
      expect(error.status).toBeUndefined();
    });

    if (mode !== 'none') {
      it('refuses a PUT with wrong credentials with the auth error', async () => {
        const wrong = `${PASSWORD}-but-wrong`;
        const tag = `${registry.host}/dreamscape/voyage:never-${mode}`;
        const error = await failureOf(
          client({
            logger: new RawLogger(),
            logins: [{ registry: registry.host, username: 'alice', password: wrong }],
          }).putManifest(tag, Buffer.from(single.body), single.mediaType),
          RegistryAuthError,
        );
        expect(error.status).toBe(401);
        expect(error.message).toContain(`refused the credentials of 'alice' for ${tag} (401 Unauthorized`);
        expect(await client({ logger: new RawLogger(), logins: logins() }).exists(tag)).toBe(false);
      });
    }

    if (mode === 'token') {
      it('asks the token service for push as well as pull to PUT a manifest', async () => {
        const issuer = registry.tokenIssuer!;
        const before = issuer.requests.length;
        await client({ logger: new RawLogger(), logins: logins() }).putManifest(
          `${registry.host}/dreamscape/voyage:scoped`,
          Buffer.from(single.body),
          single.mediaType,
        );
        // The client asks for the scope of the registry's challenge, whose action order varies.
        const scopes = issuer.requests.slice(before).flatMap((r) => r.scopes);
        expect(scopes.map((s) => s.split(':').pop()?.split(',').sort().join(','))).toEqual(['pull,push']);
        expect(scopes[0]).toMatch(/^repository:dreamscape\/voyage:/);
      });
    }

    it('follows an index to linux/amd64, skipping the attestation entry, or to the platform asked for', async () => {
      const logger = new RawLogger();
      const registryClient = client({ logger, logins: logins() });
      const amd64 = await registryClient.getImageConfig(multi.reference);
      expect(amd64.platform).toBe('linux/amd64');
      expect(amd64.digest).toBe(multi.digest);
      expect(amd64.manifestDigest).toBe(multi.manifests.find((m) => m.platform === 'linux/amd64')?.digest);
      expect(amd64.labels['dreamscape.test.platform']).toBe('linux/amd64');
      expect(amd64.labels['org.opencontainers.image.title']).toBe('voyage');
      const arm64 = await registryClient.getLabels(multi.reference, { platform: 'linux/arm64/v8' });
      expect(arm64['dreamscape.test.platform']).toBe('linux/arm64/v8');
    });

    it('says which image is missing for an unknown tag', async () => {
      const logger = new RawLogger();
      const registryClient = client({ logger, logins: logins() });
      const ref = `${registry.host}/dreamscape/voyage:does-not-exist`;
      const error = await failureOf(registryClient.digestOf(ref), ImageNotFoundError);
      expect(error.message).toBe(
        `Image ${ref} was not found: ${registry.host} has no manifest for tag 'does-not-exist'.`,
      );
      expect(error.status).toBe(404);
      expect(await registryClient.exists(ref)).toBe(false);
      const missingRepo = await failure(
        registryClient.getManifest(`${registry.host}/dreamscape/nothing-here:1`),
      );
      expect(missingRepo).toBeInstanceOf(ImageNotFoundError);
      expect(missingRepo.message).toBe(
        `Image ${registry.host}/dreamscape/nothing-here:1 was not found: ${registry.host} has no manifest for tag '1': MANIFEST_UNKNOWN manifest unknown.`,
      );
    });

    if (mode !== 'none') {
      it('refuses wrong credentials with a 401 error and a hint, and never logs the password', async () => {
        const logger = new RawLogger();
        const wrong = `${PASSWORD}-but-wrong`;
        const registryClient = client({
          logger,
          logins: [{ registry: registry.host, username: 'alice', password: wrong }],
        });
        const authError = await failureOf(registryClient.digestOf(single.reference), RegistryAuthError);
        expect(authError.status).toBe(401);
        expect(authError.message).toContain(
          `refused the credentials of 'alice' for ${single.reference} (401 Unauthorized`,
        );
        expect(authError.hint).toContain(
          `Check the username and the password or token given for ${registry.host}`,
        );
        expect(authError.hint).toContain('permissions: packages: write');
        expect(authError.describe()).not.toContain(wrong);
        const everything = [...logger.raw, logger.text(true)].join('\n');
        expect(everything).not.toContain(wrong);
        expect(logger.masker.values()).toContain(wrong);
      });

      it('asks for credentials when none are given', async () => {
        const error = await failure(client({ logger: new RawLogger() }).digestOf(single.reference));
        expect(error).toBeInstanceOf(RegistryAuthError);
        expect(error.message).toContain(`requires credentials for ${single.reference}`);
        expect(error.message).toContain(`none were given for ${registry.host}`);
      });

      it('verifies a login against /v2/', async () => {
        await client({ logger: new RawLogger(), logins: logins() }).verifyLogin(registry.host);
        const error = await failure(
          client({
            logger: new RawLogger(),
            logins: [{ registry: registry.host, username: 'alice', password: 'not-the-password' }],
          }).verifyLogin(registry.host),
        );
        expect(error).toBeInstanceOf(RegistryAuthError);
      });
    }

    if (mode === 'token') {
      it('gets one token per repository scope and reuses it', async () => {
        const issuer = registry.tokenIssuer!;
        const before = issuer.requests.length;
        const registryClient = client({ logger: new RawLogger(), logins: logins() });
        await registryClient.digestOf(single.reference);
        await registryClient.digestOf(single.reference);
        await registryClient.getImageConfig(single.reference);
        const afterFirstRepo = issuer.requests.slice(before);
        expect(afterFirstRepo).toEqual([
          {
            service: 'ds-registry',
            scopes: ['repository:dreamscape/voyage:pull'],
            account: 'alice',
            status: 200,
          },
        ]);
        await registryClient.digestOf(multi.reference);
        expect(issuer.requests.slice(before).map((r) => r.scopes)).toEqual([
          ['repository:dreamscape/voyage:pull'],
          ['repository:dreamscape/gateway:pull'],
        ]);
      });
    }
  },
);

describe('RegistryClient against a registry that looks like GHCR (token service "ghcr.io")', () => {
  let registry: RunningRegistry;
  let image: PushedTestImage;

  beforeAll(async () => {
    registry = await startRegistry({
      auth: { mode: 'token', users: USERS, service: 'ghcr.io', anonymousPull: true },
    });
    image = await pushTestImage(registry, 'dreamscape-labs/voyage', 'sha-1a2b3c4', {
      labels: LABELS,
      credentials: { username: 'alice', password: PASSWORD },
    });
  });
  afterAll(async () => {
    await registry.close();
  });

  it('pulls a public image anonymously through the token flow', async () => {
    const registryClient = client({ logger: new RawLogger() });
    expect(await registryClient.digestOf(image.reference)).toBe(image.digest);
    expect(registry.tokenIssuer?.requests.at(-1)).toEqual({
      service: 'ghcr.io',
      scopes: ['repository:dreamscape-labs/voyage:pull'],
      account: undefined,
      status: 200,
    });
  });

  it("explains GHCR's permissions and the manual-push pitfall when the token is refused", async () => {
    const logger = new RawLogger();
    const error = await failure(
      client({
        logger,
        logins: [{ registry: registry.host, username: 'alice', password: 'ghs_expiredWorkflowToken0000' }],
      }).digestOf(image.reference),
    );
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect(error.message).toBe(
      `the token service ${registry.tokenIssuer?.realm} refused the credentials of 'alice' for ${image.reference} (401 Unauthorized: UNAUTHORIZED invalid username or password).`,
    );
    const hint = error instanceof RegistryAuthError ? (error.hint ?? '') : '';
    expect(hint).toContain('the job needs `permissions: packages: write`');
    expect(hint).toContain('first created by a manual push refuses the workflow token');
    expect(hint).toContain('Manage Actions access');
    expect(logger.raw.join('\n')).not.toContain('ghs_expiredWorkflowToken0000');
  });

  it('refuses an anonymous PUT on a registry that lets anyone pull, asking for credentials', async () => {
    const tag = `${registry.host}/dreamscape-labs/voyage:anonymous`;
    const error = await failure(
      client({ logger: new RawLogger() }).putManifest(tag, Buffer.from(image.body), image.mediaType),
    );
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect(error.message).toBe(
      `${registry.host} requires credentials for ${tag} (401 Unauthorized: UNAUTHORIZED authentication required), and none were given for ${registry.host}.`,
    );
  });
});

describe('RegistryClient retries', () => {
  it('fails after bounded retries when the registry is unreachable, naming it and the attempts', async () => {
    const port = await freePort();
    const clock = fastClock();
    const logger = new RawLogger();
    const registryClient = new RegistryClient({
      http: new FetchHttpClient(),
      logger,
      clock,
      retry: { attempts: 3, initialDelayMs: 200 },
    });
    const error = await failureOf(
      registryClient.digestOf(`127.0.0.1:${port}/dreamscape/voyage:1.0`),
      RegistryUnavailableError,
    );
    expect(error.message).toMatch(
      new RegExp(
        // Loopback: https is tried first, and a refused connection is no reason to try plain http.
        `^Registry 127\\.0\\.0\\.1:${port} could not be reached after 3 attempts \\(GET https://127\\.0\\.0\\.1:${port}/v2/\\): .*ECONNREFUSED`,
      ),
    );
    expect(error.attempts).toBe(3);
    expect(clock.slept).toEqual([200, 400]);
    expect(logger.text()).toContain('retrying in 200ms (attempt 2 of 3)');
  });

  // The stub speaks plain http and answers from a script: its clients are told so, so that no
  // https attempt takes a scripted answer.
  describe('against a stub HTTP server', () => {
    let server: Server;
    let host: string;
    let script: ((req: IncomingMessage, res: ServerResponse) => void)[] = [];
    const seen: string[] = [];
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${'a'.repeat(64)}`,
        size: 2,
      },
      layers: [],
    });
    const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;

    beforeAll(async () => {
      server = createServer((req, res) => {
        seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
        const next = script.shift();
        if (next === undefined) res.writeHead(500).end('script exhausted');
        else next(req, res);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      host = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    });

    const status =
      (code: number, headers: Record<string, string> = {}, body = '') =>
      (_req: IncomingMessage, res: ServerResponse): void => {
        res.writeHead(code, headers).end(body);
      };
    const reset = (req: IncomingMessage): void => {
      req.socket.destroy();
    };

    it('retries 503, 429 and a connection reset, then succeeds', async () => {
      seen.length = 0;
      script = [
        status(503, {}, '{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}'),
        status(429),
        reset,
        status(200, { 'Docker-Content-Digest': manifestDigest }),
      ];
      const clock = fastClock();
      const logger = new RawLogger();
      const registryClient = new RegistryClient({
        http: new FetchHttpClient(),
        scheme: 'http',
        logger,
        clock,
        retry: { attempts: 5, initialDelayMs: 100 },
      });
      expect(await registryClient.digestOf(`${host}/app:1.0`)).toBe(manifestDigest);
      expect(seen).toEqual(Array(4).fill('HEAD /v2/app/manifests/1.0'));
      expect(clock.slept).toEqual([100, 200, 400]);
      expect(logger.text()).toContain('answered 503 Service Unavailable');
      expect(logger.text()).toContain('answered 429 Too Many Requests');
      expect(logger.text()).toContain('could not be reached');
    });

    it('waits as long as Retry-After says before trying again', async () => {
      script = [
        status(429, { 'Retry-After': '3' }),
        status(200, { 'Docker-Content-Digest': manifestDigest }),
      ];
      const clock = fastClock();
      const registryClient = new RegistryClient({
        http: new FetchHttpClient(),
        scheme: 'http',
        logger: new RawLogger(),
        clock,
        retry: { attempts: 3, initialDelayMs: 100 },
      });
      expect(await registryClient.digestOf(`${host}/app:1.0`)).toBe(manifestDigest);
      expect(clock.slept).toEqual([2900, 100]);
    });

    it('gives up on a registry that keeps failing, with the status and attempts', async () => {
      script = [status(502), status(502), status(502)];
      const error = await failure(
        new RegistryClient({
          http: new FetchHttpClient(),
          scheme: 'http',
          logger: new RawLogger(),
          clock: fastClock(),
          retry: { attempts: 3, initialDelayMs: 10 },
        }).digestOf(`${host}/app:1.0`),
      );
      expect(error).toBeInstanceOf(RegistryUnavailableError);
      expect(error.message).toBe(
        `${host} answered 502 Bad Gateway to HEAD http://${host}/v2/app/manifests/1.0 after 3 attempts.`,
      );
    });

    it('does not retry a 404', async () => {
      seen.length = 0;
      script = [status(404), status(200)];
      const error = await failure(
        client({ logger: new RawLogger(), scheme: 'http' }).digestOf(`${host}/app:gone`),
      );
      expect(error).toBeInstanceOf(ImageNotFoundError);
      expect(seen).toHaveLength(1);
      script = [];
    });

    it('hashes the manifest when HEAD has no Docker-Content-Digest', async () => {
      seen.length = 0;
      script = [
        status(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }),
        status(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, manifest),
      ];
      expect(await client({ logger: new RawLogger(), scheme: 'http' }).digestOf(`${host}/app:1.0`)).toBe(
        manifestDigest,
      );
      expect(seen).toEqual(['HEAD /v2/app/manifests/1.0', 'GET /v2/app/manifests/1.0']);
    });

    it('refuses content that does not match the digest asked for', async () => {
      script = [status(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, manifest)];
      const wanted = `sha256:${'b'.repeat(64)}`;
      const error = await failure(
        client({ logger: new RawLogger(), scheme: 'http' }).getManifest(`${host}/app@${wanted}`),
      );
      expect(error).toBeInstanceOf(RegistryError);
      expect(error.message).toBe(
        `${host}/app@${wanted}: the registry returned content with digest ${manifestDigest} where ${wanted} was asked for.`,
      );
    });

    it('sends the index and manifest Accept types, OCI and Docker', async () => {
      let accept = '';
      script = [
        (req, res) => {
          accept = req.headers.accept ?? '';
          res.writeHead(200, { 'Docker-Content-Digest': manifestDigest }).end();
        },
      ];
      await client({ logger: new RawLogger(), scheme: 'http' }).digestOf(`${host}/app:1.0`);
      expect(accept.split(', ')).toEqual([
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.v2+json',
      ]);
    });
  });
});

describe('registry schemes: https first, plain http only as a loopback or insecure fallback', () => {
  const credentials = { username: 'alice', password: PASSWORD };
  let tls: RunningRegistry;
  let plain: RunningRegistry;
  let ca: string;

  beforeAll(async () => {
    [tls, plain] = await Promise.all([
      startRegistry({ tls: true, auth: { mode: 'htpasswd', users: USERS } }),
      startRegistry({ auth: { mode: 'htpasswd', users: USERS } }),
    ]);
    ca = readFileSync(tls.caCertPath ?? '', 'utf8');
  });
  afterAll(async () => {
    await Promise.all([tls.close(), plain.close()]);
  });

  /** A FetchHttpClient (trusting `ca` when given) that records every request line and its headers. */
  function recording(options: { ca?: string } = {}): HttpClient & { readonly sent: HttpRequest[] } {
    const inner = new FetchHttpClient(options.ca === undefined ? {} : { ca: options.ca });
    const sent: HttpRequest[] = [];
    return {
      sent,
      request: (req) => {
        sent.push(req);
        return inner.request(req);
      },
    };
  }

  /**
   * Pushes a one-layer image and a verdict-like referrer through `client` alone, then reads all of
   * it back: what action-build, action-scan and action-deploy ask of a registry.
   */
  async function roundTrip(client: RegistryClient, registry: RunningRegistry): Promise<void> {
    const name = { registry: registry.host, repository: 'dreamscape/voyage' };
    const layer = new Uint8Array(Buffer.from(`layer for ${registry.url}\n`));
    const config = new Uint8Array(
      Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: LABELS } })),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: await client.putBlob(name, config),
          size: config.length,
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar',
            digest: await client.putBlob(name, layer),
            size: layer.length,
          },
        ],
      }),
    );
    const digest = await client.putManifest(
      `${registry.host}/dreamscape/voyage:2.0.0`,
      manifest,
      'application/vnd.oci.image.manifest.v1+json',
    );
    expect(await client.digestOf(`${registry.host}/dreamscape/voyage:2.0.0`)).toBe(digest);
    expect(await client.getLabels(`${registry.host}/dreamscape/voyage@${digest}`)).toEqual(LABELS);
    const subject = await subjectOf(client, name, digest);
    const attached = await attachArtifact(client, subject, {
      artifactType: 'application/vnd.dreamscape.scan-verdict.v1+json',
      payload: new Uint8Array(Buffer.from('{"result":"pass"}')),
      payloadMediaType: 'application/vnd.dreamscape.scan-verdict.v1+json',
    });
    const listed = await listReferrers(client, { ...name, digest });
    expect(listed.referrers.map((r) => r.digest)).toEqual([attached.descriptor.digest]);
  }

  it('pushes, pulls and lists referrers over https on a loopback registry with its own CA, never trying http', async () => {
    const http = recording({ ca });
    const client = new RegistryClient({
      http,
      logger: new RawLogger(),
      clock: fastClock(),
      logins: [{ registry: tls.host, ...credentials }],
    });
    await client.verifyLogin(tls.host);
    await roundTrip(client, tls);
    expect(await client.transport(tls.host)).toEqual({
      registry: tls.host,
      scheme: 'https',
      verifyTls: true,
    });
    expect(http.sent.filter((r) => !r.url.startsWith(`https://${tls.host}/`))).toEqual([]);
    // Nothing about the certificate is relaxed: the CA is trusted, not the check skipped.
    expect(http.sent.some((r) => r.verifyTls === false)).toBe(false);
  });

  it('falls back to plain http for a loopback registry without TLS, deciding once per client', async () => {
    const http = recording();
    const logger = new RawLogger();
    const client = new RegistryClient({
      http,
      logger,
      clock: fastClock(),
      logins: [{ registry: plain.host, ...credentials }],
    });
    await client.verifyLogin(plain.host);
    await roundTrip(client, plain);
    const https = http.sent.filter((r) => r.url.startsWith('https:'));
    expect(https.map((r) => `${r.method} ${r.url}`)).toEqual([`GET https://${plain.host}/v2/`]);
    expect(https[0]?.headers?.Authorization).toBeUndefined();
    expect(http.sent.length).toBeGreaterThan(10);
    expect(await client.transport(plain.host)).toEqual({
      registry: plain.host,
      scheme: 'http',
      verifyTls: true,
    });
    expect(logger.text()).toContain(
      `${plain.host} does not speak TLS (ERR_SSL_WRONG_VERSION_NUMBER): reaching it over plain http, as a registry on this machine allows.`,
    );
    expectNoCredentialsIn(logger, plain);
  });

  it('refuses a loopback registry whose certificate it cannot verify, without trying http, and says how to trust it', async () => {
    const http = recording();
    const client = new RegistryClient({ http, logger: new RawLogger(), clock: fastClock() });
    const error = await failureOf(client.ping(tls.host), RegistryUnavailableError);
    expect(error.message).toContain(
      `Registry ${tls.host} could not be reached after 1 attempt (GET https://${tls.host}/v2/)`,
    );
    expect(error.hint).toContain('NODE_EXTRA_CA_CERTS');
    expect(error.hint).toContain(`/etc/containers/certs.d/${tls.host}/ca.crt`);
    expect(error.hint).toContain('insecure-registries');
    expect(http.sent.map((r) => r.url)).toEqual([`https://${tls.host}/v2/`]);
  });

  it('reaches a registry listed as insecure over https without checking its certificate', async () => {
    const http = recording();
    const client = new RegistryClient({
      http,
      logger: new RawLogger(),
      clock: fastClock(),
      insecureRegistries: [tls.host],
      logins: [{ registry: tls.host, ...credentials }],
    });
    await client.verifyLogin(tls.host);
    const ping = await client.ping(tls.host);
    expect(ping.url).toBe(`https://${tls.host}/v2/`);
    expect(await client.transport(tls.host)).toEqual({
      registry: tls.host,
      scheme: 'https',
      verifyTls: false,
    });
    expect(http.sent.every((r) => r.url.startsWith('https:') && r.verifyTls === false)).toBe(true);
  });

  it('never falls back to plain http for a registry off this machine, even one that does not speak TLS', async () => {
    // No traffic leaves the machine: the transport stands in for a server that answers TLS with plain http.
    const sent: string[] = [];
    const notTls: HttpClient = {
      request: (req) => {
        sent.push(`${req.method} ${req.url}`);
        return Promise.reject(
          new HttpTransportError(
            req.url,
            'ERR_SSL_WRONG_VERSION_NUMBER',
            `${req.method} ${req.url} failed: ssl3_get_record:wrong version number`,
          ),
        );
      },
    };
    const client = new RegistryClient({ http: notTls, logger: new RawLogger(), clock: fastClock() });
    await failureOf(client.ping('registry.nowhere.invalid:5000'), RegistryUnavailableError);
    await failureOf(client.digestOf('registry.nowhere.invalid:5000/team/api:1.0'), RegistryUnavailableError);
    expect(sent).toEqual([
      'GET https://registry.nowhere.invalid:5000/v2/',
      'HEAD https://registry.nowhere.invalid:5000/v2/team/api/manifests/1.0',
    ]);
    expect(await client.transport('registry.nowhere.invalid:5000')).toEqual({
      registry: 'registry.nowhere.invalid:5000',
      scheme: 'https',
      verifyTls: true,
    });
  });

  it('falls back for a registry off this machine listed as insecure, but never sends it credentials over plain http', async () => {
    const sent: HttpRequest[] = [];
    const plainOnly: HttpClient = {
      request: (req) => {
        sent.push(req);
        if (req.url.startsWith('https:'))
          return Promise.reject(
            new HttpTransportError(
              req.url,
              'ERR_SSL_WRONG_VERSION_NUMBER',
              `${req.method} ${req.url} failed: wrong version number`,
            ),
          );
        const body = new Uint8Array();
        return Promise.resolve({
          status: 401,
          headers: { 'www-authenticate': 'Basic realm="registry"' },
          body,
          text: () => '',
        });
      },
    };
    const logger = new RawLogger();
    const client = new RegistryClient({
      http: plainOnly,
      logger,
      clock: fastClock(),
      insecureRegistries: ['registry.internal:5000'],
      logins: [{ registry: 'registry.internal:5000', ...credentials }],
    });
    const error = await failureOf(client.verifyLogin('registry.internal:5000'), RegistryAuthError);
    expect(error.message).toBe(
      'Not sending credentials for registry.internal:5000 over plain http (GET http://registry.internal:5000/v2/): a registry off this machine gets them over https only.',
    );
    expect(sent.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET https://registry.internal:5000/v2/',
      'GET http://registry.internal:5000/v2/',
      'GET http://registry.internal:5000/v2/',
    ]);
    expect(sent.some((r) => r.headers?.Authorization !== undefined)).toBe(false);
    expect(logger.text()).toContain('reaching it over plain http, as insecure-registries allows.');
    expectNoCredentialsIn(logger, plain);
  });

  it('gives the API of Docker Hub at its own host', async () => {
    const client = new RegistryClient({ http: new FetchHttpClient(), logger: new MemoryLogger() });
    expect(await client.baseUrl('docker.io')).toBe('https://registry-1.docker.io');
  });
});

describe('registry transport rules', () => {
  it('knows loopback registries, with or without a port', () => {
    for (const r of ['127.0.0.1:5000', '127.8.9.10', 'localhost:5000', 'LOCALHOST', '[::1]:5000'])
      expect([r, isLoopbackRegistry(r)]).toEqual([r, true]);
    for (const r of [
      'ghcr.io',
      'registry.example.com:5000',
      '10.0.0.5:5000',
      'localhost.example.com',
      '127.0.0.1.nip.io',
    ])
      expect([r, isLoopbackRegistry(r)]).toEqual([r, false]);
  });

  it('reads insecure-registries as hosts, refusing schemes, paths and CIDR ranges by name', () => {
    const read = (value: string) =>
      readInsecureRegistries((name) => (name === 'insecure-registries' ? value : ''));
    expect(read('')).toEqual([]);
    expect(read('Registry.Internal:5000, 10.0.0.5:5000\n')).toEqual([
      'registry.internal:5000',
      '10.0.0.5:5000',
    ]);
    expect(read('registry.internal:5000\n[::1]:5443\nregistry.internal:5000')).toEqual([
      'registry.internal:5000',
      '[::1]:5443',
    ]);
    expect(() => read('http://registry.internal:5000')).toThrow(
      'Input \'insecure-registries\' has an invalid value "http://registry.internal:5000": give the host without http:// or https://. Accepted: registry hosts with an optional port, such as registry.internal:5000 or 10.0.0.5:5000.',
    );
    expect(() => read('10.0.0.0/8')).toThrow('no path and no CIDR range, only a host');
    expect(() => read('bad_host!')).toThrow('Input \'insecure-registries\' has an invalid value "bad_host!"');
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { FetchHttpClient, MemoryLogger, type HttpClient, type HttpResponse } from '@dreamscape/core';
import {
  pushTestImage,
  startReferrersRegistry,
  startRegistry,
  type PushedTestImage,
  type RunningReferrersRegistry,
  type RunningRegistry,
} from '@dreamscape/testkit';
import {
  OCI_EMPTY_DESCRIPTOR,
  RegistryClient,
  RegistryError,
  attachArtifact,
  isIndex,
  listReferrers,
  readNewestReferrer,
  referrersTag,
  registryReferrers,
  subjectOf,
  type Artifact,
  type ReferrerDescriptor,
} from '../src/index.js';
import { sampleVerdict } from './fixtures/verdicts/sample-verdict.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const READER = 'scripts/read-verdict.ts';
const PASSWORD = 'verdict-pa55word';
const USERS = { alice: PASSWORD };
const VERDICT_TYPE = 'application/vnd.dreamscape.scan-verdict.v1+json';
const MAX_BYTES = 4 * 1024 * 1024;

type Verdict = Record<string, unknown>;

/** The verdict as the artifact to attach, dated by its createdAt. */
function verdictArtifact(verdict: Verdict): Artifact {
  return {
    artifactType: VERDICT_TYPE,
    payload: new Uint8Array(Buffer.from(JSON.stringify(verdict))),
    payloadMediaType: VERDICT_TYPE,
    annotations: { 'org.opencontainers.image.created': String(verdict.createdAt) },
  };
}

/** Reads the newest verdict of `image` in a separate node process with a client of its own. */
function readInSecondProcess(
  image: string,
  env: Readonly<Record<string, string>>,
): Promise<{ referrer?: string; verdict?: Verdict; none?: true }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', './scripts/ts-register.mjs', READER, image], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`the reader exited with ${code}:\n${err}`));
      else resolve(JSON.parse(out) as { referrer?: string; verdict?: Verdict; none?: true });
    });
  });
}

describe.each([
  { name: 'htpasswd', auth: 'htpasswd', tls: false },
  { name: 'token', auth: 'token', tls: false },
  { name: 'htpasswd over TLS', auth: 'htpasswd', tls: true },
] as const)('scan verdicts as referrers in docker-registry 2.8 ($name)', ({ auth, tls }) => {
  let registry: RunningRegistry;
  let image: PushedTestImage;
  let imageByDigest: string;
  let ca: Buffer | undefined;
  const credentials = { username: 'alice', password: PASSWORD };

  const newClient = (): RegistryClient =>
    new RegistryClient({
      http: ca === undefined ? new FetchHttpClient() : httpsClient(ca),
      logger: new MemoryLogger(),
      scheme: tls ? 'https' : 'http',
      retry: { attempts: 1 },
      logins: [{ registry: registry.host, ...credentials }],
    });
  const childEnv = (): Record<string, string> => ({
    DS_USERNAME: credentials.username,
    DS_PASSWORD: credentials.password,
    // No DS_SCHEME: the reader finds https (its CA trusted through NODE_EXTRA_CA_CERTS) or, for the
    // loopback registry without TLS, falls back to plain http by itself.
    ...(registry.caCertPath === undefined ? {} : { NODE_EXTRA_CA_CERTS: registry.caCertPath }),
  });

  beforeAll(async () => {
    registry = await startRegistry({ auth: { mode: auth, users: USERS }, tls });
    ca = registry.caCertPath === undefined ? undefined : readFileSync(registry.caCertPath);
    // pushTestImage speaks plain fetch, which cannot trust the test CA: push through a twin over http.
    const plain = tls ? await startRegistry({ auth: { mode: auth, users: USERS } }) : undefined;
    image = await pushTestImage(plain ?? registry, 'dreamscape/voyage', '2.0.0', { credentials });
    if (plain !== undefined) {
      // Copy the one image into the TLS registry through the client under test.
      const from = new RegistryClient({
        http: new FetchHttpClient(),
        logger: new MemoryLogger(),
        logins: [{ registry: plain.host, ...credentials }],
      });
      const to = newClient();
      const manifest = await from.getManifest(image.reference);
      const target = { registry: registry.host, repository: 'dreamscape/voyage' };
      if (!('config' in manifest.manifest)) throw new Error('expected a single manifest');
      for (const d of [manifest.manifest.config, ...manifest.manifest.layers])
        await to.putBlob(
          target,
          await from.getBlob({ registry: plain.host, repository: 'dreamscape/voyage' }, d.digest),
        );
      await to.putManifest({ ...target, tag: '2.0.0' }, manifest.body, manifest.mediaType);
      await plain.close();
    }
    imageByDigest = `${registry.host}/dreamscape/voyage@${image.digest}`;
  });
  afterAll(async () => {
    await registry.close();
  });

  const subjectName = (): { registry: string; repository: string; digest: string } => ({
    registry: registry.host,
    repository: 'dreamscape/voyage',
    digest: image.digest,
  });
  const attach = async (client: RegistryClient, verdict: Verdict) =>
    attachArtifact(client, await subjectOf(client, subjectName(), image.digest), verdictArtifact(verdict));

  it('has no verdict before one is attached', async () => {
    const none = await readNewestReferrer(newClient(), subjectName(), {
      artifactType: VERDICT_TYPE,
      maxBytes: MAX_BYTES,
    });
    expect(none).toBeUndefined();
    expect(await readInSecondProcess(imageByDigest, childEnv())).toEqual({ none: true });
  });

  it('asks a registry without the referrers API once per client, then reads the tag schema only', async () => {
    const urls: string[] = [];
    const inner = ca === undefined ? new FetchHttpClient() : httpsClient(ca);
    const client = new RegistryClient({
      http: {
        request: (r) => {
          urls.push(r.url);
          return inner.request(r);
        },
      },
      logger: new MemoryLogger(),
      scheme: tls ? 'https' : 'http',
      retry: { attempts: 1 },
      logins: [{ registry: registry.host, ...credentials }],
    });
    for (let i = 0; i < 3; i++)
      await readNewestReferrer(client, subjectName(), { artifactType: VERDICT_TYPE, maxBytes: MAX_BYTES });
    expect(urls.filter((u) => u.includes('/referrers/'))).toHaveLength(1);
    expect(
      urls.filter((u) => u.includes(`/manifests/sha256-${image.digest.slice(7)}`)).length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('attaches a verdict that a second process reads back by digest', async () => {
    const verdict = sampleVerdict(imageByDigest, '2025-03-01T10:00:00.000Z');
    const attached = await attach(newClient(), verdict);
    expect(attached.indexedBy).toBe('tag-schema');
    const read = await readInSecondProcess(imageByDigest, childEnv());
    expect(read.referrer).toBe(attached.descriptor.digest);
    expect(read.verdict).toEqual(verdict);
  });

  it('keeps every verdict of the image and returns the newest by creation time', async () => {
    const client = newClient();
    const newest = sampleVerdict(imageByDigest, '2025-03-02T10:00:00.000Z');
    const second = await attach(client, newest);
    // Attached last but made first: listed, never the newest.
    const older = await attach(client, sampleVerdict(imageByDigest, '2025-02-01T10:00:00.000Z'));

    const listed = await listReferrers(newClient(), subjectName(), { artifactType: VERDICT_TYPE });
    expect(listed.source).toBe('tag-schema');
    expect(listed.referrers).toHaveLength(3);
    expect(listed.referrers.map((d) => d.digest)).toEqual(
      expect.arrayContaining([second.descriptor.digest, older.descriptor.digest]),
    );

    const found = await readNewestReferrer(newClient(), subjectName(), {
      artifactType: VERDICT_TYPE,
      maxBytes: MAX_BYTES,
    });
    expect(found?.descriptor.digest).toBe(second.descriptor.digest);
    expect(JSON.parse(Buffer.from(found?.payload ?? []).toString('utf8'))).toEqual(newest);
    const elsewhere = await readInSecondProcess(imageByDigest, childEnv());
    expect(elsewhere.referrer).toBe(second.descriptor.digest);
    expect(elsewhere.verdict).toEqual(newest);

    // The referrers tag schema: an OCI index under sha256-<hex> listing every verdict with its type and date.
    const tag = `sha256-${image.digest.slice('sha256:'.length)}`;
    expect(referrersTag(image.digest)).toBe(tag);
    const index = await client.getManifest(`${registry.host}/dreamscape/voyage:${tag}`);
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    if (!isIndex(index.mediaType, index.manifest)) throw new Error('not an index');
    const entries = index.manifest.manifests as readonly ReferrerDescriptor[];
    expect(entries.map((d) => d.digest)).toEqual(listed.referrers.map((d) => d.digest));
    for (const entry of entries) {
      expect(entry.artifactType).toBe(VERDICT_TYPE);
      expect(entry.annotations?.['org.opencontainers.image.created']).toMatch(
        /^2025-0[23]-0[12]T10:00:00.000Z$/,
      );
    }
  });

  it('stores the artifact manifest byte for byte, subject and artifactType included', async () => {
    const client = newClient();
    const attached = await attach(client, sampleVerdict(imageByDigest, '2025-01-15T00:00:00.000Z'));
    const stored = await client.getManifest(
      `${registry.host}/dreamscape/voyage@${attached.descriptor.digest}`,
    );
    const json = JSON.parse(Buffer.from(stored.body).toString('utf8')) as Record<string, unknown>;
    expect(stored.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(json.artifactType).toBe(VERDICT_TYPE);
    expect(json.subject).toEqual({
      mediaType: image.mediaType,
      digest: image.digest,
      size: Buffer.byteLength(image.body),
    });
    expect(json.config).toEqual(OCI_EMPTY_DESCRIPTOR);
    expect(await client.getBlob(subjectName(), OCI_EMPTY_DESCRIPTOR.digest)).toEqual(
      new Uint8Array(Buffer.from('{}')),
    );
  });
});

describe('referrers through the OCI 1.1 referrers API (stand-in registry)', () => {
  let standIn: RunningReferrersRegistry;
  let image: PushedTestImage;
  let subject: { registry: string; repository: string; digest: string };
  let imageByDigest: string;
  const client = (): RegistryClient =>
    new RegistryClient({ http: new FetchHttpClient(), logger: new MemoryLogger(), retry: { attempts: 1 } });
  const attach = async (artifact: Artifact) =>
    attachArtifact(client(), await subjectOf(client(), subject, subject.digest), artifact);

  beforeAll(async () => {
    standIn = await startReferrersRegistry();
    image = await pushTestImage(standIn, 'dreamscape/voyage', '1.0.0');
    subject = { registry: standIn.host, repository: 'dreamscape/voyage', digest: image.digest };
    imageByDigest = `${standIn.host}/dreamscape/voyage@${image.digest}`;
  });
  afterAll(async () => {
    await standIn.close();
  });

  it('lets the registry index the referrers: no sha256- tag, both verdicts listed, the newest returned', async () => {
    const uploadsBefore = standIn.requests.filter((r) => r.startsWith('POST ')).length;
    const first = await attach(verdictArtifact(sampleVerdict(imageByDigest, '2025-04-01T08:00:00.000Z')));
    expect(first.indexedBy).toBe('referrers-api');
    // The empty config is uploaded once; the second verdict only uploads its payload.
    const second = await attach(verdictArtifact(sampleVerdict(imageByDigest, '2025-04-02T08:00:00.000Z')));
    expect(second.indexedBy).toBe('referrers-api');
    expect(standIn.requests.filter((r) => r.startsWith('POST ')).length - uploadsBefore).toBe(3);
    await attach({
      artifactType: 'application/vnd.example.sbom+json',
      payload: new Uint8Array(Buffer.from('{"sbom":true}')),
      payloadMediaType: 'application/json',
      annotations: { 'org.opencontainers.image.created': '2025-05-01T00:00:00.000Z' },
    });

    expect(standIn.tags('dreamscape/voyage')).toEqual(['1.0.0']);
    const listed = await listReferrers(client(), subject, { artifactType: VERDICT_TYPE });
    expect(listed.source).toBe('referrers-api');
    expect(listed.referrers.map((d) => d.digest).sort()).toEqual(
      [first.descriptor.digest, second.descriptor.digest].sort(),
    );
    expect(standIn.requests).toContain(
      `GET /v2/dreamscape/voyage/referrers/${image.digest}?artifactType=${encodeURIComponent(VERDICT_TYPE)}`,
    );
    const all = await listReferrers(client(), subject);
    expect(all.referrers).toHaveLength(3);

    const newest = await registryReferrers(client()).readNewest(imageByDigest, {
      artifactType: VERDICT_TYPE,
      maxBytes: MAX_BYTES,
    });
    expect(newest?.digest).toBe(second.descriptor.digest);
    expect(JSON.parse(Buffer.from(newest?.payload ?? []).toString('utf8'))).toMatchObject({
      createdAt: '2025-04-02T08:00:00.000Z',
    });
  });

  it('refuses a payload whose bytes do not match its digest', async () => {
    const other = await pushTestImage(standIn, 'dreamscape/tampered', '1.0.0');
    const target = { registry: standIn.host, repository: 'dreamscape/tampered', digest: other.digest };
    const artifact = verdictArtifact(
      sampleVerdict(`${standIn.host}/dreamscape/tampered@${other.digest}`, '2025-04-03T00:00:00.000Z'),
    );
    await attachArtifact(client(), await subjectOf(client(), target, other.digest), artifact);
    const payloadDigest = `sha256:${createHash('sha256').update(artifact.payload).digest('hex')}`;
    standIn.tamperBlob('dreamscape/tampered', payloadDigest, Buffer.from('{"schema":1,"result":"pass"}'));
    const error = await failure(
      readNewestReferrer(client(), target, { artifactType: VERDICT_TYPE, maxBytes: MAX_BYTES }),
    );
    expect(error).toBeInstanceOf(RegistryError);
    expect(error.message).toContain(`returned content with digest sha256:`);
    expect(error.message).toContain(`where ${payloadDigest} was asked for`);
  });

  it('refuses an oversized payload before downloading it', async () => {
    const other = await pushTestImage(standIn, 'dreamscape/huge', '1.0.0');
    const target = { registry: standIn.host, repository: 'dreamscape/huge', digest: other.digest };
    const payload = new Uint8Array(MAX_BYTES + 1).fill(0x20);
    await attachArtifact(client(), await subjectOf(client(), target, other.digest), {
      artifactType: VERDICT_TYPE,
      payload,
      payloadMediaType: VERDICT_TYPE,
    });
    const payloadDigest = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
    const error = await failure(
      readNewestReferrer(client(), target, { artifactType: VERDICT_TYPE, maxBytes: MAX_BYTES }),
    );
    expect(error.message).toContain(
      `has a payload of ${MAX_BYTES + 1} bytes, more than the ${MAX_BYTES} allowed`,
    );
    expect(standIn.requests).not.toContain(`GET /v2/dreamscape/huge/blobs/${payloadDigest}`);
  });

  it('refuses an image named by tag', async () => {
    const error = await failure(
      registryReferrers(client()).readNewest(`${standIn.host}/dreamscape/voyage:1.0.0`, {
        artifactType: VERDICT_TYPE,
        maxBytes: MAX_BYTES,
      }),
    );
    expect(error.message).toContain('artifacts are attached to an image named by digest');
  });
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

/** An HttpClient over node:https that trusts one CA (Node's fetch cannot be given a CA at run time). */
function httpsClient(ca: Buffer): HttpClient {
  return {
    request: (req) =>
      new Promise<HttpResponse>((resolve, reject) => {
        const r = httpsRequest(req.url, { method: req.method, headers: req.headers, ca }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = new Uint8Array(Buffer.concat(chunks));
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
            resolve({
              status: res.statusCode ?? 0,
              headers,
              body,
              text: () => Buffer.from(body).toString('utf8'),
            });
          });
        });
        r.on('error', reject);
        r.end(req.body);
      }),
  };
}

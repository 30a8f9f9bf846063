import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FetchHttpClient, MemoryLogger, type Clock } from '@dreamscape/core';
import {
  pushTestImage,
  startRegistry,
  type PushedTestImage,
  type RunningRegistry,
} from '@dreamscape/testkit';
import {
  FINGERPRINT_LABEL,
  RegistryAuthError,
  RegistryClient,
  findReusableImage,
  tagManifest,
  type RegistryLogin,
  type ReusableImage,
} from '../src/index.js';

const PASSWORD = 'reuse-Pa55-never-logged';
const FINGERPRINT = `sha256:${'a1'.repeat(32)}`;
const OTHER_FINGERPRINT = `sha256:${'b2'.repeat(32)}`;
const INDEX_FINGERPRINT = `sha256:${'c3'.repeat(32)}`;

const instantClock: Clock = { now: () => Date.now(), sleep: () => Promise.resolve() };

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe.each(['none', 'token'] as const)('image reuse against docker-registry (auth: %s)', (mode) => {
  let registry: RunningRegistry;
  let current: PushedTestImage;
  let older: PushedTestImage;
  let multi: PushedTestImage;
  const credentials = mode === 'none' ? undefined : { username: 'alice', password: PASSWORD };

  beforeAll(async () => {
    registry = await startRegistry(
      mode === 'none' ? { auth: { mode } } : { auth: { mode, users: { alice: PASSWORD } } },
    );
    const labels = { 'org.opencontainers.image.title': 'voyage' };
    current = await pushTestImage(registry, 'dreamscape/voyage', 'sha-1a2b3c4', {
      labels: { ...labels, [FINGERPRINT_LABEL]: FINGERPRINT },
      credentials,
    });
    older = await pushTestImage(registry, 'dreamscape/voyage', 'sha-0000000', {
      labels: { ...labels, [FINGERPRINT_LABEL]: OTHER_FINGERPRINT },
      credentials,
      content: 'an older build\n',
    });
    await pushTestImage(registry, 'dreamscape/voyage', 'unlabelled', {
      labels,
      credentials,
      content: 'plain\n',
    });
    multi = await pushTestImage(registry, 'dreamscape/gateway', 'sha-1a2b3c4', {
      labels: { [FINGERPRINT_LABEL]: INDEX_FINGERPRINT },
      credentials,
      platforms: ['linux/amd64', 'linux/arm64/v8'],
      attestation: true,
    });
  });
  afterAll(async () => {
    await registry.close();
  });

  const logins = (password = PASSWORD): RegistryLogin[] =>
    credentials === undefined ? [] : [{ registry: registry.host, username: 'alice', password }];
  const client = (logger: MemoryLogger, password?: string): RegistryClient =>
    new RegistryClient({
      http: new FetchHttpClient(),
      logger,
      clock: instantClock,
      logins: logins(password),
    });
  const voyage = (tag: string): string => `${registry.host}/dreamscape/voyage:${tag}`;

  it('finds the image whose fingerprint label matches, after skipping missing and different tags', async () => {
    const logger = new MemoryLogger();
    const found = await findReusableImage({
      client: client(logger),
      name: `${registry.host}/dreamscape/voyage`,
      tags: [voyage('pr-7'), voyage('unlabelled'), voyage('sha-0000000'), voyage('sha-1a2b3c4')],
      fingerprint: FINGERPRINT,
      logger,
    });
    expect(found).toBeDefined();
    expect(found?.ref).toBe(voyage('sha-1a2b3c4'));
    expect(found?.manifestDigest).toBe(current.digest);
    expect(Buffer.from(found?.body ?? new Uint8Array()).toString()).toBe(current.body);
    expect(found?.mediaType).toBe(current.mediaType);
    expect(found?.labels[FINGERPRINT_LABEL]).toBe(FINGERPRINT);
    expect(found?.name).toEqual({ registry: registry.host, repository: 'dreamscape/voyage' });
    expect(logger.text()).toContain(`${voyage('pr-7')} does not exist yet.`);
    expect(logger.text()).toContain(`${voyage('unlabelled')} (`);
    expect(logger.text()).toContain('has no build fingerprint.');
    expect(logger.text()).toContain(
      `${voyage('sha-0000000')} (${older.digest}) was built from other inputs (fingerprint ${OTHER_FINGERPRINT}).`,
    );
  });

  it('finds nothing for another fingerprint, nor in a repository that does not exist', async () => {
    const logger = new MemoryLogger();
    expect(
      await findReusableImage({
        client: client(logger),
        name: `${registry.host}/dreamscape/voyage`,
        tags: [voyage('sha-1a2b3c4'), voyage('sha-0000000')],
        fingerprint: `sha256:${'d4'.repeat(32)}`,
        logger,
      }),
    ).toBeUndefined();
    expect(
      await findReusableImage({
        client: client(logger),
        name: `${registry.host}/dreamscape/never-pushed`,
        tags: [`${registry.host}/dreamscape/never-pushed:latest`],
        fingerprint: FINGERPRINT,
        logger,
      }),
    ).toBeUndefined();
    expect(logger.entries.filter((e) => e.level === 'warning')).toEqual([]);
  });

  it('points new tags at the found manifest by copying it, and leaves a tag that already points there', async () => {
    const logger = new MemoryLogger();
    const registryClient = client(logger);
    const found = await findReusableImage({
      client: registryClient,
      name: `${registry.host}/dreamscape/voyage`,
      tags: [voyage('sha-1a2b3c4')],
      fingerprint: FINGERPRINT,
      logger,
    });
    const image = found as ReusableImage;
    const outcomes = await tagManifest({
      client: registryClient,
      image,
      tags: [voyage('1.4.2'), voyage('latest'), voyage('sha-1a2b3c4')],
      logger,
    });
    expect(outcomes).toEqual([
      { ref: voyage('1.4.2'), action: 'tagged', digest: current.digest },
      { ref: voyage('latest'), action: 'tagged', digest: current.digest },
      { ref: voyage('sha-1a2b3c4'), action: 'kept', digest: current.digest },
    ]);
    // A second client, with nothing cached, reads the same bytes under every tag.
    const witness = client(new MemoryLogger());
    for (const tag of ['1.4.2', 'latest', 'sha-1a2b3c4']) {
      const manifest = await witness.getManifest(voyage(tag));
      expect(manifest.digest).toBe(current.digest);
      expect(Buffer.from(manifest.body).toString()).toBe(current.body);
    }
    expect(logger.text()).toContain(`${voyage('sha-1a2b3c4')} already points at ${current.digest}.`);
  });

  it('moves a tag that pointed at another image, saying where it pointed', async () => {
    const logger = new MemoryLogger();
    const registryClient = client(logger);
    await pushTestImage(registry, 'dreamscape/voyage', 'edge', { credentials, content: 'an edge build\n' });
    const before = await registryClient.digestOf(voyage('edge'));
    const found = (await findReusableImage({
      client: registryClient,
      name: `${registry.host}/dreamscape/voyage`,
      tags: [voyage('sha-1a2b3c4')],
      fingerprint: FINGERPRINT,
      logger,
    })) as ReusableImage;
    await tagManifest({ client: registryClient, image: found, tags: [voyage('edge')], logger });
    expect(await registryClient.digestOf(voyage('edge'))).toBe(current.digest);
    expect(logger.text()).toContain(
      `${voyage('edge')} → ${current.digest} (was ${before}), by manifest copy.`,
    );
  });

  it('reuses a multi-platform index: found by the label of a platform image, every tag serving the index', async () => {
    const logger = new MemoryLogger();
    const registryClient = client(logger);
    const gateway = (tag: string): string => `${registry.host}/dreamscape/gateway:${tag}`;
    const found = await findReusableImage({
      client: registryClient,
      name: `${registry.host}/dreamscape/gateway`,
      tags: [gateway('sha-1a2b3c4')],
      fingerprint: INDEX_FINGERPRINT,
      platform: 'linux/arm64/v8',
      logger,
    });
    expect(found?.manifestDigest).toBe(multi.digest);
    expect(found?.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(found?.labels['dreamscape.test.platform']).toBe('linux/arm64/v8');
    await tagManifest({
      client: registryClient,
      image: found as ReusableImage,
      tags: [gateway('2.0.0')],
      logger,
    });
    expect(await registryClient.digestOf(gateway('2.0.0'))).toBe(multi.digest);
    expect((await registryClient.getImageConfig(gateway('2.0.0'))).labels[FINGERPRINT_LABEL]).toBe(
      INDEX_FINGERPRINT,
    );
  });

  it('refuses tags of another repository, since its blobs are not there', async () => {
    const logger = new MemoryLogger();
    const registryClient = client(logger);
    const found = (await findReusableImage({
      client: registryClient,
      name: `${registry.host}/dreamscape/voyage`,
      tags: [voyage('sha-1a2b3c4')],
      fingerprint: FINGERPRINT,
      logger,
    })) as ReusableImage;
    const other = `${registry.host}/dreamscape/gateway:voyage`;
    const error = await failure(tagManifest({ client: registryClient, image: found, tags: [other], logger }));
    expect(error.message).toBe(
      `${other} is not a tag of ${registry.host}/dreamscape/voyage: an image can be reused only under tags of its own repository.`,
    );
    expect(await registryClient.exists(other)).toBe(false);
  });

  if (mode === 'token') {
    it('fails a copy that the registry refuses with the registry client auth error', async () => {
      const logger = new MemoryLogger();
      const found = (await findReusableImage({
        client: client(logger),
        name: `${registry.host}/dreamscape/voyage`,
        tags: [voyage('sha-1a2b3c4')],
        fingerprint: FINGERPRINT,
        logger,
      })) as ReusableImage;
      const wrong = `${PASSWORD}-wrong`;
      const refusing = client(new MemoryLogger(), wrong);
      const error = await failure(
        tagManifest({
          client: refusing,
          image: found,
          tags: [voyage('refused')],
          logger: new MemoryLogger(),
        }),
      );
      expect(error).toBeInstanceOf(RegistryAuthError);
      expect(error.message).toBe(
        `the token service ${registry.tokenIssuer?.realm} refused the credentials of 'alice' for ${voyage('refused')} (401 Unauthorized: UNAUTHORIZED invalid username or password).`,
      );
      expect(error.message).not.toContain(wrong);
      expect(await client(new MemoryLogger()).exists(voyage('refused'))).toBe(false);
    });

    it('stops looking with a warning, not a failure, when the registry refuses to let it read', async () => {
      const logger = new MemoryLogger();
      const found = await findReusableImage({
        client: client(logger, `${PASSWORD}-wrong`),
        name: `${registry.host}/dreamscape/voyage`,
        tags: [voyage('sha-1a2b3c4')],
        fingerprint: FINGERPRINT,
        logger,
      });
      expect(found).toBeUndefined();
      expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
        `Looking for an image to reuse stopped at ${voyage('sha-1a2b3c4')}: the token service ${registry.tokenIssuer?.realm} refused the credentials of 'alice' for ${voyage('sha-1a2b3c4')} (401 Unauthorized: UNAUTHORIZED invalid username or password).`,
      ]);
    });
  }
});

describe('tagManifest', () => {
  it('refuses bytes that do not hash to the digest they claim, before touching the registry', async () => {
    const logger = new MemoryLogger();
    const registryClient = new RegistryClient({
      http: { request: () => Promise.reject(new Error('no request expected')) },
      logger,
    });
    const error = await failure(
      tagManifest({
        client: registryClient,
        image: {
          name: { registry: '127.0.0.1:1', repository: 'dreamscape/voyage' },
          manifestDigest: FINGERPRINT,
          body: Buffer.from('{}'),
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
        },
        tags: ['127.0.0.1:1/dreamscape/voyage:1'],
        logger,
      }),
    );
    expect(error.message).toBe(
      `The manifest to tag hashes to sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a, not to ${FINGERPRINT}; it would not be the same image.`,
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActionError, MemoryLogger } from '@dreamscape/core';
import { freePort, pushTestImage, startRegistry, type RunningRegistry } from '@dreamscape/testkit';
import { checkImagesExist, loginsForImages } from '../src/index.js';

const PASSWORD = 'presence-Pa55-never-logged';
let registry: RunningRegistry;
let kept: string;
const gone = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;

beforeAll(async () => {
  registry = await startRegistry({ auth: { mode: 'token', users: { alice: PASSWORD } } });
  const pushed = await pushTestImage(registry, 'shop/web', 'v1', {
    credentials: { username: 'alice', password: PASSWORD },
  });
  kept = `${registry.host}/shop/web@${pushed.digest}`;
}, 60_000);
afterAll(async () => {
  await registry.close();
});

function logins(): ReturnType<typeof loginsForImages> {
  return loginsForImages([kept], { username: 'alice', password: PASSWORD });
}

describe('checkImagesExist', () => {
  it('passes when every pinned image is still in its registry', async () => {
    const logger = new MemoryLogger();
    await checkImagesExist({ images: [kept, kept, 'redis:7'], logger, logins: logins(), revision: 3 });
    expect(logger.text()).toContain('All 1 images of revision 3 are in their registries.');
  });

  it('names every image the registry no longer holds, and the revision', async () => {
    const missing = [`${registry.host}/shop/web@${gone(2)}`, `${registry.host}/shop/api@${gone(1)}`];
    const error = await checkImagesExist({
      images: [kept, ...missing],
      logger: new MemoryLogger(),
      logins: logins(),
      revision: 3,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect((error as Error).message).toBe(
      `Revision 3 runs 2 images that the registry no longer holds: ${[...missing].sort().join(', ')}. Nothing was changed.`,
    );
  });

  it('a registry that cannot be reached is a warning: the cluster may pull from a mirror', async () => {
    const logger = new MemoryLogger();
    const image = `127.0.0.1:${String(await freePort())}/shop/web@${gone(3)}`;
    await checkImagesExist({ images: [image], logger, logins: [], revision: 4 });
    expect(
      logger.entries
        .filter((e) => e.level === 'warning')
        .map((e) => e.message)
        .join('\n'),
    ).toContain(`Could not reach the registry of ${image}`);
  }, 60_000);
});

describe('loginsForImages', () => {
  it('one login per registry host the images name; none without a password', () => {
    const images = [
      'ghcr.io/a/b@sha256:1',
      'ghcr.io/a/c@sha256:2',
      '127.0.0.1:5000/x@sha256:3',
      'library/redis:7',
    ];
    expect(loginsForImages(images, { username: 'u', password: 'p' })).toEqual([
      { registry: 'ghcr.io', username: 'u', password: 'p' },
      { registry: '127.0.0.1:5000', username: 'u', password: 'p' },
    ]);
    expect(loginsForImages(images, { username: 'u', password: '' })).toEqual([]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '@dreamscape/core';
import { resolveBaseImage } from '../src/index.js';
import { FakeRunner } from './builders-fake-runner.js';

const BASE = '127.0.0.1:5000/library/alpine:3.20';
const REGISTRY_DIGEST = `sha256:${'ab'.repeat(32)}`;
const LOCAL_ID = 'cd'.repeat(32);

/** A registry that knows one digest, or none (then it fails as an unreachable one does). */
function registry(digest?: string): { asked: string[]; digestOf(ref: string): Promise<string> } {
  const asked: string[] = [];
  return {
    asked,
    digestOf(ref: string): Promise<string> {
      asked.push(ref);
      return digest === undefined
        ? Promise.reject(new Error('connection refused by 127.0.0.1:5000'))
        : Promise.resolve(digest);
    },
  };
}

describe('resolveBaseImage', () => {
  it("pins buildah's local copy by its image ID, without asking the registry", async () => {
    const runner = new FakeRunner(() => ({ stdout: `${LOCAL_ID}\n` }));
    const reg = registry(REGISTRY_DIGEST);
    const logger = new MemoryLogger();
    expect(await resolveBaseImage(BASE, { builder: 'buildah', runner, registry: reg, logger })).toBe(
      `local:${LOCAL_ID}`,
    );
    expect(runner.lines()).toEqual([`buildah inspect --type image --format {{.FromImageID}} ${BASE}`]);
    expect(reg.asked).toEqual([]);
  });

  it('asks the registry when buildah has no local copy, or reports none', async () => {
    for (const answer of [{ exitCode: 125, stderr: 'image not known' }, { stdout: '\n' }]) {
      const reg = registry(REGISTRY_DIGEST);
      const runner = new FakeRunner(() => answer);
      expect(
        await resolveBaseImage(BASE, {
          builder: 'buildah',
          runner,
          registry: reg,
          logger: new MemoryLogger(),
        }),
      ).toBe(REGISTRY_DIGEST);
      expect(reg.asked).toEqual([BASE]);
    }
  });

  it('asks only the registry for buildx, which pulls what the registry holds', async () => {
    const runner = new FakeRunner(() => ({ stdout: `${LOCAL_ID}\n` }));
    const reg = registry(REGISTRY_DIGEST);
    expect(
      await resolveBaseImage(BASE, { builder: 'buildx', runner, registry: reg, logger: new MemoryLogger() }),
    ).toBe(REGISTRY_DIGEST);
    expect(runner.calls).toEqual([]);
  });

  it('gives no digest, saying why, when the registry cannot tell', async () => {
    const logger = new MemoryLogger();
    const runner = new FakeRunner(() => ({ exitCode: 125 }));
    expect(await resolveBaseImage(BASE, { builder: 'buildah', runner, registry: registry(), logger })).toBe(
      undefined,
    );
    expect(logger.text()).toContain(
      `Base image ${BASE} could not be resolved (connection refused by 127.0.0.1:5000).`,
    );
  });
});

import { describe, expect, it } from '@jest/globals';
import {
  VERDICT_ARTIFACT_TYPE,
  VERDICT_MAX_BYTES,
  attachVerdict,
  parseVerdict,
  readNewestVerdict,
  type ReferrerStore,
  type ScanVerdict,
} from '../src/index.js';

const IMAGE = `127.0.0.1:5000/dreamscape/voyage@sha256:${'b'.repeat(64)}`;
const OTHER = `127.0.0.1:5000/dreamscape/voyage@sha256:${'c'.repeat(64)}`;

function verdict(image: string, createdAt: string): ScanVerdict {
  const zero = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
  return {
    schema: 1,
    image,
    result: 'pass',
    policy: { threshold: 'high', ignoreUnfixed: true, failOn: 'fail-build' },
    counts: { before: zero, after: zero },
    findings: [],
    waivers: [],
    scanner: { name: 'trivy', version: '0.74.0' },
    createdAt,
  };
}

/** Keeps attached artifacts per image; the newest is the last attached. */
class FakeStore implements ReferrerStore {
  readonly attached: { image: string; artifactType: string; payload: Uint8Array; annotations: unknown }[] =
    [];
  readonly asked: { image: string; artifactType: string; maxBytes: number }[] = [];

  attach(image: string, artifact: Parameters<ReferrerStore['attach']>[1]): Promise<{ digest: string }> {
    this.attached.push({ image, ...artifact, annotations: artifact.annotations });
    return Promise.resolve({ digest: `sha256:${String(this.attached.length).padStart(64, '0')}` });
  }

  readNewest(image: string, options: { artifactType: string; maxBytes: number }) {
    this.asked.push({ image, ...options });
    const index = this.attached.findLastIndex((a) => a.artifactType === options.artifactType);
    const found = this.attached[index];
    return Promise.resolve(
      found === undefined
        ? undefined
        : { digest: `sha256:${String(index + 1).padStart(64, '0')}`, payload: found.payload },
    );
  }
}

describe('attachVerdict and readNewestVerdict', () => {
  it('attach the verdict to its image as a dated verdict artifact, and read it back strictly', async () => {
    const store = new FakeStore();
    const v = verdict(IMAGE, '2025-03-01T00:00:00.000Z');
    expect(await attachVerdict(store, v)).toEqual({ digest: `sha256:${'1'.padStart(64, '0')}` });
    expect(store.attached[0]).toMatchObject({
      image: IMAGE,
      artifactType: VERDICT_ARTIFACT_TYPE,
      annotations: { 'org.opencontainers.image.created': '2025-03-01T00:00:00.000Z' },
    });
    expect(parseVerdict(store.attached[0]?.payload ?? new Uint8Array(), 'x')).toEqual(v);
    expect(await readNewestVerdict(store, IMAGE)).toEqual({
      verdict: v,
      referrer: `sha256:${'1'.padStart(64, '0')}`,
    });
    expect(store.asked).toEqual([
      { image: IMAGE, artifactType: VERDICT_ARTIFACT_TYPE, maxBytes: VERDICT_MAX_BYTES },
    ]);
  });

  it('find nothing when the image has no verdict', async () => {
    expect(await readNewestVerdict(new FakeStore(), IMAGE)).toBeUndefined();
  });

  it('refuse a verdict about another image', async () => {
    const store = new FakeStore();
    await attachVerdict(store, verdict(OTHER, '2025-03-01T00:00:00.000Z'));
    await expect(readNewestVerdict(store, IMAGE)).rejects.toThrow(
      `The scan verdict ${IMAGE} (referrer sha256:${'1'.padStart(64, '0')}) is about ${OTHER}, not about ${IMAGE}.`,
    );
  });
});

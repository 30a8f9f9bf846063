import { ActionError } from '@dreamscape/core';
import {
  VERDICT_ARTIFACT_TYPE,
  VERDICT_MAX_BYTES,
  parseVerdict,
  serializeVerdict,
  type ScanVerdict,
} from './verdict.js';

/**
 * Where verdicts travel with their image: the OCI referrers of the image in its registry.
 * `@dreamscape/image`'s `registryReferrers(client)` implements it; tests pass a fake.
 */
export interface ReferrerStore {
  /** Attaches an artifact to an image named by digest; returns the referrer's digest. */
  attach(
    image: string,
    artifact: {
      readonly artifactType: string;
      readonly payload: Uint8Array;
      readonly payloadMediaType: string;
      readonly annotations?: Readonly<Record<string, string>>;
    },
  ): Promise<{ readonly digest: string }>;
  /**
   * The newest referrer of a type (by `org.opencontainers.image.created`), its payload checked
   * against its digest and refused beyond `maxBytes`; undefined when there is none.
   */
  readNewest(
    image: string,
    options: { readonly artifactType: string; readonly maxBytes: number },
  ): Promise<{ readonly digest: string; readonly payload: Uint8Array } | undefined>;
}

/** A verdict read back, with the referrer that carried it. */
export interface StoredVerdict {
  readonly verdict: ScanVerdict;
  /** The digest of the artifact manifest that carries it. */
  readonly referrer: string;
}

/**
 * Attaches a verdict to the image it is about (`verdict.image`), dated by its `createdAt`. Earlier
 * verdicts of the image stay attached; readers take the newest.
 */
export async function attachVerdict(
  store: ReferrerStore,
  verdict: ScanVerdict,
): Promise<{ readonly digest: string }> {
  return store.attach(verdict.image, {
    artifactType: VERDICT_ARTIFACT_TYPE,
    payload: serializeVerdict(verdict),
    payloadMediaType: VERDICT_ARTIFACT_TYPE,
    annotations: { 'org.opencontainers.image.created': verdict.createdAt },
  });
}

/**
 * The newest verdict attached to `image` (`registry/repository@sha256:...`), or undefined when it
 * has none. The payload is read within {@link VERDICT_MAX_BYTES}, parsed strictly, and must be
 * about this very image.
 */
export async function readNewestVerdict(
  store: ReferrerStore,
  image: string,
): Promise<StoredVerdict | undefined> {
  const newest = await store.readNewest(image, {
    artifactType: VERDICT_ARTIFACT_TYPE,
    maxBytes: VERDICT_MAX_BYTES,
  });
  if (newest === undefined) return undefined;
  const source = `${image} (referrer ${newest.digest})`;
  const verdict = parseVerdict(newest.payload, source);
  const digestOf = (ref: string): string => ref.slice(ref.lastIndexOf('@') + 1);
  if (digestOf(verdict.image) !== digestOf(image))
    throw new ActionError(`The scan verdict ${source} is about ${verdict.image}, not about ${image}.`, {
      hint: 'A verdict was attached to the wrong image; scan this image again.',
    });
  return { verdict, referrer: newest.digest };
}

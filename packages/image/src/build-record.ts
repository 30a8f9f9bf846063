/**
 * The record action-build writes as its `metadata` output and that action-scan, action-deploy and
 * action-rollback accept as input: one `image@digest` flowing through the whole pipeline.
 */
export interface BuildRecord {
  /** `registry/repository@sha256:...` */
  readonly image: string;
  readonly digest: string;
  /** Full references pushed, in priority order. */
  readonly tags: readonly string[];
  readonly platforms: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly builder: string;
  /** The commit the image was built from. */
  readonly revision: string;
}

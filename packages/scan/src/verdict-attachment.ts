import { ActionError, type Logger } from '@dreamscape/core';
import { attachVerdict, type ReferrerStore } from './verdict-referrers.js';
import type { ScanVerdict } from './verdict.js';

/**
 * Whether action-scan attaches its verdict to the scanned image (`attach-verdict`):
 * - `auto`: attach to a registry image named by digest; a registry that refuses the write
 *   (401/403) gets a warning, not a failed step;
 * - `true`: attach, or fail the step;
 * - `false`: never.
 */
export const ATTACH_VERDICT_MODES = ['auto', 'true', 'false'] as const;
/** One of {@link ATTACH_VERDICT_MODES}. */
export type AttachVerdictMode = (typeof ATTACH_VERDICT_MODES)[number];

/** What {@link attachScanVerdict} did. */
export type VerdictAttachment =
  | {
      readonly attached: true;
      /** The image, `registry/repository@sha256:...`. */
      readonly image: string;
      /** The digest of the artifact manifest that carries the verdict. */
      readonly digest: string;
    }
  | {
      readonly attached: false;
      readonly image: string;
      /** Why not, as a sentence for the job summary. */
      readonly reason: string;
    };

/** What {@link attachScanVerdict} needs. */
export interface AttachScanVerdictOptions {
  /** Opens the image's referrers; not called when `mode` is `false`. */
  readonly store: () => ReferrerStore;
  readonly verdict: ScanVerdict;
  readonly mode: AttachVerdictMode;
  /** The registry of the image, for messages. */
  readonly registry: string;
  readonly logger: Logger;
}

/**
 * Attaches the verdict to the image it is about, as `mode` says. Whatever the verdict: a failing
 * verdict must travel with the image as much as a passing one. In `auto`, a registry refusing the
 * write (401/403, e.g. a workflow token without `packages: write`) is a warning; in `true` it, and
 * any other failure, fails with the registry and the reason. Other failures fail in `auto` too:
 * the registry served the image moments ago, so they are not a missing permission to work around.
 */
export async function attachScanVerdict(o: AttachScanVerdictOptions): Promise<VerdictAttachment> {
  const image = o.verdict.image;
  if (o.mode === 'false') {
    o.logger.info(`Not attaching the verdict to ${image}: attach-verdict is 'false'.`);
    return { attached: false, image, reason: "attach-verdict is 'false'." };
  }
  try {
    const { digest } = await attachVerdict(o.store(), o.verdict);
    o.logger.info(`Verdict '${o.verdict.result}' attached to ${image} as ${digest}.`);
    return { attached: true, image, digest };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const status = statusOf(error);
    const refused = status === 401 || status === 403;
    if (o.mode === 'auto' && refused) {
      o.logger.warning(
        `The scan verdict was not attached to ${image}: ${o.registry} refused the write (${reason}). Give the job 'permissions: packages: write' (or credentials that may push to the repository), or set 'attach-verdict: false' to scan without attaching. The scan result is unchanged.`,
      );
      return { attached: false, image, reason: `${o.registry} refused the write (HTTP ${status}).` };
    }
    throw new ActionError(`Could not attach the scan verdict to ${image} in ${o.registry}: ${reason}`, {
      hint: refused
        ? "The credentials may read but not push: give the job 'permissions: packages: write' (or a token that may push), or set 'attach-verdict: auto' to go on without attaching."
        : 'Check that the registry is reachable and accepts OCI image manifests with a subject.',
      cause: error,
    });
  }
}

/** The job summary's line about the verdict's attachment. */
export function describeVerdictAttachment(a: VerdictAttachment): string {
  const at = a.image.lastIndexOf('@');
  const name = a.image.slice(0, at);
  const short = a.image.slice(at + 1, at + 1 + 'sha256:'.length + 12);
  return a.attached
    ? `Verdict attached to \`${name}@${short}\` as \`${a.digest}\`.`
    : `Verdict not attached to \`${name}@${short}\`: ${a.reason}`;
}

/** The HTTP status a registry error carries (`RegistryError.status` of `@dreamscape/image`). */
function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error)) return undefined;
  const status = (error as { readonly status: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

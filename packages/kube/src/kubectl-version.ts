import { ActionError } from '@dreamscape/core';

/**
 * The kubectl minor versions the actions support: from `oldest` (tested in CI) to `newestTested`
 * (tested in CI too). Older ones are refused before anything is rendered or written; newer ones run
 * with a warning.
 */
export const SUPPORTED_KUBECTL = { major: 1, oldest: 32, newestTested: 35 } as const;

/** `1.32 to 1.35`, as messages and docs say it. */
export const SUPPORTED_KUBECTL_RANGE = `${SUPPORTED_KUBECTL.major}.${SUPPORTED_KUBECTL.oldest} to ${SUPPORTED_KUBECTL.major}.${SUPPORTED_KUBECTL.newestTested}`;

/** What to install, in the hint of every "wrong kubectl" message. */
export const KUBECTL_INSTALL_HINT = `Install a kubectl from ${SUPPORTED_KUBECTL_RANGE} before this step, for example with azure/setup-kubectl and \`version: v1.${SUPPORTED_KUBECTL.newestTested}.2\`.`;

/** How a reported kubectl version stands against {@link SUPPORTED_KUBECTL}. */
export interface KubectlVersionVerdict {
  readonly verdict: 'supported' | 'newer' | 'older' | 'unreadable';
  /** As reported, trimmed. */
  readonly version: string;
}

/**
 * Judges the client version kubectl reports (`clientVersion.gitVersion`: `v1.35.2`, also with a
 * suffix such as `v1.32.4-dispatcher` or `v1.33.1-eks-1a2b3c`). Only `major.minor` counts.
 */
export function judgeKubectlVersion(reported: string): KubectlVersionVerdict {
  const version = reported.trim();
  const m = /^v?(\d+)\.(\d+)\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/.exec(version);
  if (m === null) return { verdict: 'unreadable', version };
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major !== SUPPORTED_KUBECTL.major)
    return { verdict: major < SUPPORTED_KUBECTL.major ? 'older' : 'newer', version };
  if (minor < SUPPORTED_KUBECTL.oldest) return { verdict: 'older', version };
  if (minor > SUPPORTED_KUBECTL.newestTested) return { verdict: 'newer', version };
  return { verdict: 'supported', version };
}

/** A version for a message: as reported when it looks like one, else quoted and cut. */
function shown(reported: string): string {
  const text = reported.trim();
  return /^v?[\w.+-]{1,60}$/.test(text) ? text : JSON.stringify(text.slice(0, 100));
}

/** A kubectl version that may be used, and the warning to give when it is newer than tested. */
export interface KubectlVersionCheck {
  readonly version: string;
  readonly warning?: string;
}

/**
 * Applies {@link judgeKubectlVersion} to the version a kubectl reported; `subject` names that
 * kubectl (`the kubectl on PATH`, `/opt/kubectl`). An older or unreadable version is an ActionError
 * naming the version found and the supported range; a newer one passes with a warning.
 */
export function checkKubectlVersion(subject: string, reported: string): KubectlVersionCheck {
  const { verdict, version } = judgeKubectlVersion(reported);
  const who = subject.charAt(0).toUpperCase() + subject.slice(1);
  const supported = `supported: kubectl ${SUPPORTED_KUBECTL_RANGE}`;
  switch (verdict) {
    case 'supported':
      return { version };
    case 'newer':
      return {
        version,
        warning: `${who} is ${version}, newer than the newest tested kubectl (${SUPPORTED_KUBECTL.major}.${SUPPORTED_KUBECTL.newestTested}); ${supported}. It is used, but this version was not tested.`,
      };
    case 'older':
      throw new ActionError(
        `${who} is ${version}, older than the oldest supported kubectl (${SUPPORTED_KUBECTL.major}.${SUPPORTED_KUBECTL.oldest}); ${supported}.`,
        { hint: KUBECTL_INSTALL_HINT },
      );
    case 'unreadable':
      throw new ActionError(
        `${who} reports the version ${shown(version)} (kubectl version --client), which is not a kubectl version; ${supported}.`,
        { hint: KUBECTL_INSTALL_HINT },
      );
  }
}

import {
  ActionError,
  InputError,
  readDuration,
  readEnum,
  readList,
  type InputSource,
  type Logger,
} from '@dreamscape/core';
import { SEVERITIES } from './finding.js';
import { THRESHOLDS, type Threshold } from './policy.js';
import type { ScanVerdict } from './verdict.js';
import { readNewestVerdict, type ReferrerStore } from './verdict-referrers.js';
import { SCANNERS } from './scan-report.js';
import { exemptionFor, parseScanExemptions, type ScanExemption } from './scan-exemptions.js';

/**
 * What a deploy with `require-scan` asks of every image it deploys (docs/adr/0012): a passing
 * verdict, attached to its digest, no older than `maxAgeMs`, from an allowed scanner, made with a
 * policy at least as strict as `threshold`.
 */
export interface ScanRequirement {
  readonly maxAgeMs: number;
  /** Scanners whose verdicts count (`trivy`, `grype`). */
  readonly scanners: readonly string[];
  /** The loosest threshold a verdict may have been made with (`critical` accepts critical, high, medium, low). */
  readonly threshold: Exclude<Threshold, 'none'>;
  /** Images asked no verdict (`scan-exempt`): reported as exempt, their verdicts not read. */
  readonly exempt?: readonly ScanExemption[];
}

/** Why an image was refused, or that it was accepted, or exempted by `scan-exempt`. */
export type VerdictStatus =
  'accepted' | 'exempt' | 'missing' | 'failing' | 'too-old' | 'not-allowed' | 'unreadable';

/** Whether a judgement stops a deploy: anything but a passing verdict or an exemption. */
export function isRefused(check: Pick<VerdictCheck, 'status'>): boolean {
  return check.status !== 'accepted' && check.status !== 'exempt';
}

/** The judgement of one image. */
export interface VerdictCheck {
  readonly image: string;
  readonly status: VerdictStatus;
  /** In words: what was found and, when refused, how to fix it. */
  readonly detail: string;
  readonly verdict?: ScanVerdict;
}

/** How many verdicts are read at once. */
const CONCURRENCY = 8;

/** Strictness of a threshold: `none` fails on nothing, `critical` on the fewest findings, `low` on the most. */
function strictness(t: Threshold): number {
  return t === 'none' ? 0 : THRESHOLDS.indexOf(t) + 1;
}

/** `7d`, `8d 2h`, `7d 1s`: days to seconds, zero parts left out. */
export function ageText(ms: number): string {
  let rest = Math.max(0, Math.floor(ms / 1000));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${String(n)}${unit}`);
  }
  return parts.length === 0 ? '0s' : parts.join(' ');
}

function counts(v: ScanVerdict): string {
  const parts = SEVERITIES.filter((s) => v.counts.after[s] > 0).map(
    (s) => `${String(v.counts.after[s])} ${s}`,
  );
  return parts.length === 0 ? 'no findings counted' : parts.join(', ');
}

/** Judges one verdict (or its absence) against the requirement at `now`. */
export function judgeVerdict(
  image: string,
  verdict: ScanVerdict | undefined,
  requirement: ScanRequirement,
  now: number,
): VerdictCheck {
  if (verdict === undefined)
    return {
      image,
      status: 'missing',
      detail:
        'no scan verdict is attached to this digest: scan it with action-scan (attach-verdict) before deploying',
    };
  const made = `${verdict.scanner.name} ${verdict.scanner.version}, threshold ${verdict.policy.threshold}, ${verdict.createdAt}`;
  if (!requirement.scanners.includes(verdict.scanner.name))
    return {
      image,
      status: 'not-allowed',
      verdict,
      detail: `its newest verdict comes from ${verdict.scanner.name}, and scan-scanners allows ${requirement.scanners.join(', ')} (${made})`,
    };
  if (strictness(verdict.policy.threshold) < strictness(requirement.threshold))
    return {
      image,
      status: 'not-allowed',
      verdict,
      detail: `its newest verdict was made with threshold ${verdict.policy.threshold}, looser than the ${requirement.threshold} scan-threshold asks for (${made}): scan it again with severity-threshold ${requirement.threshold} or stricter`,
    };
  if (verdict.result !== 'pass')
    return {
      image,
      status: 'failing',
      verdict,
      detail: `its newest verdict fails (${counts(verdict)}; ${made}): fix or waive the findings, rebuild and scan again`,
    };
  const age = now - Date.parse(verdict.createdAt);
  if (!(age <= requirement.maxAgeMs))
    return {
      image,
      status: 'too-old',
      verdict,
      detail: `its newest verdict is ${Number.isNaN(age) ? 'of an unknown age' : `${ageText(age)} old`}, more than scan-max-age ${ageText(requirement.maxAgeMs)} (${made}): scan it again`,
    };
  return { image, status: 'accepted', verdict, detail: `passed (${made})` };
}

/**
 * Reads the newest verdict of every image (by digest) from the registry and judges it. A verdict
 * that cannot be read is a refusal of its own (`unreadable`), never an acceptance.
 */
export async function checkScanVerdicts(
  images: readonly string[],
  store: ReferrerStore,
  requirement: ScanRequirement,
  now: number,
): Promise<VerdictCheck[]> {
  const checks: VerdictCheck[] = new Array<VerdictCheck>(images.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < images.length) {
      const i = next++;
      const image = images[i] as string;
      const exemption = exemptionFor(image, requirement.exempt ?? []);
      if (exemption !== undefined) {
        checks[i] = {
          image,
          status: 'exempt',
          detail: `exempted by scan-exempt entry '${exemption.text}'; no verdict was read`,
        };
        continue;
      }
      if (!/@sha256:[0-9a-f]{64}$/.test(image)) {
        checks[i] = { image, status: 'unreadable', detail: 'the image is not pinned by digest' };
        continue;
      }
      try {
        checks[i] = judgeVerdict(image, (await readNewestVerdict(store, image))?.verdict, requirement, now);
      } catch (error) {
        checks[i] = {
          image,
          status: 'unreadable',
          detail: `its verdict could not be read: ${error instanceof Error ? error.message : String(error)}`,
        };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, images.length) }, worker));
  return checks;
}

/** What to do about refused images, as the refusal's hint says it. */
export const SCAN_REFUSAL_HINT =
  'Scan each refused image with action-scan (its verdict is attached to the digest); name an image you do not build and cannot attach a verdict to (a third-party image) in scan-exempt; or set require-scan: false for this environment.';

/** The error that stops a deploy when an image is refused, listing every refusal; undefined when none is. */
export function scanRefusal(checks: readonly VerdictCheck[]): ActionError | undefined {
  const refused = checks.filter(isRefused);
  if (refused.length === 0) return undefined;
  return new ActionError(
    `require-scan refused ${String(refused.length)} of ${String(checks.length)} image${checks.length === 1 ? '' : 's'}; nothing was written:\n${refused
      .map((c) => `- ${c.image}: ${c.status}: ${c.detail}`)
      .join('\n')}`,
    { hint: SCAN_REFUSAL_HINT },
  );
}

/** The accepted values of `scan-threshold`. */
export const SCAN_THRESHOLDS = THRESHOLDS.filter((t): t is Exclude<Threshold, 'none'> => t !== 'none');

/** `scan-max-age`, `scan-scanners`, `scan-threshold` and `scan-exempt`, as action-deploy and action-rollback take them. */
export function readScanRequirement(src: InputSource): ScanRequirement {
  const scanners = readList(src, 'scan-scanners').map((s) => s.toLowerCase());
  for (const s of scanners)
    if (!(SCANNERS as readonly string[]).includes(s))
      throw new InputError('scan-scanners', s, `scanners among ${SCANNERS.join(', ')}`);
  return {
    maxAgeMs: readDuration(src, 'scan-max-age', 7 * 24 * 3_600_000, { minMs: 60_000 }),
    scanners: scanners.length === 0 ? [...SCANNERS] : scanners,
    threshold: readEnum(src, 'scan-threshold', SCAN_THRESHOLDS, 'critical'),
    exempt: parseScanExemptions(readList(src, 'scan-exempt')),
  };
}

/**
 * Every image's newest verdict read and judged, each judgement logged: what `require-scan` finds,
 * without refusing anything (plan mode reports it; {@link requireScannedImages} refuses on it).
 */
export async function judgeScannedImages(
  images: readonly string[],
  store: ReferrerStore,
  requirement: ScanRequirement,
  o: { readonly now: number; readonly logger: Logger },
): Promise<VerdictCheck[]> {
  const checks = await checkScanVerdicts(images, store, requirement, o.now);
  for (const c of checks)
    o.logger.info(
      `${c.status === 'accepted' ? '✓' : c.status === 'exempt' ? '–' : '✗'} ${c.image}: ${c.status === 'accepted' ? '' : `${c.status}: `}${c.detail}`,
    );
  return checks;
}

/**
 * `require-scan`: every image's newest verdict read and judged, each judgement logged; throws the
 * refusal listing every image refused, and returns the judgements when none is.
 */
export async function requireScannedImages(
  images: readonly string[],
  store: ReferrerStore,
  requirement: ScanRequirement,
  o: { readonly now: number; readonly logger: Logger },
): Promise<VerdictCheck[]> {
  const checks = await judgeScannedImages(images, store, requirement, o);
  const refusal = scanRefusal(checks);
  if (refusal !== undefined) throw refusal;
  const exempt = checks.filter((c) => c.status === 'exempt').length;
  o.logger.info(
    exempt === 0
      ? `require-scan: all ${String(checks.length)} images have a passing verdict.`
      : `require-scan: ${String(checks.length - exempt)} of ${String(checks.length)} images have a passing verdict; ${String(exempt)} exempted by scan-exempt.`,
  );
  return checks;
}

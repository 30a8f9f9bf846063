import { atOrAbove, countBySeverity, type Finding, type Severity } from './finding.js';
import type { Waiver } from './waivers.js';

/** The lowest severity that fails the verdict; `none` never fails. */
export const THRESHOLDS = ['critical', 'high', 'medium', 'low', 'none'] as const;
export type Threshold = (typeof THRESHOLDS)[number];

/** What the policy decided about one finding. */
export type FindingStatus =
  /** At or above the threshold, not waived: fails the verdict. */
  | 'blocking'
  /** Below the threshold: reported, does not fail. */
  | 'allowed'
  /** Covered by a waiver that has not expired. */
  | 'waived'
  /** Has no fix and `ignore-unfixed` is on. */
  | 'ignored-unfixed';

/** The policy's inputs. */
export interface PolicyOptions {
  readonly threshold: Threshold;
  readonly ignoreUnfixed: boolean;
  readonly waivers: readonly Waiver[];
  /** Milliseconds since the epoch, to decide which waivers have expired. */
  readonly now: number;
}

/** One finding with the policy's decision. */
export interface EvaluatedFinding {
  readonly finding: Finding;
  readonly status: FindingStatus;
  /** The active waivers that cover it (when `waived`). */
  readonly waivers: readonly Waiver[];
  /** Expired waivers that would have covered it. */
  readonly expiredWaivers: readonly Waiver[];
}

/** A waiver and the findings it matched. */
export interface WaiverUse {
  readonly waiver: Waiver;
  readonly findings: readonly string[];
}

/** The verdict and everything that explains it. */
export interface PolicyResult {
  readonly verdict: 'pass' | 'fail';
  /** Why, in sentences a person reads in the log and the summary. */
  readonly reasons: readonly string[];
  readonly threshold: Threshold;
  readonly ignoreUnfixed: boolean;
  /** Every finding, in the report's order (most severe first). */
  readonly evaluated: readonly EvaluatedFinding[];
  /** Per severity: every finding (`before`), and those not waived nor ignored (`after`). */
  readonly counts: { readonly before: Record<Severity, number>; readonly after: Record<Severity, number> };
  readonly blocking: number;
  readonly waivers: {
    /** Active waivers that covered at least one finding. */
    readonly applied: readonly WaiverUse[];
    /** Every expired waiver, with the findings it would have covered. */
    readonly expired: readonly WaiverUse[];
    /** Active waivers that matched nothing (candidates for removal). */
    readonly unused: readonly Waiver[];
  };
}

/**
 * Applies the policy: every finding is reported; the verdict fails only when a finding at or above
 * the threshold remains after `ignore-unfixed` and the active waivers. A finding is waived when
 * every package it affects is covered by an active waiver for its id (or an alias). An expired
 * waiver waives nothing and is listed, with what it would have covered.
 */
export function evaluatePolicy(findings: readonly Finding[], options: PolicyOptions): PolicyResult {
  const byId = new Map<string, Waiver[]>();
  for (const w of options.waivers) {
    const key = w.id.toUpperCase();
    const list = byId.get(key);
    if (list === undefined) byId.set(key, [w]);
    else list.push(w);
  }
  const uses = new Map<Waiver, string[]>();
  const use = (w: Waiver, id: string): void => {
    const list = uses.get(w);
    if (list === undefined) uses.set(w, [id]);
    else if (!list.includes(id)) list.push(id);
  };

  const evaluated: EvaluatedFinding[] = [];
  const after: Finding[] = [];
  let blocking = 0;
  for (const finding of findings) {
    const candidates = byId.size === 0 ? [] : waiversFor(finding, byId);
    const active = candidates.filter((w) => w.expiresAt > options.now);
    const expired = candidates.filter((w) => w.expiresAt <= options.now);
    for (const w of expired) use(w, finding.id);
    const covering = covers(finding, active);
    let status: FindingStatus;
    if (covering !== undefined) {
      status = 'waived';
      for (const w of covering) use(w, finding.id);
    } else if (options.ignoreUnfixed && finding.fixState !== 'fixed') status = 'ignored-unfixed';
    else {
      after.push(finding);
      status =
        options.threshold !== 'none' && atOrAbove(finding.severity, options.threshold)
          ? 'blocking'
          : 'allowed';
      if (status === 'blocking') blocking++;
    }
    evaluated.push({ finding, status, waivers: covering ?? [], expiredWaivers: expired });
  }

  const now = options.now;
  const applied: WaiverUse[] = [];
  const expiredUses: WaiverUse[] = [];
  const unused: Waiver[] = [];
  for (const w of options.waivers) {
    const matched = uses.get(w) ?? [];
    if (w.expiresAt <= now) expiredUses.push({ waiver: w, findings: matched });
    else if (matched.length > 0) applied.push({ waiver: w, findings: matched });
    else unused.push(w);
  }

  const result = {
    verdict: blocking > 0 ? ('fail' as const) : ('pass' as const),
    threshold: options.threshold,
    ignoreUnfixed: options.ignoreUnfixed,
    evaluated,
    counts: { before: countBySeverity(findings), after: countBySeverity(after) },
    blocking,
    waivers: { applied, expired: expiredUses, unused },
  };
  return { ...result, reasons: explain(result) };
}

function waiversFor(finding: Finding, byId: ReadonlyMap<string, Waiver[]>): Waiver[] {
  const found: Waiver[] = [];
  for (const id of [finding.id, ...finding.aliases]) {
    const list = byId.get(id.toUpperCase());
    if (list !== undefined) for (const w of list) if (!found.includes(w)) found.push(w);
  }
  return found;
}

/** The waivers that together cover every affected package, or undefined when some package is left. */
function covers(finding: Finding, active: readonly Waiver[]): Waiver[] | undefined {
  if (active.length === 0) return undefined;
  const used = new Set<Waiver>();
  for (const p of finding.packages) {
    const w = active.find((x) => x.package === undefined || x.package === p.name);
    if (w === undefined) return undefined;
    used.add(w);
  }
  return [...used];
}

function explain(result: Omit<PolicyResult, 'reasons'>): string[] {
  const reasons: string[] = [];
  const scope = `after ${result.ignoreUnfixed ? 'ignore-unfixed and ' : ''}waivers`;
  if (result.threshold === 'none') {
    reasons.push("The severity threshold is 'none': findings are reported and never fail the verdict.");
  } else if (result.blocking > 0) {
    const blocking = result.evaluated.filter((e) => e.status === 'blocking');
    const shown = blocking
      .slice(0, 5)
      .map(
        (e) => `${e.finding.id} (${e.finding.severity}, ${e.finding.packages.map((p) => p.name).join(', ')})`,
      );
    const more = blocking.length > shown.length ? ` and ${blocking.length - shown.length} more` : '';
    reasons.push(
      `${plural(result.blocking, 'finding')} at or above '${result.threshold}' ${scope}: ${shown.join('; ')}${more}.`,
    );
  } else {
    reasons.push(`No finding at or above '${result.threshold}' ${scope}.`);
  }
  const waived = result.evaluated.filter((e) => e.status === 'waived').length;
  if (waived > 0)
    reasons.push(
      `${plural(waived, 'finding')} waived by ${plural(result.waivers.applied.length, 'waiver')}.`,
    );
  const ignored = result.evaluated.filter((e) => e.status === 'ignored-unfixed').length;
  if (ignored > 0) reasons.push(`${plural(ignored, 'finding')} without a fix ignored (ignore-unfixed).`);
  for (const { waiver, findings } of result.waivers.expired) {
    if (findings.length === 0) continue;
    reasons.push(
      `The waiver for ${waiver.id}${waiver.package === undefined ? '' : ` in ${waiver.package}`} (owner ${waiver.owner}) expired on ${waiver.expires} and no longer applies.`,
    );
  }
  return reasons;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

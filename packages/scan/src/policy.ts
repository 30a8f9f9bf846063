import {
  compareWithBaseline,
  fixedVulnerabilities,
  type Baseline,
  type BaselineFinding,
  type BaselineState,
} from './baseline.js';
import { atOrAbove, countBySeverity, type Finding, type Severity } from './finding.js';
import type { Waiver } from './waivers.js';

/** The lowest severity that fails the verdict; `none` never fails. */
export const THRESHOLDS = ['critical', 'high', 'medium', 'low', 'none'] as const;
export type Threshold = (typeof THRESHOLDS)[number];

/** What the policy decided about one finding. */
export type FindingStatus =
  /** At or above the threshold, not waived: fails the verdict. */
  | 'blocking'
  /** At or above the threshold, but the image running now has it already (`fail-on: new`): reported, does not fail. */
  | 'known'
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
  /** `threshold` (default): every finding at or above the threshold fails; `new`: only those the baseline lacks. */
  readonly failOn?: FailOn;
  /** What runs now, for `fail-on: new`; findings are marked new or known whenever it is found. */
  readonly baseline?: Baseline;
}

/** Which findings fail the verdict: every one at or above the threshold, or only the new ones. */
export const FAIL_ON = ['threshold', 'new'] as const;
export type FailOn = (typeof FAIL_ON)[number];

/** The baseline as the policy used it: new, known and fixed findings, or why there was none. */
export type BaselineReport =
  | {
      readonly status: 'found';
      readonly image: string;
      readonly source: string;
      readonly verdictCreatedAt: string;
      /** Findings (de-duplicated vulnerabilities) the running image does not have, and those it has. */
      readonly new: number;
      readonly known: number;
      /** What the running image has and this one no longer does. */
      readonly fixed: readonly BaselineFinding[];
    }
  | { readonly status: 'none'; readonly reason: string };

/** One finding with the policy's decision. */
export interface EvaluatedFinding {
  readonly finding: Finding;
  readonly status: FindingStatus;
  /** The active waivers that cover it (when `waived`). */
  readonly waivers: readonly Waiver[];
  /** Expired waivers that would have covered it. */
  readonly expiredWaivers: readonly Waiver[];
  /** Against the baseline, when one was found. */
  readonly baseline?: BaselineState;
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
  readonly failOn: FailOn;
  /** Set when a baseline was asked for (found or not). */
  readonly baseline?: BaselineReport;
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
 *
 * With `failOn: 'new'` and a baseline found, a finding the running image already has (see
 * {@link compareWithBaseline}) is `known` instead of `blocking`: reported, never failing. Without a
 * baseline, every finding is judged, and the reasons say why.
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

  const failOn = options.failOn ?? 'threshold';
  const found = options.baseline?.status === 'found' ? options.baseline : undefined;
  const comparison = found === undefined ? undefined : compareWithBaseline(findings, found.findings);
  const evaluated: EvaluatedFinding[] = [];
  const after: Finding[] = [];
  let blocking = 0;
  for (const [index, finding] of findings.entries()) {
    const state = comparison?.states[index];
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
          ? failOn === 'new' && state === 'known'
            ? 'known'
            : 'blocking'
          : 'allowed';
      if (status === 'blocking') blocking++;
    }
    evaluated.push({
      finding,
      status,
      waivers: covering ?? [],
      expiredWaivers: expired,
      ...(state === undefined ? {} : { baseline: state }),
    });
  }
  let baseline: BaselineReport | undefined;
  if (options.baseline?.status === 'none') baseline = options.baseline;
  else if (found !== undefined && comparison !== undefined)
    baseline = {
      status: 'found',
      image: found.image,
      source: found.source,
      verdictCreatedAt: found.verdictCreatedAt,
      new: comparison.states.filter((x) => x === 'new').length,
      known: comparison.states.filter((x) => x === 'known').length,
      fixed: comparison.fixed,
    };

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
    failOn,
    ...(baseline === undefined ? {} : { baseline }),
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
  const b = result.baseline;
  const onlyNew = result.failOn === 'new' && b?.status === 'found';
  if (result.failOn === 'new' && b?.status === 'none')
    reasons.push(`No baseline to compare with (${b.reason}): every finding is judged.`);
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
      onlyNew
        ? `${plural(result.blocking, 'new finding')} at or above '${result.threshold}' ${scope} that ${b.source} does not have: ${shown.join('; ')}${more}.`
        : `${plural(result.blocking, 'finding')} at or above '${result.threshold}' ${scope}: ${shown.join('; ')}${more}.`,
    );
  } else {
    reasons.push(
      onlyNew
        ? `No new finding at or above '${result.threshold}' ${scope} against ${b.source}.`
        : `No finding at or above '${result.threshold}' ${scope}.`,
    );
  }
  const known = result.evaluated.filter((e) => e.status === 'known').length;
  if (known > 0 && b?.status === 'found')
    reasons.push(
      `${plural(known, 'finding')} at or above '${result.threshold}' already in ${b.source} (known): reported, not failing.`,
    );
  if (b?.status === 'found' && b.fixed.length > 0) {
    const ids = fixedVulnerabilities(b.fixed);
    const shown = ids.slice(0, 5).join(', ');
    reasons.push(
      `${plural(ids.length, 'vulnerability', 'vulnerabilities')} of ${b.source} fixed: ${shown}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''}.`,
    );
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

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

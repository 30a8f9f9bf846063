import { SEVERITY_RANK, type Finding, type Severity } from './finding.js';
import { readNewestVerdict, type ReferrerStore } from './verdict-referrers.js';

/**
 * The findings of the image that runs now in the target environment: what `fail-on: new` judges a
 * scan against. Known findings are reported, and only new ones fail the verdict.
 */
export type Baseline =
  | {
      readonly status: 'found';
      /** The running image, by digest. */
      readonly image: string;
      /** Where it was found, for people: `production (revision 7)` or `the baseline-image input`. */
      readonly source: string;
      /** When its verdict was made (ISO 8601). */
      readonly verdictCreatedAt: string;
      /** One entry per vulnerability and package, as its verdict lists them. */
      readonly findings: readonly BaselineFinding[];
    }
  | {
      /** No baseline: the scan is judged on every finding, and says why. */
      readonly status: 'none';
      readonly reason: string;
    };

/** One vulnerability in one package of the running image. */
export interface BaselineFinding {
  readonly id: string;
  readonly package: string;
  readonly installedVersion: string;
  readonly severity: Severity;
}

/** How a finding stands against the baseline: the running image has it already, or not. */
export type BaselineState = 'new' | 'known';

/** A finding's key: the vulnerability (any of its identifiers) in one package. */
function key(id: string, pkg: string): string {
  return `${id.toUpperCase()}\u0000${pkg}`;
}

/**
 * Compares findings with the baseline's. A finding is `known` when the running image has the same
 * vulnerability (by its id or an alias) in every package this one affects; otherwise `new`. The
 * baseline's findings matched by nothing are `fixed`, most severe first.
 */
export function compareWithBaseline(
  findings: readonly Finding[],
  baseline: readonly BaselineFinding[],
): { readonly states: readonly BaselineState[]; readonly fixed: readonly BaselineFinding[] } {
  const running = new Set(baseline.map((b) => key(b.id, b.package)));
  const seen = new Set<string>();
  const states = findings.map((f): BaselineState => {
    const ids = [f.id, ...f.aliases];
    let known = f.packages.length > 0;
    for (const p of f.packages) {
      const matched = ids.map((id) => key(id, p.name)).filter((k) => running.has(k));
      for (const k of matched) seen.add(k);
      if (matched.length === 0) known = false;
    }
    return known ? 'known' : 'new';
  });
  // One vulnerability listed twice for a package (two installed copies) is fixed once.
  const fixed = new Map<string, BaselineFinding>();
  for (const b of baseline) {
    const k = key(b.id, b.package);
    if (!seen.has(k) && !fixed.has(k)) fixed.set(k, b);
  }
  return {
    states,
    fixed: [...fixed.values()].sort(
      (a, b) =>
        SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) ||
        (a.package < b.package ? -1 : a.package > b.package ? 1 : 0),
    ),
  };
}

/** The distinct vulnerabilities among fixed findings (one per id, whatever the packages), in order. */
export function fixedVulnerabilities(fixed: readonly BaselineFinding[]): string[] {
  return [...new Set(fixed.map((f) => f.id))];
}

/**
 * The baseline of the images running now (by digest): the findings of each one's newest verdict,
 * together. No image, an image without a verdict, or a verdict that cannot be read is no baseline,
 * with the reason: the scan is then judged on every finding, never on less.
 */
export async function readBaseline(
  store: ReferrerStore,
  images: readonly string[],
  source: string,
): Promise<Baseline> {
  const first = images[0];
  if (first === undefined) return { status: 'none', reason: `no image to compare with (${source})` };
  const findings: BaselineFinding[] = [];
  let oldest = '';
  for (const image of images) {
    let stored;
    try {
      stored = await readNewestVerdict(store, image);
    } catch (error) {
      return {
        status: 'none',
        reason: `the verdict of ${image} could not be read: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    if (stored === undefined)
      return { status: 'none', reason: `no scan verdict is attached to ${image}, which is ${source}` };
    const v = stored.verdict;
    if (oldest === '' || v.createdAt < oldest) oldest = v.createdAt;
    for (const f of v.findings)
      findings.push({
        id: f.id,
        package: f.package,
        installedVersion: f.installedVersion,
        severity: f.severity,
      });
  }
  return { status: 'found', image: first, source, verdictCreatedAt: oldest, findings };
}

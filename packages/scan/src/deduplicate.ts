import {
  combineFixStates,
  compareFindings,
  SEVERITY_RANK,
  type AffectedPackage,
  type Finding,
  type PackageFinding,
} from './finding.js';

/**
 * Merges per-package matches into one {@link Finding} per vulnerability. Two matches are the same
 * vulnerability when they share any identifier, directly or through aliases (Grype reports a GHSA
 * match and a CVE match for one flaw, linked by `relatedVulnerabilities`); the packages of all of
 * them are kept. Vendor advisories (DSA, RHSA) are not identifiers of one flaw and never link.
 * The result is sorted most severe first.
 */
export function deduplicate(matches: readonly PackageFinding[]): Finding[] {
  const parent = new Int32Array(matches.length);
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  const find = (i: number): number => {
    let root = i;
    while (parent[root] !== root) root = parent[root] ?? root;
    // Path compression keeps 100,000-match reports linear.
    while (parent[i] !== root) {
      const next = parent[i] ?? root;
      parent[i] = root;
      i = next;
    }
    return root;
  };
  const owner = new Map<string, number>();
  const link = (id: string, i: number): void => {
    const key = id.toUpperCase();
    const seen = owner.get(key);
    if (seen === undefined) owner.set(key, i);
    else {
      const a = find(seen);
      const b = find(i);
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
    }
  };
  matches.forEach((m, i) => {
    link(m.id, i);
    for (const alias of m.aliases) link(alias, i);
  });

  const groups = new Map<number, PackageFinding[]>();
  matches.forEach((m, i) => {
    const root = find(i);
    const group = groups.get(root);
    if (group === undefined) groups.set(root, [m]);
    else group.push(m);
  });

  const findings: Finding[] = [];
  for (const group of groups.values()) findings.push(merge(group));
  return findings.sort(compareFindings);
}

function merge(group: readonly PackageFinding[]): Finding {
  const first = group[0];
  if (first === undefined) throw new Error('empty group');
  if (group.length === 1) {
    return {
      id: first.id,
      aliases: [...first.aliases].sort(),
      severity: first.severity,
      cvssScore: first.cvssScore,
      title: first.title,
      description: first.description,
      primaryUrl: first.primaryUrl,
      urls: first.urls,
      fixState: first.package.fixState,
      packages: [first.package],
    };
  }
  const ids = new Set<string>();
  for (const m of group) {
    ids.add(m.id);
    for (const a of m.aliases) ids.add(a);
  }
  const id = preferredId(ids);
  // Text comes from the match reported under the preferred id when there is one.
  const text = group.find((m) => m.id === id) ?? first;
  const pick = (key: 'title' | 'description'): string =>
    text[key] !== '' ? text[key] : (group.find((m) => m[key] !== '')?.[key] ?? '');
  let severity = first.severity;
  let cvssScore: number | undefined;
  // Matches of one vulnerability usually share one list of references (see SharedText).
  let urls: readonly string[] = text.urls;
  let unitedUrls: Set<string> | undefined;
  const packages: AffectedPackage[] = [];
  const index = group.length > 16 ? new Map<string, number>() : undefined;
  // Packages keep the report's order.
  for (const m of group) {
    if (SEVERITY_RANK[m.severity] > SEVERITY_RANK[severity]) severity = m.severity;
    if (m.cvssScore !== undefined && (cvssScore === undefined || m.cvssScore > cvssScore))
      cvssScore = m.cvssScore;
    if (m.urls !== urls) {
      unitedUrls ??= new Set(urls);
      for (const u of m.urls) unitedUrls.add(u);
    }
    const p = m.package;
    const key =
      index === undefined ? undefined : `${p.type}\u0000${p.name}\u0000${p.version}\u0000${p.target}`;
    const at =
      key === undefined
        ? packages.findIndex(
            (q) => q.name === p.name && q.version === p.version && q.type === p.type && q.target === p.target,
          )
        : (index?.get(key) ?? -1);
    const known = packages[at];
    if (known === undefined) {
      if (key !== undefined) index?.set(key, packages.length);
      packages.push(p);
    } else {
      packages[at] = {
        ...known,
        purl: known.purl ?? p.purl,
        layer: known.layer ?? p.layer,
        fixedVersions: [...new Set([...known.fixedVersions, ...p.fixedVersions])],
        fixState: combineFixStates(known.fixState, p.fixState),
      };
    }
  }
  if (unitedUrls !== undefined) urls = [...unitedUrls];
  return {
    id,
    aliases: [...ids].filter((i) => i !== id).sort(),
    severity,
    cvssScore,
    title: pick('title'),
    description: pick('description'),
    primaryUrl: text.primaryUrl ?? group.find((m) => m.primaryUrl !== undefined)?.primaryUrl,
    urls,
    fixState: packages.reduce((s, p) => combineFixStates(s, p.fixState), packages[0]?.fixState ?? 'unknown'),
    packages,
  };
}

/** A CVE when there is one (the identifier every database knows), then a GHSA, then anything. */
function preferredId(ids: ReadonlySet<string>): string {
  const sorted = [...ids].sort();
  return (
    sorted.find((i) => i.startsWith('CVE-')) ??
    sorted.find((i) => i.startsWith('GHSA-')) ??
    sorted[0] ??
    'UNKNOWN'
  );
}

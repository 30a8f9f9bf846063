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
  matches.forEach((m, i) => {
    for (const id of [m.id, ...m.aliases]) {
      const key = id.toUpperCase();
      const seen = owner.get(key);
      if (seen === undefined) owner.set(key, i);
      else {
        const a = find(seen);
        const b = find(i);
        if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
      }
    }
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
  const ordered = [...group].sort((a, b) => Number(b.id === id) - Number(a.id === id));
  let severity = first.severity;
  let cvssScore: number | undefined;
  const urls = new Set<string>();
  const packages = new Map<string, AffectedPackage>();
  // Packages keep the report's order; text prefers the match under the preferred id.
  for (const m of group) {
    if (SEVERITY_RANK[m.severity] > SEVERITY_RANK[severity]) severity = m.severity;
    if (m.cvssScore !== undefined && (cvssScore === undefined || m.cvssScore > cvssScore))
      cvssScore = m.cvssScore;
    for (const u of m.urls) urls.add(u);
    const p = m.package;
    const key = `${p.type}\u0000${p.name}\u0000${p.version}\u0000${p.target}`;
    const known = packages.get(key);
    packages.set(
      key,
      known === undefined
        ? p
        : {
            ...known,
            purl: known.purl ?? p.purl,
            layer: known.layer ?? p.layer,
            fixedVersions: [...new Set([...known.fixedVersions, ...p.fixedVersions])],
            fixState: combineFixStates(known.fixState, p.fixState),
          },
    );
  }
  const merged = [...packages.values()];
  return {
    id,
    aliases: [...ids].filter((i) => i !== id).sort(),
    severity,
    cvssScore,
    title: ordered.find((m) => m.title !== '')?.title ?? '',
    description: ordered.find((m) => m.description !== '')?.description ?? '',
    primaryUrl: ordered.find((m) => m.primaryUrl !== undefined)?.primaryUrl,
    urls: [...urls],
    fixState: merged.reduce((s, p) => combineFixStates(s, p.fixState), merged[0]?.fixState ?? 'unknown'),
    packages: merged,
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

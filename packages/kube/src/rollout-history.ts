/** One revision as `kubectl rollout history` lists it. */
export interface RolloutRevision {
  readonly revision: number;
  /** The `kubernetes.io/change-cause` annotation; undefined when kubectl shows `<none>`. */
  readonly changeCause: string | undefined;
}

/**
 * Parses the table `kubectl rollout history deployment/NAME` prints:
 *
 *     deployment.apps/web
 *     REVISION  CHANGE-CAUSE
 *     1         <none>
 *     2         image bumped to 1.2
 */
export function parseRolloutHistory(text: string): RolloutRevision[] {
  const revisions: RolloutRevision[] = [];
  let inTable = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^REVISION\s+CHANGE-CAUSE\s*$/.test(line.trim())) {
      inTable = true;
      continue;
    }
    if (!inTable) continue;
    const m = /^\s*(\d+)\s*(.*)$/.exec(line);
    if (m === null) continue;
    const cause = (m[2] ?? '').trim();
    revisions.push({
      revision: Number(m[1]),
      changeCause: cause === '' || cause === '<none>' ? undefined : cause,
    });
  }
  return revisions.sort((a, b) => a.revision - b.revision);
}

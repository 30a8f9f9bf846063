import type { KubeDouble } from '@dreamscape/kube-double';
import { releaseRecords } from './release-harness.js';

const COLOR = 'dreamscape.io/color';

interface PodView {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * What is wrong with the live color of an app, as the double holds it: every Service named must
 * select one and the same color, and at least one pod, all of them Ready and of that color. An
 * empty list means the live color is intact.
 */
export function liveColorProblems(
  double: KubeDouble,
  namespace: string,
  services: readonly string[],
): string[] {
  const problems: string[] = [];
  const byName = new Map(
    double
      .objects('services', namespace)
      .map((s) => s as { metadata: { name: string }; spec?: { selector?: Record<string, string> } })
      .map((s) => [s.metadata.name, s]),
  );
  const pods = double
    .objects('pods', namespace)
    .map((p) => p as unknown as PodView)
    .filter((p) => p.metadata.deletionTimestamp === undefined);
  const colors = new Set<string>();
  for (const name of services) {
    const selector = byName.get(name)?.spec?.selector;
    if (selector === undefined) {
      problems.push(`Service ${namespace}/${name} does not exist`);
      continue;
    }
    const color = selector[COLOR];
    if (color === undefined) problems.push(`Service ${namespace}/${name} selects no color`);
    else colors.add(color);
    const selected = pods.filter((p) =>
      Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
    );
    const unready = selected.filter(
      (p) => !(p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    if (selected.length === 0) problems.push(`Service ${namespace}/${name} selects no pod`);
    if (unready.length > 0)
      problems.push(
        `Service ${namespace}/${name} selects ${unready.length} unready pod(s): ${unready.map((p) => p.metadata.name).join(', ')}`,
      );
  }
  if (colors.size > 1)
    problems.push(`the Services select different colors: ${[...colors].sort().join(', ')}`);
  return problems;
}

/**
 * What is wrong with a release history: a revision recorded twice, a gap among the revisions kept
 * (the history prunes only the oldest), or releases still `in-progress` (when `settled`).
 */
export function historyProblems(
  double: KubeDouble,
  namespace: string,
  options: { readonly settled?: boolean } = {},
): string[] {
  const records = releaseRecords(double, namespace);
  const problems: string[] = [];
  const revisions = records.map((r) => r.revision);
  const duplicated = revisions.filter((r, i) => revisions.indexOf(r) !== i);
  if (duplicated.length > 0)
    problems.push(`revisions recorded twice: ${[...new Set(duplicated)].join(', ')}`);
  const newest = revisions[0] ?? 0;
  const missing = [...new Set(revisions)].filter((r, i) => r !== newest - i);
  if (missing.length > 0)
    problems.push(`revisions kept are not consecutive: ${[...new Set(revisions)].join(', ')}`);
  if (options.settled === true) {
    const open = records.filter((r) => r.result === 'in-progress').map((r) => r.revision);
    if (open.length > 0) problems.push(`releases left in progress: ${open.join(', ')}`);
  }
  return problems;
}

/** Whether release `revision` of a namespace has journaled `step` (a poll may see it late, never early). */
export function journalReached(
  double: KubeDouble,
  namespace: string,
  revision: number,
  step: string,
): boolean {
  const record = releaseRecords(double, namespace).find((r) => r.revision === revision);
  return record?.journal.some((j) => j.step === step) === true;
}

interface WorkloadView {
  metadata: { name: string };
  spec?: {
    template?: { spec?: { containers?: { name: string; image?: string }[] } };
    jobTemplate?: { spec?: { template?: { spec?: { containers?: { name: string; image?: string }[] } } } };
  };
}

/**
 * What is wrong with the workloads of a namespace against the live release (the newest promoted
 * record): every image that release recorded (`workload/container`) must be what that workload
 * runs now, in the live color's copy for a switched Deployment, in the one copy otherwise.
 */
export function liveImageProblems(double: KubeDouble, namespace: string): string[] {
  const live = releaseRecords(double, namespace).find((r) => r.result === 'promoted');
  if (live === undefined) return [];
  const containersOf = (w: WorkloadView): { name: string; image?: string }[] =>
    w.spec?.template?.spec?.containers ?? w.spec?.jobTemplate?.spec?.template?.spec?.containers ?? [];
  const workloads = new Map<string, WorkloadView>();
  for (const resource of ['deployments', 'statefulsets', 'daemonsets', 'cronjobs'])
    for (const o of double.objects(resource, namespace)) {
      const w = o as unknown as WorkloadView;
      workloads.set(w.metadata.name, w);
    }
  const problems: string[] = [];
  for (const [key, image] of Object.entries(live.images)) {
    const [name = '', container = ''] = key.split('/');
    const copy =
      (live.color === undefined ? undefined : workloads.get(`${name}-${live.color}`)) ?? workloads.get(name);
    const running =
      copy === undefined ? undefined : containersOf(copy).find((c) => c.name === container)?.image;
    if (running !== image)
      problems.push(
        `${key} runs ${running ?? 'nothing'}, but the live revision ${live.revision} recorded ${image}`,
      );
  }
  return problems;
}

/**
 * What is wrong with a history's journals: every finished record's journal ends with `finished`
 * naming its result, and nothing is left in progress once runs have settled.
 */
export function journalProblems(double: KubeDouble, namespace: string): string[] {
  const problems: string[] = [];
  for (const r of releaseRecords(double, namespace)) {
    if (r.result === 'in-progress') {
      problems.push(`revision ${r.revision} is still in progress`);
      continue;
    }
    const last = r.journal[r.journal.length - 1];
    if (last?.step !== 'finished' || last.detail !== r.result)
      problems.push(
        `revision ${r.revision} ended ${r.result}, but its journal ends at ${last?.step ?? 'nothing'}${last?.detail === undefined ? '' : ` (${last.detail})`}`,
      );
  }
  return problems;
}

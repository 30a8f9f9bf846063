import type { RenderedOverlay } from '@dreamscape/kube';
import { namesLatest, type BlueGreenPlan } from './plan.js';

/**
 * One check a plan could not make, and why. A deploy makes each of them before it writes anything
 * (and refuses what fails), so a plan reports them rather than failing on them.
 */
export interface NotChecked {
  /**
   * `digest`: an image given no digest (a deploy pins it from `images` or from what the
   * environment runs); `scan-verdict`: its verdict (require-scan), read by digest; `cluster`: what
   * only the cluster answers; `dry-run`: objects the server-side dry run could not take.
   */
  readonly check: 'digest' | 'scan-verdict' | 'cluster' | 'dry-run';
  /** The image, for `digest` and `scan-verdict`; otherwise what was not checked, in words. */
  readonly subject: string;
  /** `Kind/name` of the workloads that run the image (`digest`). */
  readonly objects: readonly string[];
  readonly reason: string;
}

/** A plan made from the files alone: what could be judged, and what is left to a deploy. */
export interface PlanWithoutCluster {
  /** The release plan; its findings are those a plan without the cluster can stand by. */
  readonly plan: BlueGreenPlan;
  /** Images pinned by digest (in the files or by `images`): their verdicts can be read. */
  readonly pinned: readonly string[];
  readonly notChecked: readonly NotChecked[];
}

/** What the cluster answers for a plan, and a plan without credentials leaves to a deploy. */
export const CLUSTER_CHECKS =
  'the cluster: live colors, the server-side dry run and diff (validation, admission, immutable fields), live selectors, the strategy on record, permissions';

/**
 * Judges a rendered release without cluster credentials (a pull request's check). A deploy pins an
 * image the `images` input does not give to the digest the environment runs; without the cluster
 * that digest is unknown, so an image named by a tag is not an error here but a check left to the
 * deploy, and so is its scan verdict (read by digest) with `require-scan`, and so is everything
 * only the cluster answers. An image named `latest` or by no tag stays an error: whatever it
 * would run, the manifest does not say. Every other finding stands as it is.
 */
export function planWithoutCluster(
  release: { readonly plan: BlueGreenPlan; readonly rendered: Pick<RenderedOverlay, 'images' | 'unpinned'> },
  o: { readonly requireScan: boolean },
): PlanWithoutCluster {
  const { plan, rendered } = release;
  const left = new Map<string, string[]>();
  const findings = plan.findings.filter((f) => {
    if (f.unpinned === undefined || namesLatest(f.unpinned.image)) return true;
    const objects = left.get(f.unpinned.image) ?? [];
    if (!objects.includes(f.object)) objects.push(f.object);
    left.set(f.unpinned.image, objects);
    return false;
  });
  const notChecked: NotChecked[] = [...left].map(([image, objects]) => ({
    check: 'digest',
    subject: image,
    objects,
    reason: 'no digest given: a deploy will need it, from `images` or the digest the environment runs now',
  }));
  if (o.requireScan)
    for (const image of rendered.unpinned)
      notChecked.push({
        check: 'scan-verdict',
        subject: image,
        objects: [],
        reason: 'no digest given: a verdict is attached to a digest',
      });
  notChecked.push({
    check: 'cluster',
    subject: CLUSTER_CHECKS,
    objects: [],
    reason: 'no cluster credentials (`kubeconfig`)',
  });
  return {
    plan: { ...plan, findings },
    pinned: rendered.images.filter((i) => !rendered.unpinned.includes(i)),
    notChecked,
  };
}

/** The objects a plan's server-side dry run could not take: their namespace does not exist yet. */
export function notCheckedByDryRun(namespace: string, unchecked: number): NotChecked {
  return {
    check: 'dry-run',
    subject: `the server-side dry run of ${String(unchecked)} object${unchecked === 1 ? '' : 's'} in namespace ${namespace}`,
    objects: [],
    reason: `namespace ${namespace} does not exist yet: a deploy creates it, then checks them before it writes anything else`,
  };
}

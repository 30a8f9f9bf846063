import type { CanaryStepReport } from './canary.js';
import type { Color } from './colors.js';
import type { FailureReport } from './failure-diagnostics.js';
import type { GateResult } from './gates.js';
import type { ReleaseRecord } from './history.js';
import { imagesIn, type LiveState } from './live-state.js';
import type { BlueGreenPlan } from './plan.js';
import { selectorColor, type SelectorColor } from './switching.js';
import { workloadContainers } from './workload-classes.js';

/** How a release ended, as the actions report it (`paused`: a canary waits for approval). */
export type OutcomeResult = 'promoted' | 'rolled-back' | 'failed' | 'planned' | 'paused';

/** One Service before and after a release. */
export interface ServiceChange {
  readonly service: string;
  readonly deployment: string;
  readonly before: { readonly color: SelectorColor; readonly images: readonly string[] };
  readonly after: { readonly color: SelectorColor; readonly images: readonly string[] };
}

/** What a deploy or rollback did: the action's outputs, summary and GitHub deployment status come from it. */
export interface ReleaseOutcome {
  readonly result: OutcomeResult;
  readonly message: string;
  readonly app: string;
  readonly environment: string;
  readonly namespace: string;
  readonly revision: number;
  readonly activeColor: Color | undefined;
  readonly previousColor: Color | undefined;
  readonly services: readonly ServiceChange[];
  readonly gates: readonly GateResult[];
  /** Milliseconds per phase (`lock`, `apply`, `wait`, `switch`, `verify`, `rollback`, `total`...). */
  readonly timings: Readonly<Record<string, number>>;
  readonly record: ReleaseRecord;
  /** How the new state was reached: `fast`, `warm-up`, `re-apply`, `already-live` (blue-green), `rolling`. */
  readonly path: string;
  /** Blue-green: the workloads that are not switched (workers, CronJobs, stateful ones) and how they were released. */
  readonly workloads?: readonly WorkloadRelease[];
  /** Canary: each step as it ran (weight, analysis, decision). */
  readonly canary?: readonly CanaryStepReport[];
  /** When a step failed: why, as the cluster said right after (conditions, events, pods, answers). */
  readonly diagnostics?: FailureReport;
}

/** A workload that is not switched by color, as the release handled it. */
export interface WorkloadRelease {
  readonly kind: string;
  readonly name: string;
  readonly cls: 'stateful' | 'in-step';
  readonly reason: string;
  readonly images: readonly string[];
}

/** The `release` output: everything a later step or a person needs, without the packed manifest. */
export function releaseJson(o: ReleaseOutcome): string {
  return JSON.stringify({
    app: o.app,
    environment: o.environment,
    namespace: o.namespace,
    revision: o.revision,
    result: o.result,
    message: o.message,
    activeColor: o.activeColor ?? null,
    previousColor: o.previousColor ?? null,
    previousRevision: o.record.previousRevision,
    manifestHash: o.record.manifestHash,
    services: o.services,
    images: o.record.images,
    gates: o.gates,
    timings: o.timings,
    path: o.path,
    kind: o.record.kind,
    rollbackTo: o.record.rollbackTo ?? null,
    reason: o.record.reason,
    commit: o.record.commit,
    runUrl: o.record.runUrl,
  });
}

/**
 * The outcome of a blue-green release: each Service's color and images before and after, and the
 * workloads that are not switched by color with the images they run after it.
 */
export function blueGreenOutcome(
  plan: BlueGreenPlan,
  o: {
    readonly result: ReleaseOutcome['result'];
    readonly message: string;
    readonly record: ReleaseRecord;
    readonly before: LiveState;
    readonly after: LiveState;
    readonly path: string;
  },
): Omit<ReleaseOutcome, 'timings'> {
  const { before, after, record } = o;
  const changes: ServiceChange[] = plan.services.map((s) => {
    const was = selectorColor(before.services.get(s.name));
    const now = selectorColor(after.services.get(s.name));
    return {
      service: s.name,
      deployment: s.deployment,
      before: { color: was, images: imagesIn(before.deployments, s.deployment, was) },
      after: { color: now, images: imagesIn(after.deployments, s.deployment, now) },
    };
  });
  const activeAfter = after.active === 'legacy' ? undefined : after.active;
  return {
    result: o.result,
    message: o.message,
    app: plan.app,
    environment: plan.environment,
    namespace: plan.namespace,
    revision: record.revision,
    activeColor: activeAfter,
    previousColor: record.previousColor,
    services: changes,
    gates: [...record.gates],
    record,
    path: o.path,
    workloads: workloadReleases(plan, after),
  };
}

/** The workloads not switched by color, and the images they run after the release. */
function workloadReleases(plan: BlueGreenPlan, after: LiveState): WorkloadRelease[] {
  return plan.workloads
    .filter((w): w is typeof w & { cls: 'stateful' | 'in-step' } => w.cls !== 'colored')
    .map((w) => {
      const live = w.kind === 'Deployment' ? after.deployments.get(w.name) : undefined;
      const source =
        live ??
        [...plan.stateful, ...plan.inStep].find((o) => o.kind === w.kind && o.metadata.name === w.name);
      return {
        kind: w.kind,
        name: w.name,
        cls: w.cls,
        reason: w.reason,
        images: source === undefined ? [] : workloadContainers(source).map((c) => c.image ?? ''),
      };
    });
}

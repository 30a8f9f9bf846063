import type { Color } from './colors.js';
import type { GateResult } from './gates.js';
import type { ReleaseRecord } from './history.js';
import type { SelectorColor } from './switching.js';

/** How a release ended, as the actions report it. */
export type OutcomeResult = 'promoted' | 'rolled-back' | 'failed' | 'planned';

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

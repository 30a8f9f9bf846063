import type { Deployment } from './kube-object.js';

/** Where one Deployment's rollout stands, judged the way `kubectl rollout status` judges it. */
export interface RolloutStatus {
  readonly name: string;
  readonly namespace: string;
  /** `progressing` until the rollout completes or fails. */
  readonly state: 'progressing' | 'complete' | 'failed';
  /** A short machine-readable reason: `ObservedGenerationBehind`, `UpdatedReplicas`, `OldReplicas`, `AvailableReplicas`, `Complete`, `ProgressDeadlineExceeded`, `NotFound`, `Deleted`. */
  readonly reason: string;
  /** What kubectl would print, e.g. `Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...`. */
  readonly message: string;
  /** Desired replicas (`spec.replicas`, default 1). */
  readonly replicas: number;
  readonly ready: number;
  readonly available: number;
  readonly updated: number;
}

/**
 * Evaluates kubectl's rollout predicate for a Deployment (k8s.io/kubectl DeploymentStatusViewer):
 * the controller must have observed the current generation; then a `ProgressDeadlineExceeded`
 * condition fails at once; otherwise all desired replicas must be updated, no old replicas may be
 * left, and every updated replica must be available.
 */
export function evaluateRollout(deployment: Deployment): RolloutStatus {
  const name = deployment.metadata.name;
  const namespace = deployment.metadata.namespace ?? '';
  const spec = deployment.spec ?? {};
  const status = deployment.status ?? {};
  const desired = spec.replicas ?? 1;
  const counts = {
    replicas: desired,
    ready: status.readyReplicas ?? 0,
    available: status.availableReplicas ?? 0,
    updated: status.updatedReplicas ?? 0,
  };
  const base = { name, namespace, ...counts };
  const generation = deployment.metadata.generation ?? 0;
  const observed = status.observedGeneration ?? 0;
  if (observed < generation) {
    return {
      ...base,
      state: 'progressing',
      reason: 'ObservedGenerationBehind',
      message: `Waiting for deployment "${name}" spec update to be observed...`,
    };
  }
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      ...base,
      state: 'failed',
      reason: 'ProgressDeadlineExceeded',
      message: `deployment "${name}" exceeded its progress deadline${progressing.message === undefined ? '' : `: ${progressing.message}`}`,
    };
  }
  const current = status.replicas ?? 0;
  if (spec.replicas !== undefined && counts.updated < spec.replicas) {
    return {
      ...base,
      state: 'progressing',
      reason: 'UpdatedReplicas',
      message: `Waiting for deployment "${name}" rollout to finish: ${counts.updated} out of ${spec.replicas} new replicas have been updated...`,
    };
  }
  if (current > counts.updated) {
    return {
      ...base,
      state: 'progressing',
      reason: 'OldReplicas',
      message: `Waiting for deployment "${name}" rollout to finish: ${current - counts.updated} old replicas are pending termination...`,
    };
  }
  if (counts.available < counts.updated) {
    return {
      ...base,
      state: 'progressing',
      reason: 'AvailableReplicas',
      message: `Waiting for deployment "${name}" rollout to finish: ${counts.available} of ${counts.updated} updated replicas are available...`,
    };
  }
  return {
    ...base,
    state: 'complete',
    reason: 'Complete',
    message: `deployment "${name}" successfully rolled out`,
  };
}

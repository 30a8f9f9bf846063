import type { DaemonSet, Deployment, StatefulSet } from './kube-object.js';

/** The workload kinds whose rollouts can be judged and waited for. */
export type RolloutKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

/** A workload {@link evaluateRollout} judges, told apart by `kind`. */
export type RolloutWorkload = Deployment | StatefulSet | DaemonSet;

/** Where one workload's rollout stands, judged the way `kubectl rollout status` judges it. */
export interface RolloutStatus {
  readonly kind: RolloutKind;
  readonly name: string;
  readonly namespace: string;
  /** `progressing` until the rollout completes or fails. */
  readonly state: 'progressing' | 'complete' | 'failed';
  /**
   * A short machine-readable reason: `ObservedGenerationBehind`, `UpdatedReplicas`, `OldReplicas`,
   * `AvailableReplicas`, `ReadyReplicas` (StatefulSet), `UpdateRevision` (StatefulSet), `Complete`,
   * `ProgressDeadlineExceeded` (Deployment), `NotFound`, `Deleted`.
   */
  readonly reason: string;
  /** What kubectl would print, e.g. `Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...`. */
  readonly message: string;
  /** Desired replicas (`spec.replicas`, default 1); for a DaemonSet `status.desiredNumberScheduled`. */
  readonly replicas: number;
  /** Ready pods (a DaemonSet's `numberReady`). */
  readonly ready: number;
  /** Available pods (a DaemonSet's `numberAvailable`). */
  readonly available: number;
  /** Pods of the newest template (a DaemonSet's `updatedNumberScheduled`). */
  readonly updated: number;
}

/**
 * Evaluates kubectl's rollout predicate (k8s.io/kubectl `polymorphichelpers/rollout_status.go`,
 * as in kubectl 1.32) for a Deployment, a StatefulSet or a DaemonSet, chosen by `kind`.
 */
export function evaluateRollout(workload: RolloutWorkload): RolloutStatus {
  switch (workload.kind) {
    case 'Deployment':
      return evaluateDeployment(workload);
    case 'StatefulSet':
      return evaluateStatefulSet(workload);
    case 'DaemonSet':
      return evaluateDaemonSet(workload);
  }
}

/**
 * Evaluates kubectl's rollout predicate for a Deployment (k8s.io/kubectl DeploymentStatusViewer):
 * the controller must have observed the current generation; then a `ProgressDeadlineExceeded`
 * condition fails at once; otherwise all desired replicas must be updated, no old replicas may be
 * left, and every updated replica must be available.
 */
function evaluateDeployment(deployment: Deployment): RolloutStatus {
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
  const base = { kind: 'Deployment' as const, name, namespace, ...counts };
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

/**
 * The StatefulSetStatusViewer's predicate: the controller must have observed the current
 * generation (an observedGeneration of 0 never counts), every desired replica must be Ready; then
 * with a `rollingUpdate` block the pods from the partition up must be updated, and without one the
 * update revision must have become the current one.
 */
function evaluateStatefulSet(sts: StatefulSet): RolloutStatus {
  const name = sts.metadata.name;
  const namespace = sts.metadata.namespace ?? '';
  const spec = sts.spec ?? {};
  const status = sts.status ?? {};
  const base = {
    kind: 'StatefulSet' as const,
    name,
    namespace,
    replicas: spec.replicas ?? 1,
    ready: status.readyReplicas ?? 0,
    available: status.availableReplicas ?? 0,
    updated: status.updatedReplicas ?? 0,
  };
  const observed = status.observedGeneration ?? 0;
  if (observed === 0 || (sts.metadata.generation ?? 0) > observed) {
    return {
      ...base,
      state: 'progressing',
      reason: 'ObservedGenerationBehind',
      message: 'Waiting for statefulset spec update to be observed...',
    };
  }
  if (spec.replicas !== undefined && base.ready < spec.replicas) {
    return {
      ...base,
      state: 'progressing',
      reason: 'ReadyReplicas',
      message: `Waiting for ${spec.replicas - base.ready} pods to be ready...`,
    };
  }
  // The API server defaults a missing strategy to RollingUpdate; judge an object that never went
  // through it the same way.
  const strategy = spec.updateStrategy?.type ?? 'RollingUpdate';
  if (strategy !== 'RollingUpdate') {
    // kubectl refuses: "rollout status is only available for RollingUpdate strategy type". Under
    // OnDelete the controller replaces a pod only when someone deletes it, so there is no rollout
    // to wait for: once the spec is observed and every replica is Ready, the set is as done as it
    // will get by itself.
    return {
      ...base,
      state: 'complete',
      reason: 'Complete',
      message: `statefulset "${name}" has ${base.ready} ready pods; it updates ${strategy}, so its pods change only when they are deleted`,
    };
  }
  const rollingUpdate = spec.updateStrategy?.rollingUpdate;
  if (rollingUpdate !== undefined) {
    const partition = rollingUpdate.partition;
    if (spec.replicas !== undefined && partition !== undefined && base.updated < spec.replicas - partition) {
      return {
        ...base,
        state: 'progressing',
        reason: 'UpdatedReplicas',
        message: `Waiting for partitioned roll out to finish: ${base.updated} out of ${spec.replicas - partition} new pods have been updated...`,
      };
    }
    return {
      ...base,
      state: 'complete',
      reason: 'Complete',
      message: `partitioned roll out complete: ${base.updated} new pods have been updated...`,
    };
  }
  const updateRevision = status.updateRevision ?? '';
  const currentRevision = status.currentRevision ?? '';
  if (updateRevision !== currentRevision) {
    return {
      ...base,
      state: 'progressing',
      reason: 'UpdateRevision',
      message: `waiting for statefulset rolling update to complete ${base.updated} pods at revision ${updateRevision}...`,
    };
  }
  return {
    ...base,
    state: 'complete',
    reason: 'Complete',
    message: `statefulset rolling update complete ${status.currentReplicas ?? 0} pods at revision ${currentRevision}...`,
  };
}

/**
 * The DaemonSetStatusViewer's predicate: the controller must have observed the current
 * generation, then a pod of the current template must be scheduled on every node that should run
 * one, and each of them must be available.
 */
function evaluateDaemonSet(ds: DaemonSet): RolloutStatus {
  const name = ds.metadata.name;
  const namespace = ds.metadata.namespace ?? '';
  const status = ds.status ?? {};
  const desired = status.desiredNumberScheduled ?? 0;
  const base = {
    kind: 'DaemonSet' as const,
    name,
    namespace,
    replicas: desired,
    ready: status.numberReady ?? 0,
    available: status.numberAvailable ?? 0,
    updated: status.updatedNumberScheduled ?? 0,
  };
  if ((ds.metadata.generation ?? 0) > (status.observedGeneration ?? 0)) {
    return {
      ...base,
      state: 'progressing',
      reason: 'ObservedGenerationBehind',
      message: 'Waiting for daemon set spec update to be observed...',
    };
  }
  // As for a StatefulSet: a missing strategy is the server's default, RollingUpdate.
  const strategy = ds.spec?.updateStrategy?.type ?? 'RollingUpdate';
  if (strategy !== 'RollingUpdate') {
    // kubectl refuses ("rollout status is only available for RollingUpdate strategy type"). Under
    // OnDelete old pods stay until someone deletes them, so there is no rollout to wait for: once
    // the spec is observed and a pod is available on every node that should run one, the set is as
    // done as it will get by itself.
    if (base.available < desired) {
      return {
        ...base,
        state: 'progressing',
        reason: 'AvailableReplicas',
        message: `Waiting for daemon set "${name}": ${base.available} of ${desired} pods are available...`,
      };
    }
    return {
      ...base,
      state: 'complete',
      reason: 'Complete',
      message: `daemon set "${name}" has ${base.available} available pods; it updates ${strategy}, so its pods change only when they are deleted`,
    };
  }
  if (base.updated < desired) {
    return {
      ...base,
      state: 'progressing',
      reason: 'UpdatedReplicas',
      message: `Waiting for daemon set "${name}" rollout to finish: ${base.updated} out of ${desired} new pods have been updated...`,
    };
  }
  if (base.available < desired) {
    return {
      ...base,
      state: 'progressing',
      reason: 'AvailableReplicas',
      message: `Waiting for daemon set "${name}" rollout to finish: ${base.available} of ${desired} updated pods are available...`,
    };
  }
  return {
    ...base,
    state: 'complete',
    reason: 'Complete',
    message: `daemon set "${name}" successfully rolled out`,
  };
}

import type { ApiServer } from './api-server.js';
import {
  cloneJson,
  jsonEqual,
  numberAt,
  objectAt,
  objectsAt,
  stringAt,
  type JsonObject,
} from './json-value.js';
import { nameOf, namespaceOf, type StoreChange } from './object-store.js';
import { ReconcileQueue } from './reconcile-queue.js';
import { resourceTypeOfKind, type ResourceType } from './resource-table.js';

function typeOf(kind: string): ResourceType {
  const type = resourceTypeOfKind(kind);
  if (type === undefined) throw new Error(`${kind} is not served`);
  return type;
}

/**
 * A HorizontalPodAutoscaler stand-in with no metrics: it keeps its target's replicas within
 * [minReplicas, maxReplicas] (and leaves a target scaled to zero alone, as the real one does) and
 * echoes a status with currentReplicas, desiredReplicas and the usual conditions.
 */
export class AutoscalerController {
  private readonly queue: ReconcileQueue;
  private readonly hpaType = typeOf('HorizontalPodAutoscaler');
  private readonly deployType = typeOf('Deployment');
  private readonly rsType = typeOf('ReplicaSet');
  private unsubscribe = (): void => undefined;

  constructor(
    private readonly api: ApiServer,
    onError: (key: string, error: unknown) => void,
  ) {
    this.queue = new ReconcileQueue((key) => {
      this.sync(key);
    }, onError);
  }

  /** Starts watching autoscalers and their targets. */
  start(): void {
    this.unsubscribe = this.api.store.subscribe((change) => {
      this.onChange(change);
    });
  }

  /** Stops. */
  close(): void {
    this.unsubscribe();
    this.queue.close();
  }

  /** Resolves when nothing is queued. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private onChange(change: StoreChange): void {
    if (change.resourceType === this.hpaType) {
      if (change.type !== 'DELETED') this.queue.add(`${namespaceOf(change.object)}/${nameOf(change.object)}`);
      return;
    }
    if (change.resourceType !== this.deployType && change.resourceType !== this.rsType) return;
    for (const hpa of this.api.store.view(this.hpaType, namespaceOf(change.object))) {
      const ref = objectAt(objectAt(hpa, 'spec'), 'scaleTargetRef');
      if (
        stringAt(ref, 'kind') === change.resourceType.kind &&
        stringAt(ref, 'name') === nameOf(change.object)
      )
        this.queue.add(`${namespaceOf(hpa)}/${nameOf(hpa)}`);
    }
  }

  private sync(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    const hpa = this.api.store.peek(this.hpaType, namespace, name);
    if (hpa === undefined) return;
    const spec = objectAt(hpa, 'spec');
    const ref = objectAt(spec, 'scaleTargetRef');
    const kind = stringAt(ref, 'kind');
    const targetType =
      kind === 'Deployment' ? this.deployType : kind === 'ReplicaSet' ? this.rsType : undefined;
    const target =
      targetType === undefined
        ? undefined
        : this.api.store.peek(targetType, namespace, stringAt(ref, 'name') ?? '');
    const now = this.api.timestamp();
    const min = numberAt(spec, 'minReplicas') ?? 1;
    const max = numberAt(spec, 'maxReplicas') ?? min;
    const previous = objectsAt(objectAt(hpa, 'status'), 'conditions');
    const condition = (type: string, status: string, reason: string, message: string): JsonObject => {
      const old = previous.find((c) => c.type === type);
      const same = old !== undefined && old.status === status && old.reason === reason;
      return {
        type,
        status,
        lastTransitionTime: same ? (old.lastTransitionTime ?? now) : now,
        reason,
        message,
      };
    };
    let status: JsonObject;
    if (target === undefined || targetType === undefined) {
      status = {
        currentReplicas: 0,
        desiredReplicas: 0,
        conditions: [
          condition(
            'AbleToScale',
            'False',
            'FailedGetScale',
            `the HPA controller was unable to get the target's current scale: ${String(kind)} "${stringAt(ref, 'name') ?? ''}" not found`,
          ),
        ],
      };
    } else {
      const current = numberAt(objectAt(target, 'spec'), 'replicas') ?? 1;
      if (current === 0) {
        status = {
          currentReplicas: 0,
          desiredReplicas: 0,
          conditions: [
            condition(
              'AbleToScale',
              'True',
              'SucceededGetScale',
              "the HPA controller was able to get the target's current scale",
            ),
            condition(
              'ScalingActive',
              'False',
              'ScalingDisabled',
              'scaling is disabled since the replica count of the target is zero',
            ),
          ],
        };
      } else {
        const desired = Math.min(max, Math.max(min, current));
        if (desired !== current) {
          const next = cloneJson(target);
          const targetSpec = objectAt(next, 'spec') ?? {};
          targetSpec.replicas = desired;
          this.api.writeInternal(targetType, target, next, 'scale');
        }
        const limited = desired !== current;
        status = {
          currentReplicas: numberAt(objectAt(target, 'status'), 'replicas') ?? current,
          desiredReplicas: desired,
          currentMetrics: null,
          conditions: [
            condition('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size'),
            condition(
              'ScalingActive',
              'True',
              'ValidMetricFound',
              'the HPA was able to successfully calculate a replica count',
            ),
            condition(
              'ScalingLimited',
              limited ? 'True' : 'False',
              limited ? (desired === min ? 'TooFewReplicas' : 'TooManyReplicas') : 'DesiredWithinRange',
              limited
                ? `the desired replica count is ${desired === min ? 'less than the minimum' : 'more than the maximum'} replica count`
                : 'the desired count is within the acceptable range',
            ),
          ],
        };
        if (limited) status.lastScaleTime = now;
        else if (objectAt(hpa, 'status')?.lastScaleTime !== undefined)
          status.lastScaleTime = objectAt(hpa, 'status')?.lastScaleTime ?? now;
        if (status.currentMetrics === null) Reflect.deleteProperty(status, 'currentMetrics');
      }
    }
    status.observedGeneration = numberAt(objectAt(hpa, 'metadata'), 'generation') ?? 1;
    if (jsonEqual(status, hpa.status)) return;
    const next = cloneJson(hpa);
    next.status = status;
    this.api.writeInternal(this.hpaType, hpa, next, 'status');
  }
}

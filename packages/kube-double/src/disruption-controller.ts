import type { ApiServer } from './api-server.js';
import {
  cloneJson,
  jsonEqual,
  numberAt,
  objectAt,
  objectsAt,
  stringMapAt,
  type JsonObject,
  type JsonValue,
} from './json-value.js';
import { fromLabelSelectorObject, matchesLabels } from './label-selector.js';
import { nameOf, namespaceOf, type StoreChange } from './object-store.js';
import { isPodReady } from './pod-lifecycle.js';
import { ReconcileQueue } from './reconcile-queue.js';
import { resourceTypeOfKind, type ResourceType } from './resource-table.js';

function typeOf(kind: string): ResourceType {
  const type = resourceTypeOfKind(kind);
  if (type === undefined) throw new Error(`${kind} is not served`);
  return type;
}

function resolve(value: JsonValue | undefined, total: number, roundUp: boolean): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%')) {
    const exact = (Number(value.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  return undefined;
}

/** The disruption controller: PodDisruptionBudget status from the pods each budget selects. */
export class DisruptionController {
  private readonly queue: ReconcileQueue;
  private readonly pdbType = typeOf('PodDisruptionBudget');
  private readonly podType = typeOf('Pod');
  private unsubscribe = (): void => undefined;

  constructor(
    private readonly api: ApiServer,
    onError: (key: string, error: unknown) => void,
  ) {
    this.queue = new ReconcileQueue((key) => {
      this.sync(key);
    }, onError);
  }

  /** Starts watching budgets and pods. */
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
    if (change.resourceType === this.pdbType) {
      if (change.type !== 'DELETED') this.queue.add(`${namespaceOf(change.object)}/${nameOf(change.object)}`);
    } else if (change.resourceType === this.podType) {
      for (const pdb of this.api.store.view(this.pdbType, namespaceOf(change.object)))
        this.queue.add(`${namespaceOf(pdb)}/${nameOf(pdb)}`);
    }
  }

  private sync(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    const pdb = this.api.store.peek(this.pdbType, namespace, name);
    if (pdb === undefined) return;
    const spec = objectAt(pdb, 'spec');
    const selector = fromLabelSelectorObject(objectAt(spec, 'selector')) ?? [];
    const pods = this.api.store
      .view(this.podType, namespace)
      .filter((p) => matchesLabels(selector, stringMapAt(objectAt(p, 'metadata'), 'labels')));
    const expected = pods.length;
    const healthy = pods.filter(isPodReady).length;
    const minAvailable = resolve(spec?.minAvailable, expected, true);
    const maxUnavailable = resolve(spec?.maxUnavailable, expected, true);
    const desired =
      minAvailable ?? (maxUnavailable === undefined ? expected : Math.max(0, expected - maxUnavailable));
    const allowed = Math.max(0, healthy - desired);
    const now = this.api.timestamp();
    const old = objectsAt(objectAt(pdb, 'status'), 'conditions').find((c) => c.type === 'DisruptionAllowed');
    const conditionStatus = allowed > 0 ? 'True' : 'False';
    const reason = allowed > 0 ? 'SufficientPods' : 'InsufficientPods';
    const condition: JsonObject = {
      type: 'DisruptionAllowed',
      status: conditionStatus,
      reason,
      message: '',
      observedGeneration: numberAt(objectAt(pdb, 'metadata'), 'generation') ?? 1,
      lastTransitionTime:
        old !== undefined && old.status === conditionStatus ? (old.lastTransitionTime ?? now) : now,
    };
    const status: JsonObject = {
      observedGeneration: numberAt(objectAt(pdb, 'metadata'), 'generation') ?? 1,
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: desired,
      expectedPods: expected,
      conditions: [condition],
    };
    if (jsonEqual(status, pdb.status)) return;
    const next = cloneJson(pdb);
    next.status = status;
    this.api.writeInternal(this.pdbType, pdb, next, 'status');
  }
}

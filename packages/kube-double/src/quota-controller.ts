import { QueueController, keyOf, splitKey } from './controller.js';
import { cloneJson, jsonEqual, objectAt, objectsAt, stringAt, type JsonObject } from './json-value.js';
import { nameOf, namespaceOf, type StoreChange } from './object-store.js';
import { podPhase } from './owned-pods.js';
import { formatMilli, parseMilli } from './quantity.js';
import { builtInType, qualifiedName } from './resource-table.js';

/** Counted resources whose quota names have no `count/` prefix. */
const PLAIN_COUNTS: Readonly<Record<string, string>> = {
  pods: 'pods',
  services: 'services',
  configmaps: 'configmaps',
  secrets: 'secrets',
  persistentvolumeclaims: 'persistentvolumeclaims',
  resourcequotas: 'resourcequotas',
};

/**
 * The resource-quota controller's accounting: each ResourceQuota's status shows its `hard` limits
 * and what the namespace `used` of each (object counts, and the requests and limits of the pods
 * that still run). Nothing is enforced: a write over quota is accepted.
 */
export class QuotaController extends QueueController {
  private readonly quotaType = builtInType('ResourceQuota');

  protected onChange(change: StoreChange): void {
    const namespace = namespaceOf(change.object);
    if (change.resourceType === this.quotaType) {
      this.queue.add(keyOf(namespace, nameOf(change.object)));
      return;
    }
    if (namespace === '' || change.resourceType.kind === 'Event') return;
    for (const quota of this.api.store.view(this.quotaType, namespace))
      this.queue.add(keyOf(namespace, nameOf(quota)));
  }

  protected sync(key: string): void {
    const [namespace, name] = splitKey(key);
    const quota = this.api.store.peek(this.quotaType, namespace, name);
    if (quota === undefined) return;
    const hard = objectAt(objectAt(quota, 'spec'), 'hard') ?? {};
    const used: JsonObject = {};
    for (const resource of Object.keys(hard)) {
      const value = this.usage(namespace, resource);
      if (value !== undefined) used[resource] = value;
    }
    const status: JsonObject = { hard: cloneJson(hard), used };
    if (jsonEqual(status, quota.status)) return;
    const next = cloneJson(quota);
    next.status = status;
    this.api.writeInternal(this.quotaType, quota, next, 'status');
  }

  private usage(namespace: string, resource: string): string | undefined {
    const counted = resource.startsWith('count/') ? resource.slice('count/'.length) : PLAIN_COUNTS[resource];
    if (counted !== undefined) {
      const type = this.api.catalog.all().find((t) => qualifiedName(t) === counted);
      if (type === undefined) return undefined;
      const objects = this.api.store.view(type, namespace);
      const live =
        type.kind === 'Pod'
          ? objects.filter((p) => podPhase(p) !== 'Succeeded' && podPhase(p) !== 'Failed')
          : objects;
      return String(live.length);
    }
    const [scope, unit] = resource.includes('.') ? resource.split('.', 2) : ['requests', resource];
    if (unit === 'storage') {
      let total = 0;
      for (const claim of this.api.store.view(builtInType('PersistentVolumeClaim'), namespace))
        total +=
          parseMilli(
            stringAt(objectAt(objectAt(objectAt(claim, 'spec'), 'resources'), 'requests'), 'storage') ?? '0',
          ) ?? 0;
      return formatMilli(total, true);
    }
    if (unit !== 'cpu' && unit !== 'memory' && unit !== 'ephemeral-storage') return undefined;
    let total = 0;
    for (const pod of this.api.store.view(builtInType('Pod'), namespace)) {
      if (podPhase(pod) === 'Succeeded' || podPhase(pod) === 'Failed') continue;
      for (const container of objectsAt(objectAt(pod, 'spec'), 'containers')) {
        const value = objectAt(
          objectAt(container, 'resources'),
          scope === 'limits' ? 'limits' : 'requests',
        )?.[unit];
        if (typeof value === 'string' || typeof value === 'number') total += parseMilli(value) ?? 0;
      }
    }
    return formatMilli(total, unit !== 'cpu');
  }
}

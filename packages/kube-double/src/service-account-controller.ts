import { QueueController } from './controller.js';
import { objectAt } from './json-value.js';
import { nameOf, namespaceOf, type StoreChange } from './object-store.js';
import { builtInType } from './resource-table.js';

/**
 * The ServiceAccount controller's one job that applications notice: every namespace has a `default`
 * ServiceAccount (pods that name none run as it; admission refuses a pod whose account is missing).
 * It is made in the same turn as the namespace, so no pod is ever refused for want of it.
 */
export class ServiceAccountController extends QueueController {
  private readonly namespaceType = builtInType('Namespace');
  private readonly accountType = builtInType('ServiceAccount');

  /** Starts hearing changes, and gives the namespaces that exist already their account. */
  override start(): void {
    super.start();
    for (const namespace of this.api.store.view(this.namespaceType)) this.sync(nameOf(namespace));
  }

  protected onChange(change: StoreChange): void {
    if (change.resourceType === this.namespaceType && change.type !== 'DELETED')
      this.sync(nameOf(change.object));
    else if (
      change.resourceType === this.accountType &&
      change.type === 'DELETED' &&
      nameOf(change.object) === 'default'
    )
      this.queue.add(namespaceOf(change.object));
  }

  protected sync(namespace: string): void {
    const ns = this.api.store.peek(this.namespaceType, '', namespace);
    if (ns === undefined || objectAt(ns, 'metadata')?.deletionTimestamp !== undefined) return;
    if (this.api.store.peek(this.accountType, namespace, 'default') !== undefined) return;
    this.api.createInternal(this.accountType, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace },
    });
  }
}

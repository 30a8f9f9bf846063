import type { ApiServer } from './api-server.js';
import type { StoreChange } from './object-store.js';
import { ReconcileQueue } from './reconcile-queue.js';

/**
 * The shape every controller of the double shares: it hears every change to the store, queues the
 * keys a change concerns, and syncs each key once per burst on a later turn of the event loop.
 */
export abstract class QueueController {
  protected readonly queue: ReconcileQueue;
  private unsubscribe = (): void => undefined;

  constructor(
    protected readonly api: ApiServer,
    onError: (key: string, error: unknown) => void,
  ) {
    this.queue = new ReconcileQueue((key) => {
      this.sync(key);
    }, onError);
  }

  /** Starts hearing changes. */
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

  /** Queues what a change concerns. */
  protected abstract onChange(change: StoreChange): void;

  /** Brings one key (usually `namespace/name`) to its desired state. */
  protected abstract sync(key: string): void;
}

/** `namespace/name` of an object, the key most controllers queue. */
export function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The namespace and name of a key made by {@link keyOf}. */
export function splitKey(key: string): [namespace: string, name: string] {
  const slash = key.indexOf('/');
  return slash < 0 ? ['', key] : [key.slice(0, slash), key.slice(slash + 1)];
}

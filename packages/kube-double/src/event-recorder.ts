import type { ApiServer } from './api-server.js';
import { numberAt, objectAt, stringAt, type JsonObject } from './json-value.js';
import { resourceTypeOfKind } from './resource-table.js';

/** Where an event comes from, beyond its component. */
export interface EventOrigin {
  /** The node of a kubelet's event (`source.host`, `reportingInstance`). */
  readonly host?: string;
  /** The part of the object it is about: `spec.containers{web}` for a container's. */
  readonly fieldPath?: string;
}

/** Distinct events remembered for aggregation; past this many the oldest are forgotten. */
const REMEMBERED = 10_000;

/**
 * Writes core/v1 Events about objects, as controllers do (`kubectl describe` lists them). The same
 * event again (same object, type, reason, message and source) is not a new Event: its `count` goes
 * up and its `lastTimestamp` moves, as client-go's event correlator does, so a crash loop shows as
 * one `BackOff` seen many times.
 */
export class EventRecorder {
  private sequence = 0;
  /** Aggregation key → the name of the Event that holds it. */
  private readonly seen = new Map<string, string>();

  constructor(private readonly api: ApiServer) {}

  /** Records a Normal (or Warning) event about `object`. */
  record(
    object: JsonObject,
    reason: string,
    message: string,
    component: string,
    type: 'Normal' | 'Warning' = 'Normal',
    origin: EventOrigin = {},
  ): void {
    const eventType = resourceTypeOfKind('Event');
    if (eventType === undefined) return;
    const metadata = objectAt(object, 'metadata');
    const namespace = stringAt(metadata, 'namespace') ?? 'default';
    const name = stringAt(metadata, 'name') ?? '';
    const uid = stringAt(metadata, 'uid') ?? '';
    const now = this.api.timestamp();
    const key = [namespace, uid, name, origin.fieldPath ?? '', type, reason, message, component].join('\n');
    const existing = this.seen.get(key);
    try {
      const known = existing === undefined ? undefined : this.api.store.peek(eventType, namespace, existing);
      if (known !== undefined) {
        this.api.writeInternal(
          eventType,
          known,
          { ...known, count: (numberAt(known, 'count') ?? 1) + 1, lastTimestamp: now },
          undefined,
        );
        return;
      }
      this.sequence++;
      const suffix = (Date.now() * 1000 + this.sequence).toString(16).slice(-16).padStart(16, '0');
      const eventName = `${name}.${suffix}`;
      this.api.createInternal(eventType, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: eventName, namespace },
        involvedObject: {
          kind: stringAt(object, 'kind') ?? '',
          namespace,
          name,
          uid,
          apiVersion: stringAt(object, 'apiVersion') ?? '',
          resourceVersion: stringAt(metadata, 'resourceVersion') ?? '',
          ...(origin.fieldPath === undefined ? {} : { fieldPath: origin.fieldPath }),
        },
        reason,
        message,
        source: { component, ...(origin.host === undefined ? {} : { host: origin.host }) },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type,
        eventTime: null,
        reportingComponent: component,
        reportingInstance: origin.host ?? '',
      });
      if (this.seen.size >= REMEMBERED) {
        const oldest = this.seen.keys().next().value;
        if (oldest !== undefined) this.seen.delete(oldest);
      }
      this.seen.set(key, eventName);
    } catch {
      // The namespace may be going away; events are best effort, as in a real cluster.
    }
  }
}

import type { ApiServer } from './api-server.js';
import { objectAt, stringAt, type JsonObject } from './json-value.js';
import { resourceTypeOfKind } from './resource-table.js';

/** Writes core/v1 Events about objects, as controllers do (`kubectl describe` lists them). */
export class EventRecorder {
  private sequence = 0;

  constructor(private readonly api: ApiServer) {}

  /** Records a Normal (or Warning) event about `object`. */
  record(
    object: JsonObject,
    reason: string,
    message: string,
    component: string,
    type: 'Normal' | 'Warning' = 'Normal',
  ): void {
    const eventType = resourceTypeOfKind('Event');
    if (eventType === undefined) return;
    const metadata = objectAt(object, 'metadata');
    const namespace = stringAt(metadata, 'namespace') ?? 'default';
    const name = stringAt(metadata, 'name') ?? '';
    const now = this.api.timestamp();
    this.sequence++;
    const suffix = (Date.now() * 1000 + this.sequence).toString(16).slice(-16).padStart(16, '0');
    try {
      this.api.createInternal(eventType, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${name}.${suffix}`, namespace },
        involvedObject: {
          kind: stringAt(object, 'kind') ?? '',
          namespace,
          name,
          uid: stringAt(metadata, 'uid') ?? '',
          apiVersion: stringAt(object, 'apiVersion') ?? '',
          resourceVersion: stringAt(metadata, 'resourceVersion') ?? '',
        },
        reason,
        message,
        source: { component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type,
        eventTime: null,
        reportingComponent: component,
        reportingInstance: '',
      });
    } catch {
      // The namespace may be going away; events are best effort, as in a real cluster.
    }
  }
}

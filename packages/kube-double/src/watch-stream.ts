import type { ServerResponse } from 'node:http';
import { statusBody } from './api-status.js';
import type { JsonObject } from './json-value.js';
import { INITIAL_EVENTS_END_ANNOTATION } from './list-options.js';
import { namespaceOf, type ObjectStore, type StoreChange } from './object-store.js';
import { apiVersionOf, storageKey, type ResourceType } from './resource-table.js';

/** What a WATCH asked for. */
export interface WatchRequest {
  readonly type: ResourceType;
  /** Undefined for all namespaces. */
  readonly namespace: string | undefined;
  readonly matches: (object: JsonObject) => boolean;
  /** Undefined or "0": start with ADDED for everything that exists now. */
  readonly resourceVersion: string | undefined;
  /**
   * A watch-list's `sendInitialEvents` (undefined when not sent): true starts with ADDED for
   * everything that exists now, whatever the resourceVersion, then (with bookmarks allowed) a
   * BOOKMARK annotated `k8s.io/initial-events-end`; false sends no initial state at all.
   */
  readonly sendInitialEvents?: boolean;
  readonly timeoutSeconds: number | undefined;
  readonly allowBookmarks: boolean;
  readonly bookmarkIntervalMs: number;
  /** Converts each object before it is sent (a Table row, for `kubectl get -w`). */
  readonly present?: (object: JsonObject) => JsonObject;
  /** An injected fault: close the stream after this many milliseconds. */
  readonly dropAfterMs?: number;
}

/**
 * Streams watch events as the real server does: one JSON object per line over a chunked 200,
 * starting after the requested resourceVersion (410 Expired as an ERROR event when the log no longer
 * reaches back that far), or with the current state for a watch-list (`sendInitialEvents=true`,
 * ended by the annotated BOOKMARK its client waits for), BOOKMARKs when asked, closing at
 * `timeoutSeconds`. Returns a function that ends the stream.
 */
export function serveWatch(store: ObjectStore, request: WatchRequest, res: ServerResponse): () => void {
  const { type } = request;
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  const send = (eventType: string, object: JsonObject): void => {
    if (res.writableEnded) return;
    const shown =
      request.present !== undefined && eventType !== 'BOOKMARK' && eventType !== 'ERROR'
        ? request.present(object)
        : object;
    res.write(`${JSON.stringify({ type: eventType, object: shown })}\n`);
  };
  const key = storageKey(type);
  const inScope = (change: StoreChange): boolean =>
    storageKey(change.resourceType) === key &&
    (request.namespace === undefined || namespaceOf(change.object) === request.namespace);
  const deliver = (change: StoreChange): void => {
    if (!inScope(change)) return;
    const now = request.matches(change.object);
    const before = change.previous !== undefined && request.matches(change.previous);
    if (change.type === 'DELETED') {
      if (before || now) send('DELETED', change.object);
    } else if (change.type === 'ADDED') {
      if (now) send('ADDED', change.object);
    } else if (now && before) send('MODIFIED', change.object);
    else if (now) send('ADDED', change.object);
    else if (before) send('DELETED', change.object);
  };

  const timers: NodeJS.Timeout[] = [];
  let bookmarkTimer: NodeJS.Timeout | undefined;
  let unsubscribe = (): void => undefined;
  const stop = (): void => {
    for (const t of timers) clearTimeout(t);
    clearTimeout(bookmarkTimer);
    unsubscribe();
    if (!res.writableEnded) res.end();
  };

  const bookmarkAt = (resourceVersion: number, annotations?: Record<string, string>): JsonObject => ({
    kind: type.kind,
    apiVersion: apiVersionOf(type),
    metadata: {
      resourceVersion: String(resourceVersion),
      ...(annotations === undefined ? {} : { annotations }),
    },
  });
  const rv = request.resourceVersion;
  const fromNow = rv === undefined || rv === '' || rv === '0';
  if (request.sendInitialEvents === true) {
    // NotOlderThan any resourceVersion: the double's state is always the newest, so the initial
    // events are what exists now, and the bookmark carries the resourceVersion they show.
    const at = store.currentResourceVersion();
    for (const object of store.view(type, request.namespace))
      if (request.matches(object)) send('ADDED', object);
    if (request.allowBookmarks) send('BOOKMARK', bookmarkAt(at, { [INITIAL_EVENTS_END_ANNOTATION]: 'true' }));
  } else if (fromNow) {
    if (request.sendInitialEvents === undefined)
      for (const object of store.view(type, request.namespace))
        if (request.matches(object)) send('ADDED', object);
  } else {
    const since = Number(rv);
    const changes = Number.isFinite(since) ? store.changesSince(since) : 'expired';
    if (changes === 'expired') {
      send(
        'ERROR',
        statusBody({
          code: 410,
          reason: 'Expired',
          message: `too old resource version: ${rv} (${store.oldestWatchableResourceVersion() + 1})`,
        }),
      );
      res.end();
      return stop;
    }
    for (const change of changes) deliver(change);
  }
  unsubscribe = store.subscribe(deliver);

  if (request.allowBookmarks) {
    const bookmark = (): void => {
      send('BOOKMARK', bookmarkAt(store.currentResourceVersion()));
      bookmarkTimer = setTimeout(bookmark, request.bookmarkIntervalMs);
    };
    bookmarkTimer = setTimeout(bookmark, request.bookmarkIntervalMs);
  }
  if (request.timeoutSeconds !== undefined && request.timeoutSeconds > 0)
    timers.push(setTimeout(stop, request.timeoutSeconds * 1000));
  if (request.dropAfterMs !== undefined) timers.push(setTimeout(() => res.destroy(), request.dropAfterMs));
  res.on('close', stop);
  return stop;
}

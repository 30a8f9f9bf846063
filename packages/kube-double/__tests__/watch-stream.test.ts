import { afterEach, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type KubeDouble } from '../src/index.js';

let double: KubeDouble | undefined;

afterEach(async () => {
  await double?.close();
  double = undefined;
});

interface WatchEvent {
  type: string;
  object: {
    kind?: string;
    metadata?: { name?: string; resourceVersion?: string };
    code?: number;
    reason?: string;
  };
}

/** A watch being read: `opened` once the server has answered (and subscribed), `result` at the end. */
interface OpenWatch {
  readonly opened: Promise<void>;
  /** `count`: enough events came; `server`: the server ended the stream; `client`: our timeout. */
  readonly result: Promise<{ events: WatchEvent[]; endedBy: 'count' | 'server' | 'client' }>;
}

/** Reads watch events until `count` arrived, the stream ends, or `timeoutMs` passes. */
function watch(url: string, count: number, timeoutMs = 5000): OpenWatch {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort();
  }, timeoutMs);
  let opened = (): void => undefined;
  const openedPromise = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const read = async (): Promise<{ events: WatchEvent[]; endedBy: 'count' | 'server' | 'client' }> => {
    const events: WatchEvent[] = [];
    try {
      const response = await fetch(url, { signal: controller.signal });
      // The double subscribes before it answers, so from here on no change is missed.
      opened();
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/json');
      const decoder = new TextDecoder();
      let buffer = '';
      if (response.body !== null)
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buffer.slice(0, newline)) as WatchEvent);
            buffer = buffer.slice(newline + 1);
          }
          if (events.length >= count) {
            controller.abort();
            return { events, endedBy: 'count' };
          }
        }
      return { events, endedBy: 'server' };
    } catch (error) {
      // An abort is ours; "terminated" is the server closing the connection (close(), a dropped watch).
      if (controller.signal.aborted) return { events, endedBy: 'client' };
      if ((error as Error).message === 'terminated') return { events, endedBy: 'server' };
      throw error;
    } finally {
      clearTimeout(timer);
      opened();
    }
  };
  return { opened: openedPromise, result: read() };
}

/** Reads watch events until `count` arrived or the stream ends. */
async function readEvents(url: string, count: number, timeoutMs = 5000): Promise<WatchEvent[]> {
  return (await watch(url, count, timeoutMs).result).events;
}

async function put(
  d: KubeDouble,
  method: string,
  path: string,
  body: unknown,
  contentType = 'application/json',
): Promise<Response> {
  return fetch(`${d.url}${path}`, {
    method,
    headers: { 'content-type': contentType },
    body: JSON.stringify(body),
  });
}

const configMap = (
  name: string,
  labels: Record<string, string> = {},
  data: Record<string, string> = {},
): unknown => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels },
  data,
});

describe('watch', () => {
  it('replays changes after a resourceVersion: ADDED, MODIFIED, DELETED, with kind and apiVersion', async () => {
    double = await startKubeDouble();
    const list = (await (await fetch(`${double.url}/api/v1/namespaces/default/configmaps`)).json()) as {
      metadata: { resourceVersion: string };
    };
    const from = list.metadata.resourceVersion;
    await put(double, 'POST', '/api/v1/namespaces/default/configmaps', configMap('w', {}, { a: '1' }));
    await put(
      double,
      'PATCH',
      '/api/v1/namespaces/default/configmaps/w',
      { data: { a: '2' } },
      'application/merge-patch+json',
    );
    await fetch(`${double.url}/api/v1/namespaces/default/configmaps/w`, { method: 'DELETE' });
    const events = await readEvents(
      `${double.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${from}`,
      3,
    );
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(events.every((e) => e.object.kind === 'ConfigMap' && e.object.metadata?.name === 'w')).toBe(true);
    const versions = events.map((e) => Number(e.object.metadata?.resourceVersion));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(versions[0]).toBeGreaterThan(Number(from));
  });

  it('filters by label selector: an object leaving the selection is DELETED for the watcher', async () => {
    double = await startKubeDouble();
    const { url } = double;
    const pending = watch(
      `${url}/api/v1/namespaces/default/configmaps?watch=1&labelSelector=tier%3Dfront`,
      2,
    );
    await pending.opened;
    await put(double, 'POST', '/api/v1/namespaces/default/configmaps', configMap('a', { tier: 'front' }));
    await put(double, 'POST', '/api/v1/namespaces/default/configmaps', configMap('b', { tier: 'back' }));
    await put(
      double,
      'PATCH',
      '/api/v1/namespaces/default/configmaps/a',
      { metadata: { labels: { tier: 'back' } } },
      'application/merge-patch+json',
    );
    const { events } = await pending.result;
    expect(events.map((e) => [e.type, e.object.metadata?.name])).toEqual([
      ['ADDED', 'a'],
      ['DELETED', 'a'],
    ]);
  });

  it('sends BOOKMARKs when asked', async () => {
    double = await startKubeDouble({ bookmarkIntervalMs: 100 });
    // Read once the controllers are done with the new cluster, so no write moves it meanwhile.
    await double.settle();
    const current = String(double.api.store.currentResourceVersion());
    const events = await readEvents(
      `${double.url}/apis/apps/v1/namespaces/default/deployments?watch=true&allowWatchBookmarks=true&resourceVersion=${current}`,
      2,
    );
    expect(events.map((e) => e.type)).toEqual(['BOOKMARK', 'BOOKMARK']);
    expect(events[0]?.object).toEqual({
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { resourceVersion: current },
    });
  });

  it('answers 410 Expired for a resourceVersion older than the kept log', async () => {
    double = await startKubeDouble({ eventLogLimit: 3 });
    const start = double.api.store.currentResourceVersion();
    for (let i = 0; i < 5; i++)
      await put(double, 'POST', '/api/v1/namespaces/default/configmaps', configMap(`c${i}`));
    const events = await readEvents(
      `${double.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${start}`,
      1,
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe('ERROR');
    expect(events[0]?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  });

  it('ends the stream at timeoutSeconds, and close() ends open watches', async () => {
    double = await startKubeDouble();
    // Our own deadlines are far beyond the server's: a stream the server did not end shows as 'client'.
    const started = Date.now();
    const timedOut = await watch(
      `${double.url}/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&resourceVersion=${double.api.store.currentResourceVersion()}`,
      1,
      30_000,
    ).result;
    expect(timedOut).toEqual({ events: [], endedBy: 'server' });
    // Not before timeoutSeconds (a lower bound: a slow test process can only make it longer).
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    const open = watch(
      `${double.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${double.api.store.currentResourceVersion()}`,
      1,
      30_000,
    );
    await open.opened;
    await double.close();
    expect(await open.result).toEqual({ events: [], endedBy: 'server' });
  });
});

describe('watch-list (sendInitialEvents), as kubectl 1.35 asks for it', () => {
  const watchList =
    'watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true';

  it('sends the current state as ADDED, then the BOOKMARK that ends it, then changes', async () => {
    double = await startKubeDouble({ bookmarkIntervalMs: 60_000 });
    await put(double, 'POST', '/api/v1/namespaces/default/configmaps', configMap('a', { tier: 'front' }));
    await put(double, 'POST', '/api/v1/namespaces/default/configmaps', configMap('b', { tier: 'back' }));
    await double.settle();
    const current = String(double.api.store.currentResourceVersion());
    const pending = watch(
      `${double.url}/api/v1/namespaces/default/configmaps?${watchList}&labelSelector=tier%3Dfront`,
      3,
    );
    await pending.opened;
    await put(
      double,
      'PATCH',
      '/api/v1/namespaces/default/configmaps/a',
      { data: { x: '1' } },
      'application/merge-patch+json',
    );
    const { events } = await pending.result;
    expect(events.map((e) => [e.type, e.object.metadata?.name])).toEqual([
      ['ADDED', 'a'],
      ['BOOKMARK', undefined],
      ['MODIFIED', 'a'],
    ]);
    expect(events[1]?.object).toEqual({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { resourceVersion: current, annotations: { 'k8s.io/initial-events-end': 'true' } },
    });
  });

  it('with a resourceVersion too: the state at least as new as it, not the changes since', async () => {
    double = await startKubeDouble({ bookmarkIntervalMs: 60_000 });
    const from = String(double.api.store.currentResourceVersion());
    await put(double, 'POST', '/api/v1/namespaces/default/configmaps', configMap('a', { t: 'x' }));
    await put(
      double,
      'PATCH',
      '/api/v1/namespaces/default/configmaps/a',
      { data: { x: '1' } },
      'application/merge-patch+json',
    );
    const events = await readEvents(
      `${double.url}/api/v1/namespaces/default/configmaps?${watchList}&resourceVersion=${from}&labelSelector=t%3Dx`,
      2,
    );
    expect(events.map((e) => [e.type, e.object.metadata?.name])).toEqual([
      ['ADDED', 'a'],
      ['BOOKMARK', undefined],
    ]);
  });

  it('sendInitialEvents=false sends no initial state, only what changes', async () => {
    double = await startKubeDouble({ bookmarkIntervalMs: 60_000 });
    await put(double, 'POST', '/api/v1/namespaces/default/configmaps', configMap('old', { t: 'x' }));
    const pending = watch(
      `${double.url}/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&labelSelector=t%3Dx`,
      1,
    );
    await pending.opened;
    await put(double, 'POST', '/api/v1/namespaces/default/configmaps', configMap('new', { t: 'x' }));
    const { events } = await pending.result;
    expect(events.map((e) => [e.type, e.object.metadata?.name])).toEqual([['ADDED', 'new']]);
  });

  it.each([
    [
      'sendInitialEvents without resourceVersionMatch',
      'watch=true&sendInitialEvents=true',
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    ],
    [
      'resourceVersionMatch on a watch without sendInitialEvents',
      'watch=true&resourceVersionMatch=NotOlderThan',
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
    ],
    [
      'an Exact watch-list',
      'watch=true&sendInitialEvents=true&resourceVersionMatch=Exact',
      'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]',
    ],
    [
      'sendInitialEvents on a list',
      'sendInitialEvents=true',
      'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list',
    ],
    [
      'resourceVersionMatch on a list without a resourceVersion',
      'resourceVersionMatch=NotOlderThan',
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    ],
  ])('refuses %s with 422 Invalid, as the real server does', async (_, query, message) => {
    double = await startKubeDouble();
    const response = await fetch(`${double.url}/api/v1/namespaces/default/configmaps?${query}`);
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      code: 422,
      message,
      details: { group: 'meta.k8s.io', kind: 'ListOptions' },
    });
  });

  it('still lists with resourceVersionMatch and a resourceVersion', async () => {
    double = await startKubeDouble();
    const response = await fetch(
      `${double.url}/api/v1/namespaces/default/configmaps?resourceVersion=0&resourceVersionMatch=NotOlderThan`,
    );
    expect(response.status).toBe(200);
  });
});

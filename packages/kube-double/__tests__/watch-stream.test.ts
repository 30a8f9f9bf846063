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

/** Reads watch events until `count` arrived or the stream ends. */
async function readEvents(url: string, count: number, timeoutMs = 5000): Promise<WatchEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort();
  }, timeoutMs);
  const events: WatchEvent[] = [];
  try {
    const response = await fetch(url, { signal: controller.signal });
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
        if (events.length >= count) break;
      }
    controller.abort();
  } catch (error) {
    // An abort is ours; "terminated" is the server closing the connection (close(), a dropped watch).
    const terminated = (error as Error).message === 'terminated';
    if (!controller.signal.aborted && !terminated) throw error;
  } finally {
    clearTimeout(timer);
  }
  return events;
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
    const pending = readEvents(
      `${url}/api/v1/namespaces/default/configmaps?watch=1&labelSelector=tier%3Dfront`,
      2,
    );
    await new Promise((r) => setTimeout(r, 200));
    await put(double, 'POST', '/api/v1/namespaces/default/configmaps', configMap('a', { tier: 'front' }));
    await put(double, 'POST', '/api/v1/namespaces/default/configmaps', configMap('b', { tier: 'back' }));
    await put(
      double,
      'PATCH',
      '/api/v1/namespaces/default/configmaps/a',
      { metadata: { labels: { tier: 'back' } } },
      'application/merge-patch+json',
    );
    const events = await pending;
    expect(events.map((e) => [e.type, e.object.metadata?.name])).toEqual([
      ['ADDED', 'a'],
      ['DELETED', 'a'],
    ]);
  });

  it('sends BOOKMARKs when asked', async () => {
    double = await startKubeDouble({ bookmarkIntervalMs: 100 });
    const events = await readEvents(
      `${double.url}/apis/apps/v1/namespaces/default/deployments?watch=true&allowWatchBookmarks=true&resourceVersion=${double.api.store.currentResourceVersion()}`,
      2,
    );
    expect(events.map((e) => e.type)).toEqual(['BOOKMARK', 'BOOKMARK']);
    expect(events[0]?.object).toEqual({
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { resourceVersion: String(double.api.store.currentResourceVersion()) },
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
    const started = Date.now();
    await readEvents(
      `${double.url}/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&resourceVersion=${double.api.store.currentResourceVersion()}`,
      1,
      5000,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    const open = readEvents(
      `${double.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${double.api.store.currentResourceVersion()}`,
      1,
      10_000,
    );
    await new Promise((r) => setTimeout(r, 200));
    const closing = Date.now();
    await double.close();
    await open;
    expect(Date.now() - closing).toBeLessThan(3000);
  });
});

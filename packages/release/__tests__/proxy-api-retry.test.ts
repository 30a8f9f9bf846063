import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeApiError, type KubeObject } from '@dreamscape/kube';
import { startTestCluster, type TestCluster } from './support/cluster.js';

/**
 * Which requests the API client sends again, through the real `kubectl proxy` to the kube-double
 * with injected faults: a 429 (turned away unprocessed) is retried whatever the method; a 5xx only
 * for requests safe to repeat, never a create or a compare-and-swap.
 */
describe('ProxyApi retries', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster({ namespaces: ['shop'] });
  });
  afterAll(async () => {
    await cluster.close();
  });

  const configMapNames = (): string[] =>
    cluster.double.objects('configmaps', 'shop').map((o) => (o.metadata as { name: string }).name);

  const configMap = (name: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'shop' },
    data: { a: '1' },
  });

  it('retries a create answered 429, and the object exists once', async () => {
    cluster.double.setFaults([{ verbs: ['create'], resources: ['configmaps'], error: 429, limit: 2 }]);
    const created = await cluster.api.create(configMap('throttled'));
    expect(created.metadata.name).toBe('throttled');
    expect(cluster.double.faultCounts()).toEqual([2]);
    expect(configMapNames().filter((n) => n === 'throttled')).toHaveLength(1);
  });

  it('does not repeat a create answered 503: the caller gets the error', async () => {
    cluster.double.setFaults([{ verbs: ['create'], resources: ['configmaps'], error: 503, limit: 1 }]);
    const error = await cluster.api.create(configMap('unavailable')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).statusCode).toBe(503);
    expect(cluster.double.faultCounts()).toEqual([1]);
    expect(configMapNames()).not.toContain('unavailable');
  });

  it('retries a read answered 503 until it succeeds', async () => {
    cluster.double.setFaults([{ verbs: ['get'], resources: ['configmaps'], error: 503, limit: 2 }]);
    const got = await cluster.api.get({ kind: 'ConfigMap', name: 'throttled', namespace: 'shop' });
    expect(got?.metadata.name).toBe('throttled');
    expect(cluster.double.faultCounts()).toEqual([2]);
  });

  it('retries an access review answered 500: it is a question, and stores nothing', async () => {
    cluster.double.setFaults([
      { verbs: ['create'], resources: ['selfsubjectaccessreviews'], error: 500, limit: 2 },
    ]);
    const denied = await cluster.api.canIAll([{ verb: 'get', resource: 'configmaps', namespace: 'shop' }]);
    expect(denied).toEqual([]);
    expect(cluster.double.faultCounts()).toEqual([2]);
  });

  it('gives up on a 429 that does not go away, after four attempts', async () => {
    cluster.double.setFaults([{ verbs: ['update'], resources: ['configmaps'], error: 429 }]);
    const live = await cluster.api.get({ kind: 'ConfigMap', name: 'throttled', namespace: 'shop' });
    const error = await cluster.api.replace({ ...live!, data: { a: '2' } }).catch((e: unknown) => e);
    expect((error as KubeApiError).statusCode).toBe(429);
    expect(cluster.double.faultCounts()).toEqual([4]);
    cluster.double.setFaults([]);
  }, 20_000);
});

import { describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '@dreamscape/core';
import {
  colorIsReady,
  readLiveColors,
  readLiveState,
  ReleaseHistory,
  type ReleaseRecord,
} from '../src/index.js';
import { shopPlan, shopService } from './support/engine.js';
import { FakeClusterApi } from './support/fake-api.js';

const scope = { app: 'shop', environment: 'dev', namespace: 'shop' };

describe('the live state a release starts from', () => {
  it('a first deploy finds no color; one color is the live one; un-colored Services are adopted', async () => {
    const plan = shopPlan();
    const history = new ReleaseHistory(new FakeClusterApi(), new MemoryLogger(), scope);
    const api = new FakeClusterApi();
    expect((await readLiveState(api, plan, history)).active).toBeUndefined();
    api.seed(shopService('web', 'green'));
    // api is missing: a new Service takes the live color.
    expect((await readLiveState(api, plan, history)).active).toBe('green');
    const legacy = new FakeClusterApi();
    legacy.seed(shopService('web'), shopService('api'));
    expect((await readLiveState(legacy, plan, history)).active).toBe('legacy');
  });

  it('Services that disagree mid-switch are explained by the journal of the release in progress', async () => {
    const plan = shopPlan();
    const api = new FakeClusterApi();
    api.seed(shopService('web', 'green'), shopService('api', 'blue'));
    const inflight = { result: 'in-progress', color: 'green', previousColor: 'blue' } as ReleaseRecord;
    const live = await readLiveState(api, plan, {
      list: () => Promise.resolve([{ record: inflight, resourceVersion: '1' }]),
    });
    expect(live.active).toBe('blue');
  });

  it('a color is ready when every Deployment of it has all its replicas available', async () => {
    const plan = shopPlan();
    const api = new FakeClusterApi();
    const dep = (name: string, replicas: number, available: number) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'shop' },
      spec: { replicas },
      status: { availableReplicas: available },
    });
    api.seed(dep('web-blue', 2, 2), dep('api-blue', 3, 2));
    const history = new ReleaseHistory(api, new MemoryLogger(), scope);
    expect(colorIsReady(plan, await readLiveState(api, plan, history), 'blue')).toBe(false);
    api.seed(dep('api-blue', 3, 3));
    expect(colorIsReady(plan, await readLiveState(api, plan, history), 'blue')).toBe(true);
    expect(colorIsReady(plan, await readLiveState(api, plan, history), undefined)).toBe(false);
  });

  it('preflight reads the colors and the replicas each Deployment runs', async () => {
    const plan = shopPlan();
    const api = new FakeClusterApi();
    api.seed(shopService('web', 'blue'), shopService('api', 'blue'), shopService('web-preview'), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web-blue', namespace: 'shop' },
      spec: { replicas: 5 },
    });
    const colors = await readLiveColors(api, plan, true);
    expect(colors.active).toBe('blue');
    expect(colors.candidate).toBe('green');
    expect([...colors.legacy]).toEqual(['web-preview']);
    expect(colors.replicas?.get('web-blue')).toBe(5);
    const none = await readLiveColors(api, plan, false);
    expect(none.candidate).toBe('blue');
    expect(none.replicas?.size).toBe(0);
  });
});

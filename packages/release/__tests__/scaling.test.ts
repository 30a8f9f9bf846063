import { describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '@dreamscape/core';
import type { Deployment } from '@dreamscape/kube';
import { applyScales, scaleDown, ScaleDownRefusedError } from '../src/index.js';
import { shopPlan, shopService } from './support/engine.js';
import { FakeClusterApi } from './support/fake-api.js';

function deployment(name: string, replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop' },
    spec: { replicas },
  };
}

describe('scaling a color', () => {
  it('scales an idle color to zero, its HPA removed first', async () => {
    const api = new FakeClusterApi();
    const plan = shopPlan();
    api.seed(
      shopService('web', 'green'),
      shopService('api', 'green'),
      deployment('web-blue', 2),
      deployment('api-blue', 4),
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'api-blue', namespace: 'shop' },
      },
    );
    await scaleDown({ plan, api }, 'blue');
    expect(api.peek<Deployment>('Deployment', 'shop', 'web-blue')?.spec?.replicas).toBe(0);
    expect(api.peek<Deployment>('Deployment', 'shop', 'api-blue')?.spec?.replicas).toBe(0);
    expect(api.peek('HorizontalPodAutoscaler', 'shop', 'api-blue')).toBeUndefined();
  });

  it('never scales down a color a live Service selects', async () => {
    const api = new FakeClusterApi();
    const plan = shopPlan();
    api.seed(shopService('web', 'blue'), shopService('api', 'green'), deployment('web-blue', 2));
    await expect(scaleDown({ plan, api }, 'blue')).rejects.toBeInstanceOf(ScaleDownRefusedError);
    expect(api.peek<Deployment>('Deployment', 'shop', 'web-blue')?.spec?.replicas).toBe(2);
  });

  it('raises the candidate to its count, and never cuts what an HPA scaled up', async () => {
    const api = new FakeClusterApi();
    const plan = shopPlan();
    const logger = new MemoryLogger();
    api.seed(deployment('web-green', 0), deployment('api-green', 9));
    await applyScales({ plan, api, logger }, [
      { name: 'web-green', replicas: 2, hpa: false },
      { name: 'api-green', replicas: 4, hpa: true },
    ]);
    expect(api.peek<Deployment>('Deployment', 'shop', 'web-green')?.spec?.replicas).toBe(2);
    expect(api.peek<Deployment>('Deployment', 'shop', 'api-green')?.spec?.replicas).toBe(9);
  });
});

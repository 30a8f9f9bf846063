import { describe, expect, it, jest } from '@jest/globals';
import { MemoryLogger } from '@dreamscape/core';
import type { Deployment, HorizontalPodAutoscaler, KubeObject } from '@dreamscape/kube';
import {
  candidateFromColors,
  candidateFromLive,
  dryRun,
  readLiveColors,
  readLiveState,
  ReleaseHistory,
  releaseObjects,
  releaseWrites,
} from '../src/index.js';
import { shopPlan, shopService } from './support/engine.js';
import { FakeClusterApi } from './support/fake-api.js';

/** A live colored Deployment of the shop running `replicas`. */
function liveDeployment(name: string, replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop' },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: {} },
  };
}

/** The shop live on blue, its HPA having scaled api-blue to 7 (the manifest says 2, at most 5). */
function liveOnBlue(): FakeClusterApi {
  const api = new FakeClusterApi();
  api.seed(
    shopService('web', 'blue'),
    shopService('api', 'blue'),
    shopService('web-preview', 'blue'),
    shopService('api-preview', 'blue'),
    liveDeployment('web-blue', 2),
    liveDeployment('api-blue', 7),
  );
  return api;
}

function find(objects: readonly KubeObject[], kind: string, name: string): KubeObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

describe('what a release writes, for the dry run and the apply alike', () => {
  it('the dry run sees the replica count and the HPA floor the apply writes', async () => {
    const api = liveOnBlue();
    const plan = shopPlan();
    const { objects, scales } = releaseWrites(plan, await readLiveColors(api, plan, true));
    const sent: { objects: readonly KubeObject[]; force: boolean }[] = [];
    const apply = api.applyServerSide.bind(api);
    jest.spyOn(api, 'applyServerSide').mockImplementation((batch, options) => {
      if (options?.dryRun === true)
        sent.push({
          objects: batch,
          force: (options as { forceConflicts?: boolean }).forceConflicts === true,
        });
      return apply(batch, options);
    });

    await dryRun(api, new MemoryLogger(), objects, true, 'shop', scales);

    const checked = sent.flatMap((s) => s.objects);
    // The candidate may carry what the live color carries: its HPA's ceiling is raised to 7.
    expect(
      (find(checked, 'HorizontalPodAutoscaler', 'api-green') as HorizontalPodAutoscaler | undefined)?.spec
        ?.maxReplicas,
    ).toBe(7);
    // The Deployment as the apply writes it (no replicas: they are the scale subresource's) ...
    const unforced = sent.filter((s) => !s.force).flatMap((s) => s.objects);
    expect(
      (find(unforced, 'Deployment', 'api-green') as Deployment | undefined)?.spec?.replicas,
    ).toBeUndefined();
    // ... and as the scale leaves it: 7 replicas, with the scale's ownership forced.
    const forced = sent.filter((s) => s.force).flatMap((s) => s.objects);
    expect((find(forced, 'Deployment', 'api-green') as Deployment | undefined)?.spec?.replicas).toBe(7);
    expect((find(forced, 'Deployment', 'web-green') as Deployment | undefined)?.spec?.replicas).toBe(2);
  });

  it('preflight and the running release build the same objects from the same cluster', async () => {
    const api = liveOnBlue();
    const plan = shopPlan();
    const fromColors = candidateFromColors(plan, await readLiveColors(api, plan, true));
    const live = await readLiveState(api, plan, new ReleaseHistory(api, new MemoryLogger(), plan));
    const fromLive = candidateFromLive(plan, live, live.active, 'green');
    expect(fromColors).toEqual(fromLive);
    expect(fromLive.scales).toEqual([
      { name: 'web-green', replicas: 2, hpa: false },
      { name: 'api-green', replicas: 7, hpa: true },
    ]);
  });

  it('writes existing Services with the color they select; creates missing ones on the candidate', async () => {
    const api = new FakeClusterApi();
    api.seed(shopService('web', 'blue'), shopService('web-preview', 'blue'), liveDeployment('web-blue', 3));
    const plan = shopPlan();
    const release = candidateFromColors(plan, await readLiveColors(api, plan, true));
    expect(
      release.services.map((s) => [
        s.object.metadata.name,
        (s.object as { spec?: { selector?: Record<string, string> } }).spec?.selector?.[
          'dreamscape.io/color'
        ],
        s.when,
      ]),
    ).toEqual([
      ['web', 'blue', 'apply'],
      ['web-preview', 'blue', 'apply'],
      ['api', 'green', 'at-switch'],
      ['api-preview', 'green', 'at-preview'],
    ]);
    expect(release.scales.find((s) => s.name === 'web-green')?.replicas).toBe(3);
  });

  it('leaves an un-colored Service to the switch, and scales beside the un-colored Deployments', async () => {
    const api = new FakeClusterApi();
    api.seed(shopService('web'), shopService('api'), liveDeployment('web', 4), liveDeployment('api', 1));
    const plan = shopPlan();
    const colors = await readLiveColors(api, plan, true);
    const { objects, scales } = releaseWrites(plan, colors);
    expect(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name)).toEqual([
      'web-preview',
      'api-preview',
    ]);
    expect(scales).toEqual([
      { name: 'web-blue', replicas: 4, hpa: false },
      { name: 'api-blue', replicas: 2, hpa: true },
    ]);
    // A diff shows what is applied, never the scale writes.
    expect(releaseObjects(plan, colors)).toEqual(objects);
  });
});

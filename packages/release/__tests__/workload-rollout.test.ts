import { describe, expect, it } from '@jest/globals';
import { formatManifests, type KubeObject } from '@dreamscape/kube';
import {
  describeRollouts,
  packManifest,
  planOfRecord,
  rolloutTargets,
  type ReleaseRecord,
} from '../src/index.js';
import { shopObjects } from './support/fixture.js';

describe('the rollouts of a release', () => {
  it('waits for Deployments, StatefulSets and DaemonSets, not for CronJobs or configuration', () => {
    const o = (kind: string, name: string): KubeObject => ({ apiVersion: 'v1', kind, metadata: { name } });
    expect(
      rolloutTargets('shop', [
        o('Deployment', 'a'),
        o('CronJob', 'b'),
        o('StatefulSet', 'c'),
        o('DaemonSet', 'd'),
        o('ConfigMap', 'e'),
      ]),
    ).toEqual([
      { namespace: 'shop', name: 'a', kind: 'Deployment' },
      { namespace: 'shop', name: 'c', kind: 'StatefulSet' },
      { namespace: 'shop', name: 'd', kind: 'DaemonSet' },
    ]);
  });

  it('says which rollouts did not complete, and why', () => {
    const outcome = { available: 0, replicas: 2, elapsedMs: 1000 };
    expect(
      describeRollouts([
        { ...outcome, name: 'web-green', state: 'timeout', reason: 'Timeout', message: '' },
        {
          ...outcome,
          name: 'api-green',
          state: 'failed',
          reason: 'ProgressDeadlineExceeded',
          message: 'stuck',
        },
      ] as unknown as Parameters<typeof describeRollouts>[0]),
    ).toBe('web-green timeout (Timeout); api-green failed (ProgressDeadlineExceeded: stuck)');
  });

  it('plans a recorded release from its exact manifest, in the namespace it is read from', () => {
    const record = {
      app: 'shop',
      environment: 'dev',
      revision: 3,
      manifest: packManifest(formatManifests(shopObjects('v3'))),
    } as ReleaseRecord;
    const plan = planOfRecord(record, 'shop-copy');
    expect(plan.namespace).toBe('shop-copy');
    expect(plan.deployments.map((d) => d.name)).toEqual(['web', 'api']);
  });
});

import { describe, expect, it } from '@jest/globals';
import {
  approvedWeights,
  checkContinuation,
  pausedWeight,
  planForContinuation,
  type BlueGreenPlan,
  type CanaryRelease,
  type ReleaseRecord,
  type StoredRelease,
} from '../src/index.js';

/** A record with the fields the continuation rules read. */
function stored(result: ReleaseRecord['result'], steps: string[], manifestHash = 'aaa'): StoredRelease {
  return {
    resourceVersion: '1',
    record: {
      app: 'shop',
      environment: 'prod',
      revision: 7,
      result,
      strategy: 'canary',
      manifestHash,
      journal: steps.map((step) => ({ step, at: '2026-12-07T00:00:00Z' })),
    } as unknown as ReleaseRecord,
  };
}

const where = { app: 'shop', environment: 'prod' };
const refusal = (fn: () => void): string => {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  return 'accepted';
};

describe('a canary paused for approval, as its record says', () => {
  it('is paused at the weight of its last step, and only while in progress', () => {
    expect(
      pausedWeight(stored('in-progress', ['started', 'weight-30', 'analysed-30', 'paused-30']).record),
    ).toBe(30);
    expect(
      pausedWeight(stored('in-progress', ['paused-30', 'approved-30', 'weight-100']).record),
    ).toBeUndefined();
    expect(pausedWeight(stored('rolled-back', ['paused-30', 'finished']).record)).toBeUndefined();
    expect(pausedWeight(stored('in-progress', ['weight-30']).record)).toBeUndefined();
  });

  it('keeps every approval its journal holds', () => {
    const r = stored('in-progress', [
      'paused-10',
      'approved-10',
      'paused-50',
      'approved-50',
      'weight-100',
    ]).record;
    expect([...approvedWeights(r)].sort((a, b) => a - b)).toEqual([10, 50]);
    expect(approvedWeights(stored('in-progress', ['paused-10']).record).size).toBe(0);
  });
});

describe('what each mode may do with the newest release', () => {
  const paused = stored('in-progress', ['started', 'paused-30']);
  const killed = stored('in-progress', ['started', 'weight-30']);
  const promoting = stored('in-progress', ['paused-30', 'approved-30', 'weight-100']);
  const done = stored('promoted', ['finished']);

  it.each([
    // [mode, latest, manifest, expected]
    [
      'deploy',
      paused,
      'aaa',
      /Revision 7 of shop in prod is a canary paused for approval at 30 %: nothing was written/,
    ],
    ['deploy', paused, 'bbb', /paused for approval at 30 %/],
    ['deploy', killed, 'aaa', /^accepted$/],
    ['deploy', done, 'bbb', /^accepted$/],
    ['deploy', undefined, 'aaa', /^accepted$/],
    ['promote', paused, 'aaa', /^accepted$/],
    ['promote', promoting, 'aaa', /^accepted$/],
    ['promote', paused, 'bbb', /must release exactly what revision 7 paused with, .*\(bbb, paused: aaa\)/],
    ['promote', killed, 'aaa', /is in progress at step 'weight-30'/],
    ['promote', done, 'aaa', /revision 7, is promoted: nothing was written/],
    ['promote', undefined, 'aaa', /shop in prod has no release yet/],
    ['abort', paused, 'bbb', /^accepted$/],
    ['abort', killed, 'bbb', /^accepted$/],
    ['abort', done, 'aaa', /mode: abort stops a release in progress, but .* is promoted/],
    ['abort', undefined, 'aaa', /has no release yet/],
  ] as const)('%s with %# is judged', (mode, latest, manifest, expected) => {
    expect(
      refusal(() => {
        checkContinuation(latest, mode === 'deploy' ? undefined : mode, manifest, where);
      }),
    ).toMatch(expected);
  });
});

describe('the plan of a run that promotes or aborts', () => {
  const route = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'web' } };
  const config = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' } };
  const plan = { shared: [route, config] } as unknown as BlueGreenPlan;
  const canary = (router: string): CanaryRelease =>
    ({ settings: { router }, routing: router === 'service' ? undefined : route }) as unknown as CanaryRelease;

  it('leaves out the HTTPRoute the gateway-api router holds the weights of, and nothing else', () => {
    expect(planForContinuation(plan, canary('gateway-api'), 'promote').shared).toEqual([config]);
    expect(planForContinuation(plan, canary('gateway-api'), 'abort').shared).toEqual([config]);
    expect(planForContinuation(plan, canary('gateway-api'), undefined)).toBe(plan);
    expect(planForContinuation(plan, canary('nginx'), 'promote')).toBe(plan);
    expect(planForContinuation(plan, undefined, 'abort')).toBe(plan);
  });
});

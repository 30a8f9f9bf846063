import { MemoryLogger, type Clock, type HttpClient } from '@dreamscape/core';
import { formatManifests, type Kubectl, type KubeObject, type Lease, type Service } from '@dreamscape/kube';
import { planBlueGreen, type BlueGreenPlan, type ReleaseOptions } from '../../src/index.js';
import type { FakeClusterApi } from './fake-api.js';
import { shopObjects } from './fixture.js';

/** Virtual time: a sleep ends at once (or throws when its signal has aborted) and moves `now`. */
export class VirtualClock implements Clock {
  private t = Date.UTC(2030, 0, 1);

  now(): number {
    return this.t;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) throw new Error('aborted');
    this.t += ms;
    await Promise.resolve();
  }
}

/** The shop plan at a version. */
export function shopPlan(version = 'v1', objects: KubeObject[] = shopObjects(version)): BlueGreenPlan {
  return planBlueGreen(objects, { app: 'shop', environment: 'dev', manifestText: formatManifests(objects) });
}

/**
 * Release options over a fake API: kubectl and HTTP are never reached by the tests that use these
 * (they stop before the first rollout or probe), so they are left empty.
 */
export function fakeReleaseOptions(
  api: FakeClusterApi,
  overrides: Partial<ReleaseOptions> = {},
): ReleaseOptions & { logger: MemoryLogger } {
  const plan = overrides.plan ?? shopPlan();
  return {
    plan,
    manifestText: 'kind: ConfigMap\n',
    checks: [],
    checksText: '',
    kubectl: Object.create(null) as Kubectl,
    api,
    http: Object.create(null) as HttpClient,
    proxyBaseUrl: 'http://127.0.0.1:1',
    logger: new MemoryLogger(),
    clock: new VirtualClock(),
    holder: { id: 'run-1', runUrl: 'https://github.com/o/r/actions/runs/1' },
    run: { commit: 'abc', runId: '1', runUrl: 'https://github.com/o/r/actions/runs/1', actor: 'me' },
    rolloutTimeoutMs: 30_000,
    verifyWindowMs: 500,
    lockWaitMs: 60_000,
    ...overrides,
  } as ReleaseOptions & { logger: MemoryLogger };
}

/** A Lease another run holds, renewed just now, for a minute. */
export function heldLease(name: string, now: number): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: 'shop', annotations: { 'dreamscape.io/run-url': 'https://x/runs/0' } },
    spec: {
      holderIdentity: 'run-0',
      leaseDurationSeconds: 60,
      renewTime: new Date(now).toISOString().replace(/Z$/, '000Z'),
    },
  };
}

/** A Service of the shop selecting a color (or nothing colored). */
export function shopService(name: string, color?: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: {
      selector: {
        app: name.replace(/-preview$/, ''),
        ...(color === undefined ? {} : { 'dreamscape.io/color': color }),
      },
    },
  };
}

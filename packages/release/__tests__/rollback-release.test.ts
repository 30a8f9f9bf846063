import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActionError } from '@dreamscape/core';
import type { Deployment } from '@dreamscape/kube';
import { digest, realWrites } from '@dreamscape/testkit';
import {
  findRollbackScopes,
  overallRollbackResult,
  rollbackApp,
  type AppRollbackRequest,
  type AppRollbackResult,
  type RollbackContext,
} from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { deployExample, examplePins } from './support/example-release.js';

// The rollback use cases action-rollback's main calls, run in process against the API double with
// the real kubectl, on a history written by the deploy use cases.

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({
    namespaces: [],
    behaviours: [{ image: '*', ready: '200ms', http: { '/health': { status: 200, body: 'ok' } } }],
  });
  for (const version of ['v1', 'v2']) {
    const outcome = await deployExample(cluster, examplePins(version));
    expect(outcome.result).toBe('promoted');
  }
}, 240_000);
afterAll(async () => {
  await cluster.close();
});

const scope = { app: 'dreamscape', namespace: 'dreamscape-dev' };

function request(overrides: Partial<AppRollbackRequest> = {}): AppRollbackRequest {
  return {
    scope,
    environment: 'dev',
    to: 'previous',
    reason: 'gateway errors',
    mode: 'rollback',
    healthChecks: undefined,
    allowClusterObjects: [],
    rolloutTimeoutMs: 60_000,
    verifyWindowMs: 500,
    lockWaitMs: 10_000,
    lockTtlMs: 30_000,
    ...overrides,
  };
}

function context(overrides: Partial<RollbackContext> = {}): RollbackContext {
  return {
    api: cluster.api,
    kubectl: cluster.kubectl,
    http: cluster.http,
    proxyBaseUrl: cluster.proxy.baseUrl,
    logger: cluster.logger,
    run: { holderId: 'dreamscape/platform#7', runId: '7', runUrl: '', actor: 'octocat' },
    ...overrides,
  };
}

function gatewayImage(color: string): string | undefined {
  const d = cluster.double
    .objects('deployments', 'dreamscape-dev')
    .find((o) => (o as Deployment).metadata.name === `gateway-${color}`) as Deployment | undefined;
  return d?.spec?.template?.spec?.containers?.[0]?.image;
}

describe('findRollbackScopes', () => {
  it('finds the app and the namespace its history is recorded in', async () => {
    await expect(
      findRollbackScopes(
        cluster.api,
        { environment: 'dev', app: 'all', namespace: undefined },
        cluster.logger,
      ),
    ).resolves.toEqual([scope]);
  });

  it('an environment with no history is an error listing what is recorded', async () => {
    const error = await findRollbackScopes(
      cluster.api,
      { environment: 'qa', app: 'dreamscape', namespace: undefined },
      cluster.logger,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect((error as Error).message).toBe(
      "No release of app 'dreamscape' is recorded for environment 'qa'. Recorded: dreamscape in dev.",
    );
  });
});

describe('rollbackApp', () => {
  it('plan mode names the target and the path, and writes nothing', async () => {
    cluster.double.clearLogs();
    const planned = await rollbackApp(request({ mode: 'plan' }), context());
    expect(planned).toMatchObject({ result: 'planned', from: 2, to: 1 });
    expect(planned.message).toBe('would roll back 2 → 1 by the fast path (blue still runs it, Ready)');
    expect(realWrites(cluster.double)).toEqual([]);
  });

  it('a target that cannot run stops the rollback before any write', async () => {
    cluster.double.clearLogs();
    const error = await rollbackApp(
      request(),
      context({
        verifyTarget: (target) =>
          Promise.reject(
            new ActionError(`Revision ${String(target.revision)} runs images the registry no longer holds`),
          ),
      }),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe('Revision 1 runs images the registry no longer holds');
    expect(realWrites(cluster.double)).toEqual([]);
  });

  it('returns to the previous revision inside the tracking hook, then finds it already current', async () => {
    const tracked: number[] = [];
    const track: RollbackContext['track'] = async (target, rollback) => {
      tracked.push(target.revision);
      return rollback();
    };
    const back = await rollbackApp(request(), context({ track }));
    expect(back).toMatchObject({ app: 'dreamscape', result: 'rolled-back', from: 2, to: 1 });
    expect(back.outcome).toMatchObject({ result: 'promoted', activeColor: 'blue', path: 'fast' });
    expect(tracked).toEqual([1]);
    expect(gatewayImage('blue')).toBe(`ghcr.io/dreamscape/gateway@${digest('gateway', 'v1')}`);

    const again = await rollbackApp(request({ to: 1 }), context({ track }));
    expect(again).toMatchObject({ result: 'already-current', to: 1, message: 'revision 1 is already live' });
    expect(tracked).toEqual([1]);
  }, 120_000);
});

describe('overallRollbackResult', () => {
  const r = (result: AppRollbackResult['result']): AppRollbackResult => ({
    app: 'a',
    result,
    from: 2,
    to: 1,
    outcome: undefined,
    message: '',
  });
  it('is already-current only when every app is, failed when any failed', () => {
    expect(overallRollbackResult([r('already-current'), r('already-current')], 'rollback')).toBe(
      'already-current',
    );
    expect(overallRollbackResult([r('rolled-back'), r('failed')], 'rollback')).toBe('failed');
    expect(overallRollbackResult([r('rolled-back'), r('already-current')], 'rollback')).toBe('rolled-back');
    expect(overallRollbackResult([r('planned'), r('already-current')], 'plan')).toBe('planned');
  });
});

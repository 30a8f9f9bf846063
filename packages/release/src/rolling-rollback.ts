import type { Clock, HttpClient, Logger } from '@dreamscape/core';
import { parseManifests, type Kubectl } from '@dreamscape/kube';
import type { RunInfo } from './blue-green.js';
import type { ClusterApi } from './cluster-api.js';
import type { HealthCheck } from './health-checks.js';
import { unpackManifest, type ReleaseRecord } from './history.js';
import type { LockHolder } from './lease-lock.js';
import type { ReleaseOutcome } from './outcome.js';
import { planBlueGreen } from './plan.js';
import { RollingDeploy } from './rolling.js';

/** What undoing a rolling release needs. */
export interface RollingRollbackOptions {
  readonly current: ReleaseRecord;
  readonly target: ReleaseRecord;
  readonly reason: string;
  readonly checks: readonly HealthCheck[];
  readonly checksText?: string;
  readonly kubectl: Kubectl;
  readonly api: ClusterApi;
  readonly http: HttpClient;
  readonly proxyBaseUrl: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly holder: LockHolder;
  readonly run: RunInfo;
  readonly rolloutTimeoutMs: number;
  readonly verifyWindowMs: number;
  readonly lockWaitMs: number;
  readonly lockTtlMs?: number;
}

/**
 * Rolls a rolling release back: the target revision's exact recorded manifest is applied in place
 * as a release of its own (journaled, resumable), awaited and checked on the live Services; if that
 * fails, the release live before it (the current one) is applied again.
 */
export async function rollbackRolling(o: RollingRollbackOptions): Promise<ReleaseOutcome> {
  const { target } = o;
  const manifestText = unpackManifest(target);
  const objects = parseManifests(manifestText, `revision ${target.revision}`);
  const plan = planBlueGreen(objects, {
    app: target.app,
    environment: target.environment,
    namespace: target.namespace,
    manifestText,
  });
  return new RollingDeploy({
    plan,
    objects,
    manifestText,
    checks: o.checks,
    checksText: o.checksText ?? target.checks,
    kubectl: o.kubectl,
    api: o.api,
    http: o.http,
    proxyBaseUrl: o.proxyBaseUrl,
    logger: o.logger,
    clock: o.clock,
    holder: o.holder,
    run: o.run,
    rolloutTimeoutMs: o.rolloutTimeoutMs,
    verifyWindowMs: o.verifyWindowMs,
    lockWaitMs: o.lockWaitMs,
    ...(o.lockTtlMs === undefined ? {} : { lockTtlMs: o.lockTtlMs }),
    release: { kind: 'rollback', to: target.revision, reason: o.reason },
  }).run();
}

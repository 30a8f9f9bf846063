import { formatDuration, type Clock, type HttpClient, type Logger } from '@dreamscape/core';
import type { Deployment, Kubectl, Service } from '@dreamscape/kube';
import type { RunInfo } from './blue-green.js';
import type { ClusterApi } from './cluster-api.js';
import { runGate, type GateResult, type ProbeContext } from './gates.js';
import type { HealthCheck } from './health-checks.js';
import { ReleaseHistory, type ReleaseRecord } from './history.js';
import { LeaseLock, type LockHolder } from './lease-lock.js';
import type { ReleaseOutcome, ServiceChange } from './outcome.js';
import { containersOf } from './plan.js';

/** What undoing a rolling release needs. */
export interface RollingRollbackOptions {
  readonly current: ReleaseRecord;
  readonly target: ReleaseRecord;
  readonly reason: string;
  readonly checks: readonly HealthCheck[];
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
}

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/**
 * Rolls a rolling release back with `kubectl rollout undo --to-revision` to the ReplicaSet revision
 * each Deployment had in the target release, waits, and runs the health checks on the live Services.
 */
export async function rollbackRolling(o: RollingRollbackOptions): Promise<ReleaseOutcome> {
  const { target, current, logger, clock, kubectl } = o;
  const started = clock.now();
  const timings: Record<string, number> = {};
  const ns = target.namespace;
  const history = new ReleaseHistory(
    o.api,
    logger,
    { app: target.app, environment: target.environment, namespace: ns },
    { clock },
  );
  const lock = new LeaseLock({
    api: o.api,
    logger,
    clock,
    namespace: ns,
    app: target.app,
    environment: target.environment,
    holder: o.holder,
    waitMs: o.lockWaitMs,
  });
  await lock.acquire();
  try {
    const all = await history.list();
    const revision = (all[0]?.record.revision ?? 0) + 1;
    const readDeployments = async (): Promise<Map<string, Deployment>> =>
      new Map(
        (await o.api.list<Deployment>('deployments', { namespace: ns })).items.map((d) => [
          d.metadata.name,
          d,
        ]),
      );
    const before = await readDeployments();
    let stored = await history.create({
      ...target,
      revision,
      kind: 'rollback',
      result: 'in-progress',
      previousRevision: current.revision,
      rollbackTo: target.revision,
      reason: o.reason,
      commit: target.commit,
      runId: o.run.runId,
      runUrl: o.run.runUrl,
      actor: o.run.actor,
      startedAt: new Date(clock.now()).toISOString(),
      finishedAt: undefined,
      message: '',
      journal: [{ step: 'started', at: new Date(clock.now()).toISOString() }],
      gates: [],
    });

    const t0 = clock.now();
    const names = Object.keys(target.rolloutRevisions);
    for (const name of names) {
      const to = target.rolloutRevisions[name] ?? 0;
      const live = before.get(name);
      if (Number(live?.metadata.annotations?.[REVISION_ANNOTATION] ?? '0') === to) {
        logger.info(`  ${name}: already at revision ${to}`);
        continue;
      }
      await kubectl.rolloutUndo({ kind: 'Deployment', name, namespace: ns }, { toRevision: to });
      logger.info(`  ${name}: rollout undo to revision ${to}`);
    }
    const waited = await kubectl.waitForRollouts(
      names.map((name) => ({ namespace: ns, name })),
      { timeoutMs: o.rolloutTimeoutMs, heartbeatMs: 30_000 },
    );
    timings.undo = clock.now() - t0;
    for (const w of waited)
      logger.info(
        `  ${w.name}: ${w.state} — ${w.available}/${w.replicas} available after ${formatDuration(w.elapsedMs)}`,
      );
    let failure = waited
      .filter((w) => w.state !== 'complete')
      .map((w) => `${w.name} ${w.state} (${w.reason})`)
      .join('; ');
    let gates: GateResult[] = [];
    if (failure === '' && o.checks.length > 0) {
      const services = await o.api.list<Service>('services', { namespace: ns });
      const ctx: ProbeContext = {
        http: o.http,
        proxyBaseUrl: o.proxyBaseUrl,
        namespace: ns,
        servicePorts: new Map(services.items.map((s) => [s.metadata.name, s.spec?.ports ?? []])),
      };
      const t1 = clock.now();
      gates = await runGate(o.checks, ctx, {
        phase: 'post-switch',
        logger,
        clock,
        windowMs: o.verifyWindowMs,
      });
      timings.verify = clock.now() - t1;
      const failed = gates.filter((g) => !g.passed && !g.stopped);
      if (failed.length > 0)
        failure = `health gates failed: ${failed.map((g) => `${g.check}: ${g.lastDetail}`).join('; ')}`;
    }
    const after = await readDeployments();
    const result = failure === '' ? 'promoted' : 'failed';
    const message = failure === '' ? `rolled back to revision ${target.revision}` : failure;
    stored = await history.update(stored, {
      ...stored.record,
      result,
      message,
      gates,
      finishedAt: new Date(clock.now()).toISOString(),
      journal: [
        ...stored.record.journal,
        { step: 'finished', at: new Date(clock.now()).toISOString(), detail: result },
      ],
    });
    timings.total = clock.now() - started;
    const images = (m: Map<string, Deployment>, name: string): string[] => {
      const d = m.get(name);
      return d === undefined ? [] : containersOf(d).map((c) => c.image ?? '');
    };
    const services: ServiceChange[] = target.services.map((s) => ({
      service: s.name,
      deployment: s.deployment,
      before: { color: 'legacy', images: images(before, s.deployment) },
      after: { color: 'legacy', images: images(after, s.deployment) },
    }));
    return {
      result,
      message,
      app: target.app,
      environment: target.environment,
      namespace: ns,
      revision,
      activeColor: undefined,
      previousColor: undefined,
      services,
      gates,
      timings,
      record: stored.record,
      path: 'undo',
    };
  } finally {
    await lock.release();
  }
}

import { formatDuration, type Clock, type HttpClient, type Logger } from '@dreamscape/core';
import type { Deployment, KubeObject, Kubectl, RolloutOutcome, Service } from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import { runGate, type GateResult, type ProbeContext } from './gates.js';
import type { HealthCheck } from './health-checks.js';
import { packManifest, ReleaseHistory, type ReleaseRecord, type StoredRelease } from './history.js';
import { LeaseLock, type LockHolder } from './lease-lock.js';
import type { ReleaseOutcome, ServiceChange } from './outcome.js';
import { containersOf, releaseLabels, type BlueGreenPlan } from './plan.js';
import type { RunInfo } from './blue-green.js';

/** What a rolling deploy needs: the same plan, applied in place. */
export interface RollingOptions {
  readonly plan: BlueGreenPlan;
  readonly objects: readonly KubeObject[];
  readonly manifestText: string;
  readonly checks: readonly HealthCheck[];
  readonly checksText: string;
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
  readonly signal?: AbortSignal;
}

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/**
 * The simple strategy: server-side apply in place, wait for every Deployment, run the health
 * checks against the live Services; on failure `rollout undo` each Deployment to the ReplicaSet
 * revision recorded before and wait again.
 */
export class RollingDeploy {
  private readonly o: RollingOptions;
  private readonly history: ReleaseHistory;
  private readonly lock: LeaseLock;
  private readonly timings: Record<string, number> = {};

  constructor(options: RollingOptions) {
    this.o = options;
    const { plan } = options;
    this.history = new ReleaseHistory(
      options.api,
      options.logger,
      {
        app: plan.app,
        environment: plan.environment,
        namespace: plan.namespace,
      },
      { clock: options.clock },
    );
    this.lock = new LeaseLock({
      api: options.api,
      logger: options.logger,
      clock: options.clock,
      namespace: plan.namespace,
      app: plan.app,
      environment: plan.environment,
      holder: options.holder,
      waitMs: options.lockWaitMs,
      ...(options.lockTtlMs === undefined ? {} : { ttlMs: options.lockTtlMs }),
    });
  }

  async run(): Promise<ReleaseOutcome> {
    const { logger, clock } = this.o;
    const started = clock.now();
    await this.lock.acquire();
    try {
      const outcome = await this.deploy();
      this.timings.total = clock.now() - started;
      return { ...outcome, timings: { ...this.timings } };
    } finally {
      await this.lock.release();
      logger.debug('lock released');
    }
  }

  private async deploy(): Promise<Omit<ReleaseOutcome, 'timings'>> {
    const { plan, kubectl, logger } = this.o;
    const names = this.deploymentNames();
    const before = await this.readDeployments(names);
    const beforeRevisions: Record<string, number> = {};
    for (const [name, d] of before)
      beforeRevisions[name] = Number(d.metadata.annotations?.[REVISION_ANNOTATION] ?? '0');

    const all = await this.history.list();
    const lastPromoted = all.find((s) => s.record.result === 'promoted');
    const revision = (all[0]?.record.revision ?? 0) + 1;
    let stored = await this.history.create(this.record(revision, lastPromoted?.record.revision ?? 0));

    const labels = releaseLabels(plan);
    const objects = this.o.objects.map((o) => ({
      ...o,
      metadata: {
        ...o.metadata,
        namespace: o.kind === 'Namespace' ? undefined : plan.namespace,
        labels: { ...(o.metadata.labels ?? {}), ...labels },
      },
    }));
    await this.phase('apply', () =>
      logger.group('Apply in place', async () => {
        const applied = await this.o.api.applyServerSide(objects);
        logger.info(`Applied ${applied.length} objects.`);
      }),
    );
    stored = await this.journal(stored, 'applied');

    const waited = await this.phase('wait', () =>
      logger.group('Wait for the rollout', () => this.wait(names)),
    );
    let failure = waited
      .filter((w) => w.state !== 'complete')
      .map((w) => `${w.name} ${w.state} (${w.reason})`)
      .join('; ');
    let gates: GateResult[] = [];
    if (failure === '') {
      stored = await this.journal(stored, 'ready');
      gates = await this.phase('verify', () => logger.group('Health gates', () => this.gates()));
      const failed = gates.filter((g) => !g.passed && !g.stopped);
      if (failed.length > 0)
        failure = `health gates failed: ${failed.map((g) => `${g.check}: ${g.lastDetail}`).join('; ')}`;
    }

    if (failure === '') {
      const after = await this.readDeployments(names);
      const revisions: Record<string, number> = {};
      for (const [name, d] of after)
        revisions[name] = Number(d.metadata.annotations?.[REVISION_ANNOTATION] ?? '0');
      stored = await this.finish(stored, 'promoted', 'rolled out', gates, revisions, after);
      return this.outcome('promoted', 'rolled out', stored.record, before, after);
    }

    logger.error(failure);
    const undone = await this.phase('rollback', () =>
      logger.group('Roll back with rollout undo', async () => {
        const targets = names.filter((n) => (beforeRevisions[n] ?? 0) > 0);
        for (const name of targets) {
          await kubectl.rolloutUndo(
            { kind: 'Deployment', name, namespace: plan.namespace },
            { toRevision: beforeRevisions[name] ?? 0 },
          );
          logger.info(`  ${name}: undone to revision ${beforeRevisions[name] ?? 0}`);
        }
        const again = await this.wait(targets);
        return again.every((w) => w.state === 'complete');
      }),
    );
    const after = await this.readDeployments(names);
    const result = undone && before.size > 0 ? 'rolled-back' : 'failed';
    const message = `${failure}${result === 'rolled-back' ? '; rolled back to the previous ReplicaSets' : before.size === 0 ? '; nothing to roll back to on a first deploy' : '; the rollback did not complete'}`;
    stored = await this.finish(stored, result, message, gates, beforeRevisions, after);
    return this.outcome(result, message, stored.record, before, after);
  }

  private deploymentNames(): string[] {
    return this.o.objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name);
  }

  private async readDeployments(names: readonly string[]): Promise<Map<string, Deployment>> {
    const { items } = await this.o.api.list<Deployment>('deployments', { namespace: this.o.plan.namespace });
    return new Map(items.filter((d) => names.includes(d.metadata.name)).map((d) => [d.metadata.name, d]));
  }

  private async wait(names: readonly string[]): Promise<RolloutOutcome[]> {
    const outcomes = await this.o.kubectl.waitForRollouts(
      names.map((name) => ({ namespace: this.o.plan.namespace, name })),
      {
        timeoutMs: this.o.rolloutTimeoutMs,
        heartbeatMs: 30_000,
        ...(this.o.signal === undefined ? {} : { signal: this.o.signal }),
      },
    );
    for (const w of outcomes)
      this.o.logger.info(
        `  ${w.name}: ${w.state} — ${w.available}/${w.replicas} available after ${formatDuration(w.elapsedMs)}`,
      );
    return outcomes;
  }

  private async gates(): Promise<GateResult[]> {
    const services = await this.o.api.list<Service>('services', { namespace: this.o.plan.namespace });
    const ctx: ProbeContext = {
      http: this.o.http,
      proxyBaseUrl: this.o.proxyBaseUrl,
      namespace: this.o.plan.namespace,
      servicePorts: new Map(services.items.map((s) => [s.metadata.name, s.spec?.ports ?? []])),
    };
    // No preview exists in place: every check runs against the live Services, for the window.
    return runGate(this.o.checks, ctx, {
      phase: 'post-switch',
      logger: this.o.logger,
      clock: this.o.clock,
      windowMs: this.o.verifyWindowMs,
    });
  }

  private record(revision: number, previousRevision: number): ReleaseRecord {
    const { plan, run, clock } = this.o;
    const images: Record<string, string> = {};
    for (const o of this.o.objects)
      if (o.kind === 'Deployment')
        for (const c of containersOf(o as Deployment)) images[`${o.metadata.name}/${c.name}`] = c.image ?? '';
    return {
      schema: 1,
      app: plan.app,
      environment: plan.environment,
      namespace: plan.namespace,
      revision,
      kind: 'deploy',
      strategy: 'rolling',
      result: 'in-progress',
      color: undefined,
      previousColor: undefined,
      previousRevision,
      manifestHash: plan.manifestHash,
      manifest: packManifest(this.o.manifestText),
      images,
      services: plan.services.map((s) => ({ name: s.name, deployment: s.deployment })),
      replicas: {},
      checks: this.o.checksText,
      commit: run.commit,
      runId: run.runId,
      runUrl: run.runUrl,
      actor: run.actor,
      reason: '',
      rollbackTo: undefined,
      rolloutRevisions: {},
      startedAt: new Date(clock.now()).toISOString(),
      finishedAt: undefined,
      message: '',
      journal: [{ step: 'started', at: new Date(clock.now()).toISOString() }],
      gates: [],
    };
  }

  private async journal(stored: StoredRelease, step: string): Promise<StoredRelease> {
    return this.history.update(stored, {
      ...stored.record,
      journal: [...stored.record.journal, { step, at: new Date(this.o.clock.now()).toISOString() }],
    });
  }

  private async finish(
    stored: StoredRelease,
    result: 'promoted' | 'rolled-back' | 'failed',
    message: string,
    gates: GateResult[],
    revisions: Record<string, number>,
    after: Map<string, Deployment>,
  ): Promise<StoredRelease> {
    const replicas: Record<string, number> = {};
    for (const [name, d] of after) replicas[name] = d.spec?.replicas ?? 0;
    const updated = await this.history.update(stored, {
      ...stored.record,
      result,
      message,
      gates,
      replicas,
      rolloutRevisions: revisions,
      finishedAt: new Date(this.o.clock.now()).toISOString(),
      journal: [
        ...stored.record.journal,
        { step: 'finished', at: new Date(this.o.clock.now()).toISOString(), detail: result },
      ],
    });
    await this.history.prune(await this.history.list()).catch((error: unknown) => {
      this.o.logger.warning(`Could not prune old release records: ${String(error)}`);
    });
    return updated;
  }

  private outcome(
    result: ReleaseOutcome['result'],
    message: string,
    record: ReleaseRecord,
    before: Map<string, Deployment>,
    after: Map<string, Deployment>,
  ): Omit<ReleaseOutcome, 'timings'> {
    const { plan } = this.o;
    const images = (m: Map<string, Deployment>, name: string): string[] => {
      const d = m.get(name);
      return d === undefined ? [] : containersOf(d).map((c) => c.image ?? '');
    };
    const services: ServiceChange[] = plan.services.map((s) => ({
      service: s.name,
      deployment: s.deployment,
      before: {
        color: before.has(s.deployment) ? 'legacy' : 'missing',
        images: images(before, s.deployment),
      },
      after: { color: 'legacy', images: images(after, s.deployment) },
    }));
    return {
      result,
      message,
      app: plan.app,
      environment: plan.environment,
      namespace: plan.namespace,
      revision: record.revision,
      activeColor: undefined,
      previousColor: undefined,
      services,
      gates: record.gates,
      record,
      path: 'rolling',
    };
  }

  private async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = this.o.clock.now();
    try {
      return await fn();
    } finally {
      this.timings[name] = this.o.clock.now() - started;
    }
  }
}

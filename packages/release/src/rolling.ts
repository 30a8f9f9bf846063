import { formatDuration, type Clock, type HttpClient, type Logger } from '@dreamscape/core';
import {
  parseManifests,
  type Deployment,
  type KubeObject,
  type Kubectl,
  type RolloutOutcome,
  type Service,
} from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import { runGate, type GateResult, type ProbeContext } from './gates.js';
import type { HealthCheck } from './health-checks.js';
import {
  packManifest,
  ReleaseHistory,
  unpackManifest,
  type ReleaseRecord,
  type StoredRelease,
} from './history.js';
import { LeaseLock, type LockHolder } from './lease-lock.js';
import type { ReleaseOutcome, ServiceChange } from './outcome.js';
import { CLUSTER_SCOPED_KINDS, containersOf, releaseLabels, type BlueGreenPlan } from './plan.js';
import type { ReleaseKind, RunInfo } from './blue-green.js';
import { isWorkload, workloadContainers } from './workload-classes.js';

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/** What a rolling release needs: the same plan, applied in place. */
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
  /** A deploy (default), or a rollback to a recorded revision (its manifest is `manifestText`). */
  readonly release?: ReleaseKind;
}

/**
 * The objects a rolling release applies: the rendered ones as they are, in the release's namespace
 * (cluster-scoped kinds excepted), with the release's labels on their metadata.
 */
export function rollingObjects(
  plan: Pick<BlueGreenPlan, 'app' | 'environment' | 'namespace'>,
  objects: readonly KubeObject[],
): KubeObject[] {
  const labels = releaseLabels(plan);
  const scoped = new Set(['Namespace', ...CLUSTER_SCOPED_KINDS]);
  return objects.map((o) => ({
    ...o,
    metadata: {
      ...o.metadata,
      namespace: scoped.has(o.kind) ? undefined : plan.namespace,
      labels: { ...(o.metadata.labels ?? {}), ...labels },
    },
  }));
}

/** Steps, as journaled in a rolling release's record. */
export const ROLLING_STEPS = ['started', 'applied', 'ready', 'verified', 'finished'] as const;

/**
 * The simple strategy: server-side apply in place, wait for every workload, run the health checks
 * against the live Services. On failure it returns to the release that was live before, as its
 * record has it: that release's exact manifest is applied again and awaited (not `rollout undo`,
 * whose revision numbers move under a re-run). Every step is journaled: a re-run of the same
 * release resumes it, a different one first closes it.
 */
export class RollingDeploy {
  private readonly o: RollingOptions;
  private readonly history: ReleaseHistory;
  private readonly lock: LeaseLock;
  private readonly timings: Record<string, number> = {};

  private get kind(): ReleaseKind {
    return this.o.release ?? { kind: 'deploy' };
  }

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
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  async run(): Promise<ReleaseOutcome> {
    const { logger, clock } = this.o;
    const started = clock.now();
    await this.phase('lock', () => logger.group('Lock', () => this.lock.acquire()));
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
    const { plan, logger } = this.o;
    const names = this.workloadNames();
    const before = await this.readDeployments(names.deployments);

    const all = await this.history.list();
    const latest = all[0];
    let resume: StoredRelease | undefined;
    if (latest?.record.result === 'in-progress') {
      const r = latest.record;
      if (r.kind === this.kind.kind && r.manifestHash === plan.manifestHash) {
        logger.notice(
          `Resuming revision ${r.revision}, which an earlier run left at step '${lastStepOf(r)}'.`,
        );
        resume = latest;
      } else {
        logger.notice(
          `Revision ${r.revision} was left at step '${lastStepOf(r)}' by an earlier run; this release replaces it.`,
        );
        const at = new Date(this.o.clock.now()).toISOString();
        await this.history.update(latest, {
          ...r,
          result: 'failed',
          finishedAt: at,
          message: `interrupted at step '${lastStepOf(r)}' and replaced by run ${this.o.run.runId}`,
          journal: [...r.journal, { step: 'finished', at, detail: 'failed' }],
        });
      }
    }
    // What a failure returns to: the release live before this one, from the history.
    const lastPromoted = all.find(
      (x) => x.record.result === 'promoted' && x.record.revision !== resume?.record.revision,
    );
    const revision = resume?.record.revision ?? (all[0]?.record.revision ?? 0) + 1;
    let stored =
      resume ?? (await this.history.create(this.record(revision, lastPromoted?.record.revision ?? 0)));

    await this.phase('apply', () =>
      logger.group('Apply in place', async () => {
        const applied = await this.o.api.applyServerSide(this.labelled(this.o.objects));
        logger.info(`Applied ${applied.length} objects.`);
      }),
    );
    stored = await this.journal(stored, 'applied');

    const waited = await this.phase('wait', () =>
      logger.group('Wait for the rollout', () => this.wait(this.o.objects)),
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
      stored = await this.journal(stored, 'verified');
      const after = await this.readDeployments(names.deployments);
      stored = await this.finish(
        stored,
        'promoted',
        this.kind.kind === 'rollback' ? `rolled back to revision ${this.kind.to}` : 'rolled out',
        gates,
        after,
      );
      return this.outcome('promoted', stored.record.message, stored.record, before, after);
    }

    logger.error(failure);
    const previous = lastPromoted?.record;
    if (previous === undefined) {
      const after = await this.readDeployments(names.deployments);
      const message = `${failure}; nothing to return to on a first deploy`;
      stored = await this.finish(stored, 'failed', message, gates, after);
      return this.outcome('failed', message, stored.record, before, after);
    }
    const returned = await this.phase('rollback', () =>
      logger.group(`Return to revision ${previous.revision}`, () => this.returnTo(previous)),
    );
    const after = await this.readDeployments(names.deployments);
    const result = returned ? 'rolled-back' : 'failed';
    const message = `${failure}; ${returned ? `returned to revision ${previous.revision}` : `the return to revision ${previous.revision} did not complete`}`;
    stored = await this.finish(stored, result, message, gates, after);
    return this.outcome(result, message, stored.record, before, after);
  }

  /** Applies a recorded release's exact manifest again and waits for it: true when it rolled out. */
  private async returnTo(previous: ReleaseRecord): Promise<boolean> {
    const text = unpackManifest(previous);
    const objects = parseManifests(text, `revision ${previous.revision}`).map((o) =>
      o.kind === 'Namespace' ? o : { ...o, metadata: { ...o.metadata, namespace: this.o.plan.namespace } },
    );
    await this.o.api.applyServerSide(this.labelled(objects));
    this.o.logger.info(`Revision ${previous.revision}'s manifest applied again (${objects.length} objects).`);
    const again = await this.wait(objects);
    return again.every((w) => w.state === 'complete');
  }

  private labelled(objects: readonly KubeObject[]): KubeObject[] {
    return rollingObjects(this.o.plan, objects);
  }

  private workloadNames(): { deployments: string[] } {
    return { deployments: this.o.objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name) };
  }

  private async readDeployments(names: readonly string[]): Promise<Map<string, Deployment>> {
    const { items } = await this.o.api.list<Deployment>('deployments', { namespace: this.o.plan.namespace });
    return new Map(items.filter((d) => names.includes(d.metadata.name)).map((d) => [d.metadata.name, d]));
  }

  /** Waits for every Deployment, StatefulSet and DaemonSet among `objects`. */
  private async wait(objects: readonly KubeObject[]): Promise<RolloutOutcome[]> {
    const outcomes = await this.o.kubectl.waitForRollouts(
      objects
        .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet')
        .map((o) => ({
          namespace: this.o.plan.namespace,
          name: o.metadata.name,
          kind: o.kind as 'Deployment' | 'StatefulSet' | 'DaemonSet',
        })),
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
      if (isWorkload(o))
        for (const c of workloadContainers(o)) images[`${o.metadata.name}/${c.name}`] = c.image ?? '';
    const kind = this.kind;
    return {
      schema: 1,
      app: plan.app,
      environment: plan.environment,
      namespace: plan.namespace,
      revision,
      kind: kind.kind,
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
      reason: kind.kind === 'rollback' ? kind.reason : '',
      rollbackTo: kind.kind === 'rollback' ? kind.to : undefined,
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
    after: Map<string, Deployment>,
  ): Promise<StoredRelease> {
    const replicas: Record<string, number> = {};
    const revisions: Record<string, number> = {};
    for (const [name, d] of after) {
      replicas[name] = d.spec?.replicas ?? 0;
      revisions[name] = Number(d.metadata.annotations?.[REVISION_ANNOTATION] ?? '0');
    }
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
      path: this.kind.kind === 'rollback' ? 're-apply' : 'rolling',
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

function lastStepOf(r: ReleaseRecord): string {
  return r.journal[r.journal.length - 1]?.step ?? 'started';
}

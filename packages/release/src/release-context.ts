import { systemClock, type Clock, type HttpClient, type Logger, type RunContext } from '@dreamscape/core';
import type { Kubectl, WaitForRolloutsOptions } from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import type { HealthCheck } from './health-checks.js';
import { ReleaseHistory, type ReleaseSource } from './history.js';
import { ReleaseJournal } from './journal.js';
import { LeaseLock, type LockHolder, type PausedAt } from './lease-lock.js';
import type { BlueGreenPlan } from './plan.js';
import type { HookSettings } from './hook-jobs.js';
import { ProvenanceClusterApi, type ProvenanceApi } from './provenance.js';

/** Run metadata recorded with a release. */
export interface RunInfo {
  readonly commit: string;
  readonly runId: string;
  readonly runUrl: string;
  readonly actor: string;
  /** `owner/name`; '' or absent outside a workflow. */
  readonly repository?: string;
  /** The workflow's file (or name); '' or absent outside a workflow. */
  readonly workflow?: string;
}

/** What kind of release this is. */
export type ReleaseKind =
  { readonly kind: 'deploy' } | { readonly kind: 'rollback'; readonly to: number; readonly reason: string };

/** What every strategy of a release is given (a strategy's options add what only it needs). */
export interface ReleaseOptions {
  readonly plan: BlueGreenPlan;
  /** The rendered, digest-pinned manifest (recorded, gzip + base64). */
  readonly manifestText: string;
  readonly checks: readonly HealthCheck[];
  /** The health-checks YAML as given (recorded for rollback). */
  readonly checksText: string;
  readonly kubectl: Kubectl;
  /** Reads and writes; an HTTP client over the run's `kubectl proxy`. */
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
  /** Cancels the waits of the release: the lock, rollouts, gates. */
  readonly signal?: AbortSignal;
  /** A deploy (default), or a rollback to a recorded revision (its manifest is `manifestText`). */
  readonly release?: ReleaseKind;
  /** The run may take the lock from a paused canary (it promotes, aborts or rolls back). */
  readonly takeOverPaused?: boolean;
  /** While waiting for the lock, ask the run holding it to abort its canary (a rollback). */
  readonly requestAbort?: boolean;
  /** Recorded with the release: the overlay or chart its manifest was rendered from. */
  readonly source?: ReleaseSource;
  /** How pre-deploy and post-deploy Jobs run; default {@link DEFAULT_HOOK_SETTINGS}. */
  readonly hooks?: HookSettings;
}

/** The cluster and the run a use case (deploy, rollback) hands to the engine. */
export interface EngineContext {
  readonly api: ClusterApi;
  readonly kubectl: Kubectl;
  readonly http: HttpClient;
  readonly proxyBaseUrl: string;
  readonly logger: Logger;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** The workflow run doing the release: it holds the lock and is recorded with the release. */
  readonly run: Pick<RunContext, 'holderId' | 'runId' | 'runUrl' | 'actor'> &
    Partial<Pick<RunContext, 'repository' | 'workflow'>>;
}

/** How long a release may wait, and the checks it runs. */
export interface EngineTimings {
  readonly checks: readonly HealthCheck[];
  /** The health-checks YAML as given (recorded, for a rollback to run the same checks). */
  readonly checksText: string;
  readonly rolloutTimeoutMs: number;
  readonly verifyWindowMs: number;
  readonly lockWaitMs: number;
  readonly lockTtlMs: number;
  /** How pre-deploy and post-deploy Jobs run (default 10 minutes each, post-deploy failures reported). */
  readonly hooks?: HookSettings;
}

/**
 * The options every strategy shares, from a use case's context: the lock is held by the run, and
 * the release records the run and `commit` (the deployed commit; a rollback's target's own).
 */
export function engineOptions(
  ctx: EngineContext,
  timings: EngineTimings,
  commit: string,
): Omit<ReleaseOptions, 'plan' | 'manifestText' | 'release' | 'signal'> {
  return {
    checks: timings.checks,
    checksText: timings.checksText,
    rolloutTimeoutMs: timings.rolloutTimeoutMs,
    verifyWindowMs: timings.verifyWindowMs,
    lockWaitMs: timings.lockWaitMs,
    lockTtlMs: timings.lockTtlMs,
    ...(timings.hooks === undefined ? {} : { hooks: timings.hooks }),
    kubectl: ctx.kubectl,
    api: ctx.api,
    http: ctx.http,
    proxyBaseUrl: ctx.proxyBaseUrl,
    logger: ctx.logger,
    clock: ctx.clock ?? systemClock,
    holder: { id: ctx.run.holderId, runUrl: ctx.run.runUrl },
    run: {
      commit,
      runId: ctx.run.runId,
      runUrl: ctx.run.runUrl,
      actor: ctx.run.actor,
      ...(ctx.run.repository === undefined ? {} : { repository: ctx.run.repository }),
      ...(ctx.run.workflow === undefined ? {} : { workflow: ctx.run.workflow }),
    },
  };
}

/**
 * Everything a release works with, built once and shared by every strategy and every module of the
 * engine: the options as given, the history of the environment, its lock, the journal of this
 * release and the time spent in each phase. Strategies differ only in their sequence of steps.
 */
export class ReleaseContext {
  readonly o: ReleaseOptions;
  readonly plan: BlueGreenPlan;
  /**
   * Reads and writes of the release: every object it applies carries the provenance of the
   * release's record (see {@link ProvenanceClusterApi}).
   */
  readonly api: ProvenanceApi;
  readonly kubectl: Kubectl;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly history: ReleaseHistory;
  readonly lock: LeaseLock;
  readonly journal: ReleaseJournal;
  /** Milliseconds per phase, reported in the outcome. */
  readonly timings: Record<string, number> = {};
  /** Set when the release pauses for approval: the lock stays held in its name. */
  pausedAt: PausedAt | undefined;

  constructor(options: ReleaseOptions) {
    this.o = options;
    const { plan } = options;
    this.plan = plan;
    this.api = new ProvenanceClusterApi(options.api, () => this.journal.record);
    this.kubectl = options.kubectl;
    this.logger = options.logger;
    this.clock = options.clock;
    this.history = new ReleaseHistory(
      options.api,
      options.logger,
      { app: plan.app, environment: plan.environment, namespace: plan.namespace },
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
      ...(options.takeOverPaused === true ? { takeOverPaused: true } : {}),
      ...(options.requestAbort === true ? { requestAbort: true } : {}),
    });
    this.journal = new ReleaseJournal(this.history, options.clock, options.logger);
  }

  /** A deploy unless the options say rollback. */
  get kind(): ReleaseKind {
    return this.o.release ?? { kind: 'deploy' };
  }

  /** The namespace of the release. */
  get namespace(): string {
    return this.plan.namespace;
  }

  /** How rollouts are awaited: the release's timeout, a heartbeat every 30 s, its cancellation. */
  get waitOptions(): WaitForRolloutsOptions {
    return {
      timeoutMs: this.o.rolloutTimeoutMs,
      heartbeatMs: 30_000,
      ...(this.o.signal === undefined ? {} : { signal: this.o.signal }),
    };
  }

  /** Runs one phase and records how long it took, even when it throws. */
  async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = this.clock.now();
    try {
      return await fn();
    } finally {
      this.timings[name] = this.clock.now() - started;
    }
  }

  /**
   * Takes the lock, runs the release, frees the lock whatever happens (or leaves it to the release
   * when it paused for approval); `total` is timed from before the lock. The strategies' `run()`.
   */
  async locked<T extends object>(
    release: () => Promise<T>,
    afterUnlock?: () => void,
  ): Promise<T & { timings: Record<string, number> }> {
    const started = this.clock.now();
    await this.phase('lock', () => this.logger.group('Lock', () => this.lock.acquire()));
    try {
      const outcome = await release();
      this.timings.total = this.clock.now() - started;
      return { ...outcome, timings: { ...this.timings } };
    } finally {
      await this.lock.release(this.pausedAt);
      afterUnlock?.();
    }
  }
}

import { formatDuration, withRetry, type Clock, type Logger } from '@dreamscape/core';
import type { Lease } from '@dreamscape/kube';
import { isTransient, type ClusterApi } from './cluster-api.js';
import { isConflict } from './history.js';
import { APP_LABEL, ENVIRONMENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL } from './colors.js';
import { CanaryPausedError, LockHeldError, LockLostError } from './release-errors.js';
import { PROVENANCE_ANNOTATIONS } from './provenance.js';

/** Who asks for the lock. */
export interface LockHolder {
  /** Stable across re-runs of the same workflow run (a re-run may take its own lock over at once). */
  readonly id: string;
  /** Shown to a run that has to wait. */
  readonly runUrl: string;
}

/** Options of {@link LeaseLock}. */
export interface LeaseLockOptions {
  readonly api: ClusterApi;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly namespace: string;
  readonly app: string;
  readonly environment: string;
  readonly holder: LockHolder;
  /** How long the lease lives without renewal. Default 60 s. */
  readonly ttlMs?: number;
  /** How long to wait for a lock another run holds. */
  readonly waitMs: number;
  readonly signal?: AbortSignal;
  /** Takes the lock from a paused canary (a run that promotes, aborts or rolls back). */
  readonly takeOverPaused?: boolean;
  /**
   * While it waits, asks the run holding the lock to abort its canary (a rollback during a canary):
   * the holder sees the request on the Lease and stops at once.
   */
  readonly requestAbort?: boolean;
}

/** Where a canary paused for approval stands: its Lease is held in its name until it goes on. */
export interface PausedAt {
  readonly revision: number;
  readonly weight: number;
}

/** The holder's run, named as every object the release writes names its run. */
const RUN_URL_ANNOTATION = PROVENANCE_ANNOTATIONS.runUrl;
const PAUSED_ANNOTATION = 'dreamscape.io/paused-at';
/** Set on the Lease by a run that asks the holder's canary to abort: the asking run's URL or id. */
export const ABORT_ANNOTATION = 'dreamscape.io/abort-requested';
/** The holder identity of a paused canary's Lease. */
export const PAUSED_HOLDER_PREFIX = 'paused-canary/';
/**
 * How long a paused canary holds the Lease without anyone renewing it: long enough for any
 * approval; past it the lock is free, and the paused release record still refuses other deploys.
 */
export const PAUSED_LEASE_SECONDS = 30 * 24 * 3600;
/** Attempts to free the lock before leaving it to expire. */
const RELEASE_ATTEMPTS = 5;

/**
 * One `coordination.k8s.io/v1` Lease per environment and app. Taken with create-or-compare-and-swap,
 * renewed in the background, taken over only after its TTL has passed without renewal (or at once by
 * a re-run of the same workflow run), released by clearing the holder.
 */
export class LeaseLock {
  private readonly o: LeaseLockOptions;
  private readonly ttlMs: number;
  private lease: Lease | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private lost: LockLostError | undefined;
  private abortAsked = false;

  constructor(options: LeaseLockOptions) {
    this.o = options;
    this.ttlMs = options.ttlMs ?? 60_000;
  }

  /** `dreamscape-lock-<app>-<environment>`. */
  get name(): string {
    return `dreamscape-lock-${this.o.app}-${this.o.environment}`;
  }

  /** Takes the lock, waiting up to `waitMs` for another holder; fails naming the holder's run. */
  async acquire(): Promise<void> {
    const { logger, clock } = this.o;
    const deadline = clock.now() + this.o.waitMs;
    let delay = 500;
    let lastNotice = 0;
    for (;;) {
      const outcome = await this.tryAcquire();
      if (outcome.acquired) {
        this.startRenewal();
        return;
      }
      const now = clock.now();
      if (now >= deadline) {
        throw new LockHeldError(
          `Another release of ${this.o.app} to ${this.o.environment} holds the lock ${this.o.namespace}/${this.name}: ${outcome.holder} (${outcome.runUrl || 'no run URL'}), lease valid for ${formatDuration(outcome.expiresInMs)} more.`,
          {
            lock: this.name,
            namespace: this.o.namespace,
            holder: outcome.holder,
            runUrl: outcome.runUrl,
            expiresInMs: outcome.expiresInMs,
          },
          'Wait for that run to finish, or raise `lock-timeout`. A lock whose run died is taken over once its lease expires.',
        );
      }
      if (this.o.requestAbort === true && !this.abortAsked) await this.askToAbort(outcome.holder);
      if (now - lastNotice >= 30_000 || lastNotice === 0) {
        logger.info(
          `Waiting for the lock ${this.name}, held by ${outcome.holder} (${outcome.runUrl || 'no run URL'}); ${formatDuration(deadline - now)} left.`,
        );
        lastNotice = now;
      }
      await clock.sleep(
        Math.min(delay, Math.max(0, deadline - now), Math.max(50, outcome.expiresInMs)),
        this.o.signal,
      );
      delay = Math.min(delay * 2, 5000);
    }
  }

  /** Who asked this run's canary to abort (from the Lease), or undefined. */
  async abortRequested(): Promise<string | undefined> {
    if (this.lease === undefined) return undefined;
    const live = await this.readLease();
    if (live?.spec?.holderIdentity !== this.o.holder.id) return undefined;
    return live.metadata.annotations?.[ABORT_ANNOTATION];
  }

  /** Writes the abort request on the Lease of a live holder (once; a lost race is tried again). */
  private async askToAbort(holder: string): Promise<void> {
    const live = await this.readLease();
    const current = live?.spec?.holderIdentity ?? '';
    if (live === undefined || current === '' || current.startsWith(PAUSED_HOLDER_PREFIX)) return;
    try {
      await this.o.api.replace<Lease>({
        ...live,
        metadata: {
          ...live.metadata,
          annotations: {
            ...(live.metadata.annotations ?? {}),
            [ABORT_ANNOTATION]: this.o.holder.runUrl || this.o.holder.id,
          },
        },
      });
      this.abortAsked = true;
      this.o.logger.notice(`Asked the release holding the lock (${holder}) to abort its canary.`);
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }

  /** Fails if a renewal found the lock taken by someone else. */
  assertHeld(): void {
    if (this.lost !== undefined) throw this.lost;
  }

  /**
   * Stops renewing and frees the lock (only if it is still ours). A lost compare-and-swap (someone
   * touched the Lease, or the server answered 409) reads it again; a 5xx, 429 or timeout is retried
   * with backoff. Only after {@link RELEASE_ATTEMPTS} attempts is the lock left to expire by itself.
   */
  async release(paused?: PausedAt): Promise<void> {
    this.stopRenewal();
    const current = this.lease;
    if (current === undefined) return;
    this.lease = undefined;
    try {
      await withRetry(
        async () => {
          const live = await this.readLease();
          if (live?.spec?.holderIdentity !== this.o.holder.id) return;
          // A paused canary keeps the lock in its own name: no other release interleaves with it.
          const annotations = Object.fromEntries(
            Object.entries(live.metadata.annotations ?? {}).filter(([k]) => k !== PAUSED_ANNOTATION),
          );
          if (paused !== undefined)
            annotations[PAUSED_ANNOTATION] =
              `revision ${String(paused.revision)} at ${String(paused.weight)} %`;
          await this.o.api.replace<Lease>({
            ...live,
            metadata: { ...live.metadata, annotations },
            spec: {
              ...live.spec,
              holderIdentity: paused === undefined ? '' : pausedHolder(paused.revision),
              renewTime: nowMicro(this.o.clock),
              ...(paused === undefined ? {} : { leaseDurationSeconds: PAUSED_LEASE_SECONDS }),
            },
          });
          if (paused !== undefined)
            this.o.logger.info(
              `Lock ${this.o.namespace}/${this.name} held by the paused canary (revision ${String(paused.revision)}) until a run promotes or aborts it.`,
            );
        },
        {
          policy: { attempts: RELEASE_ATTEMPTS, initialDelayMs: 100, maxDelayMs: 2000 },
          retryable: (error) => isConflict(error) || isTransient(error),
          onRetry: (error) => {
            this.o.logger.info(`Releasing the lock ${this.name} failed (${String(error)}); retrying.`);
          },
          clock: this.o.clock,
        },
      );
    } catch (error) {
      this.o.logger.warning(
        `Could not release the lock ${this.name}: ${String(error)}. It expires by itself in ${formatDuration(this.ttlMs)} at most.`,
      );
    }
  }

  private readLease(): Promise<Lease | undefined> {
    return this.o.api.get<Lease>({ kind: 'Lease', name: this.name, namespace: this.o.namespace });
  }

  private async tryAcquire(): Promise<
    { acquired: true } | { acquired: false; holder: string; runUrl: string; expiresInMs: number }
  > {
    const { api, clock, holder, namespace } = this.o;
    const live = await this.readLease();
    const spec = {
      holderIdentity: holder.id,
      leaseDurationSeconds: Math.ceil(this.ttlMs / 1000),
      acquireTime: nowMicro(clock),
      renewTime: nowMicro(clock),
    };
    if (live === undefined) {
      try {
        this.lease = await api.create<Lease>({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name: this.name,
            namespace,
            labels: this.labels(),
            annotations: { [RUN_URL_ANNOTATION]: holder.runUrl },
          },
          spec,
        });
        this.o.logger.info(`Lock ${namespace}/${this.name} taken.`);
        return { acquired: true };
      } catch (error) {
        if (isConflict(error))
          return { acquired: false, holder: 'another run', runUrl: '', expiresInMs: 500 };
        throw error;
      }
    }
    const current = live.spec?.holderIdentity ?? '';
    const renew = Date.parse(live.spec?.renewTime ?? live.spec?.acquireTime ?? '') || 0;
    const ttl = (live.spec?.leaseDurationSeconds ?? 0) * 1000;
    const expiresInMs = renew + ttl - clock.now();
    const paused = current.startsWith(PAUSED_HOLDER_PREFIX) && expiresInMs > 0;
    if (paused && this.o.takeOverPaused !== true) {
      const revision = Number(current.slice(PAUSED_HOLDER_PREFIX.length).replace(/^revision-/, ''));
      throw new CanaryPausedError(
        `The lock ${namespace}/${this.name} is held by a canary paused for approval (${live.metadata.annotations?.[PAUSED_ANNOTATION] ?? current}): nothing was written.`,
        {
          app: this.o.app,
          environment: this.o.environment,
          revision,
          weight: Number(/at (\d+) %/.exec(live.metadata.annotations?.[PAUSED_ANNOTATION] ?? '')?.[1] ?? 0),
        },
      );
    }
    const free = current === '' || current === holder.id || expiresInMs <= 0 || paused;
    if (!free) {
      return {
        acquired: false,
        holder: current,
        runUrl: live.metadata.annotations?.[RUN_URL_ANNOTATION] ?? '',
        expiresInMs,
      };
    }
    try {
      // A new holder starts with no abort request and no pause of an earlier one.
      const kept = Object.entries(live.metadata.annotations ?? {}).filter(
        ([k]) => k !== ABORT_ANNOTATION && k !== PAUSED_ANNOTATION,
      );
      this.lease = await api.replace<Lease>({
        ...live,
        metadata: {
          ...live.metadata,
          annotations: { ...Object.fromEntries(kept), [RUN_URL_ANNOTATION]: holder.runUrl },
        },
        spec: {
          ...live.spec,
          ...spec,
          leaseTransitions:
            (live.spec?.leaseTransitions ?? 0) + (current === holder.id || current === '' ? 0 : 1),
        },
      });
    } catch (error) {
      if (isConflict(error)) return { acquired: false, holder: 'another run', runUrl: '', expiresInMs: 500 };
      throw error;
    }
    if (paused)
      this.o.logger.info(`Lock ${namespace}/${this.name} taken from the paused canary (${current}).`);
    else if (current !== '' && current !== holder.id)
      this.o.logger.warning(
        `Took over the lock ${this.name} from ${current}, whose lease expired ${formatDuration(-expiresInMs)} ago.`,
      );
    else if (current === holder.id)
      this.o.logger.info(`Lock ${namespace}/${this.name} taken back by the same run.`);
    else this.o.logger.info(`Lock ${namespace}/${this.name} taken.`);
    return { acquired: true };
  }

  private startRenewal(): void {
    const every = Math.max(1000, Math.floor(this.ttlMs / 3));
    this.renewTimer = setInterval(() => {
      void this.renew();
    }, every);
    this.renewTimer.unref();
  }

  private stopRenewal(): void {
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  private async renew(): Promise<void> {
    const lease = this.lease;
    if (lease === undefined) return;
    try {
      this.lease = await this.o.api.replace<Lease>({
        ...lease,
        spec: { ...lease.spec, renewTime: nowMicro(this.o.clock) },
      });
    } catch (error) {
      if (isConflict(error)) {
        // A 409 means the Lease changed since we last wrote it, or the server refused this write;
        // only a different holder means the lock is lost.
        await this.renewFromLive();
      } else {
        this.o.logger.warning(`Could not renew the lock ${this.name}: ${String(error)}; retrying.`);
      }
    }
  }

  private async renewFromLive(): Promise<void> {
    try {
      const live = await this.readLease();
      if (this.lease === undefined) return;
      if (live?.spec?.holderIdentity !== this.o.holder.id) {
        this.lost = new LockLostError(
          `The lock ${this.name} was taken by ${live?.spec?.holderIdentity || 'nobody'} while this run held it.`,
          { lock: this.name, holder: live?.spec?.holderIdentity ?? '' },
        );
        this.stopRenewal();
        return;
      }
      this.lease = live;
    } catch (error) {
      this.o.logger.warning(`Could not read the lock ${this.name} back: ${String(error)}; retrying.`);
    }
  }

  private labels(): Record<string, string> {
    return {
      [APP_LABEL]: this.o.app,
      [ENVIRONMENT_LABEL]: this.o.environment,
      [MANAGED_BY_LABEL]: MANAGED_BY,
    };
  }
}

/** `paused-canary/revision-<n>`. */
export function pausedHolder(revision: number): string {
  return `${PAUSED_HOLDER_PREFIX}revision-${String(revision)}`;
}

/** Lease times are MicroTime: RFC 3339 with microseconds. */
function nowMicro(clock: Clock): string {
  return new Date(clock.now()).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

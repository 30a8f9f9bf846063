import { ActionError, formatDuration, startHeartbeat, type Logger } from '@dreamscape/core';
import type { Deployment, KubeObject } from './kube-object.js';
import { evaluateRollout, type RolloutStatus } from './rollout-status.js';
import type { KubectlError, KubectlReason } from './kubectl-error.js';

/** A Deployment to wait for. */
export interface RolloutTarget {
  readonly namespace: string;
  readonly name: string;
}

/** How one Deployment's wait ended. */
export interface RolloutOutcome {
  readonly name: string;
  readonly namespace: string;
  readonly state: 'complete' | 'failed' | 'timeout';
  /** `Complete`, `ProgressDeadlineExceeded`, `Deleted`, or for a timeout what was still missing (`AvailableReplicas`, `NotFound`, …). */
  readonly reason: string;
  readonly message: string;
  readonly replicas: number;
  readonly ready: number;
  readonly available: number;
  readonly updated: number;
  /** From the start of the wait to this outcome. */
  readonly elapsedMs: number;
}

/** Options of {@link waitForRollouts}. */
export interface WaitForRolloutsOptions {
  /** The whole wait, for all Deployments together. */
  readonly timeoutMs: number;
  /** Aborting stops the watches and rejects. */
  readonly signal?: AbortSignal;
  /** Called whenever a Deployment's status changes. */
  readonly onProgress?: (status: RolloutStatus) => void;
  /** How often a line says what is still awaited. Default 30 s. */
  readonly heartbeatMs?: number;
  /** First delay before a watch that ended is started again (doubled on each failure in a row, at most 10 s). Default 1 s. */
  readonly restartDelayMs?: number;
}

/** One running watch process. */
export interface RunningWatch {
  /** Settles when the process ends, with the error when it failed. Never rejects. */
  readonly ended: Promise<KubectlError | undefined>;
  stop(): void;
}

/**
 * Starts one watch of the Deployments in `namespace` (all of `names` at least), calling `onEvent`
 * with every parsed watch event (`{type, object}`), the initial list included as `ADDED` events.
 */
export type StartDeploymentWatch = (
  namespace: string,
  names: readonly string[],
  onEvent: (event: unknown) => void,
) => RunningWatch;

/** Reasons that another watch would hit again: give up instead of retrying. */
const FATAL: ReadonlySet<KubectlReason> = new Set([
  'Forbidden',
  'Unauthorized',
  'NotInstalled',
  'Invalid',
  'BadRequest',
]);
/**
 * kubectl also says "the server doesn't have a resource type" when its discovery request failed
 * (a 5xx on `/apis`): an unknown resource is believed only when it comes back this many times in a row.
 */
const UNKNOWN_RESOURCE_TRIES = 3;

const keyOf = (t: RolloutTarget): string => `${t.namespace}/${t.name}`;

/**
 * Waits for every target Deployment in parallel, with one watch process per namespace, judging
 * each event with {@link evaluateRollout}. A watch that ends (server timeout, dropped connection)
 * is started again, which lists afresh. Resolves with one outcome per target, in input order.
 */
export function waitForRollouts(
  targets: readonly RolloutTarget[],
  options: WaitForRolloutsOptions,
  deps: { readonly startWatch: StartDeploymentWatch; readonly logger: Logger; readonly now?: () => number },
): Promise<RolloutOutcome[]> {
  const now = deps.now ?? Date.now;
  const logger = deps.logger;
  const started = now();
  const deadline = started + options.timeoutMs;
  const unique = [...new Map(targets.map((t) => [keyOf(t), t])).values()];
  if (unique.length === 0) return Promise.resolve([]);
  const namespaces = [...new Set(unique.map((t) => t.namespace))];
  const latest = new Map<string, RolloutStatus>();
  const outcomes = new Map<string, RolloutOutcome>();
  const watches = new Map<string, RunningWatch>();
  const failuresInARow = new Map<string, number>();
  const restartTimers = new Set<NodeJS.Timeout>();
  const restartBase = options.restartDelayMs ?? 1000;

  return new Promise<RolloutOutcome[]>((resolve, reject) => {
    let finished = false;
    const pendingIn = (ns: string): RolloutTarget[] =>
      unique.filter((t) => t.namespace === ns && !outcomes.has(keyOf(t)));

    const describePending = (): string => {
      const waiting = unique.filter((t) => !outcomes.has(keyOf(t)));
      const details = waiting
        .slice(0, 5)
        .map((t) => `${keyOf(t)}: ${latest.get(keyOf(t))?.message ?? 'not seen yet'}`)
        .join('; ');
      const more = waiting.length > 5 ? `; and ${waiting.length - 5} more` : '';
      return `Waiting for ${waiting.length} of ${unique.length} deployment rollouts (${details}${more}); ${formatDuration(Math.max(0, deadline - now()))} left.`;
    };
    const heartbeat = startHeartbeat(logger, describePending, options.heartbeatMs ?? 30_000);

    const finish = (error?: Error): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadlineTimer);
      for (const t of restartTimers) clearTimeout(t);
      heartbeat.stop();
      options.signal?.removeEventListener('abort', onAbort);
      for (const w of watches.values()) w.stop();
      if (error !== undefined) reject(error);
      else
        resolve(
          unique.map((t) => outcomes.get(keyOf(t))).filter((o): o is RolloutOutcome => o !== undefined),
        );
    };

    const settle = (status: RolloutStatus, state: RolloutOutcome['state'], reason = status.reason): void => {
      const key = `${status.namespace}/${status.name}`;
      if (outcomes.has(key)) return;
      const { name, namespace, message, replicas, ready, available, updated } = status;
      outcomes.set(key, {
        name,
        namespace,
        state,
        reason,
        message,
        replicas,
        ready,
        available,
        updated,
        elapsedMs: now() - started,
      });
      const say = state === 'complete' ? logger.info.bind(logger) : logger.warning.bind(logger);
      say(`${key}: ${state === 'complete' ? message : `${state} (${reason}): ${message}`}`);
      if (pendingIn(namespace).length === 0) watches.get(namespace)?.stop();
      if (outcomes.size === unique.length) finish();
    };

    const onEvent = (namespace: string, event: unknown): void => {
      if (finished || typeof event !== 'object' || event === null) return;
      const { type, object } = event as { type?: unknown; object?: unknown };
      failuresInARow.set(namespace, 0);
      if (type === 'ERROR') {
        const message = (object as { message?: unknown } | undefined)?.message;
        logger.debug(`watch of deployments in ${namespace} sent an error: ${String(message)}`);
        return;
      }
      const obj = object as KubeObject | undefined;
      if (obj?.kind !== 'Deployment' || typeof obj.metadata.name !== 'string') return;
      const key = `${obj.metadata.namespace ?? namespace}/${obj.metadata.name}`;
      if (outcomes.has(key) || !unique.some((t) => keyOf(t) === key)) return;
      const deployment = {
        ...obj,
        metadata: { ...obj.metadata, namespace: obj.metadata.namespace ?? namespace },
      } as Deployment;
      const status = evaluateRollout(deployment);
      if (type === 'DELETED') {
        settle(
          {
            ...status,
            state: 'failed',
            reason: 'Deleted',
            message: `deployment "${status.name}" was deleted while waiting for its rollout`,
          },
          'failed',
        );
        return;
      }
      const before = latest.get(key);
      latest.set(key, status);
      if (before === undefined || before.message !== status.message || before.ready !== status.ready) {
        options.onProgress?.(status);
        logger.debug(`${key}: ${status.message}`);
      }
      if (status.state === 'complete') settle(status, 'complete');
      else if (status.state === 'failed') settle(status, 'failed');
    };

    const start = (namespace: string): void => {
      if (finished) return;
      const names = pendingIn(namespace).map((t) => t.name);
      if (names.length === 0) return;
      const watch = deps.startWatch(namespace, names, (event) => {
        onEvent(namespace, event);
      });
      watches.set(namespace, watch);
      void watch.ended.then((error) => {
        if (finished || pendingIn(namespace).length === 0 || watches.get(namespace) !== watch) return;
        if (error !== undefined && FATAL.has(error.reason)) {
          finish(error);
          return;
        }
        const failures = (failuresInARow.get(namespace) ?? 0) + (error === undefined ? 0 : 1);
        failuresInARow.set(namespace, failures);
        if (error?.reason === 'UnknownResource' && failures >= UNKNOWN_RESOURCE_TRIES) {
          finish(error);
          return;
        }
        const delay = Math.min(10_000, restartBase * 2 ** Math.max(0, failures - 1));
        logger.info(
          `The watch of deployments in ${namespace} ended${error === undefined ? '' : ` (${error.kubectlMessage || error.reason})`}; listing and watching again in ${formatDuration(delay)}.`,
        );
        const timer = setTimeout(() => {
          restartTimers.delete(timer);
          start(namespace);
        }, delay);
        restartTimers.add(timer);
      });
    };

    const onAbort = (): void => {
      finish(new ActionError('Waiting for the deployment rollouts was cancelled.'));
    };
    const deadlineTimer = setTimeout(
      () => {
        for (const t of unique) {
          const key = keyOf(t);
          if (outcomes.has(key)) continue;
          const last = latest.get(key);
          const status: RolloutStatus = last ?? {
            name: t.name,
            namespace: t.namespace,
            state: 'progressing',
            reason: 'NotFound',
            message: `deployment "${t.name}" was not found in namespace ${t.namespace}`,
            replicas: 0,
            ready: 0,
            available: 0,
            updated: 0,
          };
          settle(status, 'timeout');
        }
        finish();
      },
      Math.max(0, options.timeoutMs),
    );

    if (options.signal?.aborted === true) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    for (const ns of namespaces) start(ns);
  });
}

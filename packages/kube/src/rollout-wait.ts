import { ActionError, formatDuration, startHeartbeat, type Logger } from '@dreamscape/core';
import type { KubeObject } from './kube-object.js';
import {
  evaluateRollout,
  type RolloutKind,
  type RolloutStatus,
  type RolloutWorkload,
} from './rollout-status.js';
import type { KubectlError, KubectlReason } from './kubectl-error.js';

/** A workload to wait for. */
export interface RolloutTarget {
  /** Default `Deployment`. */
  readonly kind?: RolloutKind;
  readonly namespace: string;
  readonly name: string;
}

/** How one workload's wait ended. */
export interface RolloutOutcome {
  readonly kind: RolloutKind;
  readonly name: string;
  readonly namespace: string;
  readonly state: 'complete' | 'failed' | 'timeout';
  /** `Complete`, `ProgressDeadlineExceeded`, `Deleted`, or for a timeout what was still missing (`AvailableReplicas`, `ReadyReplicas`, `NotFound`, …). */
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
  /** The whole wait, for all workloads together. */
  readonly timeoutMs: number;
  /** Aborting stops the watches and rejects. */
  readonly signal?: AbortSignal;
  /** Called whenever a workload's status changes. */
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

/** What one watch covers: the workloads of one kind in one namespace. */
export interface RolloutWatchRequest {
  readonly kind: RolloutKind;
  readonly namespace: string;
  /** The names still awaited; the watch may cover more. */
  readonly names: readonly string[];
}

/**
 * Starts one watch of the workloads of `request.kind` in `request.namespace` (all of
 * `request.names` at least), calling `onEvent` with every parsed watch event (`{type, object}`),
 * the initial list included as `ADDED` events.
 */
export type StartRolloutWatch = (
  request: RolloutWatchRequest,
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

/** How messages name each kind (kubectl's words) and its resource. */
const KINDS = {
  Deployment: { word: 'deployment', plural: 'deployments' },
  StatefulSet: { word: 'statefulset', plural: 'statefulsets' },
  DaemonSet: { word: 'daemon set', plural: 'daemonsets' },
} as const satisfies Record<RolloutKind, { word: string; plural: string }>;

const kindOf = (t: RolloutTarget): RolloutKind => t.kind ?? 'Deployment';
const keyOf = (t: RolloutTarget): string => `${kindOf(t)}/${t.namespace}/${t.name}`;
/** How log lines name a target: `prod/web` for a Deployment (as they always have), `statefulset prod/db` for the others. */
const labelOf = (t: RolloutTarget): string =>
  kindOf(t) === 'Deployment'
    ? `${t.namespace}/${t.name}`
    : `${KINDS[kindOf(t)].word} ${t.namespace}/${t.name}`;
/** One watch per kind and namespace. */
interface WatchGroup {
  readonly key: string;
  readonly kind: RolloutKind;
  readonly namespace: string;
}

/**
 * Waits for every target workload in parallel, with one watch process per namespace and kind,
 * judging each event with {@link evaluateRollout}. A watch that ends (server timeout, dropped
 * connection) is started again, which lists afresh. Resolves with one outcome per target, in input
 * order.
 */
export function waitForRollouts(
  targets: readonly RolloutTarget[],
  options: WaitForRolloutsOptions,
  deps: { readonly startWatch: StartRolloutWatch; readonly logger: Logger; readonly now?: () => number },
): Promise<RolloutOutcome[]> {
  const now = deps.now ?? Date.now;
  const logger = deps.logger;
  const started = now();
  const deadline = started + options.timeoutMs;
  const unique = [...new Map(targets.map((t) => [keyOf(t), t])).values()];
  if (unique.length === 0) return Promise.resolve([]);
  const groupOf = (t: RolloutTarget): WatchGroup => ({
    key: `${kindOf(t)}/${t.namespace}`,
    kind: kindOf(t),
    namespace: t.namespace,
  });
  const groups = [...new Map(unique.map((t) => [groupOf(t).key, groupOf(t)])).values()];
  const latest = new Map<string, RolloutStatus>();
  const outcomes = new Map<string, RolloutOutcome>();
  const watches = new Map<string, RunningWatch>();
  const failuresInARow = new Map<string, number>();
  const restartTimers = new Set<NodeJS.Timeout>();
  const restartBase = options.restartDelayMs ?? 1000;

  return new Promise<RolloutOutcome[]>((resolve, reject) => {
    let finished = false;
    const pendingIn = (group: WatchGroup): RolloutTarget[] =>
      unique.filter((t) => groupOf(t).key === group.key && !outcomes.has(keyOf(t)));
    const where = (group: WatchGroup): string => `${KINDS[group.kind].plural} in ${group.namespace}`;

    const describePending = (): string => {
      const waiting = unique.filter((t) => !outcomes.has(keyOf(t)));
      const details = waiting
        .slice(0, 5)
        .map((t) => `${labelOf(t)}: ${latest.get(keyOf(t))?.message ?? 'not seen yet'}`)
        .join('; ');
      const more = waiting.length > 5 ? `; and ${waiting.length - 5} more` : '';
      return `Waiting for ${waiting.length} of ${unique.length} rollouts (${details}${more}); ${formatDuration(Math.max(0, deadline - now()))} left.`;
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
      const key = keyOf(status);
      if (outcomes.has(key)) return;
      const { kind, name, namespace, message, replicas, ready, available, updated } = status;
      outcomes.set(key, {
        kind,
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
      say(`${labelOf(status)}: ${state === 'complete' ? message : `${state} (${reason}): ${message}`}`);
      const group = groupOf(status);
      if (pendingIn(group).length === 0) watches.get(group.key)?.stop();
      if (outcomes.size === unique.length) finish();
    };

    const onEvent = (group: WatchGroup, event: unknown): void => {
      if (finished || typeof event !== 'object' || event === null) return;
      const { type, object } = event as { type?: unknown; object?: unknown };
      failuresInARow.set(group.key, 0);
      if (type === 'ERROR') {
        const message = (object as { message?: unknown } | undefined)?.message;
        logger.debug(`watch of ${where(group)} sent an error: ${String(message)}`);
        return;
      }
      const obj = object as KubeObject | undefined;
      if (obj?.kind !== group.kind || typeof obj.metadata.name !== 'string') return;
      const target = {
        kind: group.kind,
        namespace: obj.metadata.namespace ?? group.namespace,
        name: obj.metadata.name,
      };
      const key = keyOf(target);
      if (outcomes.has(key) || !unique.some((t) => keyOf(t) === key)) return;
      const workload = {
        ...obj,
        metadata: { ...obj.metadata, namespace: target.namespace },
      } as RolloutWorkload;
      const status = evaluateRollout(workload);
      if (type === 'DELETED') {
        settle(
          {
            ...status,
            state: 'failed',
            reason: 'Deleted',
            message: `${KINDS[group.kind].word} "${status.name}" was deleted while waiting for its rollout`,
          },
          'failed',
        );
        return;
      }
      const before = latest.get(key);
      latest.set(key, status);
      if (before === undefined || before.message !== status.message || before.ready !== status.ready) {
        options.onProgress?.(status);
        logger.debug(`${labelOf(target)}: ${status.message}`);
      }
      if (status.state === 'complete') settle(status, 'complete');
      else if (status.state === 'failed') settle(status, 'failed');
    };

    const start = (group: WatchGroup): void => {
      if (finished) return;
      const names = pendingIn(group).map((t) => t.name);
      if (names.length === 0) return;
      const watch = deps.startWatch({ kind: group.kind, namespace: group.namespace, names }, (event) => {
        onEvent(group, event);
      });
      watches.set(group.key, watch);
      void watch.ended.then((error) => {
        if (finished || pendingIn(group).length === 0 || watches.get(group.key) !== watch) return;
        if (error !== undefined && FATAL.has(error.reason)) {
          finish(error);
          return;
        }
        const failures = (failuresInARow.get(group.key) ?? 0) + (error === undefined ? 0 : 1);
        failuresInARow.set(group.key, failures);
        if (error?.reason === 'UnknownResource' && failures >= UNKNOWN_RESOURCE_TRIES) {
          finish(error);
          return;
        }
        const delay = Math.min(10_000, restartBase * 2 ** Math.max(0, failures - 1));
        logger.info(
          `The watch of ${where(group)} ended${error === undefined ? '' : ` (${error.kubectlMessage || error.reason})`}; listing and watching again in ${formatDuration(delay)}.`,
        );
        const timer = setTimeout(() => {
          restartTimers.delete(timer);
          start(group);
        }, delay);
        restartTimers.add(timer);
      });
    };

    const onAbort = (): void => {
      finish(new ActionError('Waiting for the rollouts was cancelled.'));
    };
    const deadlineTimer = setTimeout(
      () => {
        for (const t of unique) {
          const key = keyOf(t);
          if (outcomes.has(key)) continue;
          const kind = kindOf(t);
          const status: RolloutStatus = latest.get(key) ?? {
            kind,
            name: t.name,
            namespace: t.namespace,
            state: 'progressing',
            reason: 'NotFound',
            message: `${KINDS[kind].word} "${t.name}" was not found in namespace ${t.namespace}`,
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
    for (const group of groups) start(group);
  });
}

import type { ApiServer } from './api-server.js';
import { QueueController, keyOf, splitKey } from './controller.js';
import type { EventRecorder } from './event-recorder.js';
import {
  cloneJson,
  jsonEqual,
  numberAt,
  objectAt,
  objectsAt,
  stringAt,
  type JsonObject,
} from './json-value.js';
import { nameOf, namespaceOf, uidOf, type StoreChange } from './object-store.js';
import { createOwnedPod, ownedPods, podPhase } from './owned-pods.js';
import { controllerOf } from './owner-references.js';
import { isPodReady } from './pod-lifecycle.js';
import { builtInType } from './resource-table.js';
import type { SeededRandom } from './seeded-random.js';
import type { SimClock } from './sim-clock.js';

type Finish =
  | { readonly type: 'Complete' }
  | {
      readonly type: 'Failed';
      readonly reason: 'BackoffLimitExceeded' | 'DeadlineExceeded';
      readonly message: string;
    };

/** The condition types a finished Job carries (the first is the one `kubectl wait` looks for). */
function finishedAs(job: JsonObject): 'Complete' | 'Failed' | undefined {
  const conditions = objectsAt(objectAt(job, 'status'), 'conditions');
  for (const type of ['Complete', 'Failed'] as const)
    if (conditions.some((c) => c.type === type && c.status === 'True')) return type;
  return undefined;
}

function restarts(pod: JsonObject): number {
  return objectsAt(objectAt(pod, 'status'), 'containerStatuses').reduce(
    (n, c) => n + (numberAt(c, 'restartCount') ?? 0),
    0,
  );
}

/**
 * The Job controller, after the real one: keeps `parallelism` pods running until `completions`
 * have succeeded (their images' behaviour decides exit code and run time), counts failures against
 * `backoffLimit` (failed pods under restartPolicy Never, container restarts under OnFailure), ends
 * the Job at `activeDeadlineSeconds`, and deletes it `ttlSecondsAfterFinished` after it finished.
 * Conditions are what `kubectl wait --for=condition=complete` (or `failed`) reads.
 */
export class JobController extends QueueController {
  private readonly jobType = builtInType('Job');
  private readonly podType = builtInType('Pod');
  private readonly accountType = builtInType('ServiceAccount');
  /** Pods already counted as succeeded or failed, per Job uid (the real job-tracking finalizer's role). */
  private readonly counted = new Map<string, { succeeded: Set<string>; failed: Set<string> }>();
  /** Jobs whose deadline or TTL timer is armed. */
  private readonly armed = new Set<string>();
  /**
   * Real milliseconds at which each Job started and finished: status timestamps have whole seconds,
   * too coarse for deadlines and TTLs in simulated time.
   */
  private readonly times = new Map<string, { start: number; finish?: number }>();

  constructor(
    api: ApiServer,
    private readonly clock: SimClock,
    private readonly events: EventRecorder,
    private readonly random: SeededRandom,
    onError: (key: string, error: unknown) => void,
  ) {
    super(api, onError);
  }

  protected onChange(change: StoreChange): void {
    if (change.resourceType === this.jobType) {
      if (change.type === 'DELETED') {
        this.counted.delete(uidOf(change.object));
        this.times.delete(uidOf(change.object));
      } else this.queue.add(keyOf(namespaceOf(change.object), nameOf(change.object)));
    } else if (change.resourceType === this.podType) {
      for (const pod of [change.object, change.previous]) {
        const owner = pod === undefined ? undefined : controllerOf(pod);
        if (pod !== undefined && owner?.kind === 'Job') this.queue.add(keyOf(namespaceOf(pod), owner.name));
      }
    } else if (change.resourceType === this.accountType && change.type === 'ADDED') {
      for (const job of this.api.store.view(this.jobType, namespaceOf(change.object)))
        this.queue.add(keyOf(namespaceOf(job), nameOf(job)));
    }
  }

  protected sync(key: string): void {
    const [namespace, name] = splitKey(key);
    const job = this.api.store.peek(this.jobType, namespace, name);
    if (job === undefined || objectAt(job, 'metadata')?.deletionTimestamp !== undefined) return;
    const spec = objectAt(job, 'spec');
    const status = objectAt(job, 'status');
    const done = finishedAs(job);
    if (done !== undefined) {
      this.expireAfterTtl(job);
      return;
    }
    const pods = ownedPods(this.api, job);
    const uid = uidOf(job);
    const counted = this.counted.get(uid) ?? { succeeded: new Set<string>(), failed: new Set<string>() };
    this.counted.set(uid, counted);
    for (const pod of pods) {
      if (podPhase(pod) === 'Succeeded') counted.succeeded.add(uidOf(pod));
      if (podPhase(pod) === 'Failed') counted.failed.add(uidOf(pod));
    }
    const active = pods.filter((p) => podPhase(p) !== 'Succeeded' && podPhase(p) !== 'Failed');
    const succeeded = Math.max(numberAt(status, 'succeeded') ?? 0, counted.succeeded.size);
    const failedPods = Math.max(numberAt(status, 'failed') ?? 0, counted.failed.size);
    const completions = numberAt(spec, 'completions');
    const parallelism = numberAt(spec, 'parallelism') ?? 1;
    const backoffLimit = numberAt(spec, 'backoffLimit') ?? 6;
    const startTime = stringAt(status, 'startTime') ?? this.api.timestamp();
    const suspended = spec?.suspend === true;
    const times = this.times.get(uid) ?? { start: this.clock.real.now() };
    this.times.set(uid, times);

    let finish: Finish | undefined;
    const onFailure = stringAt(objectAt(objectAt(spec, 'template'), 'spec'), 'restartPolicy') === 'OnFailure';
    const restartsSoFar = active.reduce((n, p) => n + restarts(p), 0);
    const deadline = numberAt(spec, 'activeDeadlineSeconds');
    if (completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0)
      finish = { type: 'Complete' };
    else if (
      failedPods > backoffLimit ||
      (onFailure && (backoffLimit === 0 ? restartsSoFar > 0 : restartsSoFar >= backoffLimit))
    )
      finish = {
        type: 'Failed',
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
      };
    else if (
      deadline !== undefined &&
      !suspended &&
      this.clock.simulatedSince(times.start) >= deadline * 1000
    )
      finish = {
        type: 'Failed',
        reason: 'DeadlineExceeded',
        message: 'Job was active longer than specified deadline',
      };
    if (finish !== undefined) times.finish = this.clock.real.now();

    let running = active;
    if (finish !== undefined || suspended) {
      // A finished or suspended Job keeps no pod running.
      for (const pod of active) this.api.deleteInternal(this.podType, namespace, nameOf(pod));
      running = [];
    } else {
      const remaining = completions === undefined ? parallelism : Math.max(0, completions - succeeded);
      const wanted = Math.min(parallelism, remaining);
      for (let i = running.length; i < wanted; i++) {
        const podName = `${name}-${this.random.nameSuffix()}`;
        const created = createOwnedPod(this.api, job, {
          name: podName,
          generateName: `${name}-`,
          template: objectAt(spec, 'template') ?? {},
        });
        if ('error' in created) {
          this.events.record(
            job,
            'FailedCreate',
            `Error creating: ${created.error}`,
            'job-controller',
            'Warning',
          );
          break;
        }
        this.events.record(job, 'SuccessfulCreate', `Created pod: ${podName}`, 'job-controller');
        running = [...running, created.pod];
      }
      if (deadline !== undefined) this.armDeadline(job, times.start, deadline);
    }
    this.updateStatus(job, { running, succeeded, failed: failedPods, startTime, finish, suspended });
  }

  private updateStatus(
    job: JsonObject,
    state: {
      running: readonly JsonObject[];
      succeeded: number;
      failed: number;
      startTime: string;
      finish: Finish | undefined;
      suspended: boolean;
    },
  ): void {
    const now = this.api.timestamp();
    const old = objectAt(job, 'status');
    const conditions = objectsAt(old, 'conditions');
    const condition = (type: string, reason: string, message: string): JsonObject => ({
      type,
      status: 'True',
      lastProbeTime: now,
      lastTransitionTime: now,
      reason,
      message,
    });
    const status: JsonObject = {};
    if (!state.suspended || old?.startTime !== undefined) status.startTime = state.startTime;
    if (state.running.length > 0) status.active = state.running.length;
    if (state.succeeded > 0) status.succeeded = state.succeeded;
    if (state.failed > 0) status.failed = state.failed;
    status.ready = state.running.filter(isPodReady).length;
    status.terminating = 0;
    status.uncountedTerminatedPods = {};
    const finish = state.finish;
    if (finish?.type === 'Complete') {
      status.completionTime = now;
      status.conditions = [
        ...conditions,
        condition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'),
        condition('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods'),
      ];
      this.events.record(job, 'Completed', 'Job completed', 'job-controller');
    } else if (finish?.type === 'Failed') {
      status.conditions = [
        ...conditions,
        condition('FailureTarget', finish.reason, finish.message),
        condition('Failed', finish.reason, finish.message),
      ];
      this.events.record(job, finish.reason, finish.message, 'job-controller', 'Warning');
    } else if (state.suspended) {
      status.conditions = conditions.some((c) => c.type === 'Suspended')
        ? conditions
        : [...conditions, condition('Suspended', 'JobSuspended', 'Job suspended')];
    } else if (conditions.length > 0) status.conditions = conditions.filter((c) => c.type !== 'Suspended');
    if (jsonEqual(status, old)) return;
    const next = cloneJson(job);
    next.status = status;
    this.api.writeInternal(this.jobType, job, next, 'status');
  }

  /** Queues the Job again when its activeDeadlineSeconds runs out. */
  private armDeadline(job: JsonObject, startedAt: number, deadlineSeconds: number): void {
    const key = keyOf(namespaceOf(job), nameOf(job));
    const marker = `${uidOf(job)}/deadline/${deadlineSeconds}`;
    if (this.armed.has(marker)) return;
    this.armed.add(marker);
    const left = deadlineSeconds * 1000 - this.clock.simulatedSince(startedAt);
    this.clock.after(Math.max(0, left) + 1, () => {
      this.armed.delete(marker);
      this.queue.add(key);
    });
  }

  /** The TTL-after-finished controller: the Job (and, in the background, its pods) goes once its TTL passes. */
  private expireAfterTtl(job: JsonObject): void {
    const ttl = numberAt(objectAt(job, 'spec'), 'ttlSecondsAfterFinished');
    if (ttl === undefined) return;
    const recorded = this.times.get(uidOf(job))?.finish;
    const finishedAt =
      recorded ??
      objectsAt(objectAt(job, 'status'), 'conditions')
        .filter((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')
        .map((c) => Date.parse(stringAt(c, 'lastTransitionTime') ?? ''))
        .find((t) => !Number.isNaN(t));
    if (finishedAt === undefined) return;
    const left = ttl * 1000 - this.clock.simulatedSince(finishedAt);
    if (left <= 0) {
      this.api.deleteInternal(this.jobType, namespaceOf(job), nameOf(job));
      return;
    }
    const marker = `${uidOf(job)}/ttl`;
    if (this.armed.has(marker)) return;
    this.armed.add(marker);
    const key = keyOf(namespaceOf(job), nameOf(job));
    this.clock.after(left + 1, () => {
      this.armed.delete(marker);
      this.queue.add(key);
    });
  }
}

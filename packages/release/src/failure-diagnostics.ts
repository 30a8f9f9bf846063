import { sleep, type Logger } from '@dreamscape/core';
import type { KubeObject, LabelSelector, RolloutOutcome } from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import type { GateResult } from './gates.js';
import type { HookJobRun } from './hook-jobs.js';
import { logFailureReport } from './failure-report.js';

/** A workload whose state may say why a step failed. */
export interface WorkloadRef {
  readonly kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job';
  readonly name: string;
}

/**
 * A step of a release that failed: what the release reports, and what was involved (the workloads
 * it waited for or ran, the health checks that failed), for the report of why.
 */
export interface StepFailure {
  readonly message: string;
  readonly workloads: readonly WorkloadRef[];
  /** Failed health checks, with their last answers. */
  readonly gates?: readonly GateResult[];
}

/** A condition of a workload or pod, as the API has it. */
export interface ConditionReport {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
}

/** One Event, as `kubectl describe` lists it. Reason and message are cluster data: untrusted. */
export interface EventReport {
  /** `Kind/name` of the object it is about. */
  readonly object: string;
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly count: number;
  /** ISO 8601, or '' when the event carries no time. */
  readonly lastSeen: string;
  /** Who recorded it (`kubelet`, `deployment-controller`). */
  readonly source: string;
}

/** A container's state. Reasons and messages are cluster data: untrusted. */
export interface ContainerReport {
  readonly name: string;
  readonly image: string;
  readonly init: boolean;
  readonly ready: boolean;
  readonly restartCount: number;
  readonly state: 'waiting' | 'running' | 'terminated' | 'unknown';
  /** `ImagePullBackOff`, `CrashLoopBackOff`, `Error`, ... */
  readonly reason: string;
  readonly message: string;
  /** The run before the last restart, when there was one. */
  readonly lastTermination?: {
    readonly exitCode: number | undefined;
    readonly reason: string;
    /** What the container wrote to its termination message path. */
    readonly message: string;
    readonly finishedAt: string;
  };
}

/** A pod that is not Ready. */
export interface PodReport {
  readonly name: string;
  readonly phase: string;
  /** Its conditions that are not True and say why (`PodScheduled` `Unschedulable`, ...). */
  readonly conditions: readonly ConditionReport[];
  readonly containers: readonly ContainerReport[];
  readonly events: readonly EventReport[];
}

/** One workload, as it stood when the step failed. */
export interface WorkloadReport {
  readonly kind: WorkloadRef['kind'];
  readonly name: string;
  readonly found: boolean;
  /** Its counts in words: `0 of 2 available, 2 updated`. */
  readonly status: string;
  readonly conditions: readonly ConditionReport[];
  /** The workload's own events and its newest ReplicaSet's, at most the limit, oldest first. */
  readonly events: readonly EventReport[];
  /** Its pods that are not Ready, at most the limit (its newest revision's first). */
  readonly pods: readonly PodReport[];
  readonly podsNotReady: number;
  readonly podsTotal: number;
}

/** Why a step failed, read from the cluster right after it failed. */
export interface FailureReport {
  /** The step's failure, as the release reports it. */
  readonly message: string;
  readonly namespace: string;
  readonly workloads: readonly WorkloadReport[];
  /** The health checks that failed, each with its last answers. */
  readonly gates: readonly GateResult[];
  /** What could not be read, one line each (the report holds the rest). */
  readonly unread: readonly string[];
  /** Workloads beyond {@link DiagnosticsLimits.workloads}, left out. */
  readonly workloadsLeftOut: number;
}

/** How much a report reads and keeps. */
export interface DiagnosticsLimits {
  readonly workloads: number;
  readonly podsPerWorkload: number;
  readonly eventsPerObject: number;
  /** Characters of an event, condition or termination message kept (then `…`). */
  readonly messageChars: number;
  /** Real milliseconds the whole collection may take; what was read by then is reported. */
  readonly timeoutMs: number;
}

export const DEFAULT_DIAGNOSTICS_LIMITS: DiagnosticsLimits = {
  workloads: 10,
  podsPerWorkload: 3,
  eventsPerObject: 10,
  messageChars: 500,
  timeoutMs: 10_000,
};

/** The workloads of rollouts that did not complete. */
export function rolloutRefs(outcomes: readonly RolloutOutcome[]): WorkloadRef[] {
  return outcomes.filter((o) => o.state !== 'complete').map((o) => ({ kind: o.kind, name: o.name }));
}

/** The Jobs of hook runs that failed or timed out. */
export function failedJobRefs(runs: readonly HookJobRun[]): WorkloadRef[] {
  return runs
    .filter((r) => r.result === 'failed' || r.result === 'timed-out')
    .map((r) => ({ kind: 'Job', name: r.job }));
}

type Meta = KubeObject['metadata'] & {
  uid?: string;
  creationTimestamp?: string;
  ownerReferences?: { uid?: string }[];
};
type Workload = KubeObject & {
  metadata: Meta;
  spec?: { replicas?: number; selector?: LabelSelector; parallelism?: number; completions?: number };
  status?: Record<string, unknown> & { conditions?: Partial<ConditionReport>[] };
};
type ContainerStatusView = {
  name?: string;
  image?: string;
  ready?: boolean;
  restartCount?: number;
  state?: Record<
    string,
    { reason?: string; message?: string; exitCode?: number; finishedAt?: string } | undefined
  >;
  lastState?: { terminated?: { exitCode?: number; reason?: string; message?: string; finishedAt?: string } };
};
type PodView = KubeObject & {
  metadata: Meta;
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: Partial<ConditionReport>[];
    containerStatuses?: ContainerStatusView[];
    initContainerStatuses?: ContainerStatusView[];
  };
};
type EventView = KubeObject & {
  involvedObject?: { kind?: string; name?: string };
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  firstTimestamp?: string | null;
  source?: { component?: string };
  reportingComponent?: string;
  series?: { count?: number; lastObservedTime?: string };
};

/**
 * Reads why a step failed: for each workload involved, its conditions, its last events (and its
 * newest ReplicaSet's), and its pods that are not Ready with their containers' states and their
 * own events; with the failed health checks' last answers. Reads only (get and list, through the
 * run's API client), bounded by `limits`, and time-bounded: what was read when the time is up is
 * what is reported, with a line saying so. A read that fails is one line in `unread`; this never
 * throws.
 */
export async function collectFailureReport(
  api: Pick<ClusterApi, 'get' | 'list'>,
  namespace: string,
  failure: StepFailure,
  limits: DiagnosticsLimits = DEFAULT_DIAGNOSTICS_LIMITS,
): Promise<FailureReport> {
  const unique = failure.workloads.filter(
    (w, i) => failure.workloads.findIndex((x) => x.kind === w.kind && x.name === w.name) === i,
  );
  const workloads: WorkloadReport[] = [];
  const unread: string[] = [];
  const report = (): FailureReport => ({
    message: failure.message,
    namespace,
    workloads: [...workloads],
    gates: (failure.gates ?? []).filter((g) => !g.passed && !g.stopped),
    unread: [...unread],
    workloadsLeftOut: Math.max(0, unique.length - limits.workloads),
  });
  const reader = new Reader(api, namespace, limits, unread);
  const stop = new AbortController();
  const work = (async () => {
    for (const ref of unique.slice(0, limits.workloads)) {
      if (stop.signal.aborted) return;
      workloads.push(await reader.workload(ref));
    }
  })().catch((error: unknown) => {
    unread.push(`the report stopped: ${error instanceof Error ? error.message : String(error)}`);
  });
  // Real time, not the release's clock: the bound is against an API server that does not answer.
  const timedOut = await Promise.race([
    work.then(() => false),
    sleep(limits.timeoutMs, stop.signal).then(
      () => true,
      () => false,
    ),
  ]);
  stop.abort();
  if (timedOut)
    unread.push(`the cluster was read for ${String(limits.timeoutMs / 1000)} s; the rest was not read`);
  return report();
}

/** The reads of one report, each failure noted in `unread`. */
class Reader {
  constructor(
    private readonly api: Pick<ClusterApi, 'get' | 'list'>,
    private readonly namespace: string,
    private readonly limits: DiagnosticsLimits,
    private readonly unread: string[],
  ) {}

  async workload(ref: WorkloadRef): Promise<WorkloadReport> {
    const id = `${ref.kind}/${ref.name}`;
    const empty = { conditions: [], events: [], pods: [], podsNotReady: 0, podsTotal: 0 };
    let object: Workload | undefined;
    try {
      object = await this.api.get<Workload>({ kind: ref.kind, name: ref.name, namespace: this.namespace });
    } catch (error) {
      this.note(id, error);
      return { ...ref, found: false, status: 'could not be read', ...empty };
    }
    if (object === undefined) return { ...ref, found: false, status: 'not found', ...empty };
    const conditions = (object.status?.conditions ?? []).map((c) => this.condition(c));
    const owners = [object];
    const selector =
      ref.kind === 'Job' ? `batch.kubernetes.io/job-name=${ref.name}` : selectorText(object.spec?.selector);
    // A Deployment's pods are its ReplicaSets': the newest one's pods are the ones that did not come up.
    let newest: Workload | undefined;
    if (ref.kind === 'Deployment' && selector !== undefined) {
      newest = await this.newestReplicaSet(object, selector);
      if (newest !== undefined) owners.push(newest);
    }
    const events = this.newest(
      (await Promise.all(owners.map((o) => this.eventsOf(o)))).flat(),
      this.limits.eventsPerObject,
    );
    const pods = selector === undefined ? [] : await this.list<PodView>('pods', selector, `pods of ${id}`);
    const notReady = pods.filter((p) => !isReady(p) && p.status?.phase !== 'Succeeded');
    const hash = newest?.metadata.labels?.['pod-template-hash'];
    const ordered = [...notReady].sort(
      (a, b) =>
        Number(b.metadata.labels?.['pod-template-hash'] === hash) -
          Number(a.metadata.labels?.['pod-template-hash'] === hash) ||
        (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
    );
    const shown: PodReport[] = [];
    for (const pod of ordered.slice(0, this.limits.podsPerWorkload)) shown.push(await this.pod(pod));
    return {
      ...ref,
      found: true,
      status: statusText(ref.kind, object),
      conditions,
      events,
      pods: shown,
      podsNotReady: notReady.length,
      podsTotal: pods.length,
    };
  }

  private async pod(pod: PodView): Promise<PodReport> {
    const status = pod.status ?? {};
    const containers = [
      ...(status.initContainerStatuses ?? []).map((c) => this.container(c, true)),
      ...(status.containerStatuses ?? []).map((c) => this.container(c, false)),
    ];
    return {
      name: pod.metadata.name,
      phase: status.phase ?? 'Unknown',
      conditions: (status.conditions ?? [])
        .filter((c) => c.status !== 'True' && (c.reason ?? '') !== '' && c.reason !== 'ContainersNotReady')
        .map((c) => this.condition(c)),
      containers,
      events: this.newest(await this.eventsOf(pod), this.limits.eventsPerObject),
    };
  }

  private container(c: ContainerStatusView, init: boolean): ContainerReport {
    const [state, detail] = Object.entries(c.state ?? {}).find(([, v]) => v !== undefined) ?? [
      'unknown',
      undefined,
    ];
    const last = c.lastState?.terminated;
    return {
      name: c.name ?? '',
      image: c.image ?? '',
      init,
      ready: c.ready === true,
      restartCount: c.restartCount ?? 0,
      state: state === 'waiting' || state === 'running' || state === 'terminated' ? state : 'unknown',
      reason: detail?.reason ?? '',
      message: this.cut(detail?.message ?? ''),
      ...(last === undefined
        ? {}
        : {
            lastTermination: {
              exitCode: last.exitCode,
              reason: last.reason ?? '',
              message: this.cut(last.message ?? ''),
              finishedAt: last.finishedAt ?? '',
            },
          }),
    };
  }

  private condition(c: Partial<ConditionReport>): ConditionReport {
    return {
      type: c.type ?? '',
      status: c.status ?? '',
      reason: c.reason ?? '',
      message: this.cut(c.message ?? ''),
    };
  }

  private async newestReplicaSet(d: Workload, selector: string): Promise<Workload | undefined> {
    const sets = await this.list<Workload>(
      'replicasets',
      selector,
      `ReplicaSets of Deployment/${d.metadata.name}`,
    );
    const revision = (rs: Workload): number =>
      Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? '0');
    return sets
      .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.uid === d.metadata.uid) ?? false)
      .sort((a, b) => revision(b) - revision(a))[0];
  }

  private async eventsOf(o: KubeObject & { metadata: Meta }): Promise<EventReport[]> {
    const uid = o.metadata.uid;
    const fieldSelector = [
      `involvedObject.kind=${o.kind}`,
      `involvedObject.name=${o.metadata.name}`,
      ...(uid === undefined ? [] : [`involvedObject.uid=${uid}`]),
    ].join(',');
    try {
      const { items } = await this.api.list<EventView>('events', {
        namespace: this.namespace,
        fieldSelector,
      });
      return items.map((e) => this.event(e, `${o.kind}/${o.metadata.name}`));
    } catch (error) {
      this.note(`events of ${o.kind}/${o.metadata.name}`, error);
      return [];
    }
  }

  private event(e: EventView, object: string): EventReport {
    return {
      object,
      type: e.type ?? '',
      reason: e.reason ?? '',
      message: this.cut(e.message ?? ''),
      count: e.series?.count ?? e.count ?? 1,
      lastSeen: eventTime(e),
      source: e.source?.component ?? e.reportingComponent ?? '',
    };
  }

  /** The `max` most recent events, oldest first (as `kubectl describe` lists them). */
  private newest(events: readonly EventReport[], max: number): EventReport[] {
    return [...events].sort((a, b) => a.lastSeen.localeCompare(b.lastSeen)).slice(-max);
  }

  private async list<T extends KubeObject>(
    resource: string,
    labelSelector: string,
    what: string,
  ): Promise<T[]> {
    try {
      return (await this.api.list<T>(resource, { namespace: this.namespace, labelSelector })).items;
    } catch (error) {
      this.note(what, error);
      return [];
    }
  }

  private cut(text: string): string {
    return text.length > this.limits.messageChars ? `${text.slice(0, this.limits.messageChars)}…` : text;
  }

  private note(what: string, error: unknown): void {
    this.unread.push(
      `${what}: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}`,
    );
  }
}

/** When an event was last seen: `lastTimestamp`, the series' last observation, `eventTime`, or its creation. */
function eventTime(e: EventView): string {
  const times = [
    e.lastTimestamp,
    e.series?.lastObservedTime,
    e.eventTime,
    e.firstTimestamp,
    (e.metadata as Meta).creationTimestamp,
  ];
  return times.find((t): t is string => typeof t === 'string' && t !== '') ?? '';
}

function isReady(pod: PodView): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** `a=b,c=d` of a selector's matchLabels (its expressions, when any, are left to the reader). */
function selectorText(selector: LabelSelector | undefined): string | undefined {
  const labels = Object.entries(selector?.matchLabels ?? {});
  return labels.length === 0 ? undefined : labels.map(([k, v]) => `${k}=${v}`).join(',');
}

function statusText(kind: WorkloadRef['kind'], o: Workload): string {
  const n = (key: string): number => {
    const v = o.status?.[key];
    return typeof v === 'number' ? v : 0;
  };
  switch (kind) {
    case 'Deployment':
      return `${String(n('availableReplicas'))} of ${String(o.spec?.replicas ?? 1)} available, ${String(n('updatedReplicas'))} updated, ${String(n('readyReplicas'))} ready`;
    case 'StatefulSet':
      return `${String(n('readyReplicas'))} of ${String(o.spec?.replicas ?? 1)} ready, ${String(n('updatedReplicas'))} updated`;
    case 'DaemonSet':
      return `${String(n('numberReady'))} of ${String(n('desiredNumberScheduled'))} ready, ${String(n('updatedNumberScheduled'))} updated`;
    case 'Job':
      return `${String(n('active'))} active, ${String(n('succeeded'))} succeeded, ${String(n('failed'))} failed`;
  }
}

/**
 * Reads why a step failed and says it in the log, in a group of its own: best effort, so that
 * nothing here hides the failure itself (an error is one warning line). Returns the report for the
 * outcome (and the job summary), or undefined when it could not be made.
 */
export async function explainFailure(
  ctx: {
    readonly api: Pick<ClusterApi, 'get' | 'list'>;
    readonly logger: Logger;
    readonly namespace: string;
  },
  failure: StepFailure,
  limits: DiagnosticsLimits = DEFAULT_DIAGNOSTICS_LIMITS,
): Promise<FailureReport | undefined> {
  if (failure.workloads.length === 0 && (failure.gates ?? []).every((g) => g.passed || g.stopped))
    return undefined;
  try {
    const report = await collectFailureReport(ctx.api, ctx.namespace, failure, limits);
    await logFailureReport(ctx.logger, report);
    return report;
  } catch (error) {
    ctx.logger.warning(
      `Could not read why it failed from the cluster: ${error instanceof Error ? error.message : String(error)}`,
    );
    return undefined;
  }
}

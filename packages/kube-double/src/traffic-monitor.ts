import type { ApiServer } from './api-server.js';
import type { TrafficRecord } from './gateway.js';
import { globToRegExp } from './image-behaviours.js';
import type { Violation, ViolationKind } from './invariant-monitor.js';
import { objectAt } from './json-value.js';
import { isPodReady } from './pod-lifecycle.js';
import { resourceTypeOfKind, type ResourceType } from './resource-table.js';

/** Options of {@link TrafficMonitor}. */
export interface TrafficMonitorOptions {
  /** Services (globs, `name` or `namespace/name`) whose traffic is not judged. */
  readonly exclude?: readonly string[];
  /** How far a backend's share of a window may stray from its weight, in share points. Default 0.05. */
  readonly shareTolerance?: number;
  /** Real milliseconds per share window. Default 1000. */
  readonly windowMs?: number;
  /** Windows with fewer weighted requests than this are not judged. Default 20. */
  readonly minWindowRequests?: number;
}

/** What the traffic monitor has seen, for reports. */
export interface TrafficSummary {
  readonly requests: number;
  /** Requests a pod answered. */
  readonly answered: number;
  /** Requests routed to a pod that was not Ready when it was chosen. */
  readonly unreadyAnswers: number;
  /** 503s because the chosen backend had no Ready endpoint. */
  readonly routing503s: number;
  /** Share windows judged, and how many strayed from the weights. */
  readonly shareWindows: number;
  readonly shareViolations: number;
}

interface ShareWindow {
  readonly signature: string;
  readonly startedAt: number;
  readonly namespace: string;
  readonly weights: readonly { readonly service: string; readonly weight: number }[];
  readonly counts: Map<string, number>;
  total: number;
}

/**
 * Judges every request the data plane routes, independently of the data plane's own bookkeeping:
 * the pod chosen must be Ready in the store at that moment; a backend chosen must have a Ready
 * endpoint (a 503 for want of one is an outage, whatever caused it); and over each window of
 * weighted requests of a route rule, each backend's share must stay within a tolerance of the
 * weights in force. Violations are recorded as stretches, like the Service invariant's.
 */
export class TrafficMonitor {
  private readonly recorded: Violation[] = [];
  private readonly open = new Map<string, Violation>();
  private readonly windows = new Map<string, ShareWindow>();
  private readonly podType: ResourceType;
  private exclude: readonly RegExp[] = [];
  private readonly tolerance: number;
  private readonly windowMs: number;
  private readonly minRequests: number;
  private counts = {
    requests: 0,
    answered: 0,
    unreadyAnswers: 0,
    routing503s: 0,
    shareWindows: 0,
    shareViolations: 0,
  };

  constructor(
    private readonly api: ApiServer,
    options: TrafficMonitorOptions = {},
  ) {
    const podType = resourceTypeOfKind('Pod');
    if (podType === undefined) throw new Error('pods are served');
    this.podType = podType;
    this.tolerance = options.shareTolerance ?? 0.05;
    this.windowMs = options.windowMs ?? 1000;
    this.minRequests = options.minWindowRequests ?? 20;
    this.setExclusions(options.exclude ?? []);
  }

  /** Services whose traffic is not judged. */
  setExclusions(exclude: readonly string[]): void {
    this.exclude = exclude.map(globToRegExp);
  }

  /** Judges one routed request. */
  observe(record: TrafficRecord): void {
    this.counts.requests++;
    if (record.outcome === 'answered') this.counts.answered++;
    const service = record.service;
    if (service === undefined || this.excluded(record.namespace, service)) return;
    const where = `${record.namespace}/${service}`;
    if (record.outcome === 'no-endpoints') {
      this.counts.routing503s++;
      this.mark(
        'routing-503',
        record,
        `${String(record.status)}: ${where} had no Ready endpoint when a request was routed to it${via(record)}`,
        [],
      );
    } else this.close('routing-503', where, record.at);
    if (record.pod !== undefined) {
      const pod = this.api.store.peek(this.podType, record.namespace, record.pod);
      const ready =
        pod !== undefined && objectAt(pod, 'metadata')?.deletionTimestamp === undefined && isPodReady(pod);
      if (!ready) {
        this.counts.unreadyAnswers++;
        this.mark(
          'unready-answer',
          record,
          `a request to ${where} was answered by pod ${record.pod}, which was ${pod === undefined ? 'gone' : 'not Ready'}${via(record)}`,
          [record.pod],
        );
      } else this.close('unready-answer', where, record.at);
    }
    if (record.route !== undefined && record.decidedBy === 'weight' && record.weights.length > 1)
      this.countShare(record.route.key, record);
  }

  /** Every violation recorded (windows still open are judged first). */
  violations(): Violation[] {
    for (const [key, window] of [...this.windows]) {
      if (window.total >= this.minRequests) {
        this.judge(window, Date.now());
        this.windows.delete(key);
      }
    }
    return this.recorded.map((v) => ({ ...v }));
  }

  /** Counts for reports. */
  summary(): TrafficSummary {
    return { ...this.counts };
  }

  /** Forgets what was recorded. */
  clear(): void {
    this.recorded.length = 0;
    this.open.clear();
    this.windows.clear();
    this.counts = {
      requests: 0,
      answered: 0,
      unreadyAnswers: 0,
      routing503s: 0,
      shareWindows: 0,
      shareViolations: 0,
    };
  }

  private excluded(namespace: string, service: string): boolean {
    return this.exclude.some((re) => re.test(service) || re.test(`${namespace}/${service}`));
  }

  private countShare(key: string, record: TrafficRecord): void {
    const signature = record.weights.map((b) => `${b.service}=${String(b.weight)}`).join(',');
    let window = this.windows.get(key);
    if (
      window !== undefined &&
      (window.signature !== signature || record.at - window.startedAt >= this.windowMs)
    ) {
      this.judge(window, record.at);
      window = undefined;
    }
    if (window === undefined) {
      window = {
        signature,
        startedAt: record.at,
        namespace: record.namespace,
        weights: record.weights.map((b) => ({ service: b.service, weight: b.weight })),
        counts: new Map(),
        total: 0,
      };
      this.windows.set(key, window);
    }
    window.total++;
    const service = record.service ?? '';
    window.counts.set(service, (window.counts.get(service) ?? 0) + 1);
  }

  private judge(window: ShareWindow, endedAt: number): void {
    if (window.total < this.minRequests) return;
    this.counts.shareWindows++;
    const sum = window.weights.reduce((a, b) => a + Math.max(b.weight, 0), 0);
    if (!(sum > 0)) return;
    // Backends sharing a Service share its count: weights are summed per Service.
    const expected = new Map<string, number>();
    for (const b of window.weights)
      expected.set(b.service, (expected.get(b.service) ?? 0) + Math.max(b.weight, 0) / sum);
    const strays: string[] = [];
    for (const [service, share] of expected) {
      const seen = (window.counts.get(service) ?? 0) / window.total;
      // Two requests of slack: a window cut in the middle of a weighted cycle is off by up to two.
      if (Math.abs(seen - share) * window.total > Math.max(2, this.tolerance * window.total))
        strays.push(`${service} ${pct(seen)} (weight ${pct(share)})`);
    }
    if (strays.length === 0) return;
    this.counts.shareViolations++;
    const services = [...expected.keys()];
    this.recorded.push({
      kind: 'weight-share',
      service: `${window.namespace}/${services.join('+')}`,
      namespace: window.namespace,
      name: services.join('+'),
      selector: {},
      pods: [],
      colors: [],
      message: `over ${String(window.total)} weighted requests the shares strayed from the weights by more than ${pct(this.tolerance)}: ${strays.join(', ')}`,
      at: new Date(window.startedAt).toISOString(),
      resourceVersion: this.api.store.currentResourceVersion(),
      endedAt: new Date(endedAt).toISOString(),
      requests: window.total,
    });
  }

  private mark(kind: ViolationKind, record: TrafficRecord, message: string, pods: readonly string[]): void {
    const service = record.service ?? '';
    const key = `${record.namespace}/${service}/${kind}`;
    const open = this.open.get(key);
    if (open !== undefined) {
      open.requests = (open.requests ?? 0) + 1;
      return;
    }
    const violation: Violation = {
      kind,
      service: `${record.namespace}/${service}`,
      namespace: record.namespace,
      name: service,
      selector: {},
      pods,
      colors: [],
      message,
      at: new Date(record.at).toISOString(),
      resourceVersion: this.api.store.currentResourceVersion(),
      requests: 1,
    };
    this.recorded.push(violation);
    this.open.set(key, violation);
  }

  private close(kind: ViolationKind, where: string, at: number): void {
    const key = `${where}/${kind}`;
    const open = this.open.get(key);
    if (open === undefined) return;
    open.endedAt = new Date(at).toISOString();
    this.open.delete(key);
  }
}

function via(record: TrafficRecord): string {
  return record.route === undefined
    ? ''
    : ` (through ${record.route.kind} ${record.namespace}/${record.route.name})`;
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** The labels of every request the data plane answers. */
export interface RequestLabels {
  readonly namespace: string;
  /** The Ingress that routed the request ('' when an HTTPRoute did). */
  readonly ingress: string;
  /** The HTTPRoute that routed the request ('' when an Ingress did). */
  readonly route: string;
  /** The backend Service ('' when no route matched). */
  readonly service: string;
  /** The workload whose pod answered (its Deployment, StatefulSet, DaemonSet; '' when none did). */
  readonly backend: string;
  readonly pod_template_hash: string;
  /** The pod's `dreamscape.io/color` (or `dreamscape.io/track`) label. */
  readonly color: string;
  readonly method: string;
  readonly code: string;
}

const LABEL_NAMES = [
  'namespace',
  'ingress',
  'route',
  'service',
  'backend',
  'pod_template_hash',
  'color',
  'method',
  'code',
] as const satisfies readonly (keyof RequestLabels)[];

/** Prometheus' default histogram buckets, in seconds. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface Series {
  readonly labels: string;
  requests: number;
  readonly buckets: number[];
  sum: number;
}

/**
 * The data plane's request counter and latency histogram, written in Prometheus' text exposition
 * format (0.0.4) under the names ingress controllers and service meshes use:
 * `http_requests_total` and `http_request_duration_seconds`.
 */
export class TrafficMetrics {
  private readonly series = new Map<string, Series>();

  /** Counts one answered request and its duration. */
  observe(labels: RequestLabels, seconds: number): void {
    const key = LABEL_NAMES.map((name) => `${name}="${escapeLabel(labels[name])}"`).join(',');
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: key, requests: 0, buckets: LATENCY_BUCKETS.map(() => 0), sum: 0 };
      this.series.set(key, s);
    }
    s.requests++;
    s.sum += seconds;
    LATENCY_BUCKETS.forEach((le, i) => {
      if (seconds <= le) s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    });
  }

  /** The exposition text. */
  expose(): string {
    const all = [...this.series.values()].sort((a, b) => a.labels.localeCompare(b.labels));
    const lines = [
      '# HELP http_requests_total Requests answered by the data plane.',
      '# TYPE http_requests_total counter',
      ...all.map((s) => `http_requests_total{${s.labels}} ${String(s.requests)}`),
      '# HELP http_request_duration_seconds Time from a request arriving to its answer being sent.',
      '# TYPE http_request_duration_seconds histogram',
    ];
    for (const s of all) {
      LATENCY_BUCKETS.forEach((le, i) => {
        lines.push(
          `http_request_duration_seconds_bucket{${s.labels},le="${String(le)}"} ${String(s.buckets[i] ?? 0)}`,
        );
      });
      lines.push(`http_request_duration_seconds_bucket{${s.labels},le="+Inf"} ${String(s.requests)}`);
      lines.push(`http_request_duration_seconds_sum{${s.labels}} ${String(s.sum)}`);
      lines.push(`http_request_duration_seconds_count{${s.labels}} ${String(s.requests)}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

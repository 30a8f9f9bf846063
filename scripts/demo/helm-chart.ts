import type { BuildRecord } from '@dreamscape/image';
import type { BehaviourEntry } from '@dreamscape/kube-double';
import type { ReleaseRecord } from '@dreamscape/release';

/**
 * The chart chapter's release: the payment chart released under its own name, so its objects keep
 * the chart's names (`payment`, the Job `payment-migrate`). It has its own history, lock and
 * namespace, apart from the overlay's `dreamscape` release in `dreamscape-dev`: the two never touch.
 */
export const CHART_APP = 'payment';
/** The namespace the chart is released into (a platform team creates it; the chart does not). */
export const CHART_NAMESPACE = 'payment-dev';
/** The service whose image the chart runs, and whose build records pin it. */
export const CHART_SERVICE = 'payment';

/** The last line the failing migration prints, as its Job pod's log ends with it. */
export const MIGRATION_ERROR = 'ERROR: column "currency" of relation "payments" does not exist';

/**
 * The chart inputs of action-deploy: the chart folder, its image repository set to where the demo
 * pushed the payment images (the migration Job's image defaults to the same repository), and the
 * payment build record as `images`, which pins both by digest after rendering.
 */
export function chartInputs(chart: string, imagePrefix: string, record: BuildRecord): Record<string, string> {
  return {
    chart,
    namespace: CHART_NAMESPACE,
    set: `image.repository=${imagePrefix}/${CHART_SERVICE}`,
    // helm on PATH is the pinned v3.17.2: `pinned`, the default, checks it.
    helm: 'pinned',
    images: JSON.stringify({ [CHART_SERVICE]: record }),
    // A migration that hangs fails the release within a minute rather than the default ten.
    'job-timeout': '1m',
  };
}

/**
 * The failing migration: a Job pod of `record`'s digest prints a few lines and exits 1 after two
 * simulated seconds. Its Deployment's pods would serve as usual, but a failed pre-deploy Job means
 * none is ever created.
 */
export function failingMigrationBehaviour(record: BuildRecord): BehaviourEntry {
  return {
    image: `*@${record.digest}`,
    exitCode: 1,
    duration: '2s',
    logs: [
      'connecting to postgres://payments-db:5432/payments',
      'applying 0007_add_refund_reason',
      'applying 0008_payments_currency_index',
      MIGRATION_ERROR,
    ],
    ready: '1s',
    http: {
      '/health': { status: 200, body: { status: 'ok' } },
      '/version': { status: 200, body: { status: 'ok' } },
    },
  };
}

/** One Job of a chart release, as its record keeps it. */
export interface ChartJob {
  readonly job: string;
  readonly phase: string;
  readonly result: string;
  readonly durationMs: number;
  readonly message: string;
  /** The last lines of the pod's log, kept for a failed Job only. */
  readonly logTail: readonly string[];
}

/** The Jobs of a record, in the order they ran. */
export function chartJobs(record: Pick<ReleaseRecord, 'jobs'>): ChartJob[] {
  return (record.jobs ?? []).map((j) => ({
    job: j.job,
    phase: j.phase,
    result: j.result,
    durationMs: j.durationMs,
    message: j.message,
    logTail: j.logTail ?? [],
  }));
}

/**
 * The Job table of a deploy's job summary (header and rows), as action-deploy rendered it; empty
 * when the summary has none.
 */
export function jobTable(summary: string): string[] {
  const lines = summary.split('\n');
  const start = lines.findIndex((l) => l.startsWith('| Job | Phase | Result |'));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && !l.startsWith('|'));
  return lines.slice(start, end < 0 ? undefined : end);
}

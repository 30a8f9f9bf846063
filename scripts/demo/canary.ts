import { gunzipSync } from 'node:zlib';
import type { BuildRecord } from '@dreamscape/image';
import type { BehaviourEntry } from '@dreamscape/kube-double';
import { releaseSecretName, type ReleaseRecord } from '@dreamscape/release';
import { runKubectl } from '@dreamscape/testkit';

/** The weights of the chapter's canaries, in order; the last is the switch. */
export const CANARY_STEPS = [10, 50, 100] as const;

/** The highest share of 5xx answers the canary may serve during a step. */
export const ERROR_RATIO_MAX = 0.05;

/** The bad v5 answers this share of its requests to /version with 500. */
export const BAD_SHARE = 0.25;

/**
 * The canary's share of 5xx answers over the last 10 s, as the real Prometheus reads the data
 * plane's `http_requests_total`; `{{ canary }}` is the candidate color's label matchers. While the
 * canary has served nothing in the window the ratio is no value (judged 0), not 0/0: a color's
 * older series (another release's pods) would otherwise read NaN and fail a healthy canary.
 */
export const ERROR_RATIO_QUERY =
  'sum(rate(http_requests_total{{{ canary }},code=~"5.."}[10s])) / (sum(rate(http_requests_total{{{ canary }}}[10s])) > 0)';

/** The name of the chapter's analysis check, as the job summary and the errors show it. */
export const ERROR_CHECK = 'canary-errors';

/**
 * The `canary` input: the nginx router, {@link CANARY_STEPS}, `pause` per step, and the analysis
 * (YAML list items in the `health-checks` syntax) when given; without it the engine analyses each
 * step with the post-switch health checks.
 */
export function canaryInput(pause: string, analysis: string | undefined): string {
  return [
    'router: nginx',
    `steps: [${CANARY_STEPS.join(', ')}]`,
    `pause: ${pause}`,
    ...(analysis === undefined ? [] : ['analysis:', analysis]),
  ].join('\n');
}

/** The error-ratio check on the Prometheus at `prometheusUrl`, probed every second. */
export function errorRatioAnalysis(prometheusUrl: string): string {
  // JSON strings are YAML scalars: the query's braces and quotes need no rules of our own.
  return [
    `  - name: ${ERROR_CHECK}`,
    `    prometheus: ${prometheusUrl}`,
    `    query: ${JSON.stringify(ERROR_RATIO_QUERY)}`,
    `    max: ${String(ERROR_RATIO_MAX)}`,
    '    interval: 1s',
    '    successes: 1',
  ].join('\n');
}

/**
 * On a real cluster (no Prometheus here, and real images, which are healthy) v5's analysis asks
 * its preview Service for /smoke, which no build serves: it fails at the first step.
 */
export function smokeAnalysis(service: string): string {
  return [
    `  - name: ${ERROR_CHECK}`,
    `    service: ${service}`,
    '    port: http',
    '    path: /smoke',
    '    interval: 250ms',
  ].join('\n');
}

/** v5's digests answer {@link BAD_SHARE} of /version with 500 (their /health is fine), before `others`. */
export function badCanaryBehaviours(
  v5: Readonly<Record<string, BuildRecord>>,
  others: readonly BehaviourEntry[],
): BehaviourEntry[] {
  return [
    ...Object.values(v5).map((r) => ({
      image: `*@${r.digest}`,
      ready: '1s',
      http: {
        '/health': { status: 200, body: { status: 'ok' } },
        '/version': {
          status: 200,
          body: { status: 'ok' },
          errors: { rate: BAD_SHARE, status: 500, body: 'v5: the cache cluster refuses connections' },
        },
      },
    })),
    ...others,
  ];
}

/**
 * What the demo reads of a release record: its result, strategy and journal, and for a chart's
 * release the chart it came from and the Jobs it ran.
 */
export type RecordView = Pick<
  ReleaseRecord,
  'revision' | 'result' | 'strategy' | 'color' | 'journal' | 'source' | 'jobs'
>;

/** The release record of `revision`, as the cluster holds it (a gzipped JSON Secret). */
export async function readReleaseRecord(
  kubeconfig: string,
  scope: { readonly namespace: string; readonly app: string; readonly environment: string },
  revision: number,
): Promise<RecordView> {
  const name = releaseSecretName(scope, revision);
  const got = await runKubectl(['get', 'secret', name, '-n', scope.namespace, '-o', 'json'], {
    kubeconfig,
  });
  if (got.exitCode !== 0) throw new Error(`kubectl get secret ${name} failed: ${got.stderr}`);
  const data = (JSON.parse(got.stdout) as { data?: Record<string, string> }).data?.['release.json.gz'];
  if (data === undefined) throw new Error(`Secret ${name} holds no release.json.gz.`);
  return JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8')) as RecordView;
}

/** The weights a record's journal says were written (`weight-<w>`) and analysed (`analysed-<w>`). */
export function journaledWeights(record: Pick<RecordView, 'journal'>): {
  readonly written: number[];
  readonly analysed: number[];
} {
  const of = (prefix: string): number[] =>
    record.journal.flatMap((j) => {
      const m = new RegExp(`^${prefix}-(\\d+)$`).exec(j.step);
      return m === null ? [] : [Number(m[1])];
    });
  return { written: of('weight'), analysed: of('analysed') };
}

/** The Ingresses of `namespace` NGINX would treat as canaries (`canary: "true"`), by name. */
export async function canaryIngresses(kubeconfig: string, namespace: string): Promise<string[]> {
  const got = await runKubectl(['get', 'ingresses', '-n', namespace, '-o', 'json'], { kubeconfig });
  if (got.exitCode !== 0) throw new Error(`kubectl get ingresses failed: ${got.stderr}`);
  const items = (
    JSON.parse(got.stdout) as {
      items: { metadata: { name: string; annotations?: Record<string, string> } }[];
    }
  ).items;
  return items
    .filter((i) => i.metadata.annotations?.['nginx.ingress.kubernetes.io/canary'] === 'true')
    .map((i) => i.metadata.name);
}

/**
 * The per-step table of a deploy's job summary (header and rows), as action-deploy rendered it;
 * empty when the summary has none.
 */
export function canaryStepTable(summary: string): string[] {
  const lines = summary.split('\n');
  const start = lines.findIndex((l) => l.startsWith('| Canary weight |'));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && !l.startsWith('|'));
  return lines.slice(start, end < 0 ? undefined : end);
}

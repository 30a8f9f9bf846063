/**
 * Canary abort benchmark: how long a canary keeps its share of the users' traffic once its pods
 * turn bad, with a real Prometheus deciding.
 *
 * A kube-double with the seven-service example (pods Ready 1 s after they start), Debian's
 * `prometheus` scraping the double's data plane every SCRAPE_INTERVAL, and RPS requests per second
 * through the example's Ingress. v1 is deployed blue-green; then each repetition deploys a new
 * version by canary (`router: nginx`, steps 20 → 50 → 100, STEP_PAUSE each), analysed every
 * ANALYSIS_INTERVAL by the canary's share of 5xx answers over RATE_WINDOW, at most MAX_RATIO.
 * Two to three seconds into the 50 % step (at random), the bench replaces the double's image
 * behaviours: from then on the canary's gateway pods answer every request with 500.
 *
 * - `abort_s`: from the first bad answer (the first 500 the load generator receives after the
 *   flip) to the moment the double's store holds the canary Ingress at weight 0 (or no longer holds
 *   it), whichever comes first; the median of the repetitions (each one and the worst are printed).
 * - `budget_s`: scrape interval + analysis interval, the two waits a detection is made of: the bad
 *   answers reach Prometheus at its next scrape, and the engine reads them at its next probe.
 *   What is left (the query, the weight written through `kubectl proxy`) is milliseconds.
 *
 * Two choices make the budget meaningful. The canary's pods answer a baseline share of 500s
 * (BASELINE_ERRORS) from the start, well under the bound, as a real service's do: its 5xx series
 * then exists before the pods turn bad. A series born with the first bad answer needs a second
 * scrape before `rate()` sees any increase (the first sample's value is no increase), which adds
 * one scrape interval to every detection. And the window is short (four scrapes) with a bound
 * (5 %) that all-bad answers cross after about 0.16 s of them: the ratio over the window only
 * climbs as bad samples fill it, and a longer window or a higher bound adds that climb.
 *
 * `steps` is the canary's number of steps; `violations` is `double.violations().length` at the end
 * (Services selecting unready pods or two colors, requests to unready pods, routing 503s, shares
 * off their weights). Exits non-zero when the median misses the budget, on any violation, or when a
 * repetition did not abort at the 50 % step.
 *
 * Last line: `canary: abort_s=<s> budget_s=<s> steps=<n> violations=<n>`.
 */
import type { BehaviourEntry } from '@dreamscape/kube-double';
import { parseDuration } from '@dreamscape/core';
import {
  buildRecords,
  deploy,
  digest,
  healthChecks,
  releaseRecords,
  startCluster,
  startLoad,
  startPrometheus,
} from '@dreamscape/testkit';

const HOST = 'dev.dreamscape.example.com';
const NS = 'dreamscape-dev';
const CANARY_INGRESS = 'gateway-canary';
const WEIGHT_ANNOTATION = 'nginx.ingress.kubernetes.io/canary-weight';
const RPS = 100;
const SCRAPE_INTERVAL = '1s';
const ANALYSIS_INTERVAL = '1s';
const RATE_WINDOW = '4s';
const MAX_RATIO = 0.05;
const BASELINE_ERRORS = 0.01;
const STEPS = [20, 50, 100] as const;
const STEP_PAUSE = '8s';
/**
 * The step during which the pods turn bad, and how long into it: at least FLIP_AFTER_MS, plus up
 * to one analysis interval drawn at random. The engine probes at fixed times from the step's
 * start, so a fixed offset would always meet the probe cycle at the same phase and measure one
 * point of it; a random one samples the whole cycle (and the scrape cycle, which runs on its own).
 */
const BAD_STEP = 50;
const FLIP_AFTER_MS = 2_000;
const REPETITIONS = 5;

const QUERY = `sum(rate(http_requests_total{{{ canary }},code=~"5.."}[${RATE_WINDOW}])) / (sum(rate(http_requests_total{{{ canary }}}[${RATE_WINDOW}])) > 0)`;

const CANARY = [
  'router: nginx',
  `steps: [${STEPS.join(', ')}]`,
  `pause: ${STEP_PAUSE}`,
  'analysis:',
  '  - name: canary-errors',
  '    prometheus: PROMETHEUS_URL',
  `    query: ${JSON.stringify(QUERY)}`,
  `    max: ${String(MAX_RATIO)}`,
  `    interval: ${ANALYSIS_INTERVAL}`,
  '    successes: 1',
].join('\n');

/** Every image answers `/` with 200; the canary's gateway answers `errors` of it with 500. */
function behaviours(version: string, errors: number): BehaviourEntry[] {
  return [
    {
      image: `*@${digest('gateway', version)}`,
      ready: '1s',
      http: { '/': { status: 200, body: 'ok', errors: { rate: errors, status: 500, body: 'bad' } } },
    },
    { image: '*', ready: '1s', http: { '/': { status: 200, body: 'ok' } } },
  ];
}

interface Repetition {
  readonly version: string;
  /** Real time of the first bad answer, of the canary Ingress at weight 0 (or removed). */
  readonly badAt: number | undefined;
  readonly zeroAt: number | undefined;
  readonly result: string;
  readonly journal: readonly string[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (duration: string): number => (parseDuration(duration) ?? NaN) / 1000;
const budget = seconds(SCRAPE_INTERVAL) + seconds(ANALYSIS_INTERVAL);

const cluster = await startCluster(behaviours('v1', 0));
const problems: string[] = [];
const repetitions: Repetition[] = [];
let violations: number;
try {
  const v1 = await deploy(cluster, { images: buildRecords('v1'), 'health-checks': healthChecks() });
  if (v1.outputs.result !== 'promoted') throw new Error(`v1 did not deploy:\n${v1.stdout}`);
  const prometheus = await startPrometheus({
    targets: [cluster.double.gateway.metricsTarget],
    scrapeInterval: SCRAPE_INTERVAL,
  });
  const load = startLoad({
    url: cluster.double.gateway.url,
    host: HOST,
    path: '/',
    rps: RPS,
    maxDurationMs: 30 * 60_000,
  });
  try {
    for (let i = 1; i <= REPETITIONS; i++) {
      const version = `c${String(i)}`;
      // `{{ canary }}` is a color: the last repetition's bad answers on that color must have left
      // the rate window (plus a scrape) before the next canary on it is judged.
      if (i > 1) await sleep(1000 * (seconds(RATE_WINDOW) + 2 * seconds(SCRAPE_INTERVAL)));
      cluster.double.setBehaviours(behaviours(version, BASELINE_ERRORS));
      let flipAt: number | undefined;
      let badAt: number | undefined;
      let zeroAt: number | undefined;
      let flipTimer: NodeJS.Timeout | undefined;
      // The store tells when the weight is written: the flip is timed from the bad step's weight,
      // and weight 0 (or the Ingress gone) after the flip is the end of the measurement.
      const unsubscribe = cluster.double.api.store.subscribe((change) => {
        const meta = change.object.metadata as
          { name?: string; namespace?: string; annotations?: Record<string, string> } | undefined;
        if (change.resourceType.plural !== 'ingresses' || meta?.namespace !== NS) return;
        if (meta.name !== CANARY_INGRESS) return;
        const weight = change.type === 'DELETED' ? '0' : meta.annotations?.[WEIGHT_ANNOTATION];
        if (weight === String(BAD_STEP) && flipTimer === undefined)
          flipTimer = setTimeout(
            () => {
              cluster.double.setBehaviours(behaviours(version, 1));
              flipAt = Date.now();
            },
            FLIP_AFTER_MS + Math.random() * 1000 * seconds(ANALYSIS_INTERVAL),
          );
        if (weight === '0' && flipAt !== undefined) zeroAt ??= Date.now();
      });
      // The first bad answer, as the client receives it: the first 500 after the flip.
      let errorsBefore = 0;
      const watchClient = setInterval(() => {
        const errors = load.snapshot().byStatus['500'] ?? 0;
        if (flipAt === undefined) errorsBefore = errors;
        else if (badAt === undefined && errors > errorsBefore) badAt = Date.now();
      }, 2);
      try {
        const run = await deploy(cluster, {
          images: buildRecords(version),
          'health-checks': healthChecks(),
          strategy: 'canary',
          canary: CANARY.replace('PROMETHEUS_URL', prometheus.url),
        });
        const record = releaseRecords(cluster.double)[0];
        const r: Repetition = {
          version,
          badAt,
          zeroAt,
          result: run.outputs.result ?? `exit ${String(run.exitCode)}`,
          journal: record?.journal.map((j) => j.step) ?? [],
        };
        repetitions.push(r);
        const abort =
          r.badAt === undefined || r.zeroAt === undefined ? 'n/a' : ((r.zeroAt - r.badAt) / 1000).toFixed(2);
        console.log(
          `  ${version}: ${r.result}, weights ${r.journal.filter((s) => s.startsWith('weight-')).join(' ')}, bad answers to weight 0: ${abort} s; ${run.errors.at(-1) ?? ''}`,
        );
        if (r.result !== 'rolled-back') problems.push(`${version} ended ${r.result}, not rolled-back`);
        else if (
          !r.journal.includes(`weight-${String(BAD_STEP)}`) ||
          r.journal.includes(`analysed-${String(BAD_STEP)}`)
        )
          problems.push(
            `${version} did not abort at the ${String(BAD_STEP)} % step: ${r.journal.join(', ')}`,
          );
        if (r.badAt === undefined || r.zeroAt === undefined)
          problems.push(`${version}: no bad answer or no weight 0 seen after the flip`);
      } finally {
        clearTimeout(flipTimer);
        clearInterval(watchClient);
        unsubscribe();
      }
    }
  } finally {
    await load.stop();
    await prometheus.stop();
  }
  violations = cluster.double.violations().length;
  for (const v of cluster.double.violations()) console.error(`  violation: ${v.kind}: ${v.message}`);
} finally {
  await cluster.double.close();
}

const aborts = repetitions.flatMap((r) =>
  r.badAt === undefined || r.zeroAt === undefined ? [] : [(r.zeroAt - r.badAt) / 1000],
);
const abortS = aborts.length === 0 ? NaN : median(aborts);
console.log(
  `bad answers to weight 0, per repetition: ${aborts.map((a) => a.toFixed(2)).join(', ')} s (worst ${Math.max(...aborts).toFixed(2)} s)`,
);
if (!(abortS <= budget))
  problems.push(
    `the median time from the first bad answer to weight 0 is ${abortS.toFixed(2)} s, above the budget of ${budget.toFixed(2)} s`,
  );
if (violations > 0) problems.push(`the double recorded ${String(violations)} invariant violation(s)`);
for (const p of problems) console.error(`canary bench: ${p}`);
console.log(
  `canary: abort_s=${abortS.toFixed(2)} budget_s=${budget.toFixed(2)} steps=${String(STEPS.length)} violations=${String(violations)}`,
);
if (problems.length > 0) process.exitCode = 1;

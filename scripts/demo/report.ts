import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seconds, timingsTable, type StepTiming } from './progress.js';
import type { CanaryChapter, ChartChapter, StoryResults } from './story.js';

/** Where the demo left its report. */
export interface DemoReport {
  /** Every job summary the actions wrote, then the timings. */
  readonly summaryPath: string;
  /** The results as JSON (releases, builds, scans, live images, violations, timings). */
  readonly resultsPath: string;
}

/** What the demo set up, filled in as it goes. */
export interface DemoSetup {
  /** The registry, as the header shows it. */
  registry: string;
  /** The registry the demo started; undefined with DEMO_REGISTRY. */
  registryUrl: string | undefined;
  /** The cluster, as the header shows it. */
  cluster: string;
  /** The kube-double the demo started; undefined with DEMO_KUBECONFIG. */
  clusterUrl: string | undefined;
  /** The Prometheus that reads the double's traffic, as the header shows it. */
  prometheus: string;
  /** The Prometheus the demo started; undefined with DEMO_KUBECONFIG. */
  prometheusUrl: string | undefined;
  /** The buildah storage directory (removed on the way out). */
  storage: string;
}

/** What the report says about the run as a whole. */
export interface RunFacts {
  readonly ok: boolean;
  /** The failure, when the story stopped. */
  readonly error: string | undefined;
  readonly setup: DemoSetup;
  readonly services: readonly string[];
  readonly steps: readonly StepTiming[];
  readonly totalMs: number;
}

/**
 * Writes `summary.md` (the job summaries the actions produced, in the order they ran, then the
 * release outcomes, the invariant monitor's verdict and the timings) and `results.json`.
 */
export function writeReport(workDir: string, results: StoryResults, facts: RunFacts): DemoReport {
  mkdirSync(workDir, { recursive: true });
  const releases = results.releases.map(
    (r) =>
      `| ${r.step} | \`${r.action}\` | **${r.result || '—'}** | ${r.revision || '—'} | ${r.activeColor || '—'} |`,
  );
  const violations =
    results.violations === null
      ? 'not monitored (a real cluster)'
      : `${results.violations.length} violation(s)`;
  const traffic = results.traffic;
  const trafficLines =
    traffic === null
      ? ['No traffic was sent (a real cluster, or the gateway service was not deployed).']
      : [
          `Steady requests to \`http://${traffic.host}${traffic.path}\` through the Ingress, ${String(traffic.rps)} per second, from v1 live to the end of the rollback.`,
          '',
          '| What | Count |',
          '|---|---|',
          `| Requests sent | ${String(traffic.sent)} |`,
          `| Errors the client saw (5xx) | ${String(traffic.errors5xx)} |`,
          `| Requests with no answer | ${String(traffic.transportErrors)} |`,
          `| Answered by color | ${Object.entries(traffic.byColor)
            .map(([c, n]) => `${c} ${String(n)}`)
            .join(', ')} |`,
          `| Requests to unready pods (invariant monitor) | ${String(traffic.monitor.unreadyAnswers)} |`,
          `| Routing 503s: a Service with no Ready endpoint (invariant monitor) | ${String(traffic.monitor.routing503s)} |`,
          '',
          "Any 5xx answers are v3's (its pods answer 500 on /version until its post-switch gate switches traffic back) or v5's (a share of its answers, during its first canary step, until the analysis aborts it).",
        ];
  const lines = [
    '# DreamScape Actions demo',
    '',
    facts.ok
      ? '✅ The whole pipeline ran as expected.'
      : `❌ The demo stopped: ${facts.error ?? 'unknown error'}`,
    '',
    `- Services: ${facts.services.join(', ')}`,
    `- Registry: ${facts.setup.registry}`,
    `- Cluster: ${facts.setup.cluster}`,
    `- Metrics: ${facts.setup.prometheus}`,
    `- Invariant monitor: ${violations}`,
    '',
    '## Releases',
    '',
    '| Step | Action | Result | Revision | Live color |',
    '|---|---|---|---|---|',
    ...releases,
    '',
    '## Traffic',
    '',
    ...trafficLines,
    '',
    '## Canary',
    '',
    ...canaryLines(results.canary),
    '',
    '## Helm chart',
    '',
    ...chartLines(results.chart),
    '',
    '## Timings',
    '',
    timingsTable(facts.steps, facts.totalMs),
    '',
    '## Job summaries',
    '',
    ...results.summaries.flatMap((s) => [
      `<!-- ${s.title} -->`,
      `## ${s.title}`,
      '',
      s.markdown.trim(),
      '',
      '---',
      '',
    ]),
  ];
  const summaryPath = join(workDir, 'summary.md');
  writeFileSync(summaryPath, `${lines.join('\n')}\n`);
  const resultsPath = join(workDir, 'results.json');
  writeFileSync(
    resultsPath,
    `${JSON.stringify(
      {
        ok: facts.ok,
        error: facts.error ?? null,
        setup: facts.setup,
        services: facts.services,
        releases: results.releases,
        builds: results.builds,
        scans: results.scans,
        live: results.live,
        violations: results.violations,
        traffic: results.traffic,
        canary: results.canary,
        chart: results.chart,
        steps: facts.steps,
        totalMs: facts.totalMs,
        summaries: results.summaries.map((s) => s.title),
      },
      null,
      2,
    )}\n`,
  );
  return { summaryPath, resultsPath };
}

/**
 * The canary chapter: how each step was judged, then per release its outcome and the per-step
 * rows of the job summary action-deploy wrote (taken as they are, not rendered again).
 */
function canaryLines(chapter: CanaryChapter | null): string[] {
  if (chapter === null) return ['The canary chapter did not run (see above).'];
  const weights = chapter.steps.map((w) => `${String(w)} %`).join(' → ');
  const lines = [
    `v4 and v5 were released with \`strategy: canary\` and \`router: nginx\` (a canary Ingress beside the example's), ${weights}. Each step was analysed ${chapter.prometheus === null || chapter.query === null ? 'by the post-switch health checks (v4) and a smoke test of /smoke (v5) on the preview Services' : `every second by the Prometheus at ${chapter.prometheus}, which scrapes the data plane: \`${chapter.query}\`, at most ${String(chapter.max)}`}.`,
    '',
  ];
  for (const run of chapter.releases) {
    const outcome =
      run.abortedAt === null
        ? `**${run.result}**: weights ${run.weights.map((w) => `${String(w)} %`).join(', ')} written and analysed, then the switch; live on ${run.activeColor}, revision ${run.revision}.`
        : `**${run.result}** at ${String(run.abortedAt)} %: the analysis failed, the weight went back to 0 and the canary Ingress was removed; ${run.candidateColor} scaled down, ${run.activeColor} live and untouched.`;
    lines.push(`### ${run.version}: ${run.step}`, '', outcome, '', ...run.stepTable, '');
  }
  lines.push(
    chapter.canaryIngresses.length === 0
      ? 'No canary Ingress was left.'
      : `Canary Ingresses left: ${chapter.canaryIngresses.join(', ')}.`,
  );
  return lines;
}

/**
 * The chart chapter: which chart was released where, then per release its outcome, the Job rows of
 * the job summary action-deploy wrote (taken as they are) and a failed migration's last log lines.
 */
function chartLines(chapter: ChartChapter | null): string[] {
  if (chapter === null)
    return ['The chart chapter did not run (it needs the payment service, and the kube-double).'];
  const lines = [
    `The payment service's own chart, \`${chapter.chart}\` (\`${chapter.name || '?'}\` ${chapter.version || '?'}), rendered by helm and released by action-deploy as app \`${chapter.app}\` to \`${chapter.environment}\` in namespace \`${chapter.namespace}\`, apart from the overlay's release; its images pinned by digest with the payment builds. Its migration, a Helm \`pre-install,pre-upgrade\` hook Job, runs as a pre-deploy Job: before any pod of the new version exists.`,
    '',
  ];
  for (const run of chapter.releases) {
    const migration = run.jobs.find((j) => j.phase === 'pre-deploy');
    const job =
      migration === undefined
        ? 'no pre-deploy Job ran'
        : `pre-deploy Job \`${migration.job}\` ${migration.result} (${seconds(migration.durationMs)})`;
    const outcome =
      run.result === 'promoted'
        ? `**${run.result}**, revision ${run.revision}: ${job}, then ${run.activeColor} went live.`
        : `**${run.result}**, revision ${run.revision}: ${job}, so the candidate was never brought up and nothing switched; ${run.activeColor || 'the live color'} stayed live.`;
    lines.push(
      `### payment ${run.version}: ${run.step}`,
      '',
      `\`${run.image}\``,
      '',
      outcome,
      '',
      ...run.jobTable,
      '',
    );
    const tail = migration?.result === 'succeeded' ? [] : (migration?.logTail ?? []);
    if (tail.length > 0) lines.push('Last lines of its pod:', '', ...fenced(tail), '');
  }
  if (chapter.live !== null)
    lines.push(
      `At the end \`${chapter.namespace}\` runs \`${chapter.live.image}\` on ${chapter.live.color}${chapter.failedImageDeployments.length === 0 ? '; no Deployment runs the image whose migration failed' : `; Deployments running the image whose migration failed: ${chapter.failedImageDeployments.join(', ')}`}.`,
    );
  return lines;
}

/** Lines in a code fence longer than any run of backticks in them, so no line can end it. */
function fenced(lines: readonly string[]): string[] {
  const longest = Math.max(
    2,
    ...lines.map((l) => Math.max(0, ...(l.match(/`+/g) ?? []).map((r) => r.length))),
  );
  const fence = '`'.repeat(longest + 1);
  return [`${fence}text`, ...lines, fence];
}

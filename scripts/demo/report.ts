import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timingsTable, type StepTiming } from './progress.js';
import type { CanaryChapter, StoryResults } from './story.js';

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

import type { CanaryStepReport } from './canary.js';

/**
 * The canary's steps as Mermaid charts, which GitHub draws in job summaries: the weight over time
 * (ending at 0 when the canary was aborted), and for the first Prometheus query of the analysis
 * that judges the canary alone, its value on each side at the end of every step.
 */
export function canaryCharts(steps: readonly CanaryStepReport[]): string[] {
  const first = steps[0];
  if (first === undefined) return [];
  const since = (ms: number): string => `"+${String(Math.round((ms - first.at) / 1000))}s"`;
  const labels = steps.map((s) => since(s.at));
  const weights = steps.map((s) => s.weight);
  const last = steps[steps.length - 1] as CanaryStepReport;
  if (last.decision === 'abort') {
    labels.push(since(last.at + last.durationMs));
    weights.push(0);
  }
  const lines = [
    '```mermaid',
    'xychart-beta',
    '  title "Canary weight (%) over time"',
    `  x-axis [${labels.join(', ')}]`,
    '  y-axis "weight %" 0 --> 100',
    `  line [${weights.join(', ')}]`,
    '```',
    '',
  ];
  const check = steps.find((s) => (s.readings?.length ?? 0) > 0)?.readings?.[0]?.check;
  if (check === undefined) return lines;
  const values = steps.map((s) => s.readings?.find((r) => r.check === check));
  if (values.some((v) => v?.canary === undefined || v.stable === undefined)) return lines;
  const series = (side: 'canary' | 'stable'): string =>
    values.map((v) => String(Number((v?.[side] ?? 0).toPrecision(4)))).join(', ');
  lines.push(
    '```mermaid',
    'xychart-beta',
    `  title "${check.replace(/"/g, "'")} at the end of each step: canary (first line), stable (second)"`,
    `  x-axis [${steps.map((s) => since(s.at + s.durationMs)).join(', ')}]`,
    `  y-axis "${check.replace(/"/g, "'")}"`,
    `  line [${series('canary')}]`,
    `  line [${series('stable')}]`,
    '```',
    '',
  );
  return lines;
}

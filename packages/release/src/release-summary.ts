import { formatDuration } from '@dreamscape/core';
import type { CanaryStepReport } from './canary.js';
import { canaryCharts } from './canary-chart.js';
import { failureReportMarkdown } from './failure-report.js';
import type { GateResult } from './gates.js';
import type { HookJobRun } from './hook-jobs.js';
import type { ReleaseOutcome } from './outcome.js';

const ICONS: Readonly<Record<ReleaseOutcome['result'], string>> = {
  promoted: '✅',
  'rolled-back': '↩️',
  failed: '❌',
  planned: '📝',
  paused: '⏸️',
};

/** `registry/repo@sha256:0123456789ab` — enough of a digest to tell two apart. */
export function shortImage(image: string): string {
  const at = image.indexOf('@sha256:');
  if (at < 0) return image;
  const name = image.slice(0, at).split('/').slice(-2).join('/');
  return `${name}@${image.slice(at + 1, at + 1 + 7 + 12)}`;
}

/** A job summary of a deploy or rollback, meant to be read instead of the log. */
export function renderReleaseSummary(o: ReleaseOutcome, title: string): string {
  const lines: string[] = [];
  lines.push(`### ${ICONS[o.result]} ${title}: ${o.app} → ${o.environment} — ${o.result}`);
  lines.push('');
  lines.push(o.message);
  lines.push('');
  const meta: [string, string][] = [
    [
      'Revision',
      `${o.revision}${o.record.previousRevision > 0 ? ` (previous ${o.record.previousRevision})` : ''}`,
    ],
    ['Namespace', `\`${o.namespace}\``],
    ['Strategy', o.record.strategy],
  ];
  const source = o.record.source;
  if (source?.kind === 'chart')
    meta.push([
      'Chart',
      `\`${cell(source.name)}\` ${cell(source.version)} from \`${cell(source.reference)}\` (values \`${source.valuesDigest.slice(0, 19)}\`)`,
    ]);
  if (o.activeColor !== undefined || o.previousColor !== undefined)
    meta.push([
      'Live color',
      `${o.activeColor ?? '—'}${o.previousColor === undefined ? '' : ` (was ${o.previousColor})`}`,
    ]);
  if (o.record.commit !== '') meta.push(['Commit', `\`${o.record.commit.slice(0, 12)}\``]);
  if (o.record.reason !== '') meta.push(['Reason', cell(o.record.reason)]);
  meta.push(['Time', formatDuration(o.timings.total ?? 0)]);
  lines.push('| | |', '|---|---|', ...meta.map(([k, v]) => `| ${k} | ${v} |`), '');

  if (o.services.length > 0) {
    lines.push('| Service | Before | After |', '|---|---|---|');
    for (const s of o.services) {
      const side = (x: { color: string; images: readonly string[] }): string =>
        x.color === 'missing'
          ? '—'
          : `${x.color === 'legacy' ? '' : `**${x.color}** `}${x.images.map((i) => `\`${shortImage(i)}\``).join('<br>') || '(no pods)'}`;
      lines.push(`| ${s.service} | ${side(s.before)} | ${side(s.after)} |`);
    }
    lines.push('');
  }

  if (o.workloads !== undefined && o.workloads.length > 0) {
    lines.push('| Workload | Released | Runs |', '|---|---|---|');
    for (const w of o.workloads)
      lines.push(
        `| ${w.kind}/${w.name} | ${w.reason} | ${w.images.map((i) => `\`${shortImage(i)}\``).join('<br>')} |`,
      );
    lines.push('');
  }

  const jobs = o.record.jobs ?? [];
  if (jobs.length > 0) {
    lines.push('| Job | Phase | Result | Time |', '|---|---|---|---|');
    for (const j of jobs)
      lines.push(
        `| \`${j.job}\` | ${j.phase} | ${JOB_ICONS[j.result]} ${j.result} | ${formatDuration(j.durationMs)} |`,
      );
    lines.push('');
    for (const j of jobs.filter((x) => x.result === 'failed' || x.result === 'timed-out')) {
      lines.push(`**${j.phase} Job \`${j.job}\` ${j.result}**: ${cell(j.message)}`, '');
      if (j.logTail !== undefined && j.logTail.length > 0)
        lines.push(`Last lines of pod \`${j.pod ?? ''}\`:`, '', ...fenced(j.logTail), '');
    }
  }

  if (o.gates.length > 0) {
    lines.push(
      '| Health check | Phase | Result | Probes | Time | Last answer |',
      '|---|---|---|---|---|---|',
    );
    for (const g of o.gates) lines.push(gateRow(g));
    lines.push('');
  }

  if (o.canary !== undefined && o.canary.length > 0) {
    lines.push('| Canary weight | At | Analysed for | Analysis | Decision |', '|---|---|---|---|---|');
    for (const step of o.canary) lines.push(canaryRow(step));
    lines.push('', ...canaryCharts(o.canary));
  }

  if (o.diagnostics !== undefined) lines.push(failureReportMarkdown(o.diagnostics), '');

  const phases = Object.entries(o.timings).filter(([k]) => k !== 'total');
  if (phases.length > 0) {
    lines.push('<details><summary>Timings</summary>', '', '| Phase | Time |', '|---|---|');
    for (const [k, v] of phases) lines.push(`| ${k} | ${formatDuration(v)} |`);
    lines.push('', '</details>', '');
  }
  if (o.record.runUrl !== '') lines.push(`[Workflow run](${o.record.runUrl})`, '');
  return lines.join('\n');
}

function canaryRow(step: CanaryStepReport): string {
  const analysis =
    step.analysis.length === 0
      ? 'none (waited)'
      : step.analysis
          .map(
            (g) =>
              `${g.passed ? '✅' : g.stopped ? '⏹' : '❌'} ${g.check}: ${g.successes}✓ ${g.failures}✗, ${g.lastDetail}`,
          )
          .join('<br>');
  const decision = {
    'next step': '➡️ next step',
    promote: '✅ promote',
    abort: '↩️ abort',
    pause: '⏸️ wait for approval',
  }[step.decision];
  return `| ${step.weight} % | ${new Date(step.at).toISOString().slice(11, 19)} UTC | ${formatDuration(step.durationMs)} | ${cell(analysis)} | ${decision} |`;
}

function gateRow(g: GateResult): string {
  const result = g.passed ? '✅ passed' : g.stopped ? '⏹ stopped' : '❌ failed';
  return `| ${g.check} | ${g.phase} | ${result} | ${g.successes}✓ ${g.failures}✗ | ${formatDuration(g.durationMs)} | ${cell(g.lastDetail)} |`;
}

const JOB_ICONS: Readonly<Record<HookJobRun['result'], string>> = {
  succeeded: '✅',
  failed: '❌',
  'timed-out': '⏱️',
  skipped: '⏭️',
};

/** Log lines in a code fence longer than any run of backticks in them (the lines cannot end it). */
function fenced(lines: readonly string[]): string[] {
  const longest = Math.max(
    2,
    ...lines.map((l) => Math.max(0, ...(l.match(/`+/g) ?? []).map((m) => m.length))),
  );
  const fence = '`'.repeat(longest + 1);
  return [`${fence}text`, ...lines, fence];
}

/** Free text (a probe's answer, the user's reason) kept inside one table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

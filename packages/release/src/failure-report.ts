import type { Logger } from '@dreamscape/core';
import type {
  ContainerReport,
  EventReport,
  FailureReport,
  PodReport,
  WorkloadReport,
} from './failure-diagnostics.js';
import type { GateResult } from './gates.js';

/**
 * The failure report in words a person would search for: per workload, the reasons its containers,
 * conditions and warning events give (`ImagePullBackOff`, `CrashLoopBackOff`,
 * `ProgressDeadlineExceeded`), most telling first; per failed check, its last status.
 */
export function failureReasons(report: FailureReport): string[] {
  const reasons: string[] = [];
  for (const w of report.workloads) {
    const found = workloadReasons(w);
    if (found.length > 0) reasons.push(`${w.kind} ${w.name}: ${found.join(', ')}`);
    else if (!w.found) reasons.push(`${w.kind} ${w.name}: ${w.status}`);
  }
  for (const g of report.gates) {
    const last = g.answers?.[g.answers.length - 1];
    reasons.push(
      `health check ${g.check}: ${last?.status === undefined ? g.lastDetail : `HTTP ${String(last.status)}`}`,
    );
  }
  return reasons;
}

/** The distinct reasons of one workload: its containers' first, then its conditions' and warning events'. */
export function workloadReasons(w: WorkloadReport): string[] {
  const reasons: string[] = [];
  const add = (r: string): void => {
    if (r !== '' && !reasons.includes(r)) reasons.push(r);
  };
  for (const p of w.pods)
    for (const c of p.containers) {
      if (c.state !== 'running' && c.reason !== '') add(c.reason);
      if (
        c.lastTermination !== undefined &&
        c.lastTermination.reason !== '' &&
        c.lastTermination.reason !== 'Completed'
      )
        add(
          c.lastTermination.reason === 'Error'
            ? `exit code ${String(c.lastTermination.exitCode)}`
            : c.lastTermination.reason,
        );
    }
  // The kubelet's back-off says what its container is doing between attempts, whatever state the
  // container was read in (running again, or pulling again, for a moment).
  const events = [...w.events, ...w.pods.flatMap((p) => p.events)];
  for (const e of events)
    if (e.reason === 'BackOff' && e.message.startsWith('Back-off pulling image')) add('ImagePullBackOff');
    else if (e.reason === 'BackOff' && e.message.startsWith('Back-off restarting failed container'))
      add('CrashLoopBackOff');
  for (const p of w.pods) for (const c of p.conditions) add(c.reason);
  for (const c of w.conditions) if (c.status === 'False' || c.type === 'Failed') add(c.reason);
  // The kubelet's `Failed` and `BackOff` say what the container states above say already.
  for (const e of events)
    if (
      e.type === 'Warning' &&
      !(e.source === 'kubelet' && (e.reason === 'Failed' || e.reason === 'BackOff'))
    )
      add(e.reason);
  return reasons;
}

/**
 * Cluster text for one log line: control characters (a newline, a carriage return, which the runner
 * would read as the start of a line, and so of a workflow command) shown as escapes.
 */
export function logText(text: string): string {
  return text.replace(/[^\t\x20-\x7e\u00a0-\u2027\u202a-\u{10ffff}]/gu, (c) =>
    c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\u{${c.codePointAt(0)?.toString(16) ?? ''}}`,
  );
}

/**
 * The report in the log, as one collapsed group: each workload's conditions, its pods that are not
 * Ready with their containers' states, and the last events, as `kubectl describe` would show them.
 * Every line starts with text of ours, so nothing from the cluster can start a workflow command.
 */
export async function logFailureReport(logger: Logger, report: FailureReport): Promise<void> {
  const reasons = failureReasons(report);
  const title = `Why it failed: ${reasons.length === 0 ? report.message : reasons.join('; ')}`;
  await logger.group(logText(title.length > 300 ? `${title.slice(0, 300)}…` : title), () => {
    for (const line of failureLogLines(report)) logger.info(line);
    return Promise.resolve();
  });
}

/** The lines of {@link logFailureReport}. */
export function failureLogLines(report: FailureReport): string[] {
  const lines: string[] = [`Failed: ${logText(report.message)}`];
  for (const w of report.workloads) {
    lines.push(`${w.kind} ${w.name} (namespace ${report.namespace}): ${w.status}`);
    if (w.conditions.length > 0) {
      lines.push('  Conditions:');
      for (const c of w.conditions)
        lines.push(
          `    ${c.type}=${c.status} ${logText(c.reason)}${c.message === '' ? '' : `: ${logText(c.message)}`}`,
        );
    }
    if (w.podsNotReady > 0)
      lines.push(
        `  Pods not Ready: ${String(w.podsNotReady)} of ${String(w.podsTotal)}${w.pods.length < w.podsNotReady ? ` (${String(w.pods.length)} shown)` : ''}`,
      );
    for (const p of w.pods) {
      lines.push(`  Pod ${p.name} (${logText(p.phase)})`);
      for (const c of p.conditions)
        lines.push(
          `    ${c.type}=${c.status} ${logText(c.reason)}${c.message === '' ? '' : `: ${logText(c.message)}`}`,
        );
      for (const c of p.containers) lines.push(...containerLines(c));
      if (p.events.length > 0) {
        lines.push('    Events:');
        for (const e of p.events) lines.push(`      ${eventLine(e)}`);
      }
    }
    if (w.events.length > 0) {
      lines.push('  Events:');
      for (const e of w.events) lines.push(`    ${eventLine(e)}`);
    }
  }
  for (const g of report.gates) {
    lines.push(
      `Health check ${g.check} (${g.phase}, ${logText(g.target)}): failed after ${probes(g.attempts)}`,
    );
    for (const a of g.answers ?? [])
      lines.push(
        `  ${a.at.slice(11, 19)} ${a.status === undefined ? 'no answer' : `HTTP ${String(a.status)}`} in ${String(a.latencyMs)} ms: ${logText(a.body ?? a.detail)}`,
      );
  }
  for (const u of report.unread) lines.push(`Not read: ${logText(u)}`);
  if (report.workloadsLeftOut > 0)
    lines.push(`${String(report.workloadsLeftOut)} more workloads were not read.`);
  return lines;
}

function containerLines(c: ContainerReport): string[] {
  const lines = [
    `    ${c.init ? 'init container' : 'container'} ${c.name}: ${c.state}${c.reason === '' ? '' : ` ${logText(c.reason)}`}${c.message === '' ? '' : `: ${logText(c.message)}`} (ready ${String(c.ready)}, restarts ${String(c.restartCount)})`,
  ];
  const t = c.lastTermination;
  if (t !== undefined)
    lines.push(
      `      last exit: code ${String(t.exitCode ?? '?')} ${logText(t.reason)}${t.finishedAt === '' ? '' : ` at ${t.finishedAt}`}${t.message === '' ? '' : `, message: ${logText(t.message)}`}`,
    );
  return lines;
}

function eventLine(e: EventReport): string {
  return `${e.lastSeen === '' ? '-' : e.lastSeen} ${logText(e.type)} ${logText(e.reason)} ${e.object}${e.count > 1 ? ` (x${String(e.count)})` : ''} from ${logText(e.source)}: ${logText(e.message)}`;
}

/** The size the job summary's section is kept under, well inside GitHub's 1 MiB per step. */
export const FAILURE_SECTION_MAX_BYTES = 64 * 1024;

/**
 * The report as a section of the job summary: per workload its reasons, a table of conditions, one
 * of the pods that are not Ready (container state, restarts, last exit and termination message) and
 * the events, folded; per failed check its last answers. Cluster text is escaped (it may hold
 * Markdown or HTML). Kept under `maxBytes`: workloads that do not fit are named, not shown.
 */
export function failureReportMarkdown(report: FailureReport, maxBytes = FAILURE_SECTION_MAX_BYTES): string {
  const head = ['#### Why it failed', '', md(report.message), ''];
  const blocks = [...report.workloads.map(workloadBlock), ...report.gates.map(gateBlock)];
  const tail: string[] = [];
  if (report.unread.length > 0) tail.push(`Not read: ${report.unread.map(md).join('; ')}`, '');
  if (report.workloadsLeftOut > 0)
    tail.push(`${String(report.workloadsLeftOut)} more workloads were not read.`, '');
  let used = bytes(head) + bytes(tail) + 200;
  const kept: string[] = [];
  let cut = 0;
  for (const block of blocks) {
    const size = bytes(block.full);
    const short = bytes(block.short);
    if (used + size <= maxBytes) {
      kept.push(...block.full);
      used += size;
    } else if (used + short <= maxBytes) {
      kept.push(...block.short);
      used += short;
    } else cut++;
  }
  if (cut > 0)
    tail.unshift(
      `${String(cut)} more ${cut === 1 ? 'entry is' : 'entries are'} not shown: the section is kept under ${String(maxBytes / 1024)} KiB. The log's "Why it failed" group has everything.`,
      '',
    );
  return [...head, ...kept, ...tail].join('\n');
}

interface Block {
  readonly full: string[];
  /** Without its events, when the whole does not fit. */
  readonly short: string[];
}

function workloadBlock(w: WorkloadReport): Block {
  const reasons = workloadReasons(w);
  const lines = [
    `**${w.kind} \`${w.name}\`**: ${md(w.status)}${reasons.length === 0 ? '' : ` — ${reasons.map((r) => `**${md(r)}**`).join(', ')}`}`,
    '',
  ];
  if (w.conditions.length > 0) {
    lines.push('| Condition | Status | Reason | Message |', '|---|---|---|---|');
    for (const c of w.conditions)
      lines.push(`| ${md(c.type)} | ${md(c.status)} | ${md(c.reason)} | ${md(c.message)} |`);
    lines.push('');
  }
  if (w.pods.length > 0) {
    lines.push(
      `Pods not Ready: ${String(w.podsNotReady)} of ${String(w.podsTotal)}${w.pods.length < w.podsNotReady ? ` (${String(w.pods.length)} shown)` : ''}`,
      '',
      '| Pod | Container | State | Reason | Restarts | Last exit | Message |',
      '|---|---|---|---|---|---|---|',
    );
    for (const p of w.pods) lines.push(...podRows(p));
    lines.push('');
  }
  const short = [...lines];
  const events = [...w.events, ...w.pods.flatMap((p) => p.events)].sort((a, b) =>
    a.lastSeen.localeCompare(b.lastSeen),
  );
  if (events.length > 0) {
    lines.push(
      `<details><summary>Events of ${w.kind} ${w.name}${w.pods.length > 0 ? ' and its pods' : ''} (${String(events.length)})</summary>`,
      '',
      '| Last seen | Type | Reason | Object | Count | From | Message |',
      '|---|---|---|---|---|---|---|',
    );
    for (const e of events)
      lines.push(
        `| ${md(e.lastSeen.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''))} | ${md(e.type)} | ${md(e.reason)} | ${md(e.object)} | ${String(e.count)} | ${md(e.source)} | ${md(e.message)} |`,
      );
    lines.push('', '</details>', '');
  }
  return { full: lines, short };
}

function podRows(p: PodReport): string[] {
  const rows: string[] = [];
  const problems = p.conditions.map((c) => `${c.type} ${c.reason}: ${c.message}`).join('; ');
  if (p.containers.length === 0) rows.push(`| ${md(p.name)} | | ${md(p.phase)} | | | | ${md(problems)} |`);
  for (const c of p.containers) {
    const t = c.lastTermination;
    const last =
      t === undefined
        ? ''
        : `${t.exitCode === undefined ? '' : `exit code ${String(t.exitCode)} `}${md(t.reason)}${t.message === '' ? '' : `: ${md(t.message)}`}`;
    const reason = c.reason === '' ? '' : `**${md(c.reason)}**`;
    rows.push(
      `| ${md(p.name)} (${md(p.phase)}) | ${c.init ? 'init: ' : ''}${md(c.name)} | ${c.state}${c.ready ? ', ready' : ''} | ${reason} | ${String(c.restartCount)} | ${last} | ${md([c.message, problems].filter((x) => x !== '').join('; '))} |`,
    );
  }
  return rows;
}

function gateBlock(g: GateResult): Block {
  const lines = [
    `**Health check \`${md(g.check)}\`** (${g.phase}, ${md(g.target)}): failed after ${probes(g.attempts)}, ${String(g.failures)} failed — ${md(g.lastDetail)}`,
    '',
  ];
  const answers = g.answers ?? [];
  if (answers.length > 0) {
    lines.push(
      answers.length === 1 ? 'Its last answer:' : `Its last ${String(answers.length)} answers:`,
      '',
      '| At | Status | Latency | Body |',
      '|---|---|---|---|',
    );
    for (const a of answers)
      lines.push(
        `| ${a.at.slice(11, 19)} | ${a.status === undefined ? 'no answer' : String(a.status)} | ${String(a.latencyMs)} ms | ${md(a.body ?? a.detail)} |`,
      );
    lines.push('');
  }
  return { full: lines, short: lines.slice(0, 2) };
}

/**
 * Cluster text (an event message, a termination message, a service's body) for a Markdown table
 * cell: one line, HTML and Markdown made inert, so it shows as the text it is and cannot add
 * links, images, markup or cells.
 */
export function md(text: string): string {
  return text
    .replace(/[^\x20-\x7e\u00a0-\u2027\u202a-\u{10ffff}]+/gu, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]#|~]/g, (c) => `\\${c}`)
    .trim();
}

function probes(n: number): string {
  return n === 1 ? '1 probe' : `${String(n)} probes`;
}

function bytes(lines: readonly string[]): number {
  return lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
}

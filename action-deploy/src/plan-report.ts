import { tmpdir } from 'node:os';
import type { Logger } from '@dreamscape/core';
import { MAX_COMMENT_LENGTH } from '@dreamscape/github';
import type { Kubectl } from '@dreamscape/kube';
import {
  ageText,
  isRefused,
  SCAN_REFUSAL_HINT,
  verdictTable,
  type ScanRequirement,
  type VerdictCheck,
} from '@dreamscape/scan';
import {
  containersOf,
  notCheckedByDryRun,
  releaseObjects,
  shortImage,
  type BlueGreenPlan,
  type Color,
  type LintFinding,
  type LiveColors,
  type NotChecked,
  type PlanWithoutCluster,
  type ReleaseSource,
} from '@dreamscape/release';

/** What plan mode reports. */
export interface PlanReport {
  readonly markdown: string;
  readonly candidate: Color;
  readonly changed: boolean;
  /** Problems that would stop a deploy. */
  readonly errors: number;
  /** Images whose scan verdict a deploy would refuse (`require-scan`); never counted in `errors`. */
  readonly scanRefusals: number;
  /** Checks the plan could not make (listed in its Not checked section); never counted in `errors`. */
  readonly notChecked: readonly NotChecked[];
}

/** What `require-scan` finds for the plan: every image the release would run, judged as a deploy judges it. */
export interface PlannedScan {
  readonly checks: readonly VerdictCheck[];
  readonly requirement: ScanRequirement;
  /** When the verdicts were judged; their ages are shown as of then. */
  readonly now: number;
}

/**
 * The longest plan written. The plan becomes a sticky pull-request comment, which GitHub refuses
 * above {@link MAX_COMMENT_LENGTH} characters and which starts with a marker line: room is left for
 * it. (A job summary takes 1 MiB per step, so a plan that fits a comment fits there too.)
 */
export const MAX_PLAN_LENGTH = MAX_COMMENT_LENGTH - 1_024;

/** Rows of the Not checked section shown in the plan; the log lists them all. */
export const MAX_NOT_CHECKED_ROWS = 50;

/**
 * The dry-run report against the cluster: lint findings, which color the release would go to, what
 * each Service would switch from and to, and the server-side diff of everything that would be
 * applied. The diff names objects, never kubectl's temporary files; a report too long for a comment
 * loses whole object diffs from the end, says so, and is printed in full to the log.
 */
export async function renderPlan(o: {
  plan: BlueGreenPlan;
  kubectl: Pick<Kubectl, 'diffServerSide'>;
  namespaceExists: boolean;
  colors: LiveColors;
  logger: Logger;
  /** Objects the server-side dry run could not check (their namespace does not exist yet). */
  unchecked?: number | undefined;
  /** The runner's temporary directory, never shown in the plan. Default `RUNNER_TEMP`. */
  runnerTemp?: string | undefined;
  /** What was rendered (a chart is named with its version and values digest). */
  source?: ReleaseSource | undefined;
  /** With `require-scan`: the images' verdicts, judged. */
  scan?: PlannedScan | undefined;
}): Promise<PlanReport> {
  const { plan, kubectl, logger, colors } = o;
  const paths = machinePaths(o.runnerTemp ?? process.env.RUNNER_TEMP);
  let diff: ObjectDiffs | undefined;
  let changed = true;
  if (o.namespaceExists) {
    const result = await kubectl.diffServerSide(releaseObjects(plan, colors));
    diff = readableDiff(result.diff, paths);
    changed = result.changed;
  }
  logger.info(
    `Plan: ${colors.active === undefined ? 'first deploy' : `live ${colors.active}`} → ${colors.candidate}; ${changed ? 'changes' : 'no changes'}.`,
  );
  const { report, full } = planMarkdown(plan, {
    colors,
    diff,
    changed,
    paths,
    logged: true,
    unchecked: o.unchecked ?? 0,
    source: o.source,
    scan: o.scan,
    notChecked: (o.unchecked ?? 0) > 0 ? [notCheckedByDryRun(plan.namespace, o.unchecked ?? 0)] : [],
    note: o.namespaceExists
      ? undefined
      : `Namespace \`${plan.namespace}\` does not exist yet: the overlay creates it, so there is nothing to diff against${(o.unchecked ?? 0) > 0 ? `, and the server-side dry run could not check the ${countOf(o.unchecked ?? 0, 'object')} that go into it` : ''}.`,
  });
  if (full !== report.markdown)
    logger.info(
      `The plan is ${countOf(full.length, 'character')}, more than a comment holds: the summary and the comment are cut. The full plan:\n${full}`,
    );
  return report;
}

/**
 * The report without a cluster: what the files say (render, lint, the colored objects), no diff;
 * with `require-scan`, the verdicts of the images pinned by digest (the registry needs no cluster);
 * and a Not checked section listing what is left to a deploy, and why.
 */
export function renderOfflinePlan(
  offline: PlanWithoutCluster,
  o: {
    /** The runner's temporary directory, never shown in the plan. Default `RUNNER_TEMP`. */
    readonly runnerTemp?: string | undefined;
    readonly source?: ReleaseSource | undefined;
    readonly scan?: PlannedScan | undefined;
  } = {},
): PlanReport {
  return planMarkdown(offline.plan, {
    source: o.source,
    scan: o.scan,
    notChecked: offline.notChecked,
    colors: undefined,
    diff: undefined,
    changed: true,
    paths: machinePaths(o.runnerTemp ?? process.env.RUNNER_TEMP),
    logged: false,
    note: 'No cluster credentials were given: this plan shows what the files say. Live colors, the server-side dry run and the diff need a kubeconfig.',
  }).report;
}

/** A kubectl diff split per object, each header line naming its object rather than a file. */
export interface ObjectDiffs {
  /** One entry per object; lines before the first object's header stay with the first. */
  readonly sections: readonly string[];
  /** Lines of the whole diff. */
  readonly lines: number;
}

/**
 * Directories whose paths never reach a plan: the runner's temporary directory anywhere, and the
 * system's temporary directories outside the objects' own lines (where a container may well mount
 * `/tmp`, which is the user's and stays).
 */
export interface MachinePaths {
  readonly runnerTemp: readonly string[];
  readonly systemTemp: readonly string[];
}

/** The temporary directories of this machine; `runnerTemp` is `RUNNER_TEMP` in an action. */
export function machinePaths(runnerTemp: string | undefined): MachinePaths {
  const absolute = (dirs: readonly (string | undefined)[]): string[] =>
    [...new Set(dirs.map((d) => (d ?? '').replace(/\/+$/, '')).filter((d) => d.startsWith('/')))]
      // Longest first, so that a directory inside another is replaced whole.
      .sort((a, b) => b.length - a.length);
  const runner = absolute([runnerTemp]);
  return { runnerTemp: runner, systemTemp: absolute([...runner, process.env.TMPDIR, tmpdir(), '/tmp']) };
}

const HUNK = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/;
/** kubectl diff writes the live and the merged objects under `$TMPDIR/LIVE-<n>/` and `$TMPDIR/MERGED-<n>/`. */
const KUBECTL_TEMP = '(?:/[^\\s/]+)*/(LIVE|MERGED)-\\d+(?:/([^\\s/]+))?';
const VERSION_KIND = '(v\\d+(?:(?:alpha|beta)\\d+)?)\\.([A-Za-z][A-Za-z0-9]*)\\.([a-z0-9-]*)\\.(.+)';
/** kubectl's file name for an object: `[group.]version.Kind.namespace.name`, namespace empty when cluster-scoped. */
const CORE_FILE = new RegExp(`^()${VERSION_KIND}$`);
const GROUP_FILE = new RegExp(`^(.+?)\\.${VERSION_KIND}$`);

/** `apps/v1 Deployment shop/web` for kubectl's file `apps.v1.Deployment.shop.web`; the name as it is otherwise. */
export function objectOfDiffFile(file: string): string {
  const m = CORE_FILE.exec(file) ?? GROUP_FILE.exec(file);
  if (m === null) return file;
  const [, group = '', version = '', kind = '', namespace = '', name = ''] = m;
  return `${group === '' ? '' : `${group}/`}${version} ${kind} ${namespace === '' ? '' : `${namespace}/`}${name}`;
}

/**
 * Rewrites kubectl's diff for people: `diff -u -N /tmp/LIVE-1/apps.v1.Deployment.shop.web
 * /tmp/MERGED-2/apps.v1.Deployment.shop.web` becomes `diff apps/v1 Deployment shop/web`, and its
 * `---`/`+++` lines `--- live apps/v1 Deployment shop/web` and `+++ merged apps/v1 Deployment
 * shop/web`, without the files' timestamps (they change on every run, and so would the comment).
 * Any other temporary path outside the objects' lines becomes `<temporary path>`.
 */
export function readableDiff(diff: string, paths: MachinePaths): ObjectDiffs {
  if (diff.trim() === '') return { sections: [], lines: 0 };
  const lines = diff.replace(/\n$/, '').split('\n');
  const sections: string[][] = [];
  let current: string[] | undefined;
  let hasHeader = false;
  let sawHunk = false;
  let oldLeft = 0;
  let newLeft = 0;
  for (const line of lines) {
    if (oldLeft > 0 || newLeft > 0) {
      // A line of the object itself (counted, so that an object line such as `--- x` is not a header).
      if (line.startsWith('-')) oldLeft--;
      else if (line.startsWith('+')) newLeft--;
      else if (!line.startsWith('\\')) {
        oldLeft--;
        newLeft--;
      }
      current?.push(withoutPaths(line, paths.runnerTemp));
      continue;
    }
    const opens = line.startsWith('diff ') ? hasHeader : line.startsWith('--- ') ? sawHunk : false;
    if (current === undefined || opens) {
      current = [];
      sections.push(current);
      hasHeader = false;
      sawHunk = false;
    }
    const hunk = HUNK.exec(line);
    if (hunk !== null) {
      oldLeft = Number(hunk[1] ?? 1);
      newLeft = Number(hunk[2] ?? 1);
      sawHunk = true;
      current.push(line);
      continue;
    }
    if (line.startsWith('diff ') || line.startsWith('--- ')) hasHeader = true;
    current.push(headerLine(line, paths));
  }
  return { sections: sections.map((s) => s.join('\n')), lines: lines.length };
}

function headerLine(line: string, paths: MachinePaths): string {
  const file = /^(---|\+\+\+) (.*?)(\t.*)?$/.exec(line);
  const named = file === null ? undefined : kubectlTempFile(file[2] ?? '');
  if (file !== null && named !== undefined) return `${file[1] ?? ''} ${named}`;
  const command = /^diff (?:-\S+ )*\S+ (\S+)$/.exec(line);
  const object = command === null ? undefined : new RegExp(`^${KUBECTL_TEMP}$`).exec(command[1] ?? '')?.[2];
  if (object !== undefined) return `diff ${objectOfDiffFile(object)}`;
  return withoutPaths(
    line.replace(new RegExp(KUBECTL_TEMP, 'g'), (_match, dir: string, name: string | undefined) =>
      name === undefined ? dir.toLowerCase() : `${dir.toLowerCase()} ${objectOfDiffFile(name)}`,
    ),
    paths.systemTemp,
  );
}

/** `live apps/v1 Deployment shop/web` for `/tmp/LIVE-1/apps.v1.Deployment.shop.web`. */
function kubectlTempFile(path: string): string | undefined {
  const m = new RegExp(`^${KUBECTL_TEMP}$`).exec(path);
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  return `${m[1].toLowerCase()} ${objectOfDiffFile(m[2])}`;
}

function withoutPaths(text: string, dirs: readonly string[]): string {
  let out = text;
  for (const dir of dirs) {
    const escaped = dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(
      new RegExp(`(?<![\\w./-])${escaped}(?![\\w.-])(?:/[^\\s'"\`<>|]*)?`, 'g'),
      '<temporary path>',
    );
  }
  return out;
}

function countOf(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

/** The line that says what was cut: `… 14 more object diffs (23,410 characters) cut to stay within …`. */
function cutNote(
  what: 'object diff' | 'finding',
  cut: number,
  shown: number,
  characters: number,
  logged: boolean,
): string {
  return `… ${cut.toLocaleString('en-US')} ${shown > 0 ? 'more ' : ''}${what}${cut === 1 ? '' : 's'} (${countOf(characters, 'character')}) cut to stay within GitHub's ${MAX_COMMENT_LENGTH.toLocaleString('en-US')}-character comment limit${logged ? '; the full plan is in the job log' : ''}.`;
}

/** How many of `parts` fit in `budget` characters, each taking its length plus a newline. */
function fitting(parts: readonly string[], budget: number): number {
  let used = 0;
  let n = 0;
  for (const part of parts) {
    used += part.length + 1;
    if (used > budget) break;
    n++;
  }
  return n;
}

function planMarkdown(
  plan: BlueGreenPlan,
  o: {
    colors: LiveColors | undefined;
    diff: ObjectDiffs | undefined;
    changed: boolean;
    paths: MachinePaths;
    /** Whether the caller prints the full plan to the log when it is cut. */
    logged: boolean;
    note: string | undefined;
    /** Objects the API server could not check: the plan is then not "ready". */
    unchecked?: number;
    source?: ReleaseSource | undefined;
    scan?: PlannedScan | undefined;
    notChecked: readonly NotChecked[];
  },
): { report: PlanReport; full: string } {
  const candidate: Color = o.colors?.candidate ?? 'blue';
  const errors = plan.findings.filter((f) => f.level === 'error');
  const warnings = plan.findings.filter((f) => f.level === 'warning');
  const findingRows = [...errors, ...warnings].map((f: LintFinding) => findingRow(f, o.paths));
  const sections = o.diff?.sections ?? [];
  const sizeOf = (parts: readonly string[]): number => parts.reduce((n, p) => n + p.length + 1, 0);
  const compose = (shownFindings: number, shownSections: number, notes: 'actual' | 'longest'): string => {
    const note = (
      what: 'object diff' | 'finding',
      all: readonly string[],
      shown: number,
    ): string | undefined =>
      notes === 'longest'
        ? cutNote(what, all.length, 1, sizeOf(all), o.logged)
        : shown < all.length
          ? cutNote(what, all.length - shown, shown, sizeOf(all.slice(shown)), o.logged)
          : undefined;
    return markdownOf(plan, {
      ...o,
      candidate,
      errors: errors.length,
      findingRows: findingRows.slice(0, shownFindings),
      findingsNote: findingRows.length === 0 ? undefined : note('finding', findingRows, shownFindings),
      sections: sections.slice(0, shownSections),
      sectionsNote: sections.length === 0 ? undefined : note('object diff', sections, shownSections),
      fence: fenceFor(sections),
    });
  };

  const full = compose(findingRows.length, sections.length, 'actual');
  let markdown = full;
  if (full.length > MAX_PLAN_LENGTH) {
    // Whole object diffs go first, from the end; findings only when the diff is gone and it still does not fit.
    const withoutDiff = compose(findingRows.length, 0, 'longest').length;
    const shownFindings =
      withoutDiff <= MAX_PLAN_LENGTH
        ? findingRows.length
        : fitting(findingRows, MAX_PLAN_LENGTH - compose(0, 0, 'longest').length);
    const shownSections =
      withoutDiff <= MAX_PLAN_LENGTH ? fitting(sections, MAX_PLAN_LENGTH - withoutDiff) : 0;
    markdown = compose(shownFindings, shownSections, 'actual');
  }
  return {
    report: {
      markdown,
      candidate,
      changed: o.changed,
      errors: errors.length,
      scanRefusals: refusalsOf(o.scan),
      notChecked: o.notChecked,
    },
    full,
  };
}

function findingRow(f: LintFinding, paths: MachinePaths): string {
  const message = withoutPaths(f.message, paths.systemTemp).replace(/\|/g, '\\|');
  return `| ${f.level === 'error' ? '❌' : '⚠️'} | \`${f.object}\` | ${message} |`;
}

/** A code fence longer than any run of backticks in the diff, so that no object line can close it. */
function fenceFor(sections: readonly string[]): string {
  let longest = 0;
  for (const section of sections)
    for (const run of section.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return '`'.repeat(Math.max(3, longest + 1));
}

function markdownOf(
  plan: BlueGreenPlan,
  o: {
    colors: LiveColors | undefined;
    diff: ObjectDiffs | undefined;
    changed: boolean;
    note: string | undefined;
    candidate: Color;
    errors: number;
    findingRows: readonly string[];
    findingsNote: string | undefined;
    sections: readonly string[];
    sectionsNote: string | undefined;
    fence: string;
    unchecked?: number;
    source?: ReleaseSource | undefined;
    scan?: PlannedScan | undefined;
    notChecked: readonly NotChecked[];
  },
): string {
  const where =
    o.colors === undefined
      ? 'the live color is not known without the cluster'
      : o.colors.active === undefined
        ? 'first deploy'
        : `live color **${o.colors.active}**`;
  const refusals = refusalsOf(o.scan);
  const lines: string[] = [
    `### 📝 Deploy plan: ${plan.app} → ${plan.environment} (\`${plan.namespace}\`)`,
    '',
  ];
  if (o.scan !== undefined && refusals > 0)
    lines.push(
      `**${refusalText(refusals, o.scan.checks.length)} for their scan verdicts (require-scan; see Scan verdicts below).**`,
      '',
    );
  lines.push(
    o.errors > 0
      ? `**${o.errors} problem${o.errors === 1 ? '' : 's'} would stop this deploy.**`
      : o.colors === undefined
        ? o.notChecked.length > 0
          ? `No problem found in what could be checked here; ${countOf(o.notChecked.length, 'check')} ${o.notChecked.length === 1 ? 'is' : 'are'} left to a deploy (see Not checked below).`
          : 'No problem found in the manifests.'
        : (o.unchecked ?? 0) > 0
          ? `Not fully validated: ${countOf(o.unchecked ?? 0, 'object')} could not be checked by the API server until namespace \`${plan.namespace}\` exists. A deploy creates it first and checks every object before it writes anything else; ${where}, the release goes to **${o.candidate}**.`
          : `${refusals > 0 ? 'The manifests are ready' : 'Ready to deploy'}: ${where}, the release goes to **${o.candidate}**.`,
    '',
  );
  if (o.source?.kind === 'chart')
    lines.push(
      `Chart \`${o.source.name}\` ${o.source.version} from \`${o.source.reference}\`, values \`${o.source.valuesDigest.slice(0, 19)}\`, rendered with \`helm template\`.`,
      '',
    );
  if (plan.hooks.length > 0 || plan.skippedHooks.length > 0) {
    lines.push('| Job | Runs |', '|---|---|');
    for (const h of plan.hooks)
      lines.push(
        `| \`${h.name}\` | ${h.phase === 'pre-deploy' ? 'before the candidate comes up; a failure stops the release' : 'after the release is verified'}${h.firstOnly ? ' (first release only)' : ''} |`,
      );
    for (const s of plan.skippedHooks) lines.push(`| \`${s.object}\` | never: ${s.reason} |`);
    lines.push('');
  }
  if (plan.findings.length > 0) {
    lines.push('| | Object | Finding |', '|---|---|---|', ...o.findingRows, '');
    if (o.findingsNote !== undefined) lines.push(o.findingsNote, '');
  }
  if (o.notChecked.length > 0) lines.push(...notCheckedSection(o.notChecked));
  lines.push('| Service | Now | After the switch | Images |', '|---|---|---|---|');
  for (const s of plan.services) {
    const d = plan.deployments.find((x) => x.name === s.deployment);
    const images =
      d === undefined
        ? ''
        : containersOf(d.manifest)
            .map((c) => `\`${shortImage(c.image ?? '')}\``)
            .join('<br>');
    const now = o.colors === undefined ? '?' : (o.colors.services.get(s.name) ?? '— (created)');
    lines.push(
      `| ${s.name} | ${now} | ${o.colors === undefined ? 'the idle color' : o.candidate} | ${images} |`,
    );
  }
  lines.push('');
  const notColored = plan.workloads.filter((w) => w.cls !== 'colored');
  if (notColored.length > 0) {
    lines.push('| Workload | Released |', '|---|---|');
    for (const w of notColored) lines.push(`| ${w.kind}/${w.name} | ${w.reason} |`);
    lines.push('');
  }
  if (o.scan !== undefined)
    lines.push(...scanSection(o.scan, o.notChecked.filter((n) => n.check === 'scan-verdict').length));
  if (o.diff !== undefined) {
    const size =
      o.changed && o.diff.sections.length > 0
        ? `${countOf(o.diff.sections.length, 'object')}, ${countOf(o.diff.lines, 'line')}`
        : 'no changes';
    lines.push(
      `<details><summary>Server-side diff (${size})</summary>`,
      '',
      `${o.fence}diff`,
      o.diff.sections.length === 0
        ? '(no changes)'
        : o.sections.length === 0
          ? '(too long to show here, see below)'
          : o.sections.join('\n'),
      o.fence,
      '',
      '</details>',
      '',
    );
    if (o.sectionsNote !== undefined) lines.push(o.sectionsNote, '');
  }
  if (o.note !== undefined) lines.push(o.note, '');
  return lines.join('\n');
}

/** Text from the manifests as one table cell in code: no pipe, backtick or line break can leave it. */
function codeCell(text: string): string {
  return `\`${text
    .replace(/[\r\n]+/g, ' ')
    .replace(/`/g, "'")
    .replace(/\|/g, '\\|')}\``;
}

/** The first cell of a Not checked row: what was not checked. */
function notCheckedSubject(n: NotChecked): string {
  switch (n.check) {
    case 'digest':
      return `digest of ${codeCell(n.subject)}${n.objects.length === 0 ? '' : ` (${n.objects.join(', ').replace(/\|/g, '\\|')})`}`;
    case 'scan-verdict':
      return `scan verdict of ${codeCell(n.subject)}`;
    default:
      return n.subject.replace(/\|/g, '\\|');
  }
}

/**
 * The plan's "Not checked" section: each check the plan could not make and why. A deploy makes
 * them before it writes anything, so they are reported, never counted as problems.
 */
function notCheckedSection(notChecked: readonly NotChecked[]): string[] {
  const shown = notChecked.slice(0, MAX_NOT_CHECKED_ROWS);
  const lines = [
    '#### ⏭️ Not checked',
    '',
    'A deploy makes each of these checks before it writes anything, and refuses what fails.',
    '',
    '| Not checked | Why |',
    '|---|---|',
    ...shown.map((n) => `| ${notCheckedSubject(n)} | ${n.reason.replace(/\|/g, '\\|')} |`),
    '',
  ];
  if (notChecked.length > shown.length)
    lines.push(
      `… ${countOf(notChecked.length - shown.length, 'more check')} not made; the job log lists them all.`,
      '',
    );
  return lines;
}

function refusalsOf(scan: PlannedScan | undefined): number {
  return scan?.checks.filter(isRefused).length ?? 0;
}

/** `A deploy would refuse 2 of 7 images`. */
function refusalText(refused: number, all: number): string {
  return `A deploy would refuse ${String(refused)} of ${countOf(all, 'image')}`;
}

/** `passing, at most 7d old, from trivy or grype, made with threshold critical or stricter`. */
function requirementText(r: ScanRequirement): string {
  return `passing, at most ${ageText(r.maxAgeMs)} old, from ${r.scanners.join(' or ')}, made with threshold ${r.threshold} or stricter`;
}

/**
 * The plan's "Scan verdicts" section: every image judged as a deploy judges it, what a deploy would
 * refuse and how to fix it; `unread` images had no digest to read a verdict by (a plan without the
 * cluster), and are listed under Not checked. A plan reports refusals; it never fails on them.
 */
function scanSection(scan: PlannedScan, unread: number): string[] {
  const refused = refusalsOf(scan);
  const all = scan.checks.length;
  const lines = ['#### 🔍 Scan verdicts', ''];
  const elsewhere =
    unread === 0
      ? undefined
      : `The verdicts of ${countOf(unread, 'image')} given no digest were not read (a verdict is attached to a digest): see Not checked.`;
  if (all === 0)
    return [...lines, elsewhere ?? 'The release runs no image: require-scan has nothing to judge.', ''];
  const exempt = scan.checks.filter((c) => c.status === 'exempt').length;
  // `(1 exempted by scan-exempt; the others: passing, ...)`: an exempt image is asked no verdict.
  const others = exempt === 0 ? '' : ` (${String(exempt)} exempted by scan-exempt, asked no verdict)`;
  lines.push(
    `${
      refused === 0
        ? unread === 0
          ? `A deploy would accept all ${countOf(all, 'image')}${others}`
          : `A deploy would accept the ${countOf(all, 'image')} pinned by digest${others}`
        : `**${refusalText(refused, all)}.** ${exempt === 0 ? "Each image's" : `Apart from the ${String(exempt)} exempted by scan-exempt, each image's`} newest verdict is judged as a deploy judges it`
    }: ${requirementText(scan.requirement)}.`,
    '',
  );
  lines.push(...verdictTable(scan.checks, scan.now), '');
  if (refused > 0) lines.push(SCAN_REFUSAL_HINT, '');
  if (elsewhere !== undefined) lines.push(elsewhere, '');
  return lines;
}

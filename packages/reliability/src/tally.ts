import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What one part of the suite (one test file) counted. */
export interface TallyPart {
  /** The part's name, e.g. `faulted releases`. */
  readonly name: string;
  /** Action runs it judged (release runs under faults, killed-and-rerun pairs, bad inputs, hygiene runs). */
  runs: number;
  /** Points of the release state space it went through (kill step × re-run outcome), if it enumerates them. */
  cases?: number;
  /** Invariant violations the double's monitor recorded. */
  violations: number;
  /** Runs that did not end in an allowed state: no result, a broken live color, a history problem. */
  unconverged: number;
  /** Bad inputs refused with a clear error, without a write and without running anything. */
  badInputs: number;
  /** Bad inputs that were NOT refused as they should be. */
  badInputsMissed: number;
  /** Places a secret was found. */
  leaks: number;
  /** How runs ended, by `action:result`. */
  outcomes: Record<string, number>;
  durationMs: number;
  /** One line per problem, with how to reproduce it. */
  failures: string[];
}

/** A new, empty part. */
export function newPart(name: string): TallyPart {
  return {
    name,
    runs: 0,
    violations: 0,
    unconverged: 0,
    badInputs: 0,
    badInputsMissed: 0,
    leaks: 0,
    outcomes: {},
    durationMs: 0,
    failures: [],
  };
}

/** Counts one outcome. */
export function countOutcome(part: TallyPart, key: string): void {
  part.outcomes[key] = (part.outcomes[key] ?? 0) + 1;
}

/** Where parts are written for the summary (`.tmp/reliability` at the repository root). */
export function tallyDir(repoRoot: string): string {
  return join(repoRoot, '.tmp', 'reliability');
}

/** Writes a part as `<dir>/<slug>.json`, replacing an earlier one of the same name. */
export function writePart(dir: string, part: TallyPart): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${part.name.replace(/[^a-z0-9]+/gi, '-')}.json`), JSON.stringify(part, null, 2));
}

/** Every part written so far, by name. */
export function readParts(dir: string): TallyPart[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as TallyPart)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Forgets earlier parts (before a new run of the suite). */
export function resetParts(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The line every part and the whole suite end with. */
export function totalsLine(parts: readonly TallyPart[]): string {
  const sum = (f: (p: TallyPart) => number): number => parts.reduce((n, p) => n + f(p), 0);
  return `reliability: runs=${sum((p) => p.runs)} cases=${sum((p) => p.cases ?? 0)} violations=${sum((p) => p.violations)} unconverged=${sum((p) => p.unconverged)} bad_inputs=${sum((p) => p.badInputs)} leaks=${sum((p) => p.leaks)}`;
}

/**
 * The summary: a Markdown table with one row per part (runs, outcomes, problems, time), the
 * problems found with how to reproduce them, and last the totals line
 * `reliability: runs=<n> cases=<n> violations=<n> unconverged=<n> bad_inputs=<n> leaks=<n>`.
 */
export function renderSummary(parts: readonly TallyPart[]): string {
  const lines = [
    '| part | runs | cases | outcomes | violations | unconverged | bad inputs refused | leaks | time |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const p of parts) {
    const outcomes = Object.entries(p.outcomes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const refused =
      p.badInputs + p.badInputsMissed === 0 ? '' : `${p.badInputs}/${p.badInputs + p.badInputsMissed}`;
    lines.push(
      `| ${p.name} | ${p.runs} | ${p.cases === undefined ? '' : String(p.cases)} | ${outcomes} | ${p.violations} | ${p.unconverged} | ${refused} | ${p.leaks} | ${(p.durationMs / 1000).toFixed(0)} s |`,
    );
  }
  const failures = parts.flatMap((p) => p.failures.map((f) => `- ${p.name}: ${f.replace(/\s*\n\s*/g, ' ')}`));
  return [
    ...lines,
    ...(failures.length === 0 ? [] : ['', 'Problems:', ...failures]),
    '',
    totalsLine(parts),
  ].join('\n');
}

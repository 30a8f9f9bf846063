import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { load as loadYaml } from 'js-yaml';

/** A workflow file, parsed, with its text kept for line-level checks (comments, pins). */
export interface WorkflowFile {
  /** Path relative to the repository root, POSIX. */
  readonly path: string;
  readonly text: string;
  readonly doc: Workflow;
}

/** The parts of a workflow the checks read. Everything is optional: a check reports what is missing. */
export interface Workflow {
  readonly name?: string;
  readonly on?: Readonly<Record<string, unknown>> | string | readonly string[];
  readonly permissions?: unknown;
  readonly jobs?: Readonly<Record<string, Job>>;
}

/** A job: steps that run, or a call of a reusable workflow (`uses` at job level). */
export interface Job {
  readonly name?: string;
  readonly needs?: string | readonly string[];
  readonly if?: unknown;
  readonly permissions?: unknown;
  readonly outputs?: Readonly<Record<string, unknown>>;
  readonly steps?: readonly Step[];
  readonly uses?: string;
  readonly with?: Readonly<Record<string, unknown>>;
  readonly secrets?: Readonly<Record<string, unknown>> | 'inherit';
  readonly services?: Readonly<Record<string, { readonly image?: unknown }>>;
  readonly container?: unknown;
  readonly [key: string]: unknown;
}

/** One step. */
export interface Step {
  readonly id?: string;
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Readonly<Record<string, unknown>>;
  readonly env?: Readonly<Record<string, unknown>>;
  readonly if?: unknown;
  readonly [key: string]: unknown;
}

/** The folders that hold workflows: the reusable ones and the starter workflows. */
export const WORKFLOW_DIRS = ['.github/workflows', 'workflows'] as const;

/** Parses one workflow's text. */
export function parseWorkflow(path: string, text: string): WorkflowFile {
  const doc = loadYaml(text);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new Error(`${path} is not a workflow (a YAML mapping)`);
  return { path, text, doc };
}

/** Every `*.yml`/`*.yaml` of {@link WORKFLOW_DIRS}, sorted by path. */
export function loadWorkflows(root: string): WorkflowFile[] {
  const files: WorkflowFile[] = [];
  for (const dir of WORKFLOW_DIRS) {
    let names: string[];
    try {
      names = readdirSync(join(root, dir));
    } catch {
      continue;
    }
    for (const name of names.filter((n) => /\.ya?ml$/.test(n)).sort()) {
      const full = join(root, dir, name);
      files.push(parseWorkflow(relative(root, full).split('\\').join('/'), readFileSync(full, 'utf8')));
    }
  }
  return files;
}

/** The triggers of a workflow as a record (`on: push` and `on: [push, pull_request]` included). */
export function triggers(doc: Workflow): Readonly<Record<string, unknown>> {
  const on = doc.on;
  if (typeof on === 'string') return { [on]: null };
  if (Array.isArray(on)) return Object.fromEntries((on as readonly string[]).map((t) => [t, null]));
  return (on as Readonly<Record<string, unknown>> | undefined) ?? {};
}

/** `needs` as a list. */
export function needsOf(job: Job): string[] {
  if (job.needs === undefined) return [];
  return typeof job.needs === 'string' ? [job.needs] : [...job.needs];
}

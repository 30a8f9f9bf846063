import type { ContractContext, Violation } from './contracts.js';
import { parseUses } from './uses-reference.js';
import { needsOf, triggers, type Job, type WorkflowFile } from './workflow-file.js';

/** The checks of action-changes that gate a job holding an environment's credentials. */
export type GateMode = 'promotion' | 'deploy-check';

/** Inputs of our reusable workflows whose text is run as shell: callers may give them literal text only. */
export const SHELL_TEXT_INPUTS: Readonly<Record<string, readonly string[]>> = {
  '.github/workflows/deploy.yml': ['smoke-test'],
};

/**
 * The jobs of a workflow that run in a GitHub environment (and so see its secrets): those with an
 * `environment:`, and those calling one of our reusable workflows that has such a job.
 */
export function environmentJobs(file: WorkflowFile, context: ContractContext): string[] {
  return Object.entries(file.doc.jobs ?? {})
    .filter(([, job]) => {
      if (job.environment !== undefined) return true;
      if (job.uses === undefined) return false;
      const ref = parseUses(job.uses);
      if (ref.kind !== 'our-workflow') return false;
      const callee = context.files.find((f) => f.path === ref.path);
      return callee !== undefined && environmentJobs(callee, context).length > 0;
    })
    .map(([id]) => id);
}

/** Every job a job needs, directly or through others. */
export function upstreamJobs(file: WorkflowFile, jobId: string): Set<string> {
  const jobs = file.doc.jobs ?? {};
  const seen = new Set<string>();
  const visit = (id: string): void => {
    for (const n of needsOf(jobs[id] ?? {})) {
      if (seen.has(n)) continue;
      seen.add(n);
      visit(n);
    }
  };
  visit(jobId);
  return seen;
}

/** The jobs with a step running action-changes in `mode`. */
export function gateJobs(file: WorkflowFile, mode: GateMode): string[] {
  return Object.entries(file.doc.jobs ?? {})
    .filter(([, job]) => (job.steps ?? []).some((s) => isGateStep(s.uses, s.with, mode)))
    .map(([id]) => id);
}

function isGateStep(
  uses: string | undefined,
  withs: Readonly<Record<string, unknown>> | undefined,
  mode: GateMode,
): boolean {
  if (uses === undefined) return false;
  const ref = parseUses(uses);
  return ref.kind === 'our-action' && ref.dir === 'action-changes' && withs?.mode === mode;
}

/** Whether a job can never run on `workflow_dispatch`: it, or a job it needs, runs only on push or pull_request. */
function neverOnDispatch(file: WorkflowFile, jobId: string): boolean {
  const jobs = file.doc.jobs ?? {};
  return [jobId, ...upstreamJobs(file, jobId)].some((id) =>
    /github\.event_name\s*==\s*'(push|pull_request)'/.test(JSON.stringify(jobs[id]?.if ?? '')),
  );
}

/**
 * Every job of `file` that runs in an environment needs (directly or not) a job running the
 * `mode` gate. With `dispatchOnly`, jobs that never run on `workflow_dispatch` are exempt (a push
 * deploys what it just built). A gate job itself must hold no environment and no secrets, run no
 * inline script, and ask for read permissions only.
 */
export function checkGates(
  file: WorkflowFile,
  context: ContractContext,
  mode: GateMode,
  options: { readonly dispatchOnly?: boolean } = {},
): Violation[] {
  const out: Violation[] = [];
  const jobs = file.doc.jobs ?? {};
  const gates = gateJobs(file, mode);
  if (gates.length === 0)
    out.push({ file: file.path, where: '', message: `no job runs action-changes with mode: ${mode}` });
  for (const id of environmentJobs(file, context)) {
    if (options.dispatchOnly === true && neverOnDispatch(file, id)) continue;
    const upstream = upstreamJobs(file, id);
    if (!gates.some((g) => upstream.has(g)))
      out.push({
        file: file.path,
        where: `jobs.${id}`,
        message: `job '${id}' runs in an environment without needing the ${mode} check (${gates.join(', ') || 'none'})`,
      });
  }
  for (const g of gates) out.push(...gateJobProblems(file, g, jobs[g] ?? {}));
  return out;
}

function gateJobProblems(file: WorkflowFile, id: string, job: Job): Violation[] {
  const at = { file: file.path, where: `jobs.${id}` };
  const out: Violation[] = [];
  if (job.environment !== undefined)
    out.push({ ...at, message: `the gate job '${id}' runs in an environment` });
  if (/\bsecrets\./.test(JSON.stringify(job)))
    out.push({ ...at, message: `the gate job '${id}' reads secrets` });
  if ((job.steps ?? []).some((s) => s.run !== undefined))
    out.push({
      ...at,
      message: `the gate job '${id}' runs an inline script; its checks belong in the action`,
    });
  const permissions = job.permissions;
  if (
    typeof permissions !== 'object' ||
    permissions === null ||
    Object.values(permissions).some((v) => v !== 'read')
  )
    out.push({ ...at, message: `the gate job '${id}' must state read-only permissions` });
  return out;
}

/**
 * A job that runs in an environment (directly) takes its runner from a gate's output or a literal
 * label, never from an input: `runs-on` is evaluated before any step could check it.
 */
export function checkRunnerSources(file: WorkflowFile): Violation[] {
  const out: Violation[] = [];
  for (const [id, job] of Object.entries(file.doc.jobs ?? {})) {
    if (job.environment === undefined) continue;
    const runsOn = JSON.stringify(job['runs-on'] ?? '');
    if (/\binputs\.|github\.event/.test(runsOn))
      out.push({
        file: file.path,
        where: `jobs.${id}`,
        message: `job '${id}' runs in an environment on a runner named by ${runsOn}; take it from the deploy check's output`,
      });
  }
  return out;
}

/**
 * Inputs of our reusable workflows that are run as shell ({@link SHELL_TEXT_INPUTS}) are given
 * literal text only: no expression, so no input, event value or job output becomes a command.
 */
export function checkShellTextInputs(file: WorkflowFile): Violation[] {
  const out: Violation[] = [];
  for (const [id, job] of Object.entries(file.doc.jobs ?? {})) {
    if (job.uses === undefined) continue;
    const ref = parseUses(job.uses);
    if (ref.kind !== 'our-workflow') continue;
    for (const input of SHELL_TEXT_INPUTS[ref.path] ?? []) {
      const value = job.with?.[input];
      if (typeof value === 'string' && value.includes('${{'))
        out.push({
          file: file.path,
          where: `jobs.${id}`,
          message: `'${input}' of ${ref.path} is run as shell: give it literal text, not ${value}`,
        });
    }
  }
  return out;
}

/**
 * A `run:` script that executes a variable's text (`bash -c "$X"`, `eval "$X"`) takes it from an
 * input in {@link SHELL_TEXT_INPUTS} of this (reusable) workflow, never from a dispatch input,
 * an event value or a job output.
 */
export function checkExecutedText(file: WorkflowFile): Violation[] {
  const out: Violation[] = [];
  const allowed = new Set(SHELL_TEXT_INPUTS[file.path] ?? []);
  const callOnly = 'workflow_call' in triggers(file.doc) && !('workflow_dispatch' in triggers(file.doc));
  for (const [id, job] of Object.entries(file.doc.jobs ?? {}))
    for (const [i, step] of (job.steps ?? []).entries()) {
      if (typeof step.run !== 'string') continue;
      for (const m of step.run.matchAll(/(?:\s-c|\beval)\s+"?\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
        const variable = m[1] ?? '';
        const value = step.env?.[variable];
        const source = typeof value === 'string' ? value : '';
        const input = /^\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(source)?.[1];
        if (!callOnly || input === undefined || !allowed.has(input))
          out.push({
            file: file.path,
            where: `jobs.${id}.steps[${i}]`,
            message: `the script runs the text of $${variable} (${source || 'unset'}) as a command`,
          });
      }
    }
  return out;
}

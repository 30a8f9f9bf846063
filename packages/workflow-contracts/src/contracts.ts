import { actionInterface, workflowInterface, type CalleeInterface } from './callee-interface.js';
import { checkExecutedText, checkShellTextInputs } from './deploy-gates.js';
import { OUR_REF, parseUses, SELF_PREFIX, type UsesReference } from './uses-reference.js';
import { needsOf, triggers, type Job, type Step, type WorkflowFile } from './workflow-file.js';

/** One broken rule, located well enough to fix it. */
export interface Violation {
  readonly file: string;
  /** `jobs.<id>` or `jobs.<id>.steps[<n>]`, or '' for the whole file. */
  readonly where: string;
  readonly message: string;
}

/** The interfaces the contracts compare against: our actions and reusable workflows. */
export interface ContractContext {
  /** The repository root, holding `action-*` folders. */
  readonly root: string;
  /** Every workflow file, so that calls between them can be checked. */
  readonly files: readonly WorkflowFile[];
}

/** A product workflow: reusable (`workflow_call`) or a starter workflow a consumer copies. */
export function isProductWorkflow(file: WorkflowFile): boolean {
  return file.path.startsWith('workflows/') || 'workflow_call' in triggers(file.doc);
}

/**
 * A workflow of this repository (`.github/workflows/`), which names our actions and reusable
 * workflows by `$/` (the running commit); any other (a starter workflow, a README example) lives in
 * a consumer's repository and names them by `dreamscape/actions/...@v1`.
 */
export function isOurRepositoryWorkflow(file: WorkflowFile): boolean {
  return file.path.startsWith('.github/workflows/');
}

/** How `ref` should be written in `file`, or undefined when it is written so. */
function referenceProblem(file: WorkflowFile, uses: string, ref: UsesReference): string | undefined {
  if (ref.kind !== 'our-action' && ref.kind !== 'our-workflow') return undefined;
  const target = ref.kind === 'our-action' ? ref.dir : ref.path;
  if (isOurRepositoryWorkflow(file)) {
    if (ref.self) return undefined;
    return `${uses} should be ${SELF_PREFIX}${target}: this repository's workflows run our actions of their own commit`;
  }
  if (ref.self)
    return `${uses} would resolve in the repository that runs this workflow; use dreamscape/actions/${target}@${OUR_REF}`;
  if (ref.ref !== OUR_REF) return `${uses} should use @${OUR_REF}, like every reference to ours`;
  return undefined;
}

/** Resolves `uses:` of our actions and reusable workflows to their interfaces. */
export function calleeResolver(context: ContractContext): (uses: string) => CalleeInterface | undefined {
  const cache = new Map<string, CalleeInterface | undefined>();
  return (uses) => {
    const ref = parseUses(uses);
    const key = ref.kind === 'our-action' ? ref.dir : ref.kind === 'our-workflow' ? ref.path : '';
    if (key === '') return undefined;
    if (!cache.has(key)) {
      if (ref.kind === 'our-action') cache.set(key, actionInterface(context.root, key));
      else {
        const file = context.files.find((f) => f.path === key);
        cache.set(key, file === undefined ? undefined : workflowInterface(file.path, file.doc));
      }
    }
    return cache.get(key);
  };
}

const EXPRESSION = /\$\{\{/;

/**
 * Every `with:` key given to one of our actions or reusable workflows is declared there, every
 * required input without a default is given, literal values suit typed workflow inputs, secrets
 * passed to a reusable workflow are declared there and required ones are passed; and every
 * reference to ours is written as its file's place asks: `$/` in this repository's workflows,
 * `@`{@link OUR_REF} elsewhere.
 */
export function checkCalls(file: WorkflowFile, context: ContractContext): Violation[] {
  const resolve = calleeResolver(context);
  const out: Violation[] = [];
  for (const [jobId, job] of Object.entries(file.doc.jobs ?? {})) {
    const calls: { where: string; uses: string; with: Readonly<Record<string, unknown>>; job?: Job }[] = [];
    if (job.uses !== undefined)
      calls.push({ where: `jobs.${jobId}`, uses: job.uses, with: job.with ?? {}, job });
    for (const [i, step] of (job.steps ?? []).entries())
      if (step.uses !== undefined)
        calls.push({ where: `jobs.${jobId}.steps[${i}]`, uses: step.uses, with: step.with ?? {} });
    for (const call of calls) {
      const ref = parseUses(call.uses);
      if (ref.kind !== 'our-action' && ref.kind !== 'our-workflow') continue;
      const at = { file: file.path, where: call.where };
      const problem = referenceProblem(file, call.uses, ref);
      if (problem !== undefined) out.push({ ...at, message: problem });
      const callee = resolve(call.uses);
      if (callee === undefined) {
        out.push({ ...at, message: `${call.uses} names nothing in this repository` });
        continue;
      }
      for (const [key, value] of Object.entries(call.with)) {
        const input = callee.inputs.get(key);
        if (input === undefined) {
          out.push({ ...at, message: `'${key}' is not an input of ${callee.source}` });
          continue;
        }
        const literal = typeof value !== 'string' || !EXPRESSION.test(value);
        if (literal && input.type === 'boolean' && typeof value !== 'boolean')
          out.push({
            ...at,
            message: `'${key}' is a boolean input of ${callee.source}, given ${JSON.stringify(value)}`,
          });
        if (literal && input.type === 'number' && typeof value !== 'number')
          out.push({
            ...at,
            message: `'${key}' is a number input of ${callee.source}, given ${JSON.stringify(value)}`,
          });
        if (literal && input.type === 'string' && typeof value !== 'string')
          out.push({
            ...at,
            message: `'${key}' is a string input of ${callee.source}, given ${JSON.stringify(value)}`,
          });
      }
      for (const [key, input] of callee.inputs)
        if (input.required && !input.hasDefault && !(key in call.with))
          out.push({ ...at, message: `the required input '${key}' of ${callee.source} is not given` });
      if (call.job !== undefined) {
        const secrets = call.job.secrets ?? {};
        if (secrets !== 'inherit') {
          for (const key of Object.keys(secrets))
            if (!callee.secrets.has(key))
              out.push({ ...at, message: `the secret '${key}' is not declared by ${callee.source}` });
          for (const [key, s] of callee.secrets)
            if (s.required && !(key in secrets))
              out.push({ ...at, message: `the required secret '${key}' of ${callee.source} is not passed` });
        }
      }
    }
  }
  return out;
}

const STEP_OUTPUT = /\bsteps\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g;
const NEEDS_REF = /\bneeds\.([A-Za-z_][\w-]*)\.(outputs\.([A-Za-z_][\w-]*)|result)\b/g;
const JOB_OUTPUT = /\bjobs\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g;

/**
 * Every `steps.X.outputs.Y` names an earlier step of the same job (any step, from the job's
 * outputs) that produces Y: an output of our action, or a line of its script that writes Y to
 * GITHUB_OUTPUT; every `needs.J.…` names a job in `needs`, and `needs.J.outputs.Y` an output J
 * declares (a reusable workflow's `workflow_call` outputs for a job that calls one); every
 * `jobs.J.outputs.Y` of a reusable workflow's outputs names a job output. Outputs of third-party
 * actions are not known here and are reported.
 */
export function checkOutputReferences(file: WorkflowFile, context: ContractContext): Violation[] {
  const resolve = calleeResolver(context);
  const out: Violation[] = [];
  const jobs = file.doc.jobs ?? {};
  for (const [jobId, job] of Object.entries(jobs)) {
    const steps = job.steps ?? [];
    const stepOutputs = (
      step: Step,
    ):
      | { kind: 'known'; outputs: ReadonlySet<string> }
      | { kind: 'run'; script: string }
      | { kind: 'unknown'; uses: string } => {
      if (step.run !== undefined) return { kind: 'run', script: step.run };
      const callee = step.uses === undefined ? undefined : resolve(step.uses);
      if (callee !== undefined) return { kind: 'known', outputs: callee.outputs };
      return { kind: 'unknown', uses: step.uses ?? '' };
    };
    const checkSteps = (text: string, where: string, visible: readonly Step[]): void => {
      for (const m of text.matchAll(STEP_OUTPUT)) {
        const [, id = '', output = ''] = m;
        const step = visible.find((s) => s.id === id);
        if (step === undefined) {
          out.push({
            file: file.path,
            where,
            message: `steps.${id} is not a step before this one in job '${jobId}'`,
          });
          continue;
        }
        const produced = stepOutputs(step);
        if (produced.kind === 'known' && !produced.outputs.has(output))
          out.push({
            file: file.path,
            where,
            message: `step '${id}' (${step.uses ?? ''}) has no output '${output}'`,
          });
        if (
          produced.kind === 'run' &&
          !new RegExp(`(^|[\\s"'])${escape(output)}(=|<<)`, 'm').test(produced.script)
        )
          out.push({
            file: file.path,
            where,
            message: `the script of step '${id}' never writes '${output}' to GITHUB_OUTPUT`,
          });
        if (produced.kind === 'unknown')
          out.push({
            file: file.path,
            where,
            message: `the outputs of ${produced.uses} (step '${id}') cannot be checked`,
          });
      }
    };
    const checkNeeds = (text: string, where: string): void => {
      for (const m of text.matchAll(NEEDS_REF)) {
        const [, needed = '', , output] = m;
        if (!needsOf(job).includes(needed)) {
          out.push({
            file: file.path,
            where,
            message: `needs.${needed} is used but job '${jobId}' does not need it`,
          });
          continue;
        }
        const other = jobs[needed];
        if (other === undefined) {
          out.push({ file: file.path, where, message: `job '${needed}' does not exist` });
          continue;
        }
        if (output === undefined) continue;
        const declared =
          other.uses !== undefined ? resolve(other.uses)?.outputs : new Set(Object.keys(other.outputs ?? {}));
        if (declared === undefined)
          out.push({
            file: file.path,
            where,
            message: `the outputs of job '${needed}' (${other.uses ?? ''}) cannot be checked`,
          });
        else if (!declared.has(output))
          out.push({ file: file.path, where, message: `job '${needed}' has no output '${output}'` });
      }
    };
    for (const [i, step] of steps.entries()) {
      const where = `jobs.${jobId}.steps[${i}]`;
      const text = strings(step).join('\n');
      checkSteps(text, where, steps.slice(0, i));
      checkNeeds(text, where);
    }
    const { steps: _steps, ...rest } = job;
    const jobText = strings(rest).join('\n');
    checkSteps(jobText, `jobs.${jobId}`, steps);
    checkNeeds(jobText, `jobs.${jobId}`);
  }
  const call = triggers(file.doc).workflow_call as { outputs?: Record<string, unknown> } | null | undefined;
  for (const m of strings(call?.outputs ?? {})
    .join('\n')
    .matchAll(JOB_OUTPUT)) {
    const [, jobId = '', output = ''] = m;
    const job = jobs[jobId];
    if (job === undefined)
      out.push({
        file: file.path,
        where: 'on.workflow_call.outputs',
        message: `job '${jobId}' does not exist`,
      });
    else if (!(output in (job.outputs ?? {})))
      out.push({
        file: file.path,
        where: 'on.workflow_call.outputs',
        message: `job '${jobId}' has no output '${output}'`,
      });
  }
  return out;
}

/**
 * No `run:` script contains a `${{ }}` expression. An expression is substituted into the script
 * text before the shell sees it, so any value that reaches it (a branch name, a PR title, an input,
 * another step's output) could become code; values reach scripts through `env:` instead.
 */
export function checkRunScripts(file: WorkflowFile): Violation[] {
  const out: Violation[] = [];
  for (const [jobId, job] of Object.entries(file.doc.jobs ?? {}))
    for (const [i, step] of (job.steps ?? []).entries()) {
      if (typeof step.run !== 'string') continue;
      for (const m of step.run.matchAll(/\$\{\{[^}]*\}\}?/g))
        out.push({
          file: file.path,
          where: `jobs.${jobId}.steps[${i}]`,
          message: `the script contains the expression ${m[0]}; pass the value through env: instead`,
        });
    }
  return out;
}

const FULL_SHA = /^[0-9a-f]{40}$/;
const VERSION_COMMENT = /#\s*v?\d+(\.\d+){0,2}\S*\s*$/;
const USES_LINE = /^\s*(?:-\s+)?uses:\s*['"]?([^\s'"#]+)['"]?\s*(#.*)?$/;
const PINNED_IMAGE = /@sha256:[0-9a-f]{64}$/;

/**
 * Every third-party action is pinned by a full commit SHA with its version in a comment on the same
 * line (a tag can be moved to other code; the comment tells which release the SHA is). Product
 * workflows reference nothing by `./` (that would resolve in the caller's repository). Service and
 * job container images are pinned by digest.
 */
export function checkPins(file: WorkflowFile): Violation[] {
  const out: Violation[] = [];
  const product = isProductWorkflow(file);
  for (const [n, line] of file.text.split('\n').entries()) {
    const m = USES_LINE.exec(line);
    if (m === null) continue;
    const [, uses = '', comment = ''] = m;
    const where = `line ${n + 1}`;
    const ref = parseUses(uses);
    if (ref.kind === 'local' && product)
      out.push({
        file: file.path,
        where,
        message: `${uses} would resolve in the repository that runs this workflow; use ${isOurRepositoryWorkflow(file) ? `${SELF_PREFIX}...` : `dreamscape/actions/...@${OUR_REF}`}`,
      });
    if (ref.kind === 'docker' && !PINNED_IMAGE.test(ref.image))
      out.push({ file: file.path, where, message: `${uses} is not pinned by digest` });
    if (ref.kind !== 'third-party') continue;
    if (!FULL_SHA.test(ref.ref))
      out.push({ file: file.path, where, message: `${uses} is not pinned by a full commit SHA` });
    else if (!VERSION_COMMENT.test(comment))
      out.push({ file: file.path, where, message: `${uses} has no version comment (e.g. "# v4.2.1")` });
  }
  for (const [jobId, job] of Object.entries(file.doc.jobs ?? {})) {
    const images: unknown[] = Object.values(job.services ?? {}).map((s) => s.image);
    const container = job.container;
    images.push(
      typeof container === 'object' && container !== null
        ? (container as { image?: unknown }).image
        : container,
    );
    for (const image of images) {
      if (typeof image !== 'string') continue;
      // In an expression, each quoted literal that names an image must carry a digest; '' starts nothing.
      const literals = EXPRESSION.test(image)
        ? [...image.matchAll(/'([^']*)'/g)].map((x) => x[1] ?? '')
        : [image];
      for (const literal of literals.filter((l) => l !== '' && /[:/]/.test(l)))
        if (!PINNED_IMAGE.test(literal))
          out.push({
            file: file.path,
            where: `jobs.${jobId}`,
            message: `the image ${literal} is not pinned by digest`,
          });
    }
  }
  return out;
}

/**
 * Every job states its token permissions. Product workflows state them on each job (and `{}` at
 * the top, so nothing is granted by default); another workflow may state them once at the top.
 */
export function checkPermissions(file: WorkflowFile): Violation[] {
  const out: Violation[] = [];
  const product = isProductWorkflow(file);
  const top = file.doc.permissions;
  if (
    top === 'write-all' ||
    (typeof top === 'object' && top !== null && Object.values(top).includes('write') && product)
  )
    out.push({
      file: file.path,
      where: 'permissions',
      message: 'the workflow grants write permissions to every job',
    });
  for (const [jobId, job] of Object.entries(file.doc.jobs ?? {})) {
    if ('permissions' in job) {
      if (job.permissions === 'write-all')
        out.push({
          file: file.path,
          where: `jobs.${jobId}`,
          message: 'permissions: write-all is never least privilege',
        });
      continue;
    }
    if (product || top === undefined)
      out.push({
        file: file.path,
        where: `jobs.${jobId}`,
        message: `job '${jobId}' does not state its permissions`,
      });
  }
  return out;
}

const LEVELS = ['none', 'read', 'write'] as const;
type Level = (typeof LEVELS)[number];

/** A job's `permissions:` as scope → level; undefined when not stated as a mapping. */
function grants(job: Job): Map<string, Level> | undefined {
  const p = job.permissions;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return undefined;
  const out = new Map<string, Level>();
  for (const [scope, level] of Object.entries(p as Record<string, unknown>))
    if ((LEVELS as readonly unknown[]).includes(level)) out.set(scope, level as Level);
  return out;
}

/**
 * A job that calls one of our reusable workflows grants exactly what the called workflow's jobs
 * ask for, taken together (the highest level per scope). Less, and GitHub refuses the whole run
 * before any job starts, whatever `if:` says; more is a permission no job uses.
 */
export function checkCallerPermissions(file: WorkflowFile, context: ContractContext): Violation[] {
  const out: Violation[] = [];
  for (const [jobId, job] of Object.entries(file.doc.jobs ?? {})) {
    if (job.uses === undefined) continue;
    const ref = parseUses(job.uses);
    if (ref.kind !== 'our-workflow') continue;
    const callee = context.files.find((f) => f.path === ref.path);
    const given = grants(job);
    if (callee === undefined || given === undefined) continue;
    const asked = new Map<string, Level>();
    let known = true;
    for (const calleeJob of Object.values(callee.doc.jobs ?? {})) {
      const g = grants(calleeJob);
      if (g === undefined) known = false;
      for (const [scope, level] of g ?? [])
        if (LEVELS.indexOf(level) > LEVELS.indexOf(asked.get(scope) ?? 'none')) asked.set(scope, level);
    }
    if (!known) continue;
    for (const scope of [...new Set([...asked.keys(), ...given.keys()])].sort()) {
      const want = asked.get(scope) ?? 'none';
      const have = given.get(scope) ?? 'none';
      if (want === have) continue;
      out.push({
        file: file.path,
        where: `jobs.${jobId}`,
        message:
          LEVELS.indexOf(have) < LEVELS.indexOf(want)
            ? `job '${jobId}' grants ${scope}: ${have}, but a job of ${callee.path} asks for ${scope}: ${want}; GitHub refuses the run`
            : `job '${jobId}' grants ${scope}: ${have}, but no job of ${callee.path} asks for more than ${scope}: ${want}`,
      });
    }
  }
  return out;
}

/** A reusable workflow reads only the secrets it declares (or the workflow token). */
export function checkSecrets(file: WorkflowFile): Violation[] {
  const call = triggers(file.doc).workflow_call as { secrets?: Record<string, unknown> } | null | undefined;
  if (call === undefined) return [];
  const declared = new Set(Object.keys(call?.secrets ?? {}));
  const out: Violation[] = [];
  for (const [jobId, job] of Object.entries(file.doc.jobs ?? {}))
    for (const m of strings(job)
      .join('\n')
      .matchAll(/\bsecrets\.([A-Za-z_][\w-]*)/g)) {
      const name = m[1] ?? '';
      if (name !== 'GITHUB_TOKEN' && !declared.has(name))
        out.push({
          file: file.path,
          where: `jobs.${jobId}`,
          message: `secrets.${name} is not declared in on.workflow_call.secrets`,
        });
    }
  return out;
}

/** Every check over one file. */
export function checkWorkflow(file: WorkflowFile, context: ContractContext): Violation[] {
  return [
    ...checkCalls(file, context),
    ...checkOutputReferences(file, context),
    ...checkRunScripts(file),
    ...checkPins(file),
    ...checkPermissions(file),
    ...checkCallerPermissions(file, context),
    ...checkSecrets(file),
    ...checkShellTextInputs(file),
    ...checkExecutedText(file),
  ];
}

/** Every string value under a YAML node (keys excluded). */
function strings(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.flatMap(strings);
  if (typeof node === 'object' && node !== null) return Object.values(node).flatMap(strings);
  return [];
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

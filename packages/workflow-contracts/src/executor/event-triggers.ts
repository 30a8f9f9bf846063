import { isMapping } from '@actions/workflow-parser';
import type { GitHubEvent } from './github-events.js';
import { field, triggerToken, type LoadedWorkflow } from './workflow-source.js';

/** Whether an event starts a workflow, and why not. */
export type TriggerDecision =
  { readonly triggered: true } | { readonly triggered: false; readonly reason: string };

/** The activity types GitHub starts `pull_request` workflows for when `types:` is not given. */
const DEFAULT_PULL_REQUEST_TYPES = ['opened', 'synchronize', 'reopened'];

/**
 * A GitHub filter pattern as a regular expression: `*` any characters but `/`, `**` any
 * characters, `?` and `+` quantify the character before, `[...]` a class; the rest is literal.
 */
export function filterPattern(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*' && pattern[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?' || c === '+') out += c;
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) out += '\\[';
      else {
        out += pattern.slice(i, end + 1);
        i = end;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** A list of patterns, `!` negating, a later pattern overriding an earlier one (GitHub's order rule). */
export function matchesFilters(value: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (filterPattern(p.slice(1)).test(value)) matched = false;
    } else if (filterPattern(p).test(value)) matched = true;
  }
  return matched;
}

type Filters = Readonly<Record<string, unknown>>;

function list(filters: Filters | undefined, key: string, defaultBranch: string): string[] | undefined {
  const value = filters?.[key];
  if (value === undefined) return undefined;
  // Starter workflows say `$default-branch`; GitHub writes the repository's default branch in its
  // place when the template is added to a repository.
  return (value as string[]).map((p) => p.replace('$default-branch', defaultBranch));
}

function refusePaths(filters: Filters | undefined, event: string): void {
  if (filters?.paths !== undefined || filters?.['paths-ignore'] !== undefined)
    throw new Error(`paths filters of ${event} are not simulated: the run would depend on the changed files`);
}

function branchFilter(
  name: string,
  filters: Filters | undefined,
  include: string,
  ignore: string,
  defaultBranch: string,
): boolean {
  const only = list(filters, include, defaultBranch);
  const except = list(filters, ignore, defaultBranch);
  if (only !== undefined) return matchesFilters(name, only);
  if (except !== undefined) return !matchesFilters(name, except);
  return true;
}

/** Does `event` start workflow `w`? Push branch/tag filters, pull request types and branches, dispatch types. */
export function eventTriggers(w: LoadedWorkflow, event: GitHubEvent, defaultBranch: string): TriggerDecision {
  const events = w.template.events as Readonly<Record<string, unknown>>;
  if (!(event.name in events) || triggerToken(w, event.name) === undefined)
    return { triggered: false, reason: `${w.path} has no '${event.name}' trigger` };
  const filters = (events[event.name] ?? undefined) as Filters | undefined;
  const no = (reason: string): TriggerDecision => ({ triggered: false, reason });
  const action = typeof event.payload.action === 'string' ? event.payload.action : '';
  const types = filters?.types as string[] | undefined;
  switch (event.name) {
    case 'push': {
      refusePaths(filters, 'push');
      const hasBranches = filters?.branches !== undefined || filters?.['branches-ignore'] !== undefined;
      const hasTags = filters?.tags !== undefined || filters?.['tags-ignore'] !== undefined;
      if (event.ref.startsWith('refs/heads/')) {
        const branch = event.ref.slice('refs/heads/'.length);
        if (hasTags && !hasBranches) return no(`push filters name tags only; ${branch} is a branch`);
        if (!branchFilter(branch, filters, 'branches', 'branches-ignore', defaultBranch))
          return no(`branch ${branch} does not match the push filters`);
        return { triggered: true };
      }
      if (event.ref.startsWith('refs/tags/')) {
        const tag = event.ref.slice('refs/tags/'.length);
        if (hasBranches && !hasTags) return no(`push filters name branches only; ${tag} is a tag`);
        if (!branchFilter(tag, filters, 'tags', 'tags-ignore', defaultBranch))
          return no(`tag ${tag} does not match the push filters`);
        return { triggered: true };
      }
      return no(`push of ${event.ref}, neither a branch nor a tag`);
    }
    case 'pull_request':
    case 'pull_request_target': {
      refusePaths(filters, event.name);
      if (!(types ?? DEFAULT_PULL_REQUEST_TYPES).includes(action))
        return no(`pull request activity '${action}' is not one of the workflow's types`);
      const pr = (event.payload.pull_request ?? {}) as { base?: { ref?: string } };
      const base = pr.base?.ref ?? '';
      if (!branchFilter(base, filters, 'branches', 'branches-ignore', defaultBranch))
        return no(`base branch ${base} does not match the pull request filters`);
      return { triggered: true };
    }
    default:
      if (types !== undefined && !types.includes(action))
        return no(`${event.name} type '${action}' is not one of ${JSON.stringify(types)}`);
      return { triggered: true };
  }
}

/** The declared inputs of a form or a `workflow_call`, as the parser converted them. */
interface InputDefinition {
  readonly type?: string;
  readonly required?: boolean;
  readonly default?: unknown;
  readonly options?: readonly string[];
}

/**
 * The `inputs` context of a `workflow_dispatch` run, or why GitHub refuses the dispatch (HTTP 422
 * from the API, or a form that cannot be sent): an input the form does not declare, a required one
 * missing or empty, a choice outside its options, a boolean that is not true or false. Booleans are
 * booleans; everything else is text; inputs not given take their defaults.
 */
export function dispatchInputs(
  w: LoadedWorkflow,
  given: Readonly<Record<string, unknown>>,
): { readonly inputs: Record<string, unknown> } | { readonly refused: string } {
  const config = w.template.events.workflow_dispatch;
  const declared = (config?.inputs ?? {}) as Readonly<Record<string, InputDefinition>>;
  const raw = field(triggerToken(w, 'workflow_dispatch'), 'inputs');
  const unexpected = Object.keys(given).filter((name) => !(name in declared));
  if (unexpected.length > 0) return { refused: `Unexpected inputs provided: ${JSON.stringify(unexpected)}` };
  const inputs: Record<string, unknown> = {};
  for (const [name, input] of Object.entries(declared)) {
    const type = input.type ?? rawType(raw, name) ?? 'string';
    const value = name in given ? given[name] : input.default;
    const text = scalarText(value);
    if (input.required === true && text === '') return { refused: `Required input '${name}' not provided` };
    if (type === 'boolean') {
      if (text !== '' && text !== 'true' && text !== 'false')
        return { refused: `Provided value '${text}' for input '${name}' is not a boolean` };
      inputs[name] = text === 'true';
    } else if (type === 'choice' && text !== '' && !(input.options ?? []).includes(text)) {
      return { refused: `Provided value '${text}' for input '${name}' not in the list of allowed values` };
    } else if (type === 'number') {
      if (text !== '' && !Number.isFinite(Number(text)))
        return { refused: `Provided value '${text}' for input '${name}' is not a number` };
      inputs[name] = text === '' ? '' : Number(text);
    } else inputs[name] = text;
  }
  return { inputs };
}

function rawType(raw: ReturnType<typeof field>, name: string): string | undefined {
  const type = field(field(raw, name), 'type');
  return type !== undefined && !isMapping(type) && 'value' in type ? String(type.value) : undefined;
}

/** A dispatch value as the form sends it: text (a boolean or number written out; anything else as JSON). */
function scalarText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

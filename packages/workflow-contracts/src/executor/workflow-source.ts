import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  convertWorkflowTemplate,
  isMapping,
  isSequence,
  isString,
  NoOperationTraceWriter,
  parseWorkflow,
  type WorkflowTemplate,
} from '@actions/workflow-parser';
import type { WorkflowJob } from '@actions/workflow-parser/model/workflow-template';
import type { MappingToken, TemplateToken } from '@actions/workflow-parser/templates/tokens/index';

/**
 * A workflow file read by GitHub's own parser (`@actions/workflow-parser`): `template` is its
 * converted model (jobs, steps, `if` with the implicit `success() && (...)`, needs, events), `root`
 * the template tokens of the whole file, for what the model leaves out (a step's `with:`, a job's
 * `permissions:`, `defaults`, `workflow_call.outputs`).
 */
export interface LoadedWorkflow {
  /** The file's path in its repository, `.github/workflows/deploy.yml`. */
  readonly path: string;
  /** `owner/name` of the repository holding the file: what `$/` names inside it. */
  readonly repository: string;
  readonly name: string;
  readonly template: WorkflowTemplate;
  readonly jobs: readonly WorkflowJob[];
  readonly root: MappingToken;
}

/** Parses and converts one workflow; any error of GitHub's parser is thrown with the file's path. */
export async function loadWorkflow(
  path: string,
  repository: string,
  content: string,
): Promise<LoadedWorkflow> {
  const parsed = parseWorkflow({ name: path, content }, new NoOperationTraceWriter());
  const parseErrors = parsed.context.errors.getErrors().map((e) => e.message);
  if (parsed.value === undefined || parseErrors.length > 0 || !isMapping(parsed.value))
    throw new Error(`${repository}/${path} is not a valid workflow: ${parseErrors.join('; ') || 'empty'}`);
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  if (template.errors !== undefined && template.errors.length > 0)
    throw new Error(
      `${repository}/${path} is not a valid workflow: ${template.errors.map((e) => e.Message).join('; ')}`,
    );
  const nameToken = parsed.value.find('name');
  return {
    path,
    repository,
    name: nameToken !== undefined && isString(nameToken) ? nameToken.value : path,
    template,
    jobs: template.jobs,
    root: parsed.value,
  };
}

/** A key of a mapping token. */
export function field(mapping: TemplateToken | undefined, key: string): TemplateToken | undefined {
  return mapping !== undefined && isMapping(mapping) ? mapping.find(key) : undefined;
}

/** The template tokens of job `id`. */
export function jobToken(w: LoadedWorkflow, id: string): MappingToken {
  const job = field(field(w.root, 'jobs'), id);
  if (job === undefined || !isMapping(job)) throw new Error(`${w.path} has no job ${id}`);
  return job;
}

/** The template tokens of the steps of job `id`, in order (the converted steps are in the same order). */
export function stepTokens(w: LoadedWorkflow, id: string): MappingToken[] {
  const steps = field(jobToken(w, id), 'steps');
  if (steps === undefined || !isSequence(steps)) return [];
  const out: MappingToken[] = [];
  for (const step of steps) if (isMapping(step)) out.push(step);
  return out;
}

/** The `on.<event>` token of a workflow (null or a mapping), when it has that trigger. */
export function triggerToken(w: LoadedWorkflow, event: string): TemplateToken | undefined {
  const on = field(w.root, 'on');
  if (on === undefined) return undefined;
  if (isString(on)) return on.value === event ? on : undefined;
  if (isSequence(on)) {
    for (const item of on) if (isString(item) && item.value === event) return item;
    return undefined;
  }
  return field(on, event);
}

/** Where the reusable workflows and actions a `uses:` names are read from. */
export interface WorkflowResolver {
  /** Reads the workflow file `path` of `repository` (ref as written; '' for `$/` and `./`). */
  readWorkflow(repository: string, path: string, ref: string): string;
}

/**
 * A resolver over local checkouts: `repositories` maps `owner/name` to a folder. Every ref of a
 * repository is its folder as it is now (the tests run the workflows of this very tree, whatever
 * `@v1` a starter workflow names).
 */
export function localRepositories(repositories: Readonly<Record<string, string>>): WorkflowResolver {
  return {
    readWorkflow(repository, path) {
      const entry = Object.entries(repositories).find(
        ([name]) => name.toLowerCase() === repository.toLowerCase(),
      );
      if (entry === undefined)
        throw new Error(
          `no local checkout of ${repository} (known: ${Object.keys(repositories).join(', ')})`,
        );
      return readFileSync(join(entry[1], path), 'utf8');
    },
  };
}

/** What a `uses:` names: a reusable workflow or an action, its repository and ref. */
export interface UsesTarget {
  readonly repository: string;
  readonly path: string;
  readonly ref: string;
  /** `owner/repo[/path]`, no ref: the key of the stand-in table for actions. */
  readonly name: string;
}

/**
 * Reads a `uses:` of a file of `fromRepository`. `$/path` (GitHub's self-repository form) and
 * `./path` name `fromRepository`; `owner/repo/path@ref` names that repository. `docker://` images
 * keep their text as name.
 */
export function usesTarget(uses: string, fromRepository: string): UsesTarget {
  const text = uses.trim();
  for (const prefix of ['$/', './']) {
    if (text.startsWith(prefix)) {
      const path = text.slice(prefix.length).replace(/\/+$/, '');
      return {
        repository: fromRepository,
        path,
        ref: '',
        name: path === '' ? fromRepository : `${fromRepository}/${path}`,
      };
    }
  }
  if (text.startsWith('docker://')) return { repository: '', path: '', ref: '', name: text };
  const at = text.lastIndexOf('@');
  const target = at < 0 ? text : text.slice(0, at);
  const ref = at < 0 ? '' : text.slice(at + 1);
  const parts = target.split('/').filter((p) => p !== '');
  return {
    repository: parts.slice(0, 2).join('/'),
    path: parts.slice(2).join('/'),
    ref,
    name: parts.join('/'),
  };
}

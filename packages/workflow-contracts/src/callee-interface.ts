import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load as loadYaml } from 'js-yaml';
import { triggers, type Workflow } from './workflow-file.js';

/** One input of an action or a reusable workflow. */
export interface CalleeInput {
  readonly required: boolean;
  readonly hasDefault: boolean;
  /** Reusable workflows type their inputs; actions take strings. */
  readonly type: 'string' | 'boolean' | 'number';
}

/** What an action (action.yml) or a reusable workflow (`on.workflow_call`) accepts and produces. */
export interface CalleeInterface {
  /** `action-build/action.yml`, `.github/workflows/build-scan.yml`. */
  readonly source: string;
  readonly inputs: ReadonlyMap<string, CalleeInput>;
  readonly outputs: ReadonlySet<string>;
  /** Secrets a reusable workflow declares (none for an action). */
  readonly secrets: ReadonlyMap<string, { readonly required: boolean }>;
}

interface Declared {
  readonly required?: unknown;
  readonly default?: unknown;
  readonly type?: unknown;
}

/** The interface of one of our actions: `<root>/<dir>/action.yml`; undefined when there is none. */
export function actionInterface(root: string, dir: string): CalleeInterface | undefined {
  const source = `${dir}/action.yml`;
  const file = join(root, source);
  if (!existsSync(file)) return undefined;
  const doc = loadYaml(readFileSync(file, 'utf8')) as {
    inputs?: Record<string, Declared | null>;
    outputs?: Record<string, unknown>;
  };
  const inputs = new Map<string, CalleeInput>();
  for (const [name, d] of Object.entries(doc.inputs ?? {}))
    inputs.set(name, {
      required: d?.required === true,
      hasDefault: d?.default !== undefined,
      type: 'string',
    });
  return { source, inputs, outputs: new Set(Object.keys(doc.outputs ?? {})), secrets: new Map() };
}

/** The `workflow_call` interface of a reusable workflow; undefined when it has none. */
export function workflowInterface(source: string, doc: Workflow): CalleeInterface | undefined {
  const call = triggers(doc).workflow_call as
    | {
        inputs?: Record<string, Declared | null>;
        outputs?: Record<string, unknown>;
        secrets?: Record<string, Declared | null>;
      }
    | null
    | undefined;
  if (call === undefined) return undefined;
  const inputs = new Map<string, CalleeInput>();
  for (const [name, d] of Object.entries(call?.inputs ?? {})) {
    const type = d?.type === 'boolean' || d?.type === 'number' ? d.type : 'string';
    inputs.set(name, { required: d?.required === true, hasDefault: d?.default !== undefined, type });
  }
  const secrets = new Map<string, { required: boolean }>();
  for (const [name, d] of Object.entries(call?.secrets ?? {}))
    secrets.set(name, { required: d?.required === true });
  return { source, inputs, outputs: new Set(Object.keys(call?.outputs ?? {})), secrets };
}

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWorkflows, parseWorkflow, type WorkflowFile } from '../src/index.js';

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Every workflow of the repository, loaded once. */
export const workflows: readonly WorkflowFile[] = loadWorkflows(root);

/** The workflows as they are, plus `extra` files (YAML text by path) for tests of the checks. */
export function withExtra(extra: Readonly<Record<string, string>>): {
  files: WorkflowFile[];
  added: WorkflowFile[];
} {
  const added = Object.entries(extra).map(([path, text]) => parseWorkflow(path, text));
  return { files: [...workflows, ...added], added };
}

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  callInputs,
  evaluateString,
  loadWorkflows,
  parseWorkflow,
  type ExpressionContexts,
  type WorkflowFile,
} from '../src/index.js';

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

/** The workflow file at `path` (relative to the root). */
export function workflowFile(path: string): WorkflowFile {
  const found = workflows.find((w) => w.path === path);
  if (found === undefined) throw new Error(`${path} is missing`);
  return found;
}

/** The workflow token and actor the runner would give, for evaluating the expressions that read them. */
export const GITHUB = { actor: 'octocat', token: 'ghs_workflowtoken' } as const;

/**
 * The inputs action-deploy receives in deploy.yml's deploy job when a job calls deploy.yml with
 * `callerWith` (evaluated in `callerContexts`, e.g. the caller's own `inputs`) and passes `secrets`:
 * deploy.yml's inputs are set as GitHub sets them, its check job's outputs evaluated (the check
 * step's own outputs are stand-ins), then every `with:` of the action-deploy step.
 */
export function actionDeployInputs(
  callerWith: Readonly<Record<string, unknown>>,
  o: { callerContexts?: ExpressionContexts; secrets?: Readonly<Record<string, string>> } = {},
): Record<string, string> {
  const deploy = workflowFile('.github/workflows/deploy.yml');
  const inputs = callInputs(deploy, { with: callerWith }, o.callerContexts ?? {});
  const jobs = deploy.doc.jobs ?? {};
  const checkStep = { commit: 'a'.repeat(40), 'runs-on': 'ubuntu-latest', 'smoke-test-script': '' };
  const checkOutputs = Object.fromEntries(
    Object.entries(jobs.check?.outputs ?? {}).map(([name, value]) => [
      name,
      evaluateString(value, { inputs, steps: { check: { outputs: checkStep } } }),
    ]),
  );
  const step = (jobs.deploy?.steps ?? []).find((s) => s.id === 'deploy');
  if (step === undefined) throw new Error('deploy.yml has no step with id deploy');
  const contexts = {
    inputs,
    needs: { check: { outputs: checkOutputs } },
    secrets: o.secrets ?? {},
    github: GITHUB,
    runner: { temp: '/home/runner/work/_temp' },
  };
  return Object.fromEntries(
    Object.entries(step.with ?? {}).map(([name, value]) => [name, evaluateString(value, contexts)]),
  );
}

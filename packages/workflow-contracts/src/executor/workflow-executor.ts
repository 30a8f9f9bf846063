import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMapping, isString } from '@actions/workflow-parser';
import type {
  ActionStep,
  Job,
  ReusableWorkflowJob,
  RunStep,
  WorkflowJob,
} from '@actions/workflow-parser/model/workflow-template';
import type { MappingToken, TemplateToken } from '@actions/workflow-parser/templates/tokens/index';
import { dispatchInputs, eventTriggers, matchesFilters } from './event-triggers.js';
import { isForkPullRequest, type GitHubEvent, type RepositoryFacts } from './github-events.js';
import { expandMatrix, type MatrixLeg } from './matrix.js';
import type {
  ActionCall,
  ActionResult,
  Conclusion,
  ConditionRecord,
  JobRecord,
  StepRecord,
  WorkflowCommand,
  WorkflowRunRecord,
} from './run-record.js';
import { maskSecrets, parseFileCommand, workflowCommands } from './runner-files.js';
import { runScript } from './run-script.js';
import {
  capPermissions,
  NO_PERMISSIONS,
  parsePermissions,
  permissionExcess,
  RESTRICTED_DEFAULT,
  type Permissions,
} from './token-permissions.js';
import { conditionOf, ExpressionScope, type RunStatus } from './template-values.js';
import { ToolStandIns, type ToolStandIn } from './tool-stand-ins.js';
import {
  field,
  jobToken,
  loadWorkflow,
  stepTokens,
  triggerToken,
  usesTarget,
  type LoadedWorkflow,
  type WorkflowResolver,
} from './workflow-source.js';

/** What replaces an action: a fixed result, or one computed from the call (its `with:`, env, files). */
export type ActionStandIn = ActionResult | ((call: ActionCall) => ActionResult | Promise<ActionResult>);

/** A GitHub environment of the repository. */
export interface EnvironmentSettings {
  readonly secrets?: Readonly<Record<string, string>>;
  readonly variables?: Readonly<Record<string, string>>;
  /**
   * Its deployment branch policy: the branch and tag patterns that may deploy to it. Undefined:
   * any ref. A job of another ref fails before its first step, as GitHub fails it.
   */
  readonly deploymentBranches?: readonly string[];
}

/** One run to execute. */
export interface ExecuteOptions {
  /** The workflow started by the event: a file of `repository` (read through `resolver` unless `content` is given). */
  readonly workflow: { readonly path: string; readonly content?: string };
  readonly repository: RepositoryFacts;
  readonly event: GitHubEvent;
  /** Reads the reusable workflows `uses:` names (`owner/repo/...@ref`, `$/...`, `./...`). */
  readonly resolver: WorkflowResolver;
  /** Repository and organization secrets. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Repository configuration variables (`vars`). */
  readonly variables?: Readonly<Record<string, string>>;
  readonly environments?: Readonly<Record<string, EnvironmentSettings>>;
  /** The repository's default GITHUB_TOKEN permissions, for a job that states none. Default read contents and packages. */
  readonly defaultPermissions?: Permissions;
  /**
   * Stand-ins of the actions, keyed by `owner/repo[/path]` without the ref (`actions/checkout`,
   * `dreamscape/actions/action-build`); `$/x` in a file of `owner/repo` is `owner/repo/x`.
   */
  readonly actions: Readonly<Record<string, ActionStandIn>>;
  /** For an action the table does not name; without it such an action is an error of the test. */
  readonly defaultAction?: ActionStandIn;
  /** Stand-in executables for the run steps (network tools without one fail with 127). */
  readonly tools?: Readonly<Record<string, ToolStandIn>>;
  /** Folder for the jobs' workspaces and temp folders; default a fresh one, removed afterwards. */
  readonly workDir?: string;
  readonly runId?: number;
  /** Longest a run step may take (default 60 s): a safety net, not GitHub's timeout-minutes. */
  readonly stepTimeoutMs?: number;
}

/** Run ids of runs not given one: each run of the process its own (artifacts are per run). */
let nextRunId = 5_000_000_001;

/** The depth of nested reusable workflows GitHub accepts. */
const MAX_CALL_DEPTH = 10;

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** One workflow being executed: the one the event started, or one a job called. */
interface Frame {
  readonly workflow: LoadedWorkflow;
  readonly inputs: Readonly<Record<string, unknown>>;
  /** The `secrets` context of its jobs (GITHUB_TOKEN and environment secrets aside). */
  readonly secrets: Readonly<Record<string, string>>;
  /** What the calling job grants; undefined for the workflow the event started. */
  readonly grant?: Permissions;
  /** `caller/` prefix of its jobs' paths. */
  readonly prefix: string;
}

/** The outcome of a job as other jobs see it (`needs.<id>`, `jobs.<id>`). */
interface JobOutcome {
  readonly result: Conclusion;
  readonly outputs: Record<string, string>;
}

/**
 * Executes a workflow for an event, as GitHub would, for tests: which jobs run or are skipped
 * (`needs` and `if`, with GitHub's status functions), reusable workflows called with their inputs,
 * secrets and permissions, matrices expanded, and each step in order. `run:` steps run for real
 * with bash in a temp workspace with the runner's environment and file commands; `uses:` steps are
 * replaced by the stand-ins of `o.actions`, and every call is recorded with what the action would
 * have received. Containers, services, concurrency and timeouts are recorded, not simulated.
 */
export async function executeWorkflow(o: ExecuteOptions): Promise<WorkflowRunRecord> {
  const ownDir = o.workDir === undefined;
  const root = o.workDir ?? mkdtempSync(join(tmpdir(), 'ds-workflow-run-'));
  try {
    return await new WorkflowExecution(o, root).run();
  } finally {
    if (ownDir) rmSync(root, { recursive: true, force: true });
  }
}

class WorkflowExecution {
  private readonly cache = new Map<string, Promise<LoadedWorkflow>>();
  private readonly fork: boolean;
  private readonly tools: ToolStandIns;
  private readonly eventPath: string;
  private readonly runId: string;
  private jobCount = 0;
  private top: LoadedWorkflow | undefined;

  constructor(
    private readonly o: ExecuteOptions,
    private readonly root: string,
  ) {
    this.fork = isForkPullRequest(o.event, o.repository.fullName);
    this.tools = new ToolStandIns(join(root, 'tools'), o.tools ?? {});
    this.eventPath = join(root, 'event.json');
    writeFileSync(this.eventPath, JSON.stringify(o.event.payload));
    this.runId = String(o.runId ?? nextRunId++);
  }

  async run(): Promise<WorkflowRunRecord> {
    const o = this.o;
    const content = o.workflow.content ?? o.resolver.readWorkflow(o.repository.fullName, o.workflow.path, '');
    const workflow = await loadWorkflow(o.workflow.path, o.repository.fullName, content);
    this.top = workflow;
    const base = { workflow: workflow.path, event: o.event.name, inputs: {}, jobs: [] };
    const trigger = eventTriggers(workflow, o.event, o.repository.defaultBranch);
    if (!trigger.triggered)
      return { ...base, status: 'not-triggered', reason: trigger.reason, conclusion: 'none' };
    let inputs: Record<string, unknown> = {};
    if (o.event.name === 'workflow_dispatch') {
      const given = (o.event.payload.inputs ?? {}) as Record<string, unknown>;
      const decided = dispatchInputs(workflow, given);
      if ('refused' in decided)
        return { ...base, status: 'refused', reason: decided.refused, conclusion: 'none' };
      inputs = decided.inputs;
    }
    const problems = await this.validateCalls(workflow, this.topGrant(workflow), 1);
    if (problems.length > 0)
      return {
        ...base,
        inputs,
        status: 'startup-failure',
        reason: problems.join('\n'),
        conclusion: 'failure',
      };
    const concurrencyToken = field(workflow.root, 'concurrency');
    const concurrency =
      concurrencyToken === undefined
        ? undefined
        : new ExpressionScope({ github: this.github(''), inputs, vars: this.o.variables ?? {} }).value(
            concurrencyToken,
          );
    const secrets = this.fork ? {} : { ...(o.secrets ?? {}) };
    const { records } = await this.executeJobs({ workflow, inputs, secrets, prefix: '' });
    return {
      ...base,
      inputs,
      status: 'ran',
      conclusion: overall(records.map((r) => r.result)),
      concurrency,
      jobs: records,
    };
  }

  /** The workflow as loaded once per run. */
  private load(repository: string, path: string, ref: string): Promise<LoadedWorkflow> {
    const key = `${repository.toLowerCase()}/${path}`;
    let found = this.cache.get(key);
    if (found === undefined) {
      found = loadWorkflow(path, repository, this.o.resolver.readWorkflow(repository, path, ref));
      this.cache.set(key, found);
    }
    return found;
  }

  private topGrant(w: LoadedWorkflow): Permissions {
    const token = field(w.root, 'permissions');
    return token === undefined
      ? (this.o.defaultPermissions ?? RESTRICTED_DEFAULT)
      : parsePermissions(literal(token), `${w.path}: permissions`);
  }

  /**
   * What GitHub checks before any job of the run starts, whatever the jobs' `if:` say: every called
   * workflow exists and declares `workflow_call`, gets its required inputs and secrets and nothing
   * it does not declare, and none of its jobs asks for more permissions than the calling job grants.
   */
  private async validateCalls(
    w: LoadedWorkflow,
    workflowGrant: Permissions,
    depth: number,
  ): Promise<string[]> {
    const problems: string[] = [];
    for (const job of w.jobs) {
      const raw = jobToken(w, job.id.value);
      const own = field(raw, 'permissions');
      const grant =
        own === undefined
          ? workflowGrant
          : parsePermissions(literal(own), `${w.path}: jobs.${job.id.value}.permissions`);
      if (job.type !== 'reusableWorkflowJob') continue;
      const where = `${w.path}: jobs.${job.id.value}`;
      if (depth > MAX_CALL_DEPTH) {
        problems.push(`${where}: reusable workflows nest deeper than ${MAX_CALL_DEPTH}`);
        continue;
      }
      const target = usesTarget(job.ref.value, w.repository);
      let callee: LoadedWorkflow;
      try {
        callee = await this.load(target.repository, target.path, target.ref);
      } catch (error) {
        problems.push(`${where}: ${job.ref.value} cannot be read: ${(error as Error).message}`);
        continue;
      }
      const call = triggerToken(callee, 'workflow_call');
      if (call === undefined) {
        problems.push(`${where}: ${callee.path} has no workflow_call trigger`);
        continue;
      }
      problems.push(...declaredKeys(where, 'input', field(call, 'inputs'), field(raw, 'with'), true));
      if (!job['inherit-secrets'])
        problems.push(...declaredKeys(where, 'secret', field(call, 'secrets'), field(raw, 'secrets'), true));
      const calleeWide = field(callee.root, 'permissions');
      const calleeGrant =
        calleeWide === undefined
          ? grant
          : parsePermissions(literal(calleeWide), `${callee.path}: permissions`);
      for (const inner of callee.jobs) {
        const innerOwn = field(jobToken(callee, inner.id.value), 'permissions');
        const requested =
          innerOwn === undefined
            ? calleeGrant
            : parsePermissions(literal(innerOwn), `${callee.path}: jobs.${inner.id.value}.permissions`);
        for (const excess of permissionExcess(requested, grant))
          problems.push(
            `${where}: the nested job '${inner.id.value}' of ${callee.path} is requesting ${excess}`,
          );
      }
      problems.push(...(await this.validateCalls(callee, capGrant(calleeGrant, grant), depth + 1)));
    }
    return problems;
  }

  /** The `github` context of a job. */
  private github(job: string, token = ''): Record<string, unknown> {
    const o = this.o;
    const e = o.event;
    const top = this.top;
    const refType = e.ref.startsWith('refs/tags/') ? 'tag' : 'branch';
    const refName = e.ref.replace(/^refs\/(heads|tags)\//, '').replace(/^refs\//, '');
    const [owner = ''] = o.repository.fullName.split('/');
    return {
      event_name: e.name,
      event: e.payload,
      event_path: this.eventPath,
      ref: e.ref,
      ref_name: refName,
      ref_type: refType,
      ref_protected: false,
      sha: e.sha,
      head_ref: e.headRef ?? '',
      base_ref: e.baseRef ?? '',
      repository: o.repository.fullName,
      repository_owner: owner,
      repositoryUrl: `git://github.com/${o.repository.fullName}.git`,
      actor: e.actor,
      triggering_actor: e.actor,
      server_url: 'https://github.com',
      api_url: 'https://api.github.com',
      graphql_url: 'https://api.github.com/graphql',
      run_id: this.runId,
      run_number: '17',
      run_attempt: '1',
      retention_days: '90',
      workflow: top?.name ?? '',
      workflow_ref: `${o.repository.fullName}/${top?.path ?? ''}@${e.ref}`,
      workflow_sha: e.sha,
      job,
      token,
      action: '',
      secret_source: this.fork ? 'None' : 'Actions',
    };
  }

  /** Runs the jobs of one workflow in the order their needs allow. */
  private async executeJobs(
    frame: Frame,
  ): Promise<{ records: JobRecord[]; outcomes: Map<string, JobOutcome> }> {
    const outcomes = new Map<string, JobOutcome>();
    const records: JobRecord[] = [];
    for (const job of ordered(frame.workflow.jobs)) {
      const needs = (job.needs ?? []).map((n) => n.value);
      const ancestors = ancestorsOf(job.id.value, frame.workflow.jobs);
      const results = [...ancestors].map((a) => outcomes.get(a)?.result ?? 'skipped');
      const status: RunStatus = {
        success: results.every((r) => r === 'success'),
        failure: results.some((r) => r === 'failure'),
        cancelled: false,
      };
      const needsContext = Object.fromEntries(
        needs.map((n) => [
          n,
          { result: outcomes.get(n)?.result ?? 'skipped', outputs: outcomes.get(n)?.outputs ?? {} },
        ]),
      );
      const contexts = {
        github: this.github(job.id.value),
        needs: needsContext,
        vars: this.o.variables ?? {},
        inputs: frame.inputs,
      };
      const rawIf = field(jobToken(frame.workflow, job.id.value), 'if');
      const condition = evaluateCondition(new ExpressionScope(contexts, status), conditionOf(job.if, rawIf));
      const path = `${frame.prefix}${job.id.value}`;
      let jobRecords: JobRecord[];
      if (!condition.value || condition.error !== undefined) {
        jobRecords = [
          this.notRun(
            frame,
            job,
            path,
            needs,
            condition,
            condition.error === undefined ? 'skipped' : 'failure',
          ),
        ];
      } else {
        jobRecords = await this.executeLegs(frame, job, path, needs, condition, contexts);
      }
      records.push(...jobRecords);
      const outputs: Record<string, string> = {};
      for (const r of jobRecords) Object.assign(outputs, r.outputs);
      outcomes.set(job.id.value, { result: overall(jobRecords.map((r) => r.result)), outputs });
    }
    return { records, outcomes };
  }

  private notRun(
    frame: Frame,
    job: WorkflowJob,
    path: string,
    needs: string[],
    condition: ConditionRecord,
    result: Conclusion,
  ): JobRecord {
    return {
      id: job.id.value,
      path,
      workflow: frame.workflow.path,
      name: job.name !== undefined && isString(job.name) ? job.name.value : job.id.value,
      kind: job.type === 'job' ? 'steps' : 'call',
      if: condition,
      result,
      ...(condition.error === undefined ? {} : { error: condition.error }),
      needs,
      outputs: {},
      droppedOutputs: [],
      permissions: NO_PERMISSIONS,
      token: '',
      secrets: {},
      steps: [],
      summary: '',
    };
  }

  /** The job once per matrix combination (once without a matrix). */
  private async executeLegs(
    frame: Frame,
    job: WorkflowJob,
    path: string,
    needs: string[],
    condition: ConditionRecord,
    contexts: Record<string, unknown>,
  ): Promise<JobRecord[]> {
    let legs: (MatrixLeg | undefined)[] = [undefined];
    let failFast = true;
    let maxParallel: unknown = null;
    if (job.strategy !== undefined) {
      try {
        const strategy = new ExpressionScope(contexts).value(job.strategy) as Record<string, unknown>;
        if (strategy['fail-fast'] !== undefined) failFast = strategy['fail-fast'] !== false;
        maxParallel = strategy['max-parallel'] ?? null;
        if (strategy.matrix !== undefined) legs = expandMatrix(strategy.matrix);
      } catch (error) {
        const failed = this.notRun(frame, job, path, needs, condition, 'failure');
        return [
          {
            ...failed,
            error: `Error when evaluating 'strategy' for job '${job.id.value}': ${(error as Error).message}`,
          },
        ];
      }
    }
    const records: JobRecord[] = [];
    for (const [index, matrix] of legs.entries()) {
      const strategy = {
        'fail-fast': failFast,
        'job-index': index,
        'job-total': legs.length,
        'max-parallel': maxParallel ?? legs.length,
      };
      const legContexts = { ...contexts, matrix: matrix ?? {}, strategy };
      if (failFast && records.some((r) => r.result === 'failure')) {
        // Legs run side by side on GitHub; here one after the other, so a leg after a failure is
        // the one fail-fast cancels.
        records.push({
          ...this.notRun(frame, job, path, needs, condition, 'cancelled'),
          ...(matrix === undefined ? {} : { matrix }),
        });
        continue;
      }
      records.push(
        job.type === 'job'
          ? await this.executeStepsJob(frame, job, path, needs, condition, legContexts, matrix)
          : await this.executeCall(frame, job, path, needs, condition, legContexts, matrix),
      );
    }
    return records;
  }

  /** The token permissions of a job of `frame` (capped read-only for a fork's pull request). */
  private jobPermissions(frame: Frame, raw: MappingToken, where: string): Permissions {
    const own = field(raw, 'permissions');
    const wide = field(frame.workflow.root, 'permissions');
    let p: Permissions;
    if (own !== undefined) p = parsePermissions(literal(own), `${where}.permissions`);
    else if (wide !== undefined) p = parsePermissions(literal(wide), `${frame.workflow.path}: permissions`);
    else p = frame.grant ?? this.o.defaultPermissions ?? RESTRICTED_DEFAULT;
    // A called workflow's job never gets more than the caller grants (checked at startup).
    if (frame.grant !== undefined) p = capGrant(p, frame.grant);
    return this.fork ? capPermissions(p, 'read') : p;
  }

  private newToken(): string {
    this.jobCount++;
    return `ghs_job${String(this.jobCount).padStart(3, '0')}${randomBytes(12).toString('hex')}`;
  }

  private async executeStepsJob(
    frame: Frame,
    job: Job,
    path: string,
    needs: string[],
    condition: ConditionRecord,
    contexts: Record<string, unknown>,
    matrix: MatrixLeg | undefined,
  ): Promise<JobRecord> {
    const o = this.o;
    const raw = jobToken(frame.workflow, job.id.value);
    const where = `${frame.workflow.path}: jobs.${job.id.value}`;
    const token = this.newToken();
    const permissions = this.jobPermissions(frame, raw, where);
    const github = this.github(job.id.value, token);
    const scope = new ExpressionScope({ ...contexts, github });
    const base = {
      id: job.id.value,
      path,
      workflow: frame.workflow.path,
      kind: 'steps' as const,
      ...(matrix === undefined ? {} : { matrix }),
      if: condition,
      needs,
      permissions,
      token,
      uses: undefined,
    };
    const fail = (name: string, error: string, secrets: Record<string, string> = {}): JobRecord => ({
      ...base,
      name,
      result: 'failure',
      error,
      outputs: {},
      droppedOutputs: [],
      secrets,
      steps: [],
      summary: '',
    });
    let name = job.id.value;
    let environment: { name: string; urlToken: TemplateToken | undefined } | undefined;
    const recorded: Record<string, unknown> = {};
    try {
      const nameToken = field(raw, 'name');
      if (nameToken !== undefined) name = scope.text(nameToken, `${where}.name`);
      else if (matrix !== undefined)
        name = `${job.id.value} (${Object.values(matrix)
          .map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
          .join(', ')})`;
      if (job.environment !== undefined) {
        const value = isMapping(job.environment) ? field(job.environment, 'name') : job.environment;
        environment = {
          name: value === undefined ? '' : scope.text(value, `${where}.environment`),
          urlToken: isMapping(job.environment) ? field(job.environment, 'url') : undefined,
        };
      }
      for (const key of [
        'runs-on',
        'timeout-minutes',
        'concurrency',
        'services',
        'container',
        'continue-on-error',
      ]) {
        const t = field(raw, key);
        if (t !== undefined) recorded[key] = scope.value(t);
      }
    } catch (error) {
      return fail(name, (error as Error).message);
    }
    const settings = environment === undefined ? undefined : o.environments?.[environment.name];
    if (environment !== undefined && settings?.deploymentBranches !== undefined) {
      const refName = o.event.ref.replace(/^refs\/(heads|tags)\//, '');
      const isBranchOrTag = /^refs\/(heads|tags)\//.test(o.event.ref);
      if (!isBranchOrTag || !matchesFilters(refName, settings.deploymentBranches))
        return fail(
          name,
          `Branch "${refName}" is not allowed to deploy to ${environment.name} due to environment protection rules.`,
        );
    }
    const secrets: Record<string, string> = this.fork
      ? { GITHUB_TOKEN: token }
      : { ...frame.secrets, ...(settings?.secrets ?? {}), GITHUB_TOKEN: token };
    const vars = { ...(o.variables ?? {}), ...(settings?.variables ?? {}) };

    const dir = join(this.root, `job-${String(this.jobCount).padStart(3, '0')}`);
    const workspaceParent = join(dir, 'work', repoName(o.repository.fullName));
    const workspace = join(workspaceParent, repoName(o.repository.fullName));
    const runnerTemp = join(dir, 'temp');
    const home = join(dir, 'home');
    const files = join(dir, 'files');
    for (const d of [workspace, runnerTemp, home, files, join(dir, 'tool-cache')])
      mkdirSync(d, { recursive: true });
    const runner = {
      os: 'Linux',
      arch: 'X64',
      name: 'GitHub Actions 1',
      temp: runnerTemp,
      tool_cache: join(dir, 'tool-cache'),
      environment: 'github-hosted',
      debug: '',
      workspace: workspaceParent,
    };
    const jobGithub = { ...github, workspace };
    const jobScopeContexts = { ...contexts, github: jobGithub, runner, vars, secrets };
    let envContext: Record<string, string> = {};
    try {
      const wide = field(frame.workflow.root, 'env');
      if (wide !== undefined)
        envContext = textMap(new ExpressionScope(jobScopeContexts), wide, `${frame.workflow.path}: env`);
      if (job.env !== undefined)
        envContext = {
          ...envContext,
          ...textMap(new ExpressionScope({ ...jobScopeContexts, env: envContext }), job.env, `${where}.env`),
        };
    } catch (error) {
      return fail(name, (error as Error).message, secrets);
    }
    const defaults = runDefaults(frame.workflow.root, raw);
    const masks = new Set<string>(Object.values(secrets).filter((s) => s !== ''));
    const runnerVariables = (
      stepId: string,
      fileCommands: Record<string, string>,
    ): Record<string, string> => ({
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: workspace,
      GITHUB_EVENT_PATH: this.eventPath,
      GITHUB_EVENT_NAME: o.event.name,
      GITHUB_SHA: o.event.sha,
      GITHUB_REF: o.event.ref,
      GITHUB_REF_NAME: String(github.ref_name),
      GITHUB_REF_TYPE: String(github.ref_type),
      GITHUB_REF_PROTECTED: 'false',
      GITHUB_HEAD_REF: o.event.headRef ?? '',
      GITHUB_BASE_REF: o.event.baseRef ?? '',
      GITHUB_REPOSITORY: o.repository.fullName,
      GITHUB_REPOSITORY_OWNER: String(github.repository_owner),
      GITHUB_ACTOR: o.event.actor,
      GITHUB_TRIGGERING_ACTOR: o.event.actor,
      GITHUB_RUN_ID: this.runId,
      GITHUB_RUN_NUMBER: String(github.run_number),
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_RETENTION_DAYS: '90',
      GITHUB_WORKFLOW: String(github.workflow),
      GITHUB_WORKFLOW_REF: String(github.workflow_ref),
      GITHUB_WORKFLOW_SHA: o.event.sha,
      GITHUB_JOB: job.id.value,
      GITHUB_ACTION: stepId,
      GITHUB_SERVER_URL: String(github.server_url),
      GITHUB_API_URL: String(github.api_url),
      GITHUB_GRAPHQL_URL: String(github.graphql_url),
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      RUNNER_NAME: runner.name,
      RUNNER_ENVIRONMENT: 'github-hosted',
      RUNNER_TEMP: runnerTemp,
      RUNNER_TOOL_CACHE: runner.tool_cache,
      RUNNER_WORKSPACE: workspaceParent,
      ...fileCommands,
    });
    const prependPath: string[] = [];
    const stepsContext: Record<
      string,
      { outputs: Record<string, string>; outcome: Conclusion; conclusion: Conclusion }
    > = {};
    const steps: StepRecord[] = [];
    let jobStatus: 'success' | 'failure' = 'success';
    let summary = '';
    const converted = job.steps;
    const rawSteps = stepTokens(frame.workflow, job.id.value);
    for (const [index, step] of converted.entries()) {
      const rawStep = rawSteps[index];
      if (rawStep === undefined || !('if' in step) || !('run' in step || 'uses' in step))
        throw new Error(`${where}.steps[${index}]: only run and uses steps are supported`);
      const stepWhere = `${where}.steps[${index}]`;
      const jobContext = { status: jobStatus, container: {}, services: {} };
      const status: RunStatus = {
        success: jobStatus === 'success',
        failure: jobStatus === 'failure',
        cancelled: false,
      };
      const baseContexts = {
        ...contexts,
        github: jobGithub,
        runner,
        vars,
        job: jobContext,
        steps: stepsContext,
        env: envContext,
      };
      const cond = evaluateCondition(
        new ExpressionScope(baseContexts, status),
        conditionOf(step.if, field(rawStep, 'if')),
      );
      const kind = 'run' in step ? 'run' : 'action';
      let stepName = defaultStepName(step);
      const record = {
        index,
        id: step.id,
        kind,
        if: cond,
        summary: '',
        commands: [] as WorkflowCommand[],
        toolCalls: [] as StepRecord['toolCalls'],
      } as const;
      if (cond.error !== undefined || !cond.value) {
        // A step that does not run is still shown by its name, as GitHub shows it; a name that
        // cannot be evaluated without the step running keeps the default.
        const nameToken = field(rawStep, 'name');
        if (nameToken !== undefined)
          try {
            stepName = new ExpressionScope({ ...baseContexts, secrets }).text(nameToken, `${stepWhere}.name`);
          } catch {
            // the default name
          }
        const outcome: Conclusion = cond.error === undefined ? 'skipped' : 'failure';
        if (outcome === 'failure') jobStatus = 'failure';
        steps.push({
          ...record,
          name: stepName,
          outcome,
          conclusion: outcome,
          outputs: {},
          env: {},
          ...(cond.error === undefined ? {} : { error: cond.error }),
        });
        stepsContext[step.id] = { outputs: {}, outcome, conclusion: outcome };
        continue;
      }
      let outcome: Conclusion = 'success';
      let error: string | undefined;
      let outputs: Record<string, string> = {};
      let stepEnv: Record<string, string> = {};
      let runRecord: StepRecord['run'];
      let actionCall: ActionCall | undefined;
      let stepSummary = '';
      let commands: WorkflowCommand[] = [];
      let continueOnError = false;
      const withSecrets = new ExpressionScope({ ...baseContexts, secrets });
      try {
        const nameToken = field(rawStep, 'name');
        if (nameToken !== undefined) stepName = withSecrets.text(nameToken, `${stepWhere}.name`);
        const coe = field(rawStep, 'continue-on-error');
        continueOnError = coe !== undefined && withSecrets.value(coe) === true;
        if (step.env !== undefined) stepEnv = textMap(withSecrets, step.env, `${stepWhere}.env`);
        const stepScope = new ExpressionScope({
          ...baseContexts,
          secrets,
          env: { ...envContext, ...stepEnv },
        });
        const fileCommands = {
          GITHUB_OUTPUT: join(files, `set_output_${index}`),
          GITHUB_ENV: join(files, `set_env_${index}`),
          GITHUB_PATH: join(files, `add_path_${index}`),
          GITHUB_STATE: join(files, `save_state_${index}`),
          GITHUB_STEP_SUMMARY: join(files, `step_summary_${index}`),
        };
        for (const f of Object.values(fileCommands)) writeFileSync(f, '');
        const processEnv: Record<string, string> = {
          CI: 'true',
          HOME: home,
          LANG: 'C.UTF-8',
          ...envContext,
          ...stepEnv,
          ...runnerVariables(step.id, fileCommands),
        };
        processEnv.PATH = [
          this.tools.bin,
          ...prependPath,
          envContext.PATH ?? stepEnv.PATH ?? SYSTEM_PATH,
        ].join(':');
        if ('run' in step) {
          const script = stepScope.text(step.run, `${stepWhere}.run`);
          const shellToken = field(rawStep, 'shell');
          const shell =
            shellToken === undefined ? defaults.shell : stepScope.text(shellToken, `${stepWhere}.shell`);
          const wdToken = field(rawStep, 'working-directory');
          const wd =
            wdToken === undefined
              ? defaults.workingDirectory
              : stepScope.text(wdToken, `${stepWhere}.working-directory`);
          const workingDirectory = join(workspace, wd ?? '');
          const result = runScript({
            script,
            shell,
            workingDirectory,
            env: processEnv,
            tempDir: runnerTemp,
            timeoutMs: o.stepTimeoutMs ?? 60_000,
          });
          commands = workflowCommands(`${result.stdout}\n${result.stderr}`);
          for (const c of commands) if (c.command === 'add-mask' && c.data !== '') masks.add(c.data);
          runRecord = {
            script,
            shell: result.shell,
            workingDirectory,
            environment: processEnv,
            exitCode: result.exitCode,
            stdout: maskSecrets(result.stdout, masks),
            stderr: maskSecrets(result.stderr, masks),
          };
          if (result.exitCode !== 0) {
            outcome = 'failure';
            error = `Process completed with exit code ${result.exitCode}.`;
          }
          for (const c of commands) {
            if (c.command === 'set-output' && c.properties.name !== undefined)
              outputs[c.properties.name] = c.data;
            if (c.command === 'set-env' || c.command === 'add-path') {
              outcome = 'failure';
              error = `The \`${c.command}\` command is disabled.`;
            }
          }
        } else {
          const uses = step.uses.value;
          const target = usesTarget(uses, frame.workflow.repository);
          const withToken = field(rawStep, 'with');
          const inputs = withToken === undefined ? {} : textMap(stepScope, withToken, `${stepWhere}.with`);
          actionCall = {
            job: path,
            ...(matrix === undefined ? {} : { matrix }),
            step: step.id,
            uses,
            action: target.name,
            ref: target.ref,
            workflow: frame.workflow.path,
            with: inputs,
            env: processEnv,
            secrets,
            workspace,
            runnerTemp,
          };
          const standIn = o.actions[target.name] ?? o.defaultAction;
          if (standIn === undefined)
            throw new MissingStandIn(`no stand-in for action ${target.name} (${stepWhere})`);
          const result = typeof standIn === 'function' ? await standIn(actionCall) : standIn;
          outputs = { ...(result.outputs ?? {}) };
          if (result.outcome === 'failure') {
            outcome = 'failure';
            error = result.error ?? `${target.name} failed`;
          }
          if (result.summary !== undefined) writeFileSync(fileCommands.GITHUB_STEP_SUMMARY, result.summary);
          if (result.env !== undefined)
            writeFileSync(
              fileCommands.GITHUB_ENV,
              Object.entries(result.env)
                .map(([k, v]) => `${k}<<__EOF__\n${v}\n__EOF__\n`)
                .join(''),
            );
        }
        const fileOutputs = parseFileCommand(
          readFileSync(fileCommands.GITHUB_OUTPUT, 'utf8'),
          'GITHUB_OUTPUT',
        );
        for (const [k, v] of fileOutputs) outputs[k] = v;
        const exported = parseFileCommand(readFileSync(fileCommands.GITHUB_ENV, 'utf8'), 'GITHUB_ENV');
        for (const [k, v] of exported) {
          if (k.toUpperCase() === 'NODE_OPTIONS')
            throw new Error("Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command.");
          envContext = { ...envContext, [k]: v };
        }
        for (const line of readFileSync(fileCommands.GITHUB_PATH, 'utf8').split('\n'))
          if (line.trim() !== '') prependPath.unshift(line.trim());
        stepSummary = readFileSync(fileCommands.GITHUB_STEP_SUMMARY, 'utf8');
      } catch (e) {
        if (e instanceof MissingStandIn) throw e;
        outcome = 'failure';
        error = (e as Error).message;
      }
      const toolCalls = this.tools.takeCalls();
      const conclusion: Conclusion = outcome === 'failure' && continueOnError ? 'success' : outcome;
      if (conclusion === 'failure') jobStatus = 'failure';
      summary += stepSummary;
      stepsContext[step.id] = { outputs, outcome, conclusion };
      steps.push({
        ...record,
        name: stepName,
        outcome,
        conclusion,
        outputs,
        env: stepEnv,
        ...(error === undefined ? {} : { error }),
        ...(runRecord === undefined ? {} : { run: runRecord }),
        ...(actionCall === undefined ? {} : { action: actionCall }),
        summary: stepSummary,
        commands,
        toolCalls,
      });
    }
    const finalContexts = {
      ...contexts,
      github: jobGithub,
      runner,
      vars,
      secrets,
      env: envContext,
      steps: stepsContext,
      job: { status: jobStatus, container: {}, services: {} },
    };
    const outputs: Record<string, string> = {};
    const droppedOutputs: string[] = [];
    let jobError: string | undefined;
    try {
      if (job.outputs !== undefined) {
        for (const [key, value] of Object.entries(
          textMap(new ExpressionScope(finalContexts), job.outputs, `${where}.outputs`),
        )) {
          // GitHub skips an output that may contain a secret ("Skip output '...' since it may contain secret.").
          if (maskSecrets(value, masks) !== value) droppedOutputs.push(key);
          else outputs[key] = value;
        }
      }
    } catch (e) {
      jobError = (e as Error).message;
      jobStatus = 'failure';
    }
    let environmentRecord: JobRecord['environment'];
    if (environment !== undefined) {
      let url = '';
      try {
        if (environment.urlToken !== undefined)
          url = new ExpressionScope(finalContexts).text(environment.urlToken, `${where}.environment.url`);
      } catch {
        url = '';
      }
      environmentRecord = { name: environment.name, url };
    }
    return {
      ...base,
      name,
      result: jobStatus,
      ...(jobError === undefined ? {} : { error: jobError }),
      outputs,
      droppedOutputs,
      secrets,
      ...(environmentRecord === undefined ? {} : { environment: environmentRecord }),
      runsOn: recorded['runs-on'],
      timeoutMinutes: recorded['timeout-minutes'],
      concurrency: recorded.concurrency,
      services: recorded.services,
      container: recorded.container,
      steps,
      summary,
    };
  }

  /** A job that calls a reusable workflow: its inputs, secrets and grant, then its jobs. */
  private async executeCall(
    frame: Frame,
    job: ReusableWorkflowJob,
    path: string,
    needs: string[],
    condition: ConditionRecord,
    contexts: Record<string, unknown>,
    matrix: MatrixLeg | undefined,
  ): Promise<JobRecord> {
    const raw = jobToken(frame.workflow, job.id.value);
    const where = `${frame.workflow.path}: jobs.${job.id.value}`;
    const target = usesTarget(job.ref.value, frame.workflow.repository);
    const callee = await this.load(target.repository, target.path, target.ref);
    const own = field(raw, 'permissions');
    const wide = field(frame.workflow.root, 'permissions');
    let grant: Permissions;
    if (own !== undefined) grant = parsePermissions(literal(own), `${where}.permissions`);
    else if (wide !== undefined)
      grant = parsePermissions(literal(wide), `${frame.workflow.path}: permissions`);
    else grant = frame.grant ?? this.o.defaultPermissions ?? RESTRICTED_DEFAULT;
    if (frame.grant !== undefined) grant = capGrant(grant, frame.grant);
    const callerSecrets: Record<string, string> = this.fork ? {} : { ...frame.secrets };
    const scope = new ExpressionScope({ ...contexts, secrets: { ...callerSecrets, GITHUB_TOKEN: '' } });
    const base = {
      id: job.id.value,
      path,
      workflow: frame.workflow.path,
      kind: 'call' as const,
      ...(matrix === undefined ? {} : { matrix }),
      if: condition,
      needs,
      permissions: grant,
      token: '',
      uses: job.ref.value,
      calledWorkflow: `${callee.repository}/${callee.path}`,
      steps: [],
      summary: '',
      droppedOutputs: [],
    };
    let name = job.id.value;
    let inputs: Record<string, unknown>;
    let passed: Record<string, string>;
    try {
      const nameToken = field(raw, 'name');
      if (nameToken !== undefined) name = scope.text(nameToken, `${where}.name`);
      inputs = callInputs(callee, field(raw, 'with'), scope, where, this.github(''));
      passed =
        job['inherit-secrets'] === true
          ? callerSecrets
          : textMapOrEmpty(scope, field(raw, 'secrets'), `${where}.secrets`);
    } catch (error) {
      return {
        ...base,
        name,
        result: 'failure',
        error: (error as Error).message,
        outputs: {},
        secrets: {},
        jobs: [],
      };
    }
    const { records, outcomes } = await this.executeJobs({
      workflow: callee,
      inputs,
      secrets: passed,
      grant,
      prefix: `${path}/`,
    });
    const jobsContext = Object.fromEntries(
      [...outcomes].map(([id, r]) => [id, { result: r.result, outputs: r.outputs }]),
    );
    const outputs: Record<string, string> = {};
    let error: string | undefined;
    try {
      const declared = field(triggerToken(callee, 'workflow_call'), 'outputs');
      if (declared !== undefined && isMapping(declared)) {
        const outScope = new ExpressionScope({
          github: this.github(''),
          jobs: jobsContext,
          vars: this.o.variables ?? {},
          inputs,
        });
        for (const pair of declared) {
          const value = field(pair.value, 'value');
          outputs[outScope.text(pair.key, `${callee.path}: outputs`)] =
            value === undefined ? '' : outScope.text(value, `${callee.path}: outputs`);
        }
      }
    } catch (e) {
      error = (e as Error).message;
    }
    // A called workflow whose jobs were all skipped still succeeds as a job of its caller.
    const calleeResult = overall(records.map((r) => r.result));
    const result = error !== undefined ? 'failure' : calleeResult === 'skipped' ? 'success' : calleeResult;
    return {
      ...base,
      name,
      result,
      ...(error === undefined ? {} : { error }),
      outputs,
      secrets: passed,
      inputs,
      jobs: records,
    };
  }
}

/** A test set up without the stand-in an action needs: an error of the test, not a step failure. */
class MissingStandIn extends Error {}

function repoName(fullName: string): string {
  return fullName.split('/')[1] ?? fullName;
}

function defaultStepName(step: RunStep | ActionStep): string {
  if ('run' in step) {
    const text = isString(step.run) ? step.run.value : 'script';
    return `Run ${text.split('\n')[0] ?? ''}`;
  }
  return `Run ${step.uses.value}`;
}

/** A token that must hold no expression (permissions), as plain JSON. */
function literal(token: TemplateToken): unknown {
  return new ExpressionScope({}).value(token);
}

/** Each scope at most what `grant` gives. */
function capGrant(p: Permissions, grant: Permissions): Permissions {
  const rank = { none: 0, read: 1, write: 2 } as const;
  return Object.fromEntries(
    Object.entries(p).map(([k, v]) => {
      const g = grant[k as keyof Permissions];
      return [k, rank[v] > rank[g] ? g : v];
    }),
  ) as unknown as Permissions;
}

function evaluateCondition(scope: ExpressionScope, expression: string): ConditionRecord {
  try {
    return { expression, value: scope.condition(expression) };
  } catch (error) {
    return {
      expression,
      value: false,
      error: `The condition '${expression}' could not be evaluated: ${(error as Error).message}`,
    };
  }
}

/** A mapping token's values as text (env, with, outputs, secrets). */
function textMap(scope: ExpressionScope, token: TemplateToken, where: string): Record<string, string> {
  if (!isMapping(token)) {
    const value = scope.value(token);
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error(`${where} must be a mapping`);
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
  }
  const out: Record<string, string> = {};
  for (const pair of token)
    out[scope.text(pair.key, where)] = scope.text(pair.value, `${where}.${String(pair.key)}`);
  return out;
}

function textMapOrEmpty(
  scope: ExpressionScope,
  token: TemplateToken | undefined,
  where: string,
): Record<string, string> {
  return token === undefined ? {} : textMap(scope, token, where);
}

/** `defaults.run` of the job, else of the workflow. */
function runDefaults(root: MappingToken, job: MappingToken): { shell?: string; workingDirectory?: string } {
  const read = (t: TemplateToken | undefined, key: string): string | undefined => {
    const v = field(field(field(t, 'defaults'), 'run'), key);
    return v !== undefined && isString(v) ? v.value : undefined;
  };
  const shell = read(job, 'shell') ?? read(root, 'shell');
  const workingDirectory = read(job, 'working-directory') ?? read(root, 'working-directory');
  return {
    ...(shell === undefined ? {} : { shell }),
    ...(workingDirectory === undefined ? {} : { workingDirectory }),
  };
}

/** Names in `given` the callee does not declare, and required ones missing. */
function declaredKeys(
  where: string,
  what: 'input' | 'secret',
  declared: TemplateToken | undefined,
  given: TemplateToken | undefined,
  checkRequired: boolean,
): string[] {
  const problems: string[] = [];
  const names = new Map<string, boolean>();
  if (declared !== undefined && isMapping(declared))
    for (const pair of declared) {
      const required = field(pair.value, 'required');
      names.set(
        String(pair.key).toLowerCase(),
        required !== undefined && 'value' in required && required.value === true,
      );
    }
  const givenNames = new Set<string>();
  if (given !== undefined && isMapping(given))
    for (const pair of given) {
      const name = String(pair.key);
      givenNames.add(name.toLowerCase());
      if (!names.has(name.toLowerCase()))
        problems.push(`${where}: Invalid ${what}, ${name} is not defined in the referenced workflow.`);
    }
  if (checkRequired)
    for (const [name, required] of names)
      if (required && !givenNames.has(name))
        problems.push(
          `${where}: ${what === 'input' ? 'Input' : 'Secret'} ${name} is required, but not provided while calling.`,
        );
  return problems;
}

/**
 * The `inputs` of a called workflow: each declared input from the caller's `with:` (evaluated in
 * the caller's scope) or its default. A boolean input takes a boolean, a number input a number,
 * as GitHub requires; a string input takes any scalar as text.
 */
function callInputs(
  callee: LoadedWorkflow,
  given: TemplateToken | undefined,
  scope: ExpressionScope,
  where: string,
  github: Record<string, unknown>,
): Record<string, unknown> {
  const declared = field(triggerToken(callee, 'workflow_call'), 'inputs');
  const values = new Map<string, TemplateToken>();
  if (given !== undefined && isMapping(given))
    for (const pair of given) values.set(String(pair.key).toLowerCase(), pair.value);
  const inputs: Record<string, unknown> = {};
  if (declared === undefined || !isMapping(declared)) return inputs;
  const defaults = new ExpressionScope({ github, inputs: {}, vars: {} });
  for (const pair of declared) {
    const name = String(pair.key);
    const typeToken = field(pair.value, 'type');
    const type = typeToken !== undefined && isString(typeToken) ? typeToken.value : 'string';
    const token = values.get(name.toLowerCase());
    const def = field(pair.value, 'default');
    let value: unknown;
    if (token !== undefined) value = scope.value(token);
    else if (def !== undefined) value = defaults.value(def);
    else value = type === 'boolean' ? false : type === 'number' ? 0 : '';
    if (type === 'boolean' && typeof value !== 'boolean')
      throw new Error(`${where}: input ${name} is a boolean, got ${JSON.stringify(value)}`);
    if (type === 'number' && typeof value !== 'number')
      throw new Error(`${where}: input ${name} is a number, got ${JSON.stringify(value)}`);
    if (type === 'string') {
      if (typeof value === 'object' && value !== null)
        throw new Error(`${where}: input ${name} is a string, got ${JSON.stringify(value)}`);
      value = value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
    }
    inputs[name] = value;
  }
  return inputs;
}

/** Jobs in an order where each comes after all it needs (file order otherwise). */
function ordered(jobs: readonly WorkflowJob[]): WorkflowJob[] {
  const out: WorkflowJob[] = [];
  const done = new Set<string>();
  const byId = new Map(jobs.map((j) => [j.id.value, j]));
  const visit = (job: WorkflowJob): void => {
    if (done.has(job.id.value)) return;
    done.add(job.id.value);
    for (const n of job.needs ?? []) {
      const dep = byId.get(n.value);
      if (dep !== undefined) visit(dep);
    }
    out.push(job);
  };
  for (const job of jobs) visit(job);
  return out;
}

/** Every job `id` needs, directly or through others: a failure or skip anywhere up the chain counts. */
function ancestorsOf(id: string, jobs: readonly WorkflowJob[]): Set<string> {
  const byId = new Map(jobs.map((j) => [j.id.value, j]));
  const out = new Set<string>();
  const walk = (j: string): void => {
    for (const n of byId.get(j)?.needs ?? []) {
      if (out.has(n.value)) continue;
      out.add(n.value);
      walk(n.value);
    }
  };
  walk(id);
  return out;
}

/** A set of results as one: failure wins, then cancelled; skipped jobs do not fail a run. */
function overall(results: readonly Conclusion[]): Conclusion {
  if (results.includes('failure')) return 'failure';
  if (results.includes('cancelled')) return 'cancelled';
  if (results.length > 0 && results.every((r) => r === 'skipped')) return 'skipped';
  return 'success';
}

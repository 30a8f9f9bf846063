import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runAction, type ActionRuntime } from '@dreamscape/core/actions';
import {
  ActionError,
  FetchHttpClient,
  ProcessCommandRunner,
  systemClock,
  type Logger,
} from '@dreamscape/core';
import { GitHubClient, GitHubDeployments } from '@dreamscape/github';
import {
  Kubectl,
  KubeApiError,
  ProxyApi,
  renderOverlay,
  type ImagePin,
  type Ingress,
  type RenderedOverlay,
} from '@dreamscape/kube';
import {
  assertNoLintErrors,
  BlueGreenDeploy,
  checkCluster,
  checkConfinement,
  checkStrategy,
  clusterScopes,
  offlineScopes,
  releaseNamespace,
  liveFindings,
  dryRun,
  FIELD_MANAGER,
  parseHealthChecks,
  planBlueGreen,
  readLiveColors,
  releaseJson,
  releaseObjects,
  renderReleaseSummary,
  RollingDeploy,
  rollingObjects,
  type BlueGreenPlan,
  type HealthCheck,
  type ReleaseOutcome,
  type Scope,
} from '@dreamscape/release';
import { readInputs, type DeployInputs } from './inputs.js';
import { livePins } from './live-pins.js';
import { renderOfflinePlan, renderPlan, type PlanReport } from './plan-report.js';

/** Renders, checks and deploys; reports outputs, the job summary and the GitHub deployment. */
export async function run(): Promise<void> {
  await runAction(
    withResultOnFailure(async (rt) => {
      const { logger } = rt;
      const inputs = readInputs(rt.inputs, process.env);
      if (inputs.githubToken !== '') logger.setSecret(inputs.githubToken);

      const tempRoot = process.env.RUNNER_TEMP ?? tmpdir();
      mkdirSync(tempRoot, { recursive: true });
      const tempDir = mkdtempSync(join(tempRoot, 'dreamscape-deploy-'));
      const runner = new ProcessCommandRunner({ logger });
      const http = new FetchHttpClient();
      const kubectl = new Kubectl({
        runner,
        logger,
        ...(inputs.kubeconfig === undefined ? {} : { kubeconfig: inputs.kubeconfig }),
        cacheDir: join(tempDir, 'kubectl'),
        fieldManager: FIELD_MANAGER,
      });
      const render = (pins: readonly ImagePin[]): Promise<RenderedOverlay> =>
        renderOverlay({
          overlayDir: inputs.overlay,
          images: pins,
          ...(inputs.namespace === undefined ? {} : { namespace: inputs.namespace }),
          kubectl,
          renderer: inputs.renderer,
          runner,
          logger,
          tempDir,
          workspace: inputs.workspace,
          allowRemoteHosts: inputs.allowRemoteHosts,
        });
      // Nothing outside the release's namespace unless allowed: decided before any request that writes.
      const confine = (
        r: RenderedOverlay,
        scopeOf: (o: RenderedOverlay['objects'][number]) => Scope,
      ): void => {
        checkConfinement(r.objects, {
          namespace: releaseNamespace(r.objects, inputs.namespace, scopeOf),
          allowed: inputs.allowClusterObjects,
          scopeOf,
          source: { what: `The overlay in 'overlay' (${relative(inputs.workspace, inputs.overlay) || '.'})` },
        });
      };
      try {
        let rendered = await logger.group(`Render ${inputs.overlay}`, async () => {
          const r = await render(inputs.images);
          logger.info(
            `${r.renderer}: ${r.objects.length} objects, images: ${r.images.join(', ') || 'none'}.`,
          );
          return r;
        });
        confine(rendered, offlineScopes(rendered.objects));
        const planOf = (r: RenderedOverlay): BlueGreenPlan =>
          planBlueGreen(r.objects, {
            app: inputs.app,
            environment: inputs.environment,
            namespace: inputs.namespace,
            manifestText: r.text,
          });
        let plan = planOf(rendered);

        if (inputs.mode === 'plan' && !hasKubeconfig(inputs)) {
          // No cluster credentials (a pull request from a fork, say): the plan is what the files say.
          await reportPlan(rt, renderOfflinePlan(plan));
          return;
        }

        // One kubectl proxy carries every API call of the run (preflight, lock, history, apply,
        // switch, health checks): milliseconds per call, with kubectl's own credentials.
        const proxy = await kubectl.startProxy();
        try {
          const api = new ProxyApi({ baseUrl: proxy.baseUrl, http, logger, fieldManager: FIELD_MANAGER });
          if (rendered.unpinned.length > 0) {
            // Services not rebuilt this time keep the digest they run now.
            const kept = await livePins(
              api,
              logger,
              rendered.objects,
              rendered.unpinned,
              plan.namespace,
            ).catch((): ImagePin[] => []);
            if (kept.length > 0) {
              rendered = await render([...inputs.images, ...kept]);
              plan = planOf(rendered);
            }
          }
          // The server's discovery knows the scope of kinds the built-in table does not.
          confine(rendered, await clusterScopes(api, rendered.objects));
          for (const f of plan.findings.filter((x) => x.level === 'warning'))
            logger.warning(`${f.object}: ${f.message}`);
          if (inputs.mode === 'deploy') assertNoLintErrors(plan);
          const checks = parseHealthChecks(
            inputs.healthChecks,
            plan.services.map((s) => s.name),
          );
          await deployWith({
            rt,
            inputs,
            kubectl,
            api,
            http,
            proxyBaseUrl: proxy.baseUrl,
            rendered,
            plan,
            checks,
          });
        } catch (error) {
          throw unreachable(error, inputs);
        } finally {
          await proxy.close();
        }
      } finally {
        removeQuietly(tempDir);
      }
    }),
  );
}

/**
 * Every run ends with a `result` output, so a workflow can branch on it: `failed` when an error
 * stops the run before it reports one (bad input, preflight, an API failure outside the engine).
 */
function withResultOnFailure(
  body: (rt: ActionRuntime) => Promise<void>,
): (rt: ActionRuntime) => Promise<void> {
  return async (rt) => {
    const seen = { result: false };
    try {
      await body({
        ...rt,
        setOutput: (name, value) => {
          if (name === 'result') seen.result = true;
          rt.setOutput(name, value);
        },
      });
    } catch (error) {
      if (!seen.result) rt.setOutput('result', 'failed');
      throw error;
    }
  };
}

async function deployWith(o: {
  rt: ActionRuntime;
  inputs: DeployInputs;
  kubectl: Kubectl;
  api: ProxyApi;
  http: FetchHttpClient;
  proxyBaseUrl: string;
  rendered: RenderedOverlay;
  plan: BlueGreenPlan;
  checks: HealthCheck[];
}): Promise<void> {
  const { rt, inputs, kubectl, api, rendered } = o;
  const { logger } = rt;
  const env = process.env;
  const runUrl =
    env.GITHUB_RUN_ID === undefined || env.GITHUB_REPOSITORY === undefined
      ? ''
      : `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`;

  const checked = await logger.group('Preflight', async () => {
    const state = await checkCluster(api, logger, o.plan, kubeconfigSource(inputs));
    await checkStrategy(api, logger, o.plan, inputs.strategy, state.namespaceExists);
    const extra = await liveFindings(api, o.plan, state.namespaceExists);
    const plan: BlueGreenPlan = { ...o.plan, findings: [...o.plan.findings, ...extra] };
    if (inputs.mode === 'deploy') assertNoLintErrors(plan);
    let namespaceExists = state.namespaceExists;
    if (!namespaceExists && inputs.mode === 'deploy') {
      // The one write before the dry run: objects in a namespace that does not exist cannot be
      // validated, and every object must be before anything else is written.
      await api.applyServerSide(plan.shared.filter((x) => x.kind === 'Namespace'));
      logger.info(`Namespace ${plan.namespace} created, so that every object can be validated.`);
      namespaceExists = true;
    }
    const colors = await readLiveColors(api, plan, namespaceExists);
    const objects =
      inputs.strategy === 'rolling' ? rollingObjects(plan, rendered.objects) : releaseObjects(plan, colors);
    const { unchecked } = await dryRun(api, logger, objects, namespaceExists, plan.namespace);
    return { namespaceExists, colors, plan, unchecked };
  });
  const { namespaceExists, colors, plan, unchecked } = checked;

  if (inputs.mode === 'plan') {
    const report = await logger.group('Plan', () =>
      renderPlan({ plan, kubectl, namespaceExists, colors, logger, unchecked }),
    );
    await reportPlan(rt, report);
    return;
  }

  const url = inputs.environmentUrl || ingressUrl(rendered.objects);
  const github = githubDeployments(inputs.githubToken, o.http, logger);
  let deploymentId: number | undefined;
  if (github !== undefined) {
    deploymentId = await github.create({
      ref: env.GITHUB_SHA ?? 'HEAD',
      environment: inputs.environment,
      description: `${inputs.app}: ${plan.deployments.length} services, ${inputs.strategy}`,
      payload: { app: inputs.app, images: Object.fromEntries(inputs.images.map((i) => [i.name, i.digest])) },
    });
    await github.setStatus(deploymentId, { state: 'in_progress', description: 'Deploying', logUrl: runUrl });
  }
  try {
    await release({ rt, inputs, o, plan, url, runUrl, github, deploymentId });
  } catch (error) {
    // Every run that created a deployment ends it: an error that stops the run is `error`.
    if (github !== undefined && deploymentId !== undefined)
      await github
        .setStatus(deploymentId, {
          state: 'error',
          description: `stopped: ${error instanceof Error ? error.message : String(error)}`.slice(0, 140),
          logUrl: runUrl,
        })
        .catch((statusError: unknown) => {
          logger.warning(`Could not mark the GitHub deployment as failed: ${String(statusError)}`);
        });
    throw error;
  }
}

async function release(x: {
  rt: ActionRuntime;
  inputs: DeployInputs;
  o: {
    kubectl: Kubectl;
    api: ProxyApi;
    http: FetchHttpClient;
    proxyBaseUrl: string;
    rendered: RenderedOverlay;
    checks: HealthCheck[];
  };
  plan: BlueGreenPlan;
  url: string;
  runUrl: string;
  github: GitHubDeployments | undefined;
  deploymentId: number | undefined;
}): Promise<void> {
  const { rt, inputs, o, plan, url, runUrl, github, deploymentId } = x;
  const { kubectl, api, rendered } = o;
  const { logger } = rt;
  const env = process.env;
  const common = {
    plan,
    manifestText: rendered.text,
    checks: o.checks,
    checksText: inputs.healthChecksText,
    kubectl,
    api,
    http: o.http,
    proxyBaseUrl: o.proxyBaseUrl,
    logger,
    clock: systemClock,
    holder: { id: `${env.GITHUB_REPOSITORY ?? 'local'}#${env.GITHUB_RUN_ID ?? String(process.pid)}`, runUrl },
    run: {
      commit: env.GITHUB_SHA ?? '',
      runId: env.GITHUB_RUN_ID ?? '',
      runUrl,
      actor: env.GITHUB_ACTOR ?? '',
    },
    rolloutTimeoutMs: inputs.rolloutTimeoutMs,
    verifyWindowMs: inputs.verifyWindowMs,
    lockWaitMs: inputs.lockTimeoutMs,
    lockTtlMs: inputs.lockTtlMs,
  };
  const outcome: ReleaseOutcome =
    inputs.strategy === 'rolling'
      ? await new RollingDeploy({ ...common, objects: rendered.objects }).run()
      : await new BlueGreenDeploy({ ...common, previous: inputs.previous }).run();

  rt.setOutput('result', outcome.result);
  rt.setOutput('revision', String(outcome.revision));
  rt.setOutput('active-color', outcome.activeColor ?? '');
  rt.setOutput('previous-color', outcome.previousColor ?? '');
  rt.setOutput('release', releaseJson(outcome));
  rt.setOutput('url', url);
  await rt.appendSummary(renderReleaseSummary(outcome, 'Deploy'));
  if (github !== undefined && deploymentId !== undefined) {
    await github.setStatus(deploymentId, {
      state: outcome.result === 'promoted' ? 'success' : 'failure',
      description: `${outcome.result}: revision ${outcome.revision}`,
      environmentUrl: url,
      logUrl: runUrl,
    });
  }
  if (outcome.result !== 'promoted') throw new ActionError(`Deploy ${outcome.result}: ${outcome.message}`);
  logger.info(`Revision ${outcome.revision} is live in ${outcome.activeColor ?? 'place'}.`);
}

/** Writes the plan's outputs and summary; fails the step when the plan has problems that would stop a deploy. */
async function reportPlan(rt: ActionRuntime, report: PlanReport): Promise<void> {
  rt.setOutput('result', 'planned');
  rt.setOutput('plan', report.markdown);
  rt.setOutput('plan-errors', String(report.errors));
  await rt.appendSummary(report.markdown);
  rt.logger.info('Plan mode: nothing was written.');
  if (report.errors > 0)
    throw new ActionError(
      `The plan found ${report.errors} problem${report.errors === 1 ? '' : 's'} that would stop this deploy (see the plan).`,
    );
}

/** Whether kubectl has credentials to use: the input, KUBECONFIG, or ~/.kube/config. */
function hasKubeconfig(inputs: DeployInputs): boolean {
  return inputs.kubeconfig !== undefined || existsSync(join(homedir(), '.kube', 'config'));
}

function kubeconfigSource(inputs: DeployInputs): string {
  return inputs.kubeconfig === undefined ? 'the default kubeconfig' : `the kubeconfig ${inputs.kubeconfig}`;
}

/** kubectl proxy answers 502/503 without a Status body when the API server cannot be reached. */
function unreachable(error: unknown, inputs: DeployInputs): unknown {
  if (error instanceof KubeApiError && (error.reason === 'HTTP502' || error.reason === 'HTTP503'))
    return new ActionError(
      `The cluster could not be reached with ${kubeconfigSource(inputs)}: ${error.message}`,
      {
        hint: 'Check the `kubeconfig` input (or KUBECONFIG) and that the API server is reachable from the runner.',
        cause: error,
      },
    );
  return error;
}

function githubDeployments(
  token: string,
  http: FetchHttpClient,
  logger: Logger,
): GitHubDeployments | undefined {
  const repository = process.env.GITHUB_REPOSITORY;
  if (token === '' || repository === undefined || repository === '') return undefined;
  const client = new GitHubClient({ token, apiUrl: process.env.GITHUB_API_URL, http, logger });
  return new GitHubDeployments(client, repository, logger);
}

/** `https://<host>` of the first Ingress rule, when the overlay has one. */
function ingressUrl(objects: readonly { kind: string }[]): string {
  const ingress = objects.find((o): o is Ingress => o.kind === 'Ingress');
  const host = ingress?.spec?.rules?.find((r) => r.host !== undefined)?.host;
  return host === undefined ? '' : `https://${host}`;
}

/** Cleans up the run's temporary files; a kubectl still exiting must not turn a result into an error. */
function removeQuietly(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  } catch {
    // The runner deletes RUNNER_TEMP after the job anyway.
  }
}

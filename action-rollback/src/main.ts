import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction, type ActionRuntime } from '@dreamscape/core/actions';
import {
  ActionError,
  FetchHttpClient,
  parseYamlText,
  ProcessCommandRunner,
  systemClock,
  type Logger,
} from '@dreamscape/core';
import { GitHubClient, GitHubDeployments } from '@dreamscape/github';
import {
  Kubectl,
  KubeApiError,
  parseManifests,
  ProxyApi,
  type Deployment,
  type Secret,
  type Service,
} from '@dreamscape/kube';
import {
  APP_LABEL,
  BlueGreenDeploy,
  checkConfinement,
  clusterScopes,
  coloredName,
  ENVIRONMENT_LABEL,
  FIELD_MANAGER,
  findRollbackTarget,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  otherColor,
  parseHealthChecks,
  planBlueGreen,
  RELEASE_SECRET_TYPE,
  ReleaseHistory,
  releaseJson,
  renderReleaseSummary,
  rollbackRolling,
  selectorColor,
  TEMPLATE_HASH_ANNOTATION,
  templateHash,
  unpackManifest,
  type ReleaseOutcome,
  type ReleaseRecord,
} from '@dreamscape/release';
import { checkImagesExist } from './image-check.js';
import { readInputs, type RollbackInputs } from './inputs.js';

/** One app's rollback, as reported. */
interface AppResult {
  readonly app: string;
  readonly result: 'rolled-back' | 'already-current' | 'failed' | 'planned';
  readonly from: number;
  readonly to: number;
  readonly outcome: ReleaseOutcome | undefined;
  readonly message: string;
}

/** Finds the target revision, switches back (or re-applies), verifies and reports. */
export async function run(): Promise<void> {
  await runAction(
    withResultOnFailure(async (rt) => {
      const { logger } = rt;
      const inputs = readInputs(rt.inputs, process.env);
      if (inputs.githubToken !== '') logger.setSecret(inputs.githubToken);
      if (inputs.registryPassword !== '') logger.setSecret(inputs.registryPassword);
      const env = process.env;
      const runUrl =
        env.GITHUB_RUN_ID === undefined || env.GITHUB_REPOSITORY === undefined
          ? ''
          : `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`;
      const tempRoot = env.RUNNER_TEMP ?? tmpdir();
      mkdirSync(tempRoot, { recursive: true });
      const tempDir = mkdtempSync(join(tempRoot, 'dreamscape-rollback-'));
      const http = new FetchHttpClient();
      const kubectl = new Kubectl({
        runner: new ProcessCommandRunner({ logger }),
        logger,
        ...(inputs.kubeconfig === undefined ? {} : { kubeconfig: inputs.kubeconfig }),
        cacheDir: join(tempDir, 'kubectl'),
        fieldManager: FIELD_MANAGER,
      });
      // One kubectl proxy carries every read and write: a rollback must take seconds, not a kubectl
      // process per call.
      const proxy = await kubectl.startProxy();
      try {
        const api = new ProxyApi({ baseUrl: proxy.baseUrl, http, logger, fieldManager: FIELD_MANAGER });
        const scopes = await findScopes(api, inputs, logger);
        const results: AppResult[] = [];
        for (const scope of scopes) {
          results.push(
            await logger.group(`Roll back ${scope.app} in ${inputs.environment}`, () =>
              rollbackApp({ scope, inputs, api, kubectl, http, logger, proxyBaseUrl: proxy.baseUrl, runUrl }),
            ),
          );
        }

        const overall: AppResult['result'] = results.every((r) => r.result === 'already-current')
          ? 'already-current'
          : results.some((r) => r.result === 'failed')
            ? 'failed'
            : inputs.mode === 'plan'
              ? 'planned'
              : 'rolled-back';
        const first = results[0];
        rt.setOutput('result', overall);
        rt.setOutput('from-revision', results.map((r) => String(r.from)).join(','));
        rt.setOutput('to-revision', results.map((r) => String(r.to)).join(','));
        rt.setOutput('active-color', results.map((r) => r.outcome?.activeColor ?? '').join(','));
        const json = results.map((r) =>
          r.outcome === undefined
            ? { app: r.app, result: r.result, message: r.message, fromRevision: r.from, toRevision: r.to }
            : {
                ...(JSON.parse(releaseJson(r.outcome)) as object),
                result: r.result,
                fromRevision: r.from,
                toRevision: r.to,
              },
        );
        rt.setOutput('release', JSON.stringify(json.length === 1 ? json[0] : json));
        for (const r of results) {
          if (r.outcome !== undefined)
            await rt.appendSummary(
              renderReleaseSummary(
                { ...r.outcome, message: `${r.result}: ${r.message}` },
                `Rollback ${r.from} → ${r.to}`,
              ),
            );
          else
            await rt.appendSummary(
              `### Rollback: ${r.app} → ${inputs.environment} — ${r.result}\n\n${r.message}\n`,
            );
        }
        const failed = results.filter((r) => r.result === 'failed');
        if (failed.length > 0)
          throw new ActionError(`Rollback failed: ${failed.map((f) => `${f.app}: ${f.message}`).join('; ')}`);
        if (first !== undefined)
          logger.info(
            `Done: ${results.map((r) => `${r.app} ${r.result} (${r.from} → ${r.to})`).join(', ')}.`,
          );
      } catch (error) {
        throw translateUnreachable(error, inputs);
      } finally {
        await proxy.close();
        try {
          rmSync(tempDir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
        } catch {
          // the runner removes its temp directory after the job
        }
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

interface Scope {
  readonly app: string;
  readonly namespace: string;
}

/** The (app, namespace) pairs whose history records this environment. */
async function findScopes(api: ProxyApi, inputs: RollbackInputs, logger: Logger): Promise<Scope[]> {
  const selector = `${ENVIRONMENT_LABEL}=${inputs.environment},${MANAGED_BY_LABEL}=${MANAGED_BY}${inputs.app === 'all' ? '' : `,${APP_LABEL}=${inputs.app}`}`;
  const { items } = await api.list<Secret>('secrets', {
    ...(inputs.namespace === undefined ? {} : { namespace: inputs.namespace }),
    labelSelector: selector,
  });
  const records = items.filter((s) => s.type === RELEASE_SECRET_TYPE);
  if (records.length === 0) {
    const all = await api
      .list<Secret>('secrets', { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` })
      .catch(() => ({ items: [] as Secret[] }));
    const known = [
      ...new Set(
        all.items
          .filter((s) => s.type === RELEASE_SECRET_TYPE)
          .map(
            (s) =>
              `${s.metadata.labels?.[APP_LABEL] ?? '?'} in ${s.metadata.labels?.[ENVIRONMENT_LABEL] ?? '?'}`,
          ),
      ),
    ].sort();
    throw new ActionError(
      `No release of ${inputs.app === 'all' ? 'any app' : `app '${inputs.app}'`} is recorded for environment '${inputs.environment}'${inputs.namespace === undefined ? '' : ` in namespace ${inputs.namespace}`}. Recorded: ${known.length === 0 ? 'nothing' : known.join(', ')}.`,
      { hint: 'Check the `environment` and `app` inputs: they must match what action-deploy was given.' },
    );
  }
  const scopes = new Map<string, Scope>();
  for (const s of records) {
    const app = s.metadata.labels?.[APP_LABEL] ?? '';
    const namespace = s.metadata.namespace ?? '';
    scopes.set(`${app}/${namespace}`, { app, namespace });
  }
  const byApp = new Map<string, string[]>();
  for (const s of scopes.values()) byApp.set(s.app, [...(byApp.get(s.app) ?? []), s.namespace]);
  for (const [app, namespaces] of byApp)
    if (namespaces.length > 1)
      throw new ActionError(
        `App '${app}' has releases for '${inputs.environment}' in ${namespaces.length} namespaces (${namespaces.join(', ')}).`,
        {
          hint: 'Set the `namespace` input.',
        },
      );
  logger.info(`History found: ${[...scopes.values()].map((s) => `${s.app} in ${s.namespace}`).join(', ')}.`);
  return [...scopes.values()].sort((a, b) => a.app.localeCompare(b.app));
}

async function rollbackApp(o: {
  scope: Scope;
  inputs: RollbackInputs;
  api: ProxyApi;
  kubectl: Kubectl;
  http: FetchHttpClient;
  logger: Logger;
  proxyBaseUrl: string;
  runUrl: string;
}): Promise<AppResult> {
  const { scope, inputs, api, logger } = o;
  const history = new ReleaseHistory(api, logger, {
    app: scope.app,
    environment: inputs.environment,
    namespace: scope.namespace,
  });
  const where = `app '${scope.app}' in '${inputs.environment}'`;
  const recorded = await history.list();
  const found = findRollbackTarget(recorded, inputs.to, where, process.env.GITHUB_RUN_ID ?? '');
  let { current, target } = found;
  if (found.repeated === true) {
    const to = current.rollbackTo ?? current.revision;
    if (await isAlreadyCurrent(api, scope, current, target)) {
      logger.notice(
        `An earlier attempt of this run already rolled back to revision ${to} (as revision ${current.revision}), and it is what runs now: nothing to do.`,
      );
      return {
        app: scope.app,
        result: 'already-current',
        from: current.previousRevision,
        to,
        outcome: undefined,
        message: `an earlier attempt of this run rolled back to revision ${to}`,
      };
    }
    // Its Services were moved since: the same rollback again, to the same revision.
    logger.notice(
      `An earlier attempt of this run rolled back to revision ${to}, but it no longer serves; returning to it again.`,
    );
    ({ current, target } = findRollbackTarget(
      recorded.filter((s) => s.record.revision !== current.revision),
      recorded.some((s) => s.record.revision === to) ? to : 'previous',
      where,
    ));
  }
  logger.info(
    `Live: revision ${current.revision}${current.color === undefined ? '' : ` (${current.color})`}; target: revision ${target.revision}.`,
  );

  if (await isAlreadyCurrent(api, scope, current, target)) {
    logger.notice(`Revision ${target.revision} is what runs now: nothing to roll back.`);
    return {
      app: scope.app,
      result: 'already-current',
      from: current.revision,
      to: target.revision,
      outcome: undefined,
      message: `revision ${target.revision} is already live`,
    };
  }
  await checkRecordedConfinement(api, scope, target, inputs);
  const checksText =
    o.inputs.healthChecks === undefined ? target.checks : JSON.stringify(o.inputs.healthChecks);
  const checksValue: unknown =
    o.inputs.healthChecks ??
    (target.checks === ''
      ? undefined
      : parseYamlText(target.checks, `the checks recorded with revision ${target.revision}`));
  const checks = parseHealthChecks(
    checksValue,
    target.services.map((s) => s.name),
    o.inputs.healthChecks === undefined
      ? `the checks recorded with revision ${target.revision}`
      : 'health-checks',
  );

  if (inputs.verifyImages) {
    const logins =
      inputs.registryPassword === ''
        ? []
        : registriesOf(target).map((registry) => ({
            registry,
            username: inputs.registryUsername,
            password: inputs.registryPassword,
          }));
    await checkImagesExist(Object.values(target.images), logger, logins, target.revision);
  }

  if (inputs.mode === 'plan') {
    const path = await plannedPath(api, scope, current, target);
    return {
      app: scope.app,
      result: 'planned',
      from: current.revision,
      to: target.revision,
      outcome: undefined,
      message: `would roll back ${current.revision} → ${target.revision} by the ${path}`,
    };
  }

  const env = process.env;
  const holder = {
    id: `${env.GITHUB_REPOSITORY ?? 'local'}#${env.GITHUB_RUN_ID ?? String(process.pid)}`,
    runUrl: o.runUrl,
  };
  const run = {
    commit: target.commit,
    runId: env.GITHUB_RUN_ID ?? '',
    runUrl: o.runUrl,
    actor: env.GITHUB_ACTOR ?? '',
  };
  const github = githubDeployments(inputs.githubToken, o.http, logger);
  const deploymentId = await github?.create({
    ref: target.commit === '' ? 'HEAD' : target.commit,
    environment: inputs.environment,
    description: `rollback of ${scope.app} to revision ${target.revision}`,
    payload: { app: scope.app, rollbackTo: target.revision, reason: inputs.reason },
  });
  if (github !== undefined && deploymentId !== undefined)
    await github.setStatus(deploymentId, {
      state: 'in_progress',
      description: `Rolling back to ${target.revision}`,
      logUrl: o.runUrl,
    });

  let outcome: ReleaseOutcome;
  try {
    outcome = await runRollback({ ...o, current, target, checks, checksText, holder, run });
  } catch (error) {
    // Every run that created a deployment ends it: an error that stops the run is `error`.
    if (github !== undefined && deploymentId !== undefined)
      await github
        .setStatus(deploymentId, {
          state: 'error',
          description: `stopped: ${error instanceof Error ? error.message : String(error)}`.slice(0, 140),
          logUrl: o.runUrl,
        })
        .catch((statusError: unknown) => {
          logger.warning(`Could not mark the GitHub deployment as failed: ${String(statusError)}`);
        });
    throw error;
  }
  const result: AppResult['result'] =
    outcome.path === 'already-live'
      ? 'already-current'
      : outcome.result === 'promoted'
        ? 'rolled-back'
        : 'failed';
  if (github !== undefined && deploymentId !== undefined)
    await github.setStatus(deploymentId, {
      state: result === 'failed' ? 'failure' : 'success',
      description: `${result}: revision ${target.revision}`,
      logUrl: o.runUrl,
    });
  return {
    app: scope.app,
    result,
    from: current.revision,
    to: target.revision,
    outcome,
    message: outcome.message,
  };
}

/** The engine of the target's strategy, returning to the target's recorded manifest. */
async function runRollback(o: {
  scope: Scope;
  inputs: RollbackInputs;
  api: ProxyApi;
  kubectl: Kubectl;
  http: FetchHttpClient;
  logger: Logger;
  proxyBaseUrl: string;
  runUrl: string;
  current: ReleaseRecord;
  target: ReleaseRecord;
  checks: ReturnType<typeof parseHealthChecks>;
  checksText: string;
  holder: { id: string; runUrl: string };
  run: { commit: string; runId: string; runUrl: string; actor: string };
}): Promise<ReleaseOutcome> {
  const { scope, inputs, api, logger, current, target, checks, checksText, holder, run } = o;
  let outcome: ReleaseOutcome;
  if (target.strategy === 'rolling') {
    outcome = await rollbackRolling({
      current,
      target,
      reason: inputs.reason,
      checks,
      checksText,
      kubectl: o.kubectl,
      api,
      http: o.http,
      proxyBaseUrl: o.proxyBaseUrl,
      logger,
      clock: systemClock,
      holder,
      run,
      rolloutTimeoutMs: inputs.rolloutTimeoutMs,
      verifyWindowMs: inputs.verifyWindowMs,
      lockWaitMs: inputs.lockTimeoutMs,
      lockTtlMs: inputs.lockTtlMs,
    });
  } else {
    // The exact manifest recorded with the target revision, not a re-render.
    const manifestText = unpackManifest(target);
    const plan = planBlueGreen(parseManifests(manifestText, `revision ${target.revision}`), {
      app: scope.app,
      environment: inputs.environment,
      // The namespace the record was read from, never the one it names (ReleaseHistory refuses a
      // record naming another, and this holds even if it did not).
      namespace: scope.namespace,
      manifestText,
    });
    outcome = await new BlueGreenDeploy({
      plan,
      manifestText,
      checks,
      checksText,
      kubectl: o.kubectl,
      api,
      http: o.http,
      proxyBaseUrl: o.proxyBaseUrl,
      logger,
      clock: systemClock,
      holder,
      run,
      rolloutTimeoutMs: inputs.rolloutTimeoutMs,
      verifyWindowMs: inputs.verifyWindowMs,
      previous: 'keep',
      lockWaitMs: inputs.lockTimeoutMs,
      lockTtlMs: inputs.lockTtlMs,
      release: { kind: 'rollback', to: target.revision, reason: inputs.reason },
    }).run();
  }
  return outcome;
}

/**
 * A recorded manifest is held to the rule a deploy is (ADR 6): nothing outside its namespace unless
 * `allow-cluster-objects` lists it. A record is a Secret that whoever may write Secrets in the
 * namespace could edit, and one written before the rule may hold what a deploy now refuses.
 */
async function checkRecordedConfinement(
  api: ProxyApi,
  scope: Scope,
  target: ReleaseRecord,
  inputs: RollbackInputs,
): Promise<void> {
  const objects = parseManifests(unpackManifest(target), `revision ${target.revision}`);
  checkConfinement(objects, {
    namespace: scope.namespace,
    allowed: inputs.allowClusterObjects,
    scopeOf: await clusterScopes(api, objects),
    source: { what: `The manifest recorded with revision ${target.revision} (the rollback target)` },
  });
}

/** True when the target release is exactly what the cluster serves now (nothing would change). */
async function isAlreadyCurrent(
  api: ProxyApi,
  scope: Scope,
  current: ReleaseRecord,
  target: ReleaseRecord,
): Promise<boolean> {
  if (target.manifestHash !== current.manifestHash) return false;
  if (target.strategy === 'rolling') return true;
  const { items } = await api.list<Service>('services', { namespace: scope.namespace });
  const byName = new Map(items.map((s) => [s.metadata.name, s]));
  return current.services.every((s) => selectorColor(byName.get(s.name)) === current.color);
}

/** Which path a rollback would take, without writing. */
async function plannedPath(
  api: ProxyApi,
  scope: Scope,
  current: ReleaseRecord,
  target: ReleaseRecord,
): Promise<string> {
  if (target.strategy === 'rolling') return 'rollout undo';
  if (current.color === undefined) return 're-apply path';
  const idle = otherColor(current.color);
  const manifestText = unpackManifest(target);
  const plan = planBlueGreen(parseManifests(manifestText, `revision ${target.revision}`), {
    app: target.app,
    environment: target.environment,
    namespace: scope.namespace,
    manifestText,
  });
  const { items } = await api.list<Deployment>('deployments', { namespace: scope.namespace });
  const byName = new Map(items.map((d) => [d.metadata.name, d]));
  const matches = plan.deployments.every(
    (d) =>
      byName.get(coloredName(d.name, idle))?.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION] ===
      templateHash(d),
  );
  if (!matches) return `re-apply path (${idle} runs another release)`;
  const scaled = plan.deployments.every(
    (d) => (byName.get(coloredName(d.name, idle))?.status?.availableReplicas ?? 0) >= Math.max(1, d.replicas),
  );
  return scaled ? `fast path (${idle} still runs it, Ready)` : `warm-up path (${idle} runs it, scaled down)`;
}

/** The registries the target release pulls from (the part of each image before the first slash). */
function registriesOf(target: ReleaseRecord): string[] {
  return [...new Set(Object.values(target.images).map((i) => i.split('/')[0] ?? ''))].filter(
    (r) => r.includes('.') || r.includes(':'),
  );
}

function githubDeployments(
  token: string,
  http: FetchHttpClient,
  logger: Logger,
): GitHubDeployments | undefined {
  const repository = process.env.GITHUB_REPOSITORY;
  if (token === '' || repository === undefined || repository === '') return undefined;
  return new GitHubDeployments(
    new GitHubClient({ token, apiUrl: process.env.GITHUB_API_URL, http, logger }),
    repository,
    logger,
  );
}

/** kubectl proxy answers 502/503 without a Status body when the API server cannot be reached. */
function translateUnreachable(error: unknown, inputs: RollbackInputs): unknown {
  if (error instanceof KubeApiError && (error.reason === 'HTTP502' || error.reason === 'HTTP503'))
    return new ActionError(
      `The cluster could not be reached with ${inputs.kubeconfig === undefined ? 'the default kubeconfig' : `the kubeconfig ${inputs.kubeconfig}`}: ${error.message}`,
      {
        hint: 'Check the `kubeconfig` input (or KUBECONFIG) and that the API server is reachable from the runner.',
        cause: error,
      },
    );
  return error;
}

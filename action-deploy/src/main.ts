import { runAction, withResultOnFailure, type ActionRuntime } from '@dreamscape/core/actions';
import { ActionError, FetchHttpClient, makeRunTempDir, ProcessCommandRunner } from '@dreamscape/core';
import { runDeployments, trackDeployment } from '@dreamscape/github';
import { RegistryClient, registryReferrers } from '@dreamscape/image';
import {
  acceptedVerdictsSection,
  judgeScannedImages,
  requireScannedImages,
  type ReferrerStore,
} from '@dreamscape/scan';
import { hasKubeconfig, kubeconfigSource, runKubectl, withClusterSession } from '@dreamscape/kube';
import {
  canaryRelease,
  executeRelease,
  FIELD_MANAGER,
  ingressUrl,
  parseHealthChecks,
  planForContinuation,
  planWithoutCluster,
  preflightRelease,
  releaseJson,
  renderRelease,
  renderReleaseSummary,
  settleRelease,
  type ReleaseOutcome,
} from '@dreamscape/release';
import { readInputs, type DeployInputs } from './inputs.js';
import { renderOfflinePlan, renderPlan, type PlannedScan, type PlanReport } from './plan-report.js';

/** Renders, checks and deploys; reports outputs, the job summary and the GitHub deployment. */
export async function run(): Promise<void> {
  await runAction(
    withResultOnFailure(async (rt) => {
      const { logger } = rt;
      const inputs = readInputs(rt.inputs, rt.env);
      if (inputs.githubToken !== '') logger.setSecret(inputs.githubToken);
      if (inputs.registryCredentials !== undefined) logger.setSecret(inputs.registryCredentials.password);
      const tempDir = makeRunTempDir(rt.run, 'dreamscape-deploy-');
      try {
        await deploy(rt, inputs, tempDir.path);
      } finally {
        tempDir.remove();
      }
    }),
  );
}

async function deploy(rt: ActionRuntime, inputs: DeployInputs, tempDir: string): Promise<void> {
  const { logger } = rt;
  const runner = new ProcessCommandRunner({ logger });
  const http = new FetchHttpClient();
  const session = {
    runner,
    http,
    logger,
    kubeconfig: inputs.kubeconfig,
    tempDir,
    fieldManager: FIELD_MANAGER,
  };
  const kubectl = runKubectl(session);
  const source = inputs;
  const tools = { kubectl, runner, logger, tempDir, path: rt.env.PATH ?? '' };
  const what = inputs.chart === undefined ? inputs.overlay : `chart ${inputs.chart.chart}`;
  const rendered = await logger.group(`Render ${what}`, async () => {
    const r = await renderRelease(source, tools);
    logger.info(
      `${r.rendered.renderer}: ${r.rendered.objects.length} objects, images: ${r.rendered.images.join(', ') || 'none'}.`,
    );
    for (const h of r.plan.hooks)
      logger.info(`${h.phase} Job ${h.name}${h.firstOnly ? ' (first release only)' : ''}.`);
    for (const s of r.plan.skippedHooks) logger.notice(`${s.object} is not applied: ${s.reason}.`);
    return r;
  });

  if (inputs.mode === 'plan' && !hasKubeconfig(inputs.kubeconfig)) {
    // No cluster credentials (a pull request's check): the plan is what the files say, and the
    // verdicts of the images pinned by digest, since reading those needs the registry, not the
    // cluster. What needs a digest or the cluster is reported as not checked.
    const offline = planWithoutCluster(rendered, { requireScan: inputs.scan !== undefined });
    const scanned = await planScan(inputs, offline.pinned, { http, logger });
    await reportPlan(
      rt,
      renderOfflinePlan(offline, { runnerTemp: rt.env.RUNNER_TEMP, source: rendered.source, scan: scanned }),
    );
    return;
  }

  // One kubectl proxy carries every API call of the run (preflight, lock, history, apply, switch,
  // health checks): milliseconds per call, with kubectl's own credentials.
  await withClusterSession({ ...session, kubectl }, async ({ api, proxyBaseUrl }) => {
    const mode = inputs.mode === 'plan' ? 'plan' : 'deploy';
    const continuation = inputs.mode === 'promote' || inputs.mode === 'abort' ? inputs.mode : undefined;
    const release = await settleRelease(rendered, source, { ...tools, api, mode });
    // Every image the release would run (pinned now, kept ones included), judged before any write.
    const scan = inputs.scan;
    const scanNow = Date.now();
    const accepted =
      scan !== undefined && mode === 'deploy' && continuation !== 'abort'
        ? await logger.group('Scan verdicts', () =>
            requireScannedImages(
              release.rendered.images,
              verdictStore(inputs, scan, { http, logger }),
              scan,
              {
                now: scanNow,
                logger,
              },
            ),
          )
        : undefined;
    const scanned =
      mode === 'plan' ? await planScan(inputs, release.rendered.images, { http, logger }) : undefined;
    const services = release.plan.services.map((s) => s.name);
    const checks = parseHealthChecks(inputs.healthChecks, services);
    // The canary's settings and its router's object in the overlay, refused before any write.
    const canary =
      inputs.strategy === 'canary'
        ? canaryRelease(inputs.canary, services, release.rendered.objects)
        : undefined;
    const checked = await logger.group('Preflight', () =>
      preflightRelease({
        api,
        logger,
        release: { ...release, plan: planForContinuation(release.plan, canary, continuation) },
        strategy: inputs.strategy,
        mode,
        kubeconfigSource: kubeconfigSource(inputs.kubeconfig),
        ...(canary === undefined ? {} : { router: canary.settings.router }),
        ...(continuation === undefined ? {} : { continuation }),
      }),
    );

    if (inputs.mode === 'plan') {
      const report = await logger.group('Plan', () =>
        renderPlan({
          ...checked,
          kubectl,
          logger,
          runnerTemp: rt.env.RUNNER_TEMP,
          source: release.source,
          scan: scanned,
        }),
      );
      await reportPlan(rt, report);
      return;
    }

    const url = inputs.environmentUrl || ingressUrl(release.rendered.objects);
    const deployments = runDeployments({ token: inputs.githubToken, run: rt.run, http, logger });
    const outcome = await trackDeployment(
      deployments,
      {
        deployment: {
          ref: rt.run.sha || 'HEAD',
          environment: inputs.environment,
          description: `${inputs.app}: ${checked.plan.deployments.length} services, ${inputs.strategy}`,
          payload: {
            app: inputs.app,
            images: Object.fromEntries(inputs.images.map((i) => [i.name, i.digest])),
          },
        },
        inProgress: 'Deploying',
        logUrl: rt.run.runUrl,
        final: (o: ReleaseOutcome) => ({
          state: o.result === 'promoted' ? 'success' : o.result === 'paused' ? 'in_progress' : 'failure',
          description: `${o.result}: revision ${o.revision}`,
          environmentUrl: url,
        }),
      },
      logger,
      () =>
        executeRelease(
          { ...release, plan: checked.plan },
          {
            strategy: inputs.strategy,
            ...(canary === undefined ? {} : { canary }),
            ...(continuation === undefined ? {} : { continuation }),
            previous: inputs.previous,
            checks,
            checksText: inputs.healthChecksText,
            rolloutTimeoutMs: inputs.rolloutTimeoutMs,
            verifyWindowMs: inputs.verifyWindowMs,
            lockWaitMs: inputs.lockTimeoutMs,
            lockTtlMs: inputs.lockTtlMs,
            hooks: { timeoutMs: inputs.jobTimeoutMs, onPostDeployFailure: inputs.postDeployFailure },
          },
          {
            api,
            kubectl,
            http,
            proxyBaseUrl,
            logger,
            run: rt.run,
          },
        ),
    );
    await reportOutcome(
      rt,
      outcome,
      url,
      continuation,
      accepted === undefined ? undefined : acceptedVerdictsSection(accepted, scanNow).join('\n'),
    );
  });
}

/** Where verdicts are read: the images' registries, with the credentials sent to `scan-registry` alone. */
function verdictStore(
  inputs: DeployInputs,
  scan: NonNullable<DeployInputs['scan']>,
  o: { readonly http: FetchHttpClient; readonly logger: ActionRuntime['logger'] },
): ReferrerStore {
  const client = new RegistryClient({
    http: o.http,
    logger: o.logger,
    logins:
      inputs.registryCredentials === undefined
        ? []
        : [{ registry: scan.registry, ...inputs.registryCredentials }],
  });
  return registryReferrers(client, { logger: o.logger });
}

/** Plan mode with `require-scan`: every image judged as a deploy would judge it, for the report; nothing refused. */
async function planScan(
  inputs: DeployInputs,
  images: readonly string[],
  o: { readonly http: FetchHttpClient; readonly logger: ActionRuntime['logger'] },
): Promise<PlannedScan | undefined> {
  const scan = inputs.scan;
  if (scan === undefined) return undefined;
  return o.logger.group('Scan verdicts', async () => {
    const now = Date.now();
    const checks = await judgeScannedImages(images, verdictStore(inputs, scan, o), scan, {
      now,
      logger: o.logger,
    });
    return { checks, requirement: scan, now };
  });
}

/** The release's outputs and summary; fails the step when it was not promoted (or paused, or aborted as asked). */
async function reportOutcome(
  rt: ActionRuntime,
  outcome: ReleaseOutcome,
  url: string,
  continuation: 'promote' | 'abort' | undefined,
  /** More of the summary, after the release's: the scan verdicts a deploy accepted. */
  more?: string,
): Promise<void> {
  rt.setOutput('result', outcome.result);
  rt.setOutput('revision', String(outcome.revision));
  rt.setOutput('active-color', outcome.activeColor ?? '');
  rt.setOutput('previous-color', outcome.previousColor ?? '');
  rt.setOutput('release', releaseJson(outcome));
  rt.setOutput('url', url);
  await rt.appendSummary(renderReleaseSummary(outcome, 'Deploy'));
  if (more !== undefined) await rt.appendSummary(more);
  if (outcome.result === 'paused') {
    rt.logger.notice(
      `Revision ${outcome.revision} waits for approval: run this deploy again with \`mode: promote\` to go on, or \`mode: abort\` to stop it.`,
    );
    return;
  }
  if (continuation === 'abort' && outcome.result === 'rolled-back') {
    rt.logger.info(
      `Revision ${outcome.revision} aborted; ${outcome.activeColor ?? 'the live color'} stays live.`,
    );
    return;
  }
  if (outcome.result !== 'promoted') throw new ActionError(`Deploy ${outcome.result}: ${outcome.message}`);
  rt.logger.info(`Revision ${outcome.revision} is live in ${outcome.activeColor ?? 'place'}.`);
}

/** Writes the plan's outputs and summary; fails the step when the plan has problems that would stop a deploy. */
async function reportPlan(rt: ActionRuntime, report: PlanReport): Promise<void> {
  rt.setOutput('result', 'planned');
  rt.setOutput('plan', report.markdown);
  rt.setOutput('plan-errors', String(report.errors));
  rt.setOutput('not-checked', String(report.notChecked.length));
  await rt.appendSummary(report.markdown);
  if (report.notChecked.length > 0) {
    for (const n of report.notChecked)
      rt.logger.info(
        `Not checked: ${n.check === 'digest' ? 'digest of ' : n.check === 'scan-verdict' ? 'scan verdict of ' : ''}${n.subject}: ${n.reason}.`,
      );
    rt.logger.notice(
      `The plan could not make ${String(report.notChecked.length)} check${report.notChecked.length === 1 ? '' : 's'}: left to a deploy, not failed (see Not checked in the plan).`,
    );
  }
  if (report.scanRefusals > 0)
    rt.logger.warning(
      `require-scan: a deploy would refuse ${String(report.scanRefusals)} image${report.scanRefusals === 1 ? '' : 's'} of this release (see Scan verdicts in the plan).`,
    );
  rt.logger.info('Plan mode: nothing was written.');
  if (report.errors > 0)
    throw new ActionError(
      `The plan found ${report.errors} problem${report.errors === 1 ? '' : 's'} that would stop this deploy (see the plan).`,
    );
}

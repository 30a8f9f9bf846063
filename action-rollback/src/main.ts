import { runAction, withResultOnFailure, type ActionRuntime } from '@dreamscape/core/actions';
import { ActionError, FetchHttpClient, makeRunTempDir, ProcessCommandRunner } from '@dreamscape/core';
import { runDeployments, trackDeployment } from '@dreamscape/github';
import { checkImagesExist, loginsForImages, RegistryClient, registryReferrers } from '@dreamscape/image';
import { withClusterSession } from '@dreamscape/kube';
import { requireScannedImages } from '@dreamscape/scan';
import {
  findRollbackScopes,
  FIELD_MANAGER,
  overallRollbackResult,
  releaseJson,
  renderReleaseSummary,
  rollbackApp,
  type AppRollbackResult,
  type RollbackContext,
} from '@dreamscape/release';
import { readInputs, type RollbackInputs } from './inputs.js';

/** Finds the target revision, switches back (or re-applies), verifies and reports. */
export async function run(): Promise<void> {
  await runAction(
    withResultOnFailure(async (rt) => {
      const { logger } = rt;
      const inputs = readInputs(rt.inputs, rt.env);
      if (inputs.githubToken !== '') logger.setSecret(inputs.githubToken);
      if (inputs.registryPassword !== '') logger.setSecret(inputs.registryPassword);
      const tempDir = makeRunTempDir(rt.run, 'dreamscape-rollback-');
      const http = new FetchHttpClient();
      try {
        // One kubectl proxy carries every read and write: a rollback must take seconds, not a kubectl
        // process per call.
        const results = await withClusterSession(
          {
            runner: new ProcessCommandRunner({ logger }),
            http,
            logger,
            kubeconfig: inputs.kubeconfig,
            tempDir: tempDir.path,
            fieldManager: FIELD_MANAGER,
          },
          async ({ api, kubectl, proxyBaseUrl }) => {
            const scopes = await findRollbackScopes(api, inputs, logger);
            const ctx: RollbackContext = {
              api,
              kubectl,
              http,
              proxyBaseUrl,
              logger,
              run: rt.run,
              ...(inputs.verifyImages || inputs.scan !== undefined
                ? { verifyTarget: verifyTarget(inputs, logger, http) }
                : {}),
              track: tracked(rt, inputs, http),
            };
            const results: AppRollbackResult[] = [];
            for (const scope of scopes)
              results.push(
                await logger.group(`Roll back ${scope.app} in ${inputs.environment}`, () =>
                  rollbackApp(
                    {
                      scope,
                      environment: inputs.environment,
                      to: inputs.to,
                      reason: inputs.reason,
                      mode: inputs.mode,
                      healthChecks: inputs.healthChecks,
                      allowClusterObjects: inputs.allowClusterObjects,
                      rolloutTimeoutMs: inputs.rolloutTimeoutMs,
                      verifyWindowMs: inputs.verifyWindowMs,
                      lockWaitMs: inputs.lockTimeoutMs,
                      lockTtlMs: inputs.lockTtlMs,
                    },
                    ctx,
                  ),
                ),
              );
            return results;
          },
        );
        await report(rt, inputs, results);
      } finally {
        tempDir.remove();
      }
    }),
  );
}

/**
 * Before anything is written: every image of the target must still be in its registry
 * (`verify-images`), and have a passing, recent verdict (`require-scan`).
 */
function verifyTarget(
  inputs: RollbackInputs,
  logger: ActionRuntime['logger'],
  http: FetchHttpClient,
): RollbackContext['verifyTarget'] {
  return async (target) => {
    const images = [...new Set(Object.values(target.images))];
    const logins = loginsForImages(images, {
      username: inputs.registryUsername,
      password: inputs.registryPassword,
    });
    if (inputs.verifyImages) await checkImagesExist({ images, logger, logins, revision: target.revision });
    if (inputs.scan === undefined) return;
    await requireScannedImages(
      images,
      registryReferrers(new RegistryClient({ http, logger, logins }), { logger }),
      inputs.scan,
      { now: Date.now(), logger },
    );
  };
}

/** Each app's rollback is a GitHub deployment of the target's commit, when a token is given. */
function tracked(rt: ActionRuntime, inputs: RollbackInputs, http: FetchHttpClient): RollbackContext['track'] {
  const deployments = runDeployments({ token: inputs.githubToken, run: rt.run, http, logger: rt.logger });
  return (target, rollback) =>
    trackDeployment(
      deployments,
      {
        deployment: {
          ref: target.commit === '' ? 'HEAD' : target.commit,
          environment: inputs.environment,
          description: `rollback of ${target.app} to revision ${target.revision}`,
          payload: { app: target.app, rollbackTo: target.revision, reason: inputs.reason },
        },
        inProgress: `Rolling back to ${target.revision}`,
        logUrl: rt.run.runUrl,
        final: (r) => ({
          state: r.result === 'failed' ? 'failure' : 'success',
          description: `${r.result}: revision ${target.revision}`,
        }),
      },
      rt.logger,
      rollback,
    );
}

/** Outputs, one summary section per app, and the step's failure when an app's rollback failed. */
async function report(
  rt: ActionRuntime,
  inputs: RollbackInputs,
  results: readonly AppRollbackResult[],
): Promise<void> {
  rt.setOutput('result', overallRollbackResult(results, inputs.mode));
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
  if (results.length > 0)
    rt.logger.info(`Done: ${results.map((r) => `${r.app} ${r.result} (${r.from} → ${r.to})`).join(', ')}.`);
}

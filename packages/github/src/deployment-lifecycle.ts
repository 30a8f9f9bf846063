import type { HttpClient, Logger, RunContext } from '@dreamscape/core';
import { GitHubClient } from './client.js';
import { GitHubDeployments, type CreateDeployment, type DeploymentStatus } from './deployments.js';

/**
 * The GitHub Deployments of a run, or undefined when there is nothing to record them with (no token,
 * or no repository: a local run).
 */
export function runDeployments(o: {
  readonly token: string;
  readonly run: Pick<RunContext, 'repository' | 'apiUrl'>;
  readonly http: HttpClient;
  readonly logger: Logger;
}): GitHubDeployments | undefined {
  if (o.token === '' || o.run.repository === '') return undefined;
  const client = new GitHubClient({ token: o.token, apiUrl: o.run.apiUrl, http: o.http, logger: o.logger });
  return new GitHubDeployments(client, o.run.repository, o.logger);
}

/** What {@link trackDeployment} records around a release. */
export interface TrackedDeployment<T> {
  readonly deployment: CreateDeployment;
  /** The `in_progress` status' description. */
  readonly inProgress: string;
  /** The run's page, on every status. */
  readonly logUrl: string;
  /** The final status, from what the release returned. */
  readonly final: (result: T) => Omit<DeploymentStatus, 'logUrl'>;
}

/**
 * Runs a release inside a GitHub deployment: created and `in_progress` before, the status `final`
 * names after (`success` or `failure`, once). A release that throws ends its deployment `error`
 * ("stopped: …"), so no deployment created by a run is left in progress. Without `deployments`, only
 * runs the release.
 */
export async function trackDeployment<T>(
  deployments: GitHubDeployments | undefined,
  tracked: TrackedDeployment<T>,
  logger: Logger,
  release: () => Promise<T>,
): Promise<T> {
  if (deployments === undefined) return release();
  const id = await deployments.create(tracked.deployment);
  await deployments.setStatus(id, {
    state: 'in_progress',
    description: tracked.inProgress,
    logUrl: tracked.logUrl,
  });
  let result: T;
  try {
    result = await release();
  } catch (error) {
    await deployments
      .setStatus(id, {
        state: 'error',
        description: `stopped: ${error instanceof Error ? error.message : String(error)}`.slice(0, 140),
        logUrl: tracked.logUrl,
      })
      .catch((statusError: unknown) => {
        logger.warning(`Could not mark the GitHub deployment as failed: ${String(statusError)}`);
      });
    throw error;
  }
  // The release is over, whatever its record says: a status GitHub did not take is a warning, not
  // a different result.
  await deployments
    .setStatus(id, { ...tracked.final(result), logUrl: tracked.logUrl })
    .catch((statusError: unknown) => {
      logger.warning(`Could not record the end of GitHub deployment ${id}: ${String(statusError)}`);
    });
  return result;
}

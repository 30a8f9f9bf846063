import type { Logger } from '@dreamscape/core';
import type { GitHubClient } from './client.js';

/** The states a GitHub deployment status can take. */
export const DEPLOYMENT_STATES = [
  'queued',
  'in_progress',
  'success',
  'failure',
  'error',
  'inactive',
] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

/** What a deployment records. */
export interface CreateDeployment {
  /** The commit deployed. */
  readonly ref: string;
  readonly environment: string;
  readonly description: string;
  /** Extra data shown with the deployment (revision, digests). */
  readonly payload?: Readonly<Record<string, unknown>>;
  readonly productionEnvironment?: boolean;
}

/** One status update. */
export interface DeploymentStatus {
  readonly state: DeploymentState;
  readonly description: string;
  /** Where the deployed environment answers. */
  readonly environmentUrl?: string | undefined;
  /** The workflow run. */
  readonly logUrl?: string | undefined;
}

/**
 * GitHub Deployments as the release record people see: one deployment per release, with
 * `in_progress`, then `success` or `failure` statuses carrying the environment and log URLs.
 */
export class GitHubDeployments {
  private readonly client: GitHubClient;
  private readonly repository: string;
  private readonly logger: Logger;

  /** `repository` is `owner/name`. */
  constructor(client: GitHubClient, repository: string, logger: Logger) {
    this.client = client;
    this.repository = repository;
    this.logger = logger;
  }

  /** Creates a deployment and returns its id. */
  async create(d: CreateDeployment): Promise<number> {
    const res = await this.client.request<{ id: number }>({
      method: 'POST',
      path: `/repos/${this.repository}/deployments`,
      body: {
        ref: d.ref,
        environment: d.environment,
        description: truncate(d.description),
        auto_merge: false,
        // Status checks gate the workflow that runs this, not the deployment record.
        required_contexts: [],
        payload: d.payload ?? {},
        ...(d.productionEnvironment === undefined ? {} : { production_environment: d.productionEnvironment }),
      },
    });
    this.logger.info(`GitHub deployment ${res.data.id} created for ${d.environment}.`);
    return res.data.id;
  }

  /** Adds a status to a deployment; `auto_inactive` marks earlier deployments of the environment inactive on success. */
  async setStatus(id: number, s: DeploymentStatus): Promise<void> {
    await this.client.request({
      method: 'POST',
      path: `/repos/${this.repository}/deployments/${id}/statuses`,
      body: {
        state: s.state,
        description: truncate(s.description),
        ...(s.environmentUrl === undefined || s.environmentUrl === ''
          ? {}
          : { environment_url: s.environmentUrl }),
        ...(s.logUrl === undefined || s.logUrl === '' ? {} : { log_url: s.logUrl }),
        auto_inactive: true,
      },
    });
    this.logger.info(`GitHub deployment ${id}: ${s.state}.`);
  }
}

/** GitHub keeps at most 140 characters of a description. */
function truncate(text: string): string {
  return text.length <= 140 ? text : `${text.slice(0, 139)}…`;
}

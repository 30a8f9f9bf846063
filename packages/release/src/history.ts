import { gunzipSync, gzipSync } from 'node:zlib';
import {
  ActionError,
  HttpTransportError,
  backoffDelay,
  parseJsonDocument,
  previewName,
  previewValue,
  systemClock,
  type Clock,
  type DocumentLimits,
  type Logger,
  type RetryPolicy,
} from '@dreamscape/core';
import type { Secret } from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import { isTransient, reasonOf } from './cluster-api.js';
import { APP_LABEL, ENVIRONMENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL, type Color } from './colors.js';
import type { GateResult } from './gates.js';
import type { HookJobRun } from './hook-jobs.js';

/** How a release ended (or that it is still running). */
export const RELEASE_RESULTS = ['in-progress', 'promoted', 'rolled-back', 'failed'] as const;
export type ReleaseResult = (typeof RELEASE_RESULTS)[number];

/** One step of a release, journaled as it happens so that a killed run can be resumed or reverted. */
export interface JournalEntry {
  readonly step: string;
  readonly at: string;
  readonly detail?: string;
}

/** One Service of a release: which Deployment it exposes and which color it selects. */
export interface ReleaseService {
  readonly name: string;
  readonly deployment: string;
}

/** How a release is done: `canary` is blue-green with a gradual switch (same colors, same records). */
export type ReleaseStrategy = 'blue-green' | 'canary' | 'rolling';

/** Everything recorded about one release, in the cluster, so rollback needs nothing but cluster access. */
export interface ReleaseRecord {
  readonly schema: 1;
  readonly app: string;
  readonly environment: string;
  readonly namespace: string;
  readonly revision: number;
  readonly kind: 'deploy' | 'rollback';
  readonly strategy: ReleaseStrategy;
  result: ReleaseResult;
  /** Blue-green: the color this release runs in, and the one that was live before it. */
  readonly color: Color | undefined;
  readonly previousColor: Color | undefined;
  /** Blue-green: the Services selected un-colored pods before this release (it adopted them). */
  readonly adopted?: boolean;
  /** The revision live before this one started (0 for the first). */
  readonly previousRevision: number;
  /** sha256 of the rendered manifest. */
  readonly manifestHash: string;
  /** The rendered, digest-pinned manifest, gzip + base64: re-applied byte for byte on rollback. */
  readonly manifest: string;
  /** Container images by `deployment/container`. */
  readonly images: Readonly<Record<string, string>>;
  readonly services: readonly ReleaseService[];
  /** Replicas each Deployment ran with. */
  replicas: Record<string, number>;
  /** The health-checks YAML this release was verified with (rollback's default). */
  readonly checks: string;
  readonly commit: string;
  readonly runId: string;
  readonly runUrl: string;
  readonly actor: string;
  /** The repository (`owner/name`) and workflow of the run that created the release (absent outside a workflow, and in older records). */
  readonly repository?: string;
  readonly workflow?: string;
  readonly reason: string;
  /** For a rollback: the revision it returned to. */
  readonly rollbackTo: number | undefined;
  /** Rolling releases: the ReplicaSet revision of each Deployment after the rollout. */
  rolloutRevisions: Record<string, number>;
  readonly startedAt: string;
  finishedAt: string | undefined;
  message: string;
  journal: JournalEntry[];
  gates: GateResult[];
  /** The pre-deploy and post-deploy Jobs this release ran. */
  jobs?: HookJobRun[];
  /** What was rendered: the overlay, or the chart with its version and the digest of its values. */
  readonly source?: ReleaseSource;
}

/** Where a release's manifest came from (the manifest itself is recorded in full). */
export type ReleaseSource =
  | { readonly kind: 'overlay'; readonly path: string }
  | {
      readonly kind: 'chart';
      /** As given (workspace-relative path, or `oci://` reference). */
      readonly reference: string;
      readonly name: string;
      readonly version: string;
      /** `sha256:` over the values files and `set` entries, in order. */
      readonly valuesDigest: string;
    };

/** Where a release history lives and how much of it is kept. */
export interface HistoryScope {
  readonly app: string;
  readonly environment: string;
  readonly namespace: string;
}

/** Revisions kept per environment and app. */
export const HISTORY_LIMIT = 10;
const DATA_KEY = 'release.json.gz';
/** Attempts of one record update, and their backoff (see {@link ReleaseHistory.update}). */
const UPDATE_RETRY: RetryPolicy = { attempts: 4, initialDelayMs: 100 };
const REVISION_LABEL = 'dreamscape.io/revision';
const RESULT_LABEL = 'dreamscape.io/result';
/** The Secret type of release records. */
export const RELEASE_SECRET_TYPE = 'dreamscape.io/release.v1';

/** A record together with the Secret's resourceVersion (for compare-and-swap updates). */
export interface StoredRelease {
  readonly record: ReleaseRecord;
  readonly resourceVersion: string;
}

/** `dreamscape-release-<app>-<environment>-v<revision>`. */
export function releaseSecretName(
  scope: Pick<HistoryScope, 'app' | 'environment'>,
  revision: number,
): string {
  return `dreamscape-release-${scope.app}-${scope.environment}-v${revision}`;
}

/** The label selector of one history. */
export function historySelector(scope: Pick<HistoryScope, 'app' | 'environment'>): string {
  return `${APP_LABEL}=${scope.app},${ENVIRONMENT_LABEL}=${scope.environment},${MANAGED_BY_LABEL}=${MANAGED_BY}`;
}

/** gzip + base64, as the manifest is recorded. */
export function packManifest(text: string): string {
  return gzipSync(Buffer.from(text, 'utf8')).toString('base64');
}

/**
 * What a release record may hold once decompressed. A Secret holds at most 1 MiB, but anyone who
 * can edit Secrets of the namespace can put a gzip bomb there: the runner must refuse it, not run
 * out of memory decompressing it.
 */
export const RECORD_LIMITS: DocumentLimits = {
  maxBytes: 16 * 1024 * 1024,
  maxDepth: 32,
  maxAliases: 0,
  maxNodes: 1_000_000,
};
/** The largest rendered manifest a record may unpack to. */
export const MANIFEST_MAX_BYTES = 64 * 1024 * 1024;

/** The exact manifest text a record holds. */
export function unpackManifest(record: Pick<ReleaseRecord, 'manifest'>): string {
  return gunzipBounded(record.manifest, MANIFEST_MAX_BYTES, 'The manifest of a release record');
}

function gunzipBounded(base64: string, maxBytes: number, what: string): string {
  try {
    return gunzipSync(Buffer.from(base64, 'base64'), { maxOutputLength: maxBytes }).toString('utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new ActionError(`${what} decompresses to more than ${maxBytes / (1024 * 1024)} MiB: refused.`, {
        cause: error,
      });
    throw error;
  }
}

/**
 * Release records, one Secret per revision (a Secret because a rendered manifest may hold Secret
 * data), listed with one label-selector call. Updates are compare-and-swap on the resourceVersion.
 */
export class ReleaseHistory {
  private readonly api: ClusterApi;
  private readonly logger: Logger;
  readonly scope: HistoryScope;
  private readonly limit: number;
  private readonly clock: Clock;

  constructor(
    api: ClusterApi,
    logger: Logger,
    scope: HistoryScope,
    options: { readonly limit?: number; readonly clock?: Clock } = {},
  ) {
    this.api = api;
    this.logger = logger;
    this.scope = scope;
    this.limit = options.limit ?? HISTORY_LIMIT;
    this.clock = options.clock ?? systemClock;
  }

  /** Every recorded release of this environment and app, newest first. */
  async list(): Promise<StoredRelease[]> {
    const { items } = await this.api.list<Secret>('secrets', {
      namespace: this.scope.namespace,
      labelSelector: historySelector(this.scope),
    });
    return items
      .filter((s) => s.type === RELEASE_SECRET_TYPE)
      .map((s) => ({ record: decode(s, this.scope), resourceVersion: s.metadata.resourceVersion ?? '' }))
      .sort((a, b) => b.record.revision - a.record.revision);
  }

  /** Creates the record of a new revision; `AlreadyExists` means another run took the number. */
  async create(record: ReleaseRecord): Promise<StoredRelease> {
    const secret = await this.api.create<Secret>(this.encode(record, undefined));
    return { record, resourceVersion: secret.metadata.resourceVersion ?? '' };
  }

  /**
   * Writes a changed record if nobody else changed it since `stored` was read. A 409 or a transient
   * error (5xx, 429, timeout) reads the record back: when it already holds `record` (the write
   * landed, its answer was lost) that is success; when it still holds what `stored` read (only the
   * resourceVersion moved, or the write never happened) the write is sent again; anything else is a
   * real conflict and the error stands. Up to four attempts.
   */
  async update(stored: StoredRelease, record: ReleaseRecord): Promise<StoredRelease> {
    let resourceVersion = stored.resourceVersion;
    for (let attempt = 1; ; attempt++) {
      try {
        const secret = await this.api.replace<Secret>(this.encode(record, resourceVersion));
        return { record, resourceVersion: secret.metadata.resourceVersion ?? '' };
      } catch (error) {
        // A dropped connection leaves it unknown whether the write landed: read back, as for a 5xx.
        const unknown = isTransient(error) || error instanceof HttpTransportError;
        if (attempt >= UPDATE_RETRY.attempts || !(isConflict(error) || unknown)) throw error;
        await this.clock.sleep(backoffDelay(UPDATE_RETRY, attempt));
        const live = await this.read(record.revision).catch(() => undefined);
        if (live === undefined) throw error;
        const liveJson = JSON.stringify(decode(live, this.scope));
        if (liveJson === JSON.stringify(record)) {
          this.logger.debug(`release record v${record.revision} was written despite ${String(error)}`);
          return { record, resourceVersion: live.metadata.resourceVersion ?? '' };
        }
        if (liveJson !== JSON.stringify(stored.record)) throw error;
        this.logger.debug(`writing release record v${record.revision} again after ${String(error)}`);
        resourceVersion = live.metadata.resourceVersion ?? '';
      }
    }
  }

  private read(revision: number): Promise<Secret | undefined> {
    return this.api.get<Secret>({
      kind: 'Secret',
      name: releaseSecretName(this.scope, revision),
      namespace: this.scope.namespace,
    });
  }

  /**
   * Deletes the oldest finished records beyond the limit, oldest first: a run stopped part way
   * (killed, or out of time) leaves the history without a gap. Failures are logged, never fatal.
   */
  async prune(all: readonly StoredRelease[]): Promise<void> {
    const finished = all.filter((s) => s.record.result !== 'in-progress');
    for (const old of finished.slice(this.limit).reverse()) {
      try {
        await this.api.delete(
          {
            kind: 'Secret',
            name: releaseSecretName(this.scope, old.record.revision),
            namespace: this.scope.namespace,
          },
          { ignoreNotFound: true },
        );
        this.logger.debug(`pruned release record v${old.record.revision}`);
      } catch (error) {
        this.logger.warning(`Could not prune release record v${old.record.revision}: ${String(error)}`);
      }
    }
  }

  private encode(record: ReleaseRecord, resourceVersion: string | undefined): Secret {
    const json = JSON.stringify(record);
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: RELEASE_SECRET_TYPE,
      metadata: {
        name: releaseSecretName(this.scope, record.revision),
        namespace: this.scope.namespace,
        labels: {
          [APP_LABEL]: this.scope.app,
          [ENVIRONMENT_LABEL]: this.scope.environment,
          [MANAGED_BY_LABEL]: MANAGED_BY,
          [REVISION_LABEL]: String(record.revision),
          [RESULT_LABEL]: record.result,
        },
        ...(resourceVersion === undefined ? {} : { resourceVersion }),
      },
      data: { [DATA_KEY]: gzipSync(Buffer.from(json, 'utf8')).toString('base64') },
    };
  }
}

/** Whether an error is a lost compare-and-swap race. */
export function isConflict(error: unknown): boolean {
  const reason = reasonOf(error);
  return reason === 'Conflict' || reason === 'AlreadyExists';
}

/**
 * The record a Secret of `scope` holds. A record naming another namespace, app or environment is
 * refused: whoever may write Secrets in one namespace must not be able to send a rollback, and the
 * confinement measured against the record's namespace, into another (kube-system).
 */
function decode(secret: Secret, scope: HistoryScope): ReleaseRecord {
  const record = decodeData(secret);
  // Parsed JSON, typed only by a cast: it may not even be an object.
  const parsed: unknown = record;
  const fields: Record<string, unknown> = typeof parsed === 'object' && parsed !== null ? { ...parsed } : {};
  const problems = (['namespace', 'app', 'environment'] as const)
    .filter((field) => fields[field] !== scope[field])
    .map((field) => `its ${field} is ${previewValue(fields[field], 80)}, not ${previewValue(scope[field])}`);
  const secretNamespace = secret.metadata.namespace;
  if (secretNamespace !== undefined && secretNamespace !== scope.namespace)
    problems.push(`the Secret is in namespace ${previewName(secretNamespace)}, not ${scope.namespace}`);
  if (problems.length > 0)
    throw new ActionError(
      `Release record ${previewName(secret.metadata.name)} in namespace ${scope.namespace} belongs to another release: ${problems.join(', ')}. Refused: a record is used only in the namespace, app and environment it is stored for.`,
      {
        hint: 'The Secret was edited or copied by hand: delete it, or restore it from a backup of that namespace.',
      },
    );
  return record;
}

function decodeData(secret: Secret): ReleaseRecord {
  const data = secret.data?.[DATA_KEY];
  if (data === undefined) {
    throw new ActionError(
      `Release record ${secret.metadata.name} has no ${DATA_KEY}: it was edited by hand.`,
    );
  }
  const name = `Release record ${secret.metadata.name}`;
  try {
    return parseJsonDocument(
      gunzipBounded(data, RECORD_LIMITS.maxBytes, name),
      name,
      RECORD_LIMITS,
    ) as ReleaseRecord;
  } catch (error) {
    if (error instanceof ActionError) throw error;
    throw new ActionError(`Release record ${secret.metadata.name} cannot be read: ${String(error)}`, {
      cause: error,
    });
  }
}

import { InputError, type Logger } from '@dreamscape/core';
import type { GitHubClient } from './client.js';
import {
  COMMIT_SHA,
  commitProvenance,
  defaultBranchOf,
  describePatterns,
  describeProvenance,
  type CommitProvenance,
  type TagPattern,
} from './commit-provenance.js';
import { showUntrusted } from './untrusted-text.js';
import { getWorkflowRun, workflowFilePath, type WorkflowRun } from './workflow-run.js';

/** A service name, the same rule as a services file's (and a build record's key). */
export const PROMOTION_SERVICE_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const HOST =
  '(?:localhost|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+)(?::[0-9]{1,5})?';

/**
 * An image as action-build records it: `registry/repository@sha256:<64 hex>`, a registry host (with
 * a dot or a port, or `localhost`), lowercase repository path components, no tag, a sha256 digest.
 */
export const PINNED_IMAGE = new RegExp(`^${HOST}/${COMPONENT}(?:/${COMPONENT})*@sha256:[0-9a-f]{64}$`);

/** A run id: a positive integer. */
export const RUN_ID = /^[1-9][0-9]{0,15}$/;

/** What is kept of one build record: the image pinned by digest, and that digest. */
export interface PromotedImage {
  readonly image: string;
  readonly digest: string;
}

/** The records of a run, keyed by service, in the order they were written. */
export type PromotionRecords = ReadonlyMap<string, PromotedImage>;

/** Where the records came from, for errors. */
export interface RecordsSource {
  /** The input that named the file, e.g. `records-file`. */
  readonly input: string;
  readonly path: string;
}

/** The largest records file read, and the most services it may name. */
export const MAX_RECORDS_BYTES = 1024 * 1024;
export const MAX_RECORDS_SERVICES = 200;

const RECORDS_ACCEPTED =
  'the records.json build-scan.yml uploads: one JSON object keyed by service name (lowercase letters, digits, ., _, -) whose values are action-build records with an "image" of the form registry/repository@sha256:<64 hex digits>';

/**
 * Reads a records artifact, trusting nothing in it: every key must be a service name, every value
 * an object whose `image` is pinned by a sha256 digest in the shape action-build writes (and whose
 * `digest`, when present, is that digest). Any other key or value is refused with an error naming
 * `source.input` and the offending key, shown escaped; every other field of a record is dropped.
 */
export function parsePromotionRecords(text: string, source: RecordsSource): PromotionRecords {
  const refuse = (reason: string): InputError =>
    new InputError(source.input, source.path, RECORDS_ACCEPTED, { reason });
  if (Buffer.byteLength(text, 'utf8') > MAX_RECORDS_BYTES)
    throw refuse(`the file is larger than ${MAX_RECORDS_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw refuse('the file is not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw refuse(
      `the file holds ${Array.isArray(doc) ? 'an array' : showUntrusted(doc)}, not an object keyed by service`,
    );
  const entries = Object.entries(doc as Record<string, unknown>);
  if (entries.length === 0) throw refuse('the run built no service: nothing to promote');
  if (entries.length > MAX_RECORDS_SERVICES) throw refuse(`more than ${MAX_RECORDS_SERVICES} services`);
  const records = new Map<string, PromotedImage>();
  for (const [key, value] of entries) {
    if (!PROMOTION_SERVICE_NAME.test(key))
      throw refuse(`the key ${showUntrusted(key)} is not a service name`);
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw refuse(`the record of '${key}' is not an object`);
    const { image, digest } = value as { image?: unknown; digest?: unknown };
    if (typeof image !== 'string' || !PINNED_IMAGE.test(image))
      throw refuse(
        `the image of '${key}' (field "image") is ${showUntrusted(image ?? null)}, not an image pinned by digest`,
      );
    const pinned = image.slice(image.lastIndexOf('@') + 1);
    if (digest !== undefined && digest !== pinned)
      throw refuse(
        `the record of '${key}' has a "digest" ${showUntrusted(digest)} that is not the digest of its image (${pinned})`,
      );
    records.set(key, { image, digest: pinned });
  }
  return records;
}

/** The records as one compact JSON object, `{"<service>": {"image", "digest"}}`: deploy.yml's `images`. */
export function recordsJson(records: PromotionRecords): string {
  return JSON.stringify(Object.fromEntries(records));
}

/** What a run must be for its images to be promoted. */
export interface PromotionExpectations {
  readonly runId: number;
  /** `owner/repo` of the promoting run. */
  readonly repository: string;
  /** The workflow file whose runs may be promoted, `.github/workflows/pipeline.yml`. */
  readonly workflowPath: string;
  readonly defaultBranch: string;
  readonly releaseTags: readonly TagPattern[];
}

/**
 * Every reason a run may not be promoted, judged from the run alone (each names the run's field and
 * what is accepted); empty when it may, subject to where its commit comes from.
 */
export function promotionRunProblems(run: WorkflowRun, e: PromotionExpectations): string[] {
  const problems: string[] = [];
  const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
  if (run.id !== e.runId) problems.push(`its "id" is ${run.id}, not ${e.runId}`);
  if (!same(run.repository, e.repository))
    problems.push(`"repository.full_name" is ${showUntrusted(run.repository)} (accepted: ${e.repository})`);
  if (!same(run.headRepository, e.repository))
    problems.push(
      `"head_repository.full_name" is ${showUntrusted(run.headRepository)}: its commit comes from another repository, a fork (accepted: ${e.repository})`,
    );
  const path = workflowFilePath(run.path, e.repository);
  if (path !== e.workflowPath)
    problems.push(`"path" is ${showUntrusted(run.path)}, another workflow (accepted: ${e.workflowPath})`);
  if (run.event !== 'push') problems.push(`"event" is ${showUntrusted(run.event)} (accepted: push)`);
  if (run.status !== 'completed')
    problems.push(`"status" is ${showUntrusted(run.status)}: the run has not finished (accepted: completed)`);
  else if (run.conclusion !== 'success')
    problems.push(`"conclusion" is ${showUntrusted(run.conclusion)} (accepted: success)`);
  if (!COMMIT_SHA.test(run.headSha))
    problems.push(`"head_sha" is ${showUntrusted(run.headSha)}, not a commit SHA`);
  if (run.headBranch !== e.defaultBranch && !e.releaseTags.some((p) => p.matches(run.headBranch)))
    problems.push(
      `"head_branch" is ${showUntrusted(run.headBranch)}, not the default branch ${e.defaultBranch} (${describePatterns(e.releaseTags)})`,
    );
  return problems;
}

/** What {@link verifyPromotion} checks. */
export interface PromotionOptions {
  readonly client: GitHubClient;
  readonly logger: Logger;
  readonly owner: string;
  readonly repo: string;
  /** The run to promote, from the `run-id` input. */
  readonly runId: number;
  /** The input that named the run, for errors. Default `run-id`. */
  readonly runInput?: string;
  /** The workflow file whose runs may be promoted. */
  readonly workflowPath: string;
  /** The run's records, already read with {@link parsePromotionRecords}. */
  readonly records: PromotionRecords;
  /** Tags whose push runs may be promoted too (default none). */
  readonly releaseTags: readonly TagPattern[];
  /** `GITHUB_SERVER_URL`: the run's link is built from it, never taken from the payload. */
  readonly serverUrl: string;
}

/** A run found fit to promote: what the job summary shows and the deploy job receives. */
export interface PromotionPlan {
  readonly runId: number;
  readonly runAttempt: number;
  readonly runUrl: string;
  readonly workflowPath: string;
  readonly commit: string;
  readonly provenance: CommitProvenance;
  readonly records: PromotionRecords;
}

/**
 * Decides whether a run's images may be promoted: the run must belong to this repository, come
 * from no fork, be a run of `workflowPath` triggered by a push to the default branch (or of a tag
 * matching `releaseTags`), and have completed with success; its commit must be on the default
 * branch (or be that release tag's commit, read from the repository). Refusals are
 * {@link InputError}s naming the run input and every offending field.
 */
export async function verifyPromotion(o: PromotionOptions): Promise<PromotionPlan> {
  const input = o.runInput ?? 'run-id';
  const repository = `${o.owner}/${o.repo}`;
  const defaultBranch = await defaultBranchOf(o.client, o.owner, o.repo);
  const accepted = `the id of a run of ${o.workflowPath} in ${repository} triggered by a push to ${defaultBranch}${
    o.releaseTags.length === 0
      ? ''
      : ` or of a release tag (${o.releaseTags.map((p) => p.source).join(', ')})`
  }, completed with success`;
  const refuse = (reason: string): InputError => new InputError(input, String(o.runId), accepted, { reason });

  const run = await getWorkflowRun(o.client, o.owner, o.repo, o.runId);
  if (run === undefined) throw refuse(`${repository} has no run ${o.runId}`);
  const problems = promotionRunProblems(run, {
    runId: o.runId,
    repository,
    workflowPath: o.workflowPath,
    defaultBranch,
    releaseTags: o.releaseTags,
  });
  if (problems.length > 0) throw refuse(`run ${o.runId} may not be promoted: ${problems.join('; ')}`);

  const tag = run.headBranch === defaultBranch ? undefined : run.headBranch;
  const found = await commitProvenance(o.client, {
    owner: o.owner,
    repo: o.repo,
    sha: run.headSha,
    defaultBranch,
    tag,
    releaseTags: o.releaseTags,
  });
  if (found.kind === 'refused') throw refuse(`run ${o.runId} may not be promoted: ${found.why}`);
  if (tag !== undefined && found.provenance.kind !== 'release-tag')
    throw refuse(
      `run ${o.runId} may not be promoted: "head_branch" ${showUntrusted(tag)} is no release tag of ${repository} pointing at ${run.headSha.slice(0, 12)}`,
    );
  const plan: PromotionPlan = {
    runId: run.id,
    runAttempt: run.runAttempt,
    runUrl: `${o.serverUrl.replace(/\/+$/, '')}/${o.owner}/${o.repo}/actions/runs/${run.id}`,
    workflowPath: o.workflowPath,
    commit: run.headSha,
    provenance: found.provenance,
    records: o.records,
  };
  o.logger.info(
    `Run ${plan.runId} of ${plan.workflowPath} may be promoted: commit ${plan.commit}, ${describeProvenance(plan.provenance)}.`,
  );
  for (const [service, image] of plan.records) o.logger.info(`  ${service}: ${image.image}`);
  return plan;
}

/** The job summary of a promotion: what is about to be deployed, shown before anyone approves it. */
export function renderPromotionSummary(plan: PromotionPlan, environment = ''): string {
  const lines = [
    `### Promotion${environment === '' ? '' : ` to ${environment}`}: run ${plan.runId}`,
    '',
    `- Run: [${plan.runId}${plan.runAttempt > 1 ? ` (attempt ${plan.runAttempt})` : ''}](${plan.runUrl}) of \`${plan.workflowPath}\``,
    `- Commit: \`${plan.commit}\`, ${describeProvenance(plan.provenance)}`,
    `- Images: ${plan.records.size}`,
    '',
    '| Service | Image |',
    '|---|---|',
    ...[...plan.records].map(([service, image]) => `| ${service} | \`${image.image}\` |`),
    '',
    'Check these before approving the deployment: they are what the environment will run.',
  ];
  return `${lines.join('\n')}\n`;
}

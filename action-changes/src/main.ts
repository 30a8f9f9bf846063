import { FetchHttpClient, messageOf, ProcessCommandRunner } from '@dreamscape/core';
import { runAction, type ActionRuntime } from '@dreamscape/core/actions';
import {
  GitHubClient,
  readGitHubContext,
  recordsJson,
  renderDeployCheckSummary,
  renderPromotionSummary,
  stickyMarker,
  upsertStickyComment,
  verifyDeployRequest,
  verifyPromotion,
} from '@dreamscape/github';
import { changeRange } from './change-base.js';
import { listChangedFiles } from './changed-files.js';
import {
  readInputs,
  type ChangesInputs,
  type CommentInputs,
  type DeployCheckInputs,
  type PromotionInputs,
} from './inputs.js';
import { describeReason, selectAll, selectServices, type ServiceSelection } from './service-changes.js';
import { renderSummary } from './summary.js';

/** The most changed paths written to the `changed-files` output; the count is always exact. */
const MAX_LISTED_FILES = 1000;

/**
 * Lists the services a change touches (`mode: changes`), keeps a sticky PR comment (`mode:
 * comment`), checks a run before its images are promoted (`mode: promotion`) or a deploy's ref,
 * runner and smoke-test script (`mode: deploy-check`).
 */
export async function run(): Promise<void> {
  await runAction(async (rt) => {
    const inputs = readInputs(rt.inputs, rt.env);
    if (inputs.mode === 'comment') await comment(rt, inputs);
    else if (inputs.mode === 'promotion') await promotion(rt, inputs);
    else if (inputs.mode === 'deploy-check') await deployCheck(rt, inputs);
    else await changes(rt, inputs);
  });
}

async function promotion(rt: ActionRuntime, inputs: PromotionInputs): Promise<void> {
  const { logger } = rt;
  const context = readGitHubContext(rt.env);
  const client = new GitHubClient({
    token: inputs.token,
    apiUrl: context.apiUrl,
    http: new FetchHttpClient(),
    logger,
  });
  const plan = await logger.group(`Run ${inputs.runId}: may its images be promoted?`, () =>
    verifyPromotion({
      client,
      logger,
      owner: context.owner,
      repo: context.repo,
      runId: inputs.runId,
      workflowPath: inputs.workflowPath,
      records: inputs.records,
      releaseTags: inputs.releaseTags,
      serverUrl: context.serverUrl,
    }),
  );
  await rt.appendSummary(renderPromotionSummary(plan, inputs.environment));
  rt.setOutput('records', recordsJson(plan.records));
  rt.setOutput('commit', plan.commit);
  rt.setOutput('run-url', plan.runUrl);
  rt.setOutput('services', JSON.stringify([...plan.records.keys()]));
}

async function deployCheck(rt: ActionRuntime, inputs: DeployCheckInputs): Promise<void> {
  const { logger } = rt;
  const context = readGitHubContext(rt.env);
  const client = new GitHubClient({
    token: inputs.token,
    apiUrl: context.apiUrl,
    http: new FetchHttpClient(),
    logger,
  });
  const plan = await logger.group('Deploy check: ref, runner, smoke test', () =>
    verifyDeployRequest({
      client,
      logger,
      owner: context.owner,
      repo: context.repo,
      ref: inputs.ref,
      eventRef: context.ref,
      eventSha: context.sha,
      releaseTags: inputs.releaseTags,
      allowAnyRef: inputs.allowAnyRef,
      smokeTestScript: inputs.smokeTestScript,
    }),
  );
  logger.info(`Runner: ${inputs.runsOn}; smoke test: ${inputs.smokeTestScript || 'no script'}.`);
  await rt.appendSummary(
    renderDeployCheckSummary(plan, inputs.runsOn, inputs.smokeTestScript, inputs.environment, inputs.images),
  );
  rt.setOutput('commit', plan.commit);
  rt.setOutput('runs-on', inputs.runsOn);
  rt.setOutput('smoke-test-script', inputs.smokeTestScript);
}

async function changes(rt: ActionRuntime, inputs: ChangesInputs): Promise<void> {
  const { logger } = rt;
  const context = readGitHubContext(rt.env);
  const workspace = rt.env.GITHUB_WORKSPACE ?? process.cwd();

  let selection: ServiceSelection;
  let compared: string;
  let files: readonly string[] = [];
  let base = '';
  if (inputs.all) {
    compared = 'Every service was asked for';
    selection = selectAll(inputs.services, "asked for every service ('all')");
  } else if (inputs.changedFiles !== undefined) {
    files = inputs.changedFiles;
    compared = "Changed files given in 'changed-files'";
    selection = selectServices(inputs.services, files, inputs.shared);
  } else {
    const range = changeRange(
      { name: context.eventName, payload: context.payload, sha: context.sha },
      inputs.base,
    );
    if (range.kind === 'all') {
      compared = `Every service: ${range.why}`;
      selection = selectAll(inputs.services, range.why);
    } else {
      const listed = await logger.group(`Changes: ${range.describe}`, () =>
        listChangedFiles({
          runner: new ProcessCommandRunner({ logger }),
          logger,
          cwd: workspace,
          base: range.base,
          head: range.head,
        }),
      );
      if (listed.kind === 'unavailable') {
        logger.warning(
          `Building every service: ${listed.why}. Check out with fetch-depth: 0 (or at least 2 on pull requests) so the base commit is in the clone.`,
        );
        compared = `Every service: ${listed.why}`;
        selection = selectAll(inputs.services, `the changes could not be listed (${listed.why})`);
      } else {
        files = listed.files;
        base = listed.from;
        compared = `${capitalize(range.describe)} (${listed.from.slice(0, 7)}..${listed.head.slice(0, 7)}${listed.mergeBase ? ', from the merge base' : ''})`;
        selection = selectServices(inputs.services, files, inputs.shared);
      }
    }
  }

  for (const service of inputs.services) {
    const reason = selection.reasons.get(service.name);
    logger.info(
      `${reason === undefined ? '  ' : '✓ '}${service.name}: ${reason === undefined ? 'unchanged' : describeReason(reason)}`,
    );
  }
  logger.info(
    `${selection.selected.length} of ${inputs.services.length} service${inputs.services.length === 1 ? '' : 's'} selected; ${files.length} changed file${files.length === 1 ? '' : 's'}.`,
  );

  const include = selection.selected.map((s) => ({
    name: s.name,
    context: s.context,
    dockerfile: s.dockerfile,
    target: s.target,
    image: s.image,
  }));
  rt.setOutput('services', JSON.stringify(include.map((s) => s.name)));
  rt.setOutput('matrix', JSON.stringify({ include }));
  rt.setOutput('any', String(include.length > 0));
  rt.setOutput('all', String(selection.all));
  rt.setOutput('changed-files', JSON.stringify(files.slice(0, MAX_LISTED_FILES)));
  rt.setOutput('base', base);
  await rt.appendSummary(
    renderSummary({ services: inputs.services, selection, compared, changedFiles: files.length }),
  );
}

async function comment(rt: ActionRuntime, inputs: CommentInputs): Promise<void> {
  const { logger } = rt;
  logger.setSecret(inputs.token);
  const context = readGitHubContext(rt.env);
  const pr = inputs.pullRequest ?? context.pullRequest;
  if (pr === undefined) {
    logger.info(`No pull request in this ${context.eventName || 'run'}: nothing to comment on.`);
    rt.setOutput('comment-url', '');
    return;
  }
  await logger.group(`Comment '${inputs.key}' on pull request #${pr}`, async () => {
    try {
      const client = new GitHubClient({
        token: inputs.token,
        apiUrl: context.apiUrl,
        http: new FetchHttpClient(),
        logger,
      });
      const result = await upsertStickyComment(client, {
        owner: context.owner,
        repo: context.repo,
        issueNumber: pr,
        marker: stickyMarker(inputs.key),
        body: inputs.body,
        logger,
      });
      rt.setOutput('comment-url', result.url);
    } catch (error) {
      // A comment is a courtesy: a read-only token (pull requests from forks) must not fail the check.
      logger.warning(`Could not comment on pull request #${pr}: ${messageOf(error)}`);
      rt.setOutput('comment-url', '');
    }
  });
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

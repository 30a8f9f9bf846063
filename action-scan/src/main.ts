import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ActionError, FetchHttpClient, ProcessCommandRunner, systemClock } from '@dreamscape/core';
import { runAction, type ActionRuntime } from '@dreamscape/core/actions';
import { GitHubClient, readGitHubContext, stickyMarker, upsertStickyComment } from '@dreamscape/github';
import { RegistryClient, registryReferrers } from '@dreamscape/image';
import {
  attachScanVerdict,
  buildSarif,
  buildVerdict,
  describeVerdictAttachment,
  evaluatePolicy,
  fixedVulnerabilities,
  loadWaivers,
  renderScanSummary,
  resolveScanner,
  runScan,
  SCANNER_DRIVERS,
  scanOutputs,
  updateDatabase,
  writeNormalizedReport,
  type Baseline,
  type PolicyResult,
  type ReferrerStore,
  type SarifOutput,
  type ScanReport,
  type Waiver,
} from '@dreamscape/scan';
import { resolveBaseline } from './baseline.js';
import { readInputs, type ScanInputs } from './inputs.js';

/** action-scan: scan an image pinned by digest, apply the policy, write SARIF, summary and outputs. */
export async function run(): Promise<void> {
  await runAction(scan);
}

async function scan(runtime: ActionRuntime): Promise<void> {
  const inputs = readInputs(runtime.inputs, runtime.env);
  const logger = runtime.logger;
  // Credentials are masked before anything can print them.
  if (inputs.credentials !== undefined) logger.setSecret(inputs.credentials.password);
  if (inputs.githubToken !== undefined) logger.setSecret(inputs.githubToken);
  const runner = new ProcessCommandRunner({ logger });
  const http = new FetchHttpClient();
  const driver = SCANNER_DRIVERS[inputs.scanner];

  // A malformed waivers file fails before minutes of scanning, not after.
  const waivers: Waiver[] =
    inputs.waiversInput === undefined ? [] : loadWaivers(inputs.workspace, inputs.waiversInput);
  if (inputs.waiversInput !== undefined)
    logger.info(`Loaded ${waivers.length} waivers from ${inputs.waiversInput}.`);

  const scanner = await logger.group(`Set up ${driver.name} ${inputs.scannerVersion}`, () =>
    resolveScanner({
      driver,
      version: inputs.scannerVersion,
      toolCacheDir: inputs.toolCacheDir,
      tempDir: inputs.tempDir,
      downloadUrl: inputs.scannerDownloadUrl,
      sha256: inputs.scannerSha256,
      runner,
      http,
      logger,
    }),
  );
  const db = await logger.group(`Update the ${driver.name} vulnerability database`, () =>
    updateDatabase({ driver, binary: scanner.path, dbDir: inputs.dbDir, runner, logger }),
  );
  const { report } = await logger.group(`Scan ${inputs.target.reference}`, () =>
    runScan({
      driver,
      binary: scanner.path,
      target: inputs.target,
      workDir: dirname(inputs.reportFile),
      dbDir: inputs.dbDir,
      credentials: inputs.credentials,
      timeoutMs: inputs.timeoutMs,
      runner,
      logger,
    }),
  );

  // One store for the baseline's verdict and for attaching this one; credentials go to the scanned
  // image's registry only.
  // image's registry only. Made when first needed: a scan that reads and attaches nothing makes none.
  let referrers: ReferrerStore | undefined;
  const store = (): ReferrerStore =>
    (referrers ??= registryReferrers(
      new RegistryClient({
        http,
        logger,
        logins:
          inputs.credentials === undefined
            ? []
            : [{ registry: inputs.target.registry, ...inputs.credentials }],
      }),
      { logger },
    ));
  const baselineInput = inputs.baseline;
  const baseline: Baseline | undefined =
    baselineInput === undefined
      ? undefined
      : await logger.group('Find what runs now', () =>
          resolveBaseline(baselineInput, inputs.target, {
            store: store(),
            http,
            logger,
            tempDir: inputs.tempDir,
          }),
        );

  const policy = await logger.group('Apply the policy', () => {
    const result = evaluatePolicy(report.findings, {
      threshold: inputs.threshold,
      ignoreUnfixed: inputs.ignoreUnfixed,
      waivers,
      now: systemClock.now(),
      failOn: inputs.failOn,
      ...(baseline === undefined ? {} : { baseline }),
    });
    logger.info(`Verdict: ${result.verdict}.`);
    for (const reason of result.reasons) logger.info(reason);
    for (const { waiver } of result.waivers.expired)
      logger.warning(`Waiver for ${waiver.id} (owner ${waiver.owner}) expired on ${waiver.expires}.`);
    return Promise.resolve(result);
  });

  // Development builds report 'dev': the version we verified on the binary is the truthful one.
  const scannerVersion = /^\d/.test(report.scannerVersion) ? report.scannerVersion : scanner.version;
  const sarif = await logger.group('Write SARIF and the report', () => {
    const out = writeReports(inputs, policy, { ...report, scannerVersion });
    const truncated = out.sarif.truncated
      ? `; truncated to the ${out.sarif.results} most severe of ${out.sarif.totalResults} to stay within GitHub's limits`
      : '';
    if (out.sarif.truncated)
      logger.warning(
        `SARIF holds ${out.sarif.results} of ${out.sarif.totalResults} results (GitHub code scanning limits); the report file has them all.`,
      );
    logger.info(`SARIF: ${inputs.sarifFile} (${out.sarif.results} results${truncated}).`);
    logger.info(`Report: ${inputs.reportFile}.`);
    return Promise.resolve(out.sarif);
  });

  const outputs = scanOutputs(report, policy);
  runtime.setOutput('verdict', outputs.verdict);
  runtime.setOutput('counts', outputs.counts);
  runtime.setOutput('total', outputs.total);
  runtime.setOutput('fixable', outputs.fixable);
  runtime.setOutput('waived', outputs.waived);
  runtime.setOutput('sarif-file', inputs.sarifFile);
  runtime.setOutput('report-file', inputs.reportFile);
  const compared = policy.baseline?.status === 'found' ? policy.baseline : undefined;
  runtime.setOutput('baseline-image', compared?.image ?? '');
  runtime.setOutput('new-findings', compared === undefined ? '' : String(compared.new));
  runtime.setOutput('known-findings', compared === undefined ? '' : String(compared.known));
  runtime.setOutput(
    'fixed-findings',
    compared === undefined ? '' : String(fixedVulnerabilities(compared.fixed).length),
  );

  // Before the step can fail on the verdict: a failing verdict travels with the image too.
  const attachment = await logger.group(`Attach the verdict to ${inputs.target.reference}`, () =>
    attachScanVerdict({
      store,
      verdict: buildVerdict({
        image: inputs.target.reference,
        report: { ...report, scannerVersion },
        policy,
        failOn: inputs.failBuild ? 'fail-build' : 'report-only',
        database: driver.databaseInfo?.(inputs.dbDir),
        clock: systemClock,
      }),
      mode: inputs.attachVerdict,
      registry: inputs.target.registry,
      logger,
    }),
  );
  runtime.setOutput('verdict-attached', String(attachment.attached));
  runtime.setOutput('verdict-digest', attachment.attached ? attachment.digest : '');

  const summaryOptions = {
    image: inputs.target.reference,
    scanner: inputs.scanner,
    scannerVersion: report.scannerVersion,
    category: inputs.category,
    policy,
    sarif,
  };
  if (inputs.summary) {
    const note = db.status === 'cached' ? `\n> ⚠️ ${db.message}\n` : '';
    await runtime.appendSummary(
      `${renderScanSummary(summaryOptions)}${note}\n${describeVerdictAttachment(attachment)}\n`,
    );
  }
  await comment(runtime, inputs, () => renderScanSummary({ ...summaryOptions, topFindings: 5 }));

  if (policy.verdict === 'fail' && inputs.failBuild)
    throw new ActionError(
      `Vulnerability scan failed for ${inputs.target.reference}: ${policy.reasons[0] ?? ''}`,
      {
        hint: 'Upgrade the affected packages, or record an accepted risk in the waivers file (with an owner and an expiry date).',
      },
    );
}

function writeReports(inputs: ScanInputs, policy: PolicyResult, report: ScanReport): { sarif: SarifOutput } {
  const sarif = buildSarif({
    scanner: inputs.scanner,
    scannerVersion: report.scannerVersion,
    policy,
    category: inputs.category,
    image: inputs.target.reference,
    imageName: inputs.target.name,
    dockerfile:
      inputs.dockerfile === undefined
        ? undefined
        : { path: inputs.dockerfile.path, line: lastFromLine(inputs.dockerfile.file) },
  });
  mkdirSync(dirname(inputs.sarifFile), { recursive: true });
  writeFileSync(inputs.sarifFile, sarif.json);
  mkdirSync(dirname(inputs.reportFile), { recursive: true });
  writeNormalizedReport(inputs.reportFile, {
    image: inputs.target.reference,
    category: inputs.category,
    report,
    policy,
    generatedAt: new Date(systemClock.now()).toISOString(),
  });
  return { sarif };
}

/** The line of the final stage's FROM: what the image's packages came in through. */
function lastFromLine(file: string): number {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  let found = 1;
  lines.forEach((line, i) => {
    if (/^\s*FROM\s/i.test(line)) found = i + 1;
  });
  return found;
}

async function comment(runtime: ActionRuntime, inputs: ScanInputs, body: () => string): Promise<void> {
  const logger = runtime.logger;
  if (inputs.githubToken === undefined) return;
  const context = readGitHubContext(runtime.env);
  if (context.pullRequest === undefined) {
    logger.info(`No pull request in this ${context.eventName || 'run'} event: no comment.`);
    return;
  }
  const pr = context.pullRequest;
  const token = inputs.githubToken;
  await logger.group(`Comment on pull request #${pr}`, async () => {
    try {
      const client = new GitHubClient({ token, apiUrl: context.apiUrl, http: new FetchHttpClient(), logger });
      const result = await upsertStickyComment(client, {
        owner: context.owner,
        repo: context.repo,
        issueNumber: pr,
        marker: stickyMarker(`scan:${inputs.category}`),
        body: body(),
        author: inputs.commentAuthor,
        logger,
      });
      runtime.setOutput('comment-url', result.url);
    } catch (error) {
      // A comment is a courtesy: a read-only token (pull requests from forks) must not fail the scan.
      logger.warning(
        `Could not comment on pull request #${pr}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  });
}

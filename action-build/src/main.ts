import { join } from 'node:path';
import { runAction } from '@dreamscape/core/actions';
import { FetchHttpClient, makeRunTempDir, ProcessCommandRunner } from '@dreamscape/core';
import {
  announcePushDecision,
  buildOrReuse,
  planImageBuild,
  readGitHubContext,
  RegistryClient,
  revisionOf,
  selectBuilder,
  verifyPushAccess,
} from '@dreamscape/image';
import { readInputs } from './inputs.js';
import { renderSummary } from './summary.js';

/** Builds the image, pushes it, proves the digest with the registry and reports. */
export async function run(): Promise<void> {
  await runAction(async (rt) => {
    const started = Date.now();
    const { logger } = rt;
    const inputs = readInputs(rt.inputs, rt.env);
    // Credentials are masked before anything else can print them.
    if (inputs.password !== '') logger.setSecret(inputs.password);
    for (const secret of inputs.secrets) if ('value' in secret) logger.setSecret(secret.value);
    announcePushDecision(inputs.pushDecision, logger);

    const context = readGitHubContext(rt.env);
    const plan = planImageBuild(inputs, context, logger);
    const registry = new RegistryClient({
      http: new FetchHttpClient(),
      logger,
      logins: plan.logins,
      insecureRegistries: plan.insecureRegistries,
    });
    await verifyPushAccess({ client: registry, plan, logger });

    const temp = makeRunTempDir(rt.run, 'dreamscape-build-');
    const tempDir = temp.path;
    try {
      const runner = new ProcessCommandRunner({ logger });
      const builder = await selectBuilder({
        preference: inputs.builder,
        runner,
        logger,
        tempDir,
        buildx: { builder: inputs.buildxBuilder },
        // The login lands in the run's temp directory, removed at the end, not in buildah's
        // per-user file, which outlives the job (and, on a self-hosted runner, the next jobs).
        buildah: { authFile: join(tempDir, 'registry-auth.json') },
      });
      const builderVersion = await builder.version();
      const { record, sizeBytes } = await buildOrReuse({
        source: inputs,
        plan,
        reuse: inputs.reuse,
        revision: revisionOf(context, { prHeadSha: true }),
        builder,
        runner,
        registry,
        logger,
      });

      rt.setOutput('image', record.image);
      rt.setOutput('digest', record.digest);
      rt.setOutput('tags', JSON.stringify(record.tags));
      rt.setOutput('labels', JSON.stringify(record.labels));
      rt.setOutput('metadata', JSON.stringify(record));
      logger.info(`Built ${record.image}${inputs.push ? ' and pushed it' : ''}.`);
      await rt.appendSummary(
        renderSummary({
          record,
          pushed: inputs.push,
          sizeBytes,
          builderVersion,
          durationMs: Date.now() - started,
        }),
      );
    } finally {
      temp.remove();
    }
  });
}

import type { Logger } from '@dreamscape/core';
import type { ImageBuildPlan } from './build-plan.js';
import type { RegistryClient } from './registry-client.js';

/** Options for {@link verifyPushAccess}. */
export interface VerifyPushAccessOptions {
  readonly client: Pick<RegistryClient, 'verifyLogin'>;
  readonly plan: Pick<ImageBuildPlan, 'push' | 'registry' | 'logins'>;
  readonly logger: Logger;
}

/**
 * When the plan pushes, checks in a `Registry <host>` phase that the registry answers and accepts
 * the plan's credentials, so that an unreachable registry or a wrong password fails the run before
 * a long build rather than after it. Without a push nothing is asked of the registry.
 */
export async function verifyPushAccess(options: VerifyPushAccessOptions): Promise<void> {
  const { client, plan, logger } = options;
  if (!plan.push) return;
  await logger.group(`Registry ${plan.registry}`, async () => {
    await client.verifyLogin(plan.registry);
    const login = plan.logins[0];
    logger.info(
      `${plan.registry} answers and accepts ${login === undefined ? 'anonymous access' : `the credentials of ${login.username}`}.`,
    );
  });
}

import { ActionError, FetchHttpClient, type Logger } from '@dreamscape/core';
import {
  ImageNotFoundError,
  RegistryClient,
  RegistryUnavailableError,
  type RegistryLogin,
} from '@dreamscape/image';

/**
 * Before a rollback writes anything: every image of the target release must still be in its
 * registry. An image that is gone fails the rollback (its pods could never start); a registry that
 * cannot be reached is only a warning, since the cluster may still pull from a mirror.
 */
export async function checkImagesExist(
  images: readonly string[],
  logger: Logger,
  logins: readonly RegistryLogin[],
  revision: number,
): Promise<void> {
  const client = new RegistryClient({
    http: new FetchHttpClient(),
    logger,
    logins,
    retry: { attempts: 2, initialDelayMs: 300 },
    timeoutMs: 10_000,
  });
  const unique = [...new Set(images.filter((i) => i.includes('@sha256:')))];
  const gone: string[] = [];
  await Promise.all(
    unique.map(async (image) => {
      try {
        await client.digestOf(image);
      } catch (error) {
        if (error instanceof ImageNotFoundError) gone.push(image);
        else if (error instanceof RegistryUnavailableError)
          logger.warning(
            `Could not reach the registry of ${image} to check it is still there: ${error.message}`,
          );
        else
          logger.warning(
            `Could not check ${image}: ${error instanceof Error ? error.message : String(error)}`,
          );
      }
    }),
  );
  if (gone.length > 0)
    throw new ActionError(
      `Revision ${revision} runs ${gone.length} image${gone.length === 1 ? '' : 's'} that the registry no longer holds: ${gone.sort().join(', ')}. Nothing was changed.`,
      { hint: 'Roll back to a revision whose images still exist, or push those digests again.' },
    );
  logger.info(`All ${unique.length} images of revision ${revision} are in their registries.`);
}

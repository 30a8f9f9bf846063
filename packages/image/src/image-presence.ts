import { ActionError, FetchHttpClient, type HttpClient, type Logger } from '@dreamscape/core';
import { RegistryClient } from './registry-client.js';
import { ImageNotFoundError, RegistryUnavailableError } from './registry-errors.js';
import type { RegistryLogin } from './registry-auth.js';

/** Options of {@link checkImagesExist}. */
export interface ImagePresenceCheck {
  /** Image references; those pinned by digest are checked, the rest are skipped. */
  readonly images: readonly string[];
  readonly logger: Logger;
  readonly logins: readonly RegistryLogin[];
  /** The release revision the images belong to, named in the error. */
  readonly revision: number;
  /** Default: a fetch client. */
  readonly http?: HttpClient;
}

/**
 * Before a rollback writes anything: every image of the target release must still be in its
 * registry. An image that is gone fails the rollback (its pods could never start); a registry that
 * cannot be reached is only a warning, since the cluster may still pull from a mirror.
 */
export async function checkImagesExist(check: ImagePresenceCheck): Promise<void> {
  const { images, logger, logins, revision } = check;
  const client = new RegistryClient({
    http: check.http ?? new FetchHttpClient(),
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

/**
 * One login per registry the images pull from (the part before the first slash, when it names a
 * host), all with the same credentials; none without a password.
 */
export function loginsForImages(
  images: readonly string[],
  credentials: { readonly username: string; readonly password: string },
): RegistryLogin[] {
  if (credentials.password === '') return [];
  return [...new Set(images.map((i) => i.split('/')[0] ?? ''))]
    .filter((r) => r.includes('.') || r.includes(':'))
    .map((registry) => ({ registry, username: credentials.username, password: credentials.password }));
}

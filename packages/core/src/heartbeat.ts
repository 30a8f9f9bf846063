import type { Logger } from './logger.js';

/**
 * Logs `describe()` every `intervalMs` (default 30 s) until stopped, so that a long wait always says
 * what it waits on and how long is left.
 */
export function startHeartbeat(
  logger: Logger,
  describe: () => string,
  intervalMs = 30_000,
): { stop(): void } {
  const timer = setInterval(() => {
    logger.info(describe());
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
    },
  };
}

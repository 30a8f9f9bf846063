import { ActionError } from '@dreamscape/core';
import type { Color } from './colors.js';
import type { ReleaseStrategy } from './history.js';
import type { SelectorColor } from './switching.js';

/**
 * The refusals of the release engine, one class each, so that a caller (an action's main, a test)
 * can tell them apart by type and read their data instead of matching on messages. Every one is an
 * {@link ActionError}: expected, shown to the user with its hint.
 */

/** Another run holds the release lock and did not let it go within the wait. */
export class LockHeldError extends ActionError {
  readonly lock: string;
  readonly namespace: string;
  /** The holder identity of the run that holds it (`another run` when a race hid it). */
  readonly holder: string;
  readonly runUrl: string;
  readonly expiresInMs: number;

  constructor(
    message: string,
    data: { lock: string; namespace: string; holder: string; runUrl: string; expiresInMs: number },
    hint: string,
  ) {
    super(message, { hint });
    this.name = 'LockHeldError';
    this.lock = data.lock;
    this.namespace = data.namespace;
    this.holder = data.holder;
    this.runUrl = data.runUrl;
    this.expiresInMs = data.expiresInMs;
  }
}

/** A renewal found the lock taken by someone else while this run held it. */
export class LockLostError extends ActionError {
  readonly lock: string;
  /** Who holds it now (empty when nobody does). */
  readonly holder: string;

  constructor(message: string, data: { lock: string; holder: string }) {
    super(message);
    this.name = 'LockLostError';
    this.lock = data.lock;
    this.holder = data.holder;
  }
}

/** The live Services of an app select different colors and no journaled release explains it. */
export class ColorsDisagreeError extends ActionError {
  readonly app: string;
  readonly environment: string;
  /** Service name → the color its selector names. */
  readonly colors: ReadonlyMap<string, SelectorColor>;

  constructor(
    message: string,
    data: { app: string; environment: string; colors: ReadonlyMap<string, SelectorColor> },
    hint: string,
  ) {
    super(message, { hint });
    this.name = 'ColorsDisagreeError';
    this.app = data.app;
    this.environment = data.environment;
    this.colors = data.colors;
  }
}

/** Another run recorded the same revision at the same moment. */
export class RecordConflictError extends ActionError {
  readonly app: string;
  readonly environment: string;
  readonly revision: number;

  constructor(message: string, data: { app: string; environment: string; revision: number }, cause: unknown) {
    super(message, { cause });
    this.name = 'RecordConflictError';
    this.app = data.app;
    this.environment = data.environment;
    this.revision = data.revision;
  }
}

/** A color was to be scaled down while live Services still select it (the guard against an outage). */
export class ScaleDownRefusedError extends ActionError {
  readonly color: Color;
  /** The Services that still select it. */
  readonly services: readonly string[];

  constructor(message: string, data: { color: Color; services: readonly string[] }, hint: string) {
    super(message, { hint });
    this.name = 'ScaleDownRefusedError';
    this.color = data.color;
    this.services = data.services;
  }
}

/** After a failed verification, switching the Services back to the previous color failed. */
export class SwitchBackFailedError extends ActionError {
  /** The color the Services were to return to. */
  readonly to: Color | 'legacy';
  /** The candidate they were switched to. */
  readonly from: Color;

  constructor(message: string, data: { to: Color | 'legacy'; from: Color }) {
    super(message);
    this.name = 'SwitchBackFailedError';
    this.to = data.to;
    this.from = data.from;
  }
}

/**
 * The release stopped on an unexpected error and restoring the previous state failed too; the
 * journal is left in progress for the next run to revert. `cause` is the first error.
 */
export class RestoreFailedError extends ActionError {
  /** The error that stopped the release. */
  readonly error: unknown;
  /** The error that stopped the restore. */
  readonly restoreError: unknown;

  constructor(message: string, data: { error: unknown; restoreError: unknown }, hint: string) {
    super(message, { hint, cause: data.error });
    this.name = 'RestoreFailedError';
    this.error = data.error;
    this.restoreError = data.restoreError;
  }
}

/** The environment was released with another strategy; changing it in place is refused. */
export class StrategyChangeRefusedError extends ActionError {
  readonly app: string;
  readonly environment: string;
  /** The strategy the history records. */
  readonly current: ReleaseStrategy;
  /** The strategy this run asked for. */
  readonly requested: ReleaseStrategy;
  readonly revision: number;

  constructor(
    message: string,
    data: {
      app: string;
      environment: string;
      current: ReleaseStrategy;
      requested: ReleaseStrategy;
      revision: number;
    },
    hint: string,
  ) {
    super(message, { hint });
    this.name = 'StrategyChangeRefusedError';
    this.app = data.app;
    this.environment = data.environment;
    this.current = data.current;
    this.requested = data.requested;
    this.revision = data.revision;
  }
}

/** The API server refused the release's objects in the server-side dry run; nothing was written. */
export class DryRunRefusedError extends ActionError {
  readonly namespace: string;

  constructor(message: string, data: { namespace: string }, hint: string, cause: unknown) {
    super(message, { hint, cause });
    this.name = 'DryRunRefusedError';
    this.namespace = data.namespace;
  }
}

/** A canary of the environment is paused for approval; only a run that promotes or aborts it goes on. */
export class CanaryPausedError extends ActionError {
  readonly app: string;
  readonly environment: string;
  readonly revision: number;
  /** The weight the canary is paused at. */
  readonly weight: number;

  constructor(message: string, data: { app: string; environment: string; revision: number; weight: number }) {
    super(message, {
      hint: 'Continue it with `mode: promote` (the same inputs as the paused run), stop it with `mode: abort` or action-rollback.',
    });
    this.name = 'CanaryPausedError';
    this.app = data.app;
    this.environment = data.environment;
    this.revision = data.revision;
    this.weight = data.weight;
  }
}

/** `mode: promote` or `mode: abort` with nothing it could continue or stop. */
export class NothingToContinueError extends ActionError {
  readonly mode: 'promote' | 'abort';

  constructor(message: string, mode: 'promote' | 'abort', hint: string) {
    super(message, { hint });
    this.name = 'NothingToContinueError';
    this.mode = mode;
  }
}

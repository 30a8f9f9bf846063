import { ActionError } from '@dreamscape/core';

/** Why a release was refused. Nothing was written when one is thrown. */
export type RefusalReason =
  | 'version'
  | 'not-greater'
  | 'tag-exists'
  | 'dirty'
  | 'not-tip'
  | 'not-at-tag'
  | 'stale-dist'
  | 'changelog'
  | 'tag-missing'
  | 'not-on-branch';

/** A release refused before it wrote anything: the message says what is wrong, the hint what to do. */
export class ReleaseRefusal extends ActionError {
  readonly reason: RefusalReason;

  constructor(reason: RefusalReason, message: string, hint?: string) {
    super(message, { hint });
    this.name = 'ReleaseRefusal';
    this.reason = reason;
  }
}

import type { Logger } from '@dreamscape/core';

/** What the `push` input says: a decision, or `auto` (decided by the event). */
export type PushSetting = 'auto' | 'true' | 'false';

/**
 * Events whose workflow runs the repository's own, already-trusted code: a push to one of its
 * branches or tags, a published release, a run started by hand by someone with write access, and
 * the schedule (default branch). On these `push: auto` pushes.
 *
 * Everything else does not, above all the events that run with the repository's secrets while
 * building code that is not yet (or never will be) the repository's: `pull_request` (a fork's
 * code), `pull_request_target` (base secrets, often checking out the head), `merge_group` (a
 * candidate merge, not yet on the branch), `workflow_run` (whatever the triggering run left), and
 * `issue_comment` (anyone can comment). Unknown or future events are refused as well: the list is
 * an allow-list.
 */
export const AUTO_PUSH_EVENTS = ['push', 'release', 'workflow_dispatch', 'schedule'] as const;

/** The push decision and why, to print. */
export interface PushDecision {
  readonly push: boolean;
  /** Decided by `auto` from the event, rather than told by the input. */
  readonly automatic: boolean;
  readonly reason: string;
}

/** Whether to push the image, given the `push` input and `GITHUB_EVENT_NAME`. */
export function decidePush(setting: PushSetting, eventName: string): PushDecision {
  if (setting === 'true') return { push: true, automatic: false, reason: "push is 'true'" };
  if (setting === 'false') return { push: false, automatic: false, reason: "push is 'false'" };
  const event = eventName === '' ? 'an unknown' : `a ${eventName}`;
  if ((AUTO_PUSH_EVENTS as readonly string[]).includes(eventName))
    return { push: true, automatic: true, reason: `push is 'auto' and this is ${event} event` };
  return {
    push: false,
    automatic: true,
    reason: `push is 'auto' and this is ${event} event: the image is built but not pushed, because 'auto' pushes only on ${AUTO_PUSH_EVENTS.join(', ')} (the repository's own code). Set push: 'true' to push anyway.`,
  };
}

/**
 * Says the push decision up front, as a notice when `auto` held back: a build that silently did
 * not push would look like a registry problem.
 */
export function announcePushDecision(decision: PushDecision, logger: Logger): void {
  if (!decision.push && decision.automatic) logger.notice(`Not pushing: ${decision.reason}`);
  else logger.info(`${decision.push ? 'Pushing' : 'Not pushing'}: ${decision.reason}.`);
}

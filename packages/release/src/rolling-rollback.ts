import { parseManifests } from '@dreamscape/kube';
import { unpackManifest, type ReleaseRecord } from './history.js';
import type { ReleaseOutcome } from './outcome.js';
import { planBlueGreen } from './plan.js';
import type { ReleaseOptions } from './release-context.js';
import { RollingDeploy } from './rolling.js';

/**
 * What undoing a rolling release needs: the release options (the plan, the manifest and the kind
 * come from the target record), the records, and why.
 */
export interface RollingRollbackOptions extends Omit<
  ReleaseOptions,
  'plan' | 'manifestText' | 'checksText' | 'release'
> {
  readonly current: ReleaseRecord;
  readonly target: ReleaseRecord;
  readonly reason: string;
  /** The health-checks YAML as given; the target's recorded one when unset. */
  readonly checksText?: string;
}

/**
 * Rolls a rolling release back: the target revision's exact recorded manifest is applied in place
 * as a release of its own (journaled, resumable), awaited and checked on the live Services; if that
 * fails, the release live before it (the current one) is applied again.
 */
export async function rollbackRolling(o: RollingRollbackOptions): Promise<ReleaseOutcome> {
  const { target, current: _current, reason, checksText, ...options } = o;
  const manifestText = unpackManifest(target);
  const objects = parseManifests(manifestText, `revision ${target.revision}`);
  const plan = planBlueGreen(objects, {
    app: target.app,
    environment: target.environment,
    namespace: target.namespace,
    manifestText,
  });
  return new RollingDeploy({
    ...options,
    plan,
    objects,
    manifestText,
    ...(target.source === undefined ? {} : { source: target.source }),
    checksText: checksText ?? target.checks,
    release: { kind: 'rollback', to: target.revision, reason },
  }).run();
}

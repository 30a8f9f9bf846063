import { formatDuration } from '@dreamscape/core';
import { parseManifests, type KubeObject, type RolloutOutcome, type RolloutTarget } from '@dreamscape/kube';
import { withReleaseLabels, type CandidateRelease } from './candidate.js';
import { coloredName, type Color } from './colors.js';
import { unpackManifest, type ReleaseRecord } from './history.js';
import { planBlueGreen, type BlueGreenPlan } from './plan.js';
import type { ReleaseContext } from './release-context.js';
import { rolloutRefs, type StepFailure } from './failure-diagnostics.js';
import { applyScales } from './scaling.js';

type RolloutContext = Pick<ReleaseContext, 'plan' | 'api' | 'kubectl' | 'logger' | 'waitOptions'>;

/**
 * Step 4: the configuration and the stateful workloads first (in place, their rollouts awaited:
 * the candidate may depend on them), then the candidate color and the Services' non-selector
 * changes, then its replica counts. Returns what failed, or undefined.
 */
export async function applyCandidate(
  ctx: RolloutContext,
  release: CandidateRelease,
  what: {
    readonly colored: boolean;
    readonly candidate: Color;
    /** Runs once the configuration and stateful workloads are in place, before the candidate (pre-deploy Jobs). */
    readonly beforeCandidate?: () => Promise<StepFailure | undefined>;
  },
): Promise<StepFailure | undefined> {
  const { plan, logger, kubectl } = ctx;
  const { first } = release;
  if (first.length > 0) await ctx.api.applyServerSide(first);
  if (plan.stateful.length > 0) {
    logger.info(
      `Stateful workloads applied in place: ${plan.stateful.map((w) => `${w.kind}/${w.metadata.name}`).join(', ')}.`,
    );
    const waited = await kubectl.waitForRollouts(
      rolloutTargets(plan.namespace, plan.stateful),
      ctx.waitOptions,
    );
    const failed = waited.filter((w) => w.state !== 'complete');
    if (failed.length > 0)
      return {
        message: `stateful workloads did not roll out: ${describeRollouts(failed)}`,
        workloads: rolloutRefs(failed),
      };
  }
  const hooked = await what.beforeCandidate?.();
  if (hooked !== undefined) return hooked;
  const services = release.services.filter((s) => s.when === 'apply').map((s) => s.object);
  if (!what.colored) {
    // The fast path writes no color, but the Services (each with the color it selects now) carry
    // this release's provenance before it switches them.
    if (services.length > 0) await ctx.api.applyServerSide(services);
    return undefined;
  }
  const objects = [...release.colored, ...services];
  const applied = await ctx.api.applyServerSide(objects);
  logger.info(
    `Applied ${applied.length + first.length} objects (${plan.shared.length} shared, ${plan.stateful.length} stateful, ${plan.deployments.length} ${what.candidate} Deployments).`,
  );
  await applyScales(ctx, release.scales);
  return undefined;
}

/** Step 5: every candidate Deployment awaited in parallel, by watch. */
export async function waitCandidate(ctx: RolloutContext, candidate: Color): Promise<RolloutOutcome[]> {
  const { plan, kubectl, logger } = ctx;
  const targets = plan.deployments.map((d) => ({
    namespace: plan.namespace,
    name: coloredName(d.name, candidate),
  }));
  const outcomes = await kubectl.waitForRollouts(targets, ctx.waitOptions);
  for (const w of outcomes)
    logger.info(
      `  ${w.name}: ${w.state}${w.state === 'complete' ? '' : ` (${w.reason})`} — ${w.available}/${w.replicas} available after ${formatDuration(w.elapsedMs)}`,
    );
  return outcomes;
}

/**
 * Step 7b: the in-step workloads (workers, DaemonSets, CronJobs) take this release's manifest the
 * moment the Services run it, and their rollouts are awaited. Returns what failed, or undefined.
 */
export async function updateInStep(
  ctx: RolloutContext,
  release: CandidateRelease,
): Promise<StepFailure | undefined> {
  const { plan, logger, kubectl } = ctx;
  if (plan.inStep.length === 0) return undefined;
  return logger.group('Update the workloads that follow the Services', async () => {
    await ctx.api.applyServerSide(release.inStep);
    logger.info(`Applied ${plan.inStep.map((w) => `${w.kind}/${w.metadata.name}`).join(', ')}.`);
    const waited = await kubectl.waitForRollouts(
      rolloutTargets(plan.namespace, plan.inStep),
      ctx.waitOptions,
    );
    const failed = waited.filter((w) => w.state !== 'complete');
    return failed.length === 0
      ? undefined
      : {
          message: `workloads did not roll out after the switch: ${describeRollouts(failed)}`,
          workloads: rolloutRefs(failed),
        };
  });
}

/**
 * Returns the workloads that are not switched by color (in-step and stateful ones) to `previous`,
 * the release that was live before: its manifest's are applied again (and awaited), those the
 * reverted release (`applied`) added are deleted. Nothing when there is no previous release (a
 * first deploy).
 */
export async function revertWorkloads(
  ctx: RolloutContext,
  previous: ReleaseRecord | undefined,
  applied: Pick<BlueGreenPlan, 'inStep' | 'stateful'>,
): Promise<void> {
  if (previous === undefined) return;
  const { plan, api, logger, kubectl } = ctx;
  const earlier = planOfRecord(previous, plan.namespace);
  const before = [...earlier.stateful, ...earlier.inStep];
  const kept = new Set(before.map((w) => `${w.kind}/${w.metadata.name}`));
  const added = [...applied.stateful, ...applied.inStep].filter(
    (w) => !kept.has(`${w.kind}/${w.metadata.name}`),
  );
  if (before.length === 0 && added.length === 0) return;
  if (before.length > 0) {
    // With the provenance of the release they belong to: they read again as that release left them.
    await api.applyServerSide(withReleaseLabels(plan, before), { release: previous });
    logger.info(
      `Workloads returned to revision ${previous.revision}: ${before.map((w) => `${w.kind}/${w.metadata.name}`).join(', ')}.`,
    );
  }
  for (const w of added) {
    await api.delete(
      { kind: w.kind, name: w.metadata.name, namespace: plan.namespace },
      { ignoreNotFound: true },
    );
    logger.info(`${w.kind}/${w.metadata.name} removed: revision ${previous.revision} does not have it.`);
  }
  const waited = await kubectl.waitForRollouts(rolloutTargets(plan.namespace, before), ctx.waitOptions);
  const failed = waited.filter((w) => w.state !== 'complete');
  if (failed.length > 0)
    logger.warning(
      `Workloads of revision ${previous.revision} did not roll out again: ${describeRollouts(failed)}`,
    );
}

/** The plan of a recorded release (its exact manifest), for what its workloads were. */
export function planOfRecord(record: ReleaseRecord, namespace: string): BlueGreenPlan {
  const text = unpackManifest(record);
  return planBlueGreen(parseManifests(text, `revision ${record.revision}`), {
    app: record.app,
    environment: record.environment,
    namespace,
    manifestText: text,
  });
}

/** What to wait for among workloads: Deployments, StatefulSets and DaemonSets (a CronJob has no rollout). */
export function rolloutTargets(namespace: string, objects: readonly KubeObject[]): RolloutTarget[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet')
    .map((o) => ({
      namespace,
      name: o.metadata.name,
      kind: o.kind as 'Deployment' | 'StatefulSet' | 'DaemonSet',
    }));
}

/** `name state (reason: message)` of rollouts that did not complete, joined. */
export function describeRollouts(outcomes: readonly RolloutOutcome[]): string {
  return outcomes
    .map((w) => `${w.name} ${w.state} (${w.reason}${w.message === '' ? '' : `: ${w.message}`})`)
    .join('; ');
}

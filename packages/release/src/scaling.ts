import type { Deployment, Service } from '@dreamscape/kube';
import { allSettled, type ClusterApi } from './cluster-api.js';
import { coloredName, type Color } from './colors.js';
import type { ScaleWrite } from './candidate.js';
import type { BlueGreenPlan } from './plan.js';
import type { ReleaseContext } from './release-context.js';
import { ScaleDownRefusedError } from './release-errors.js';
import { selectorColor } from './switching.js';

/**
 * The last guard against an outage: throws when a live Service of the plan selects `color`, which
 * is then not to be scaled down.
 */
export async function assertNotServing(
  api: ClusterApi,
  plan: Pick<BlueGreenPlan, 'namespace' | 'services'>,
  color: Color,
): Promise<void> {
  const { items } = await api.list<Service>('services', { namespace: plan.namespace });
  const live = new Map(items.map((s) => [s.metadata.name, s]));
  const serving = plan.services.filter((s) => selectorColor(live.get(s.name)) === color).map((s) => s.name);
  if (serving.length === 0) return;
  const one = serving.length === 1;
  throw new ScaleDownRefusedError(
    `Refusing to scale ${color} down: the Service${one ? '' : 's'} ${serving.join(', ')} still select${one ? 's' : ''} it, and scaling it down would leave ${one ? 'it' : 'them'} with no endpoints.`,
    { color, services: serving },
    'Nothing was scaled down. Point the Services at the other color (or run the deploy again, which reverts from its journal) before scaling a color down.',
  );
}

/**
 * Scales a color to zero (its HPAs removed first, or they would scale it up again). A color that a
 * live Service of the plan still selects is never scaled down: that is an error, loud, whatever
 * path led here.
 */
export async function scaleDown(ctx: Pick<ReleaseContext, 'plan' | 'api'>, color: Color): Promise<void> {
  const { plan, api } = ctx;
  await assertNotServing(api, plan, color);
  await allSettled(
    plan.deployments.map(async (d) => {
      if (d.hpa !== undefined)
        await api.delete(
          {
            kind: 'HorizontalPodAutoscaler',
            name: coloredName(d.hpa.metadata.name, color),
            namespace: plan.namespace,
          },
          { ignoreNotFound: true },
        );
      const ref = { kind: 'Deployment', name: coloredName(d.name, color), namespace: plan.namespace };
      if ((await api.get(ref)) !== undefined)
        await api.patch(ref, { spec: { replicas: 0 } }, { type: 'merge', subresource: 'scale' });
    }),
  );
}

/** Writes the candidate's replica counts through the scale subresource, after its apply. */
export async function applyScales(
  ctx: Pick<ReleaseContext, 'plan' | 'api' | 'logger'>,
  scales: readonly ScaleWrite[],
): Promise<void> {
  const { plan, api, logger } = ctx;
  for (const t of scales) {
    const current =
      (await api.get<Deployment>({ kind: 'Deployment', name: t.name, namespace: plan.namespace }))?.spec
        ?.replicas ?? 0;
    // An HPA owns the count once it runs: only a floor is set, never a cut.
    if (current === t.replicas || (t.hpa && current > t.replicas)) continue;
    await api.patch(
      { kind: 'Deployment', name: t.name, namespace: plan.namespace },
      { spec: { replicas: t.replicas } },
      { type: 'merge', subresource: 'scale' },
    );
    logger.info(`  ${t.name} scaled to ${t.replicas}${t.hpa ? ' (the live color runs that many)' : ''}.`);
  }
}

import type { Deployment, Service } from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import { coloredName, otherColor, type Color } from './colors.js';
import type { ReleaseHistory } from './history.js';
import { containersOf, type BlueGreenPlan } from './plan.js';
import { ColorsDisagreeError } from './release-errors.js';
import { selectorColor, type SelectorColor } from './switching.js';

/** The Services and Deployments of the release's namespace as they are now, and the live color. */
export interface LiveState {
  readonly services: Map<string, Service>;
  readonly deployments: Map<string, Deployment>;
  readonly active: Color | 'legacy' | undefined;
}

/**
 * Reads the Services and Deployments of the plan and works out the live color. Services that
 * disagree are explained by the journal of a release in progress (its switch was interrupted: the
 * color it started from is the live one), or refused.
 */
export async function readLiveState(
  api: ClusterApi,
  plan: Pick<BlueGreenPlan, 'app' | 'environment' | 'namespace' | 'services'>,
  history: Pick<ReleaseHistory, 'list'>,
): Promise<LiveState> {
  const [svcList, depList] = await Promise.all([
    api.list<Service>('services', { namespace: plan.namespace }),
    api.list<Deployment>('deployments', { namespace: plan.namespace }),
  ]);
  const services = new Map(svcList.items.map((s) => [s.metadata.name, s]));
  const deployments = new Map(depList.items.map((d) => [d.metadata.name, d]));
  const colors = new Map<string, SelectorColor>(
    plan.services.map((s) => [s.name, selectorColor(services.get(s.name))]),
  );
  // A Service missing from the cluster while others exist is a new Service: it takes the live color.
  const present = new Set([...colors.values()].filter((c) => c !== 'missing'));
  if (present.size === 0) return { services, deployments, active: undefined };
  if (present.size === 1) return { services, deployments, active: [...present][0] as Color | 'legacy' };
  const records = await history.list();
  const inflight = records[0]?.record.result === 'in-progress' ? records[0].record : undefined;
  if (inflight !== undefined && inflight.color !== undefined) {
    // The journal explains it: the switch of a deploy or a rollback was interrupted. The caller
    // resumes or reverts it.
    return { services, deployments, active: inflight.previousColor };
  }
  const detail = [...colors.entries()].map(([n, c]) => `${n}=${c}`).join(', ');
  throw new ColorsDisagreeError(
    `The live Services of ${plan.app} in ${plan.environment} select different colors (${detail}), and no journaled release explains it.`,
    { app: plan.app, environment: plan.environment, colors },
    'Point every Service of the app at one color (kubectl patch) before deploying again.',
  );
}

/** Whether every Deployment of `color` runs and has all its replicas available. */
export function colorIsReady(
  plan: Pick<BlueGreenPlan, 'deployments'>,
  live: LiveState,
  color: Color | undefined,
): boolean {
  if (color === undefined) return false;
  return plan.deployments.every((d) => {
    const dep = live.deployments.get(coloredName(d.name, color));
    const want = dep?.spec?.replicas ?? 0;
    return dep !== undefined && want > 0 && (dep.status?.availableReplicas ?? 0) >= want;
  });
}

/** The images a Service's Deployment runs in the color it selects (none when it selects nothing). */
export function imagesIn(
  deployments: ReadonlyMap<string, Deployment>,
  name: string,
  color: SelectorColor,
): string[] {
  const dep =
    color === 'missing' ? undefined : deployments.get(color === 'legacy' ? name : coloredName(name, color));
  return dep === undefined ? [] : containersOf(dep).map((c) => c.image ?? '');
}

/** The live colors as a release would find them: what each Service selects now, and where the release goes. */
export interface LiveColors {
  readonly active: Color | undefined;
  readonly candidate: Color;
  /** Service name (including `-preview` ones) → the color its selector names now. */
  readonly services: ReadonlyMap<string, Color>;
  /** Services that exist and select pods without a color (adopted by the switch, never applied over). */
  readonly legacy: ReadonlySet<string>;
  /**
   * Deployment name → the replicas it runs now, so that what the release applies is worked out as
   * the apply will (the candidate is scaled to at least what the live color runs). Unset: nothing
   * runs yet.
   */
  readonly replicas?: ReadonlyMap<string, number>;
}

/**
 * Reads the Services (and the Deployments' replica counts) of the plan to find the live color and
 * the candidate (blue on a first deploy).
 */
export async function readLiveColors(
  api: ClusterApi,
  plan: BlueGreenPlan,
  namespaceExists: boolean,
): Promise<LiveColors> {
  const [live, deployments] = namespaceExists
    ? await Promise.all([
        api.list<Service>('services', { namespace: plan.namespace }).then((l) => l.items),
        api.list<Deployment>('deployments', { namespace: plan.namespace }).then((l) => l.items),
      ])
    : [[], []];
  const services = new Map<string, Color>();
  const legacy = new Set<string>();
  for (const s of live) {
    const c = selectorColor(s);
    if (c === 'blue' || c === 'green') services.set(s.metadata.name, c);
    else if (c === 'legacy') legacy.add(s.metadata.name);
  }
  const active = plan.services.map((s) => services.get(s.name)).find((c): c is Color => c !== undefined);
  return {
    active,
    candidate: active === undefined ? 'blue' : otherColor(active),
    services,
    legacy,
    replicas: new Map(deployments.map((d) => [d.metadata.name, d.spec?.replicas ?? 0])),
  };
}

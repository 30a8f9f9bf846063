import { ActionError, type Logger } from '@dreamscape/core';
import type { Deployment, KubeObject, PermissionCheck } from '@dreamscape/kube';
import type { ScaleWrite } from './candidate.js';
import { reasonOf, type ClusterApi, type PreflightApi } from './cluster-api.js';
import { coloredName, COLORS, MANAGED_BY, MANAGED_BY_LABEL } from './colors.js';
import { ReleaseHistory, type ReleaseStrategy } from './history.js';
import { coloredDeployment, type BlueGreenPlan, type LintFinding } from './plan.js';
import { DryRunRefusedError, StrategyChangeRefusedError } from './release-errors.js';
import type { RouterKind } from './traffic-routers.js';

/** The permissions a blue-green release of `plan` uses in its namespace (and a canary's router). */
export function requiredPermissions(
  plan: Pick<BlueGreenPlan, 'namespace' | 'deployments'> & Partial<Pick<BlueGreenPlan, 'hooks'>>,
  router?: RouterKind,
): PermissionCheck[] {
  const namespace = plan.namespace;
  const rw = (resource: string, verbs: readonly string[]): PermissionCheck[] =>
    verbs.map((verb) => ({ verb, resource, namespace }));
  return [
    ...rw('deployments.apps', ['get', 'list', 'watch', 'create', 'patch']),
    { verb: 'patch', resource: 'deployments.apps', namespace, subresource: 'scale' },
    ...rw('services', ['get', 'list', 'create', 'patch', 'delete']),
    { verb: 'get', resource: 'services', namespace, subresource: 'proxy' },
    ...rw('secrets', ['get', 'list', 'create', 'update', 'delete']),
    ...rw('leases.coordination.k8s.io', ['get', 'create', 'update']),
    ...rw('endpoints', ['list']),
    ...(plan.deployments.some((d) => d.hpa !== undefined)
      ? rw('horizontalpodautoscalers.autoscaling', ['create', 'patch', 'delete'])
      : []),
    // The nginx router owns a canary Ingress; the gateway-api router writes the user's HTTPRoute.
    ...(router === 'nginx'
      ? rw('ingresses.networking.k8s.io', ['get', 'list', 'create', 'patch', 'delete'])
      : []),
    ...(router === 'gateway-api' ? rw('httproutes.gateway.networking.k8s.io', ['get', 'patch']) : []),
    // Hook Jobs are created, awaited, read back (their pods' logs on failure) and cleaned up.
    ...((plan.hooks ?? []).length > 0
      ? [
          ...rw('jobs.batch', ['get', 'list', 'create', 'patch', 'delete']),
          ...rw('pods', ['list']),
          { verb: 'get', resource: 'pods', namespace, subresource: 'log' },
        ]
      : []),
  ];
}

/**
 * Checks, before any write, that the cluster answers, that the namespace exists (or is created by
 * the overlay), and that the credentials may do everything a release does. Each failure is an
 * ActionError saying what to fix.
 */
export async function checkCluster(
  api: PreflightApi,
  logger: Logger,
  plan: BlueGreenPlan,
  kubeconfigSource: string,
  router?: RouterKind,
): Promise<{ namespaceExists: boolean }> {
  let server: string;
  try {
    server = await api.serverVersion();
  } catch (error) {
    throw new ActionError(
      `The cluster could not be reached with ${kubeconfigSource}: ${error instanceof Error ? error.message : String(error)}`,
      {
        hint: 'Check the `kubeconfig` input (or KUBECONFIG) and that the API server is reachable from the runner.',
        cause: error,
      },
    );
  }
  logger.info(`Cluster answers: Kubernetes ${server}.`);

  let namespaceExists: boolean;
  try {
    namespaceExists = (await api.get({ kind: 'Namespace', name: plan.namespace })) !== undefined;
  } catch (error) {
    if (reasonOf(error) === 'Forbidden')
      namespaceExists = true; // may not read namespaces, may still deploy into one
    else throw error;
  }
  const createsIt = plan.shared.some((o) => o.kind === 'Namespace' && o.metadata.name === plan.namespace);
  if (!namespaceExists && !createsIt)
    throw new ActionError(
      `Namespace ${plan.namespace} does not exist and the overlay or chart does not create it.`,
      {
        hint: 'Create the namespace (a chart is released into an existing namespace, as helm does without --create-namespace), add a Namespace object to the overlay, or set the `namespace` input.',
      },
    );

  const needed = requiredPermissions(plan, router);
  const denied = await api.canIAll(needed);
  if (denied.length > 0)
    throw new ActionError(
      `The credentials may not do everything a release needs in namespace ${plan.namespace}. Denied: ${denied
        .map((d) => `${d.verb} ${d.resource}${d.subresource === undefined ? '' : `/${d.subresource}`}`)
        .join(', ')}.`,
      {
        hint: 'Grant them in a Role bound to the deploying identity (see the action README, "Permissions in the cluster").',
      },
    );
  logger.info(`Permissions in ${plan.namespace}: all ${needed.length} granted.`);
  return { namespaceExists };
}

/**
 * Server-side dry run of everything the release would write: the API server validates and defaults
 * every object (and admission runs) without storing anything. Objects in a namespace that does not
 * exist yet cannot be checked (the server answers NotFound for the namespace): a deploy creates the
 * namespace first, so that every object is checked before anything else is written; a plan, which
 * writes nothing, reports them as not validated. Returns how many objects could not be checked.
 *
 * `scales` are the replica counts the release writes through the scale subresource after the apply
 * (by default those that go with a list from {@link releaseObjects}): each is checked as the
 * Deployment it leaves behind.
 */
export async function dryRun(
  api: ClusterApi,
  logger: Logger,
  objects: readonly KubeObject[],
  namespaceExists: boolean,
  namespace: string,
  scales: readonly ScaleWrite[] = [],
): Promise<{ readonly unchecked: number }> {
  const checkable = namespaceExists
    ? objects
    : objects.filter((o) => o.kind === 'Namespace' || o.metadata.namespace !== namespace);
  // The dry run runs before the lock: a release in flight may switch a selector between the read of
  // the live colors and this request. Selectors are the engine's to switch, so the Services it
  // switches are checked with their ownership forced; everything else must apply cleanly.
  const switched = (o: KubeObject): boolean =>
    o.kind === 'Service' && o.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
  // Replicas belong to the scale subresource (its writer owns them, not the apply's), so the
  // Deployments as scaled are checked with that ownership forced; the apply itself is checked as
  // it is, beside them.
  const scaled = scales.flatMap((s): KubeObject[] => {
    const d = checkable.find((o) => o.kind === 'Deployment' && o.metadata.name === s.name);
    return d === undefined ? [] : [{ ...d, spec: { ...(d as Deployment).spec, replicas: s.replicas } }];
  });
  try {
    await Promise.all([
      api.applyServerSide(
        checkable.filter((o) => !switched(o)),
        { dryRun: true },
      ),
      api.applyServerSide([...checkable.filter(switched), ...scaled], { dryRun: true, forceConflicts: true }),
    ]);
  } catch (error) {
    throw new DryRunRefusedError(
      `The API server refused the release in a dry run: ${error instanceof Error ? error.message : String(error)}`,
      { namespace },
      'Nothing was written. Fix the manifests (or the immutable field the message names) and deploy again.',
      error,
    );
  }
  const unchecked = objects.length - checkable.length;
  logger.info(
    `Server-side dry run: ${checkable.length} objects accepted${unchecked > 0 ? `; ${unchecked} could not be checked: namespace ${namespace} does not exist yet` : ''}.`,
  );
  return { unchecked };
}

/**
 * Refuses, before any write, a release whose strategy differs from the one the environment was
 * released with (its newest recorded release): switching strategies in place would leave colored
 * copies beside un-colored ones. The way to migrate is in the action-deploy README.
 */
export async function checkStrategy(
  api: ClusterApi,
  logger: Logger,
  plan: Pick<BlueGreenPlan, 'app' | 'environment' | 'namespace'>,
  strategy: ReleaseStrategy,
  namespaceExists: boolean,
): Promise<void> {
  if (!namespaceExists) return;
  const history = new ReleaseHistory(api, logger, plan);
  const latest = (await history.list()).find((s) => s.record.result !== 'in-progress')?.record;
  const current = latest?.strategy;
  // A canary is a blue-green release with a gradual switch: the same colored objects, so an
  // environment goes from one to the other (and a rollback of either is recorded blue-green).
  if (current === undefined || colored(current) === colored(strategy)) return;
  throw new StrategyChangeRefusedError(
    `${plan.app} in ${plan.environment} is released ${current} (revision ${latest?.revision ?? 0} was released ${current}); this run asks for '${strategy}'. Changing the strategy in place is refused: nothing was written.`,
    {
      app: plan.app,
      environment: plan.environment,
      current,
      requested: strategy,
      revision: latest?.revision ?? 0,
    },
    'To change strategy, follow "Changing the strategy of an environment" in the action-deploy README: delete the release records of the environment, deploy with the new strategy, then remove what the old one left.',
  );
}

/**
 * Problems only the live cluster shows: a colored Deployment whose selector would change (selectors
 * are immutable, so the apply would fail halfway through a release).
 */
export async function liveFindings(
  api: ClusterApi,
  plan: BlueGreenPlan,
  namespaceExists: boolean,
): Promise<LintFinding[]> {
  if (!namespaceExists) return [];
  const { items } = await api.list<Deployment>('deployments', { namespace: plan.namespace });
  const live = new Map(items.map((d) => [d.metadata.name, d]));
  const findings: LintFinding[] = [];
  for (const d of plan.deployments) {
    for (const color of COLORS) {
      const existing = live.get(coloredName(d.name, color));
      if (existing === undefined) continue;
      const want = coloredDeployment(plan, d, color, 1).spec?.selector?.matchLabels ?? {};
      const have = existing.spec?.selector?.matchLabels ?? {};
      if (JSON.stringify(sorted(want)) !== JSON.stringify(sorted(have)))
        findings.push({
          level: 'error',
          object: `Deployment/${coloredName(d.name, color)}`,
          message: `its selector would change from ${JSON.stringify(sorted(have))} to ${JSON.stringify(sorted(want))}, and Deployment selectors are immutable; keep the selector, or delete ${coloredName(d.name, 'blue')} and ${coloredName(d.name, 'green')} first`,
        });
    }
  }
  return findings;
}

function sorted(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function colored(strategy: ReleaseStrategy): boolean {
  return strategy !== 'rolling';
}

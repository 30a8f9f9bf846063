import { ActionError, parseYamlText, type Logger } from '@dreamscape/core';
import { parseManifests, type Secret, type Service } from '@dreamscape/kube';
import { BlueGreenDeploy } from './blue-green.js';
import { engineOptions, type EngineContext } from './release-context.js';
import type { ClusterApi } from './cluster-api.js';
import { APP_LABEL, ENVIRONMENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL, otherColor } from './colors.js';
import {
  checkConfinement,
  clusterScopes,
  type AllowedClusterObject,
  type DiscoveryApi,
} from './confinement.js';
import { parseHealthChecks, type HealthCheck } from './health-checks.js';
import { RELEASE_SECRET_TYPE, ReleaseHistory, unpackManifest, type ReleaseRecord } from './history.js';
import type { ReleaseOutcome } from './outcome.js';
import { candidatePath } from './candidate.js';
import { readLiveState } from './live-state.js';
import { planBlueGreen } from './plan.js';
import { pausedWeight } from './canary-pause.js';
import { findRollbackTarget } from './rollback-target.js';
import { rollbackRolling } from './rolling-rollback.js';
import { selectorColor } from './switching.js';

/** Which releases a rollback acts on. */
export interface RollbackQuery {
  readonly environment: string;
  /** One app, or `all`: every app recorded in the environment. */
  readonly app: string;
  /** Where to look; undefined: every namespace the credentials can read. */
  readonly namespace: string | undefined;
}

/** An app and the namespace its history is recorded in. */
export interface RollbackScope {
  readonly app: string;
  readonly namespace: string;
}

/**
 * The (app, namespace) pairs whose history records the environment, sorted by app. Nothing recorded
 * is an error listing what is; an app recorded in two namespaces is an error asking for `namespace`.
 */
export async function findRollbackScopes(
  api: ClusterApi,
  query: RollbackQuery,
  logger: Logger,
): Promise<RollbackScope[]> {
  const selector = `${ENVIRONMENT_LABEL}=${query.environment},${MANAGED_BY_LABEL}=${MANAGED_BY}${query.app === 'all' ? '' : `,${APP_LABEL}=${query.app}`}`;
  const { items } = await api.list<Secret>('secrets', {
    ...(query.namespace === undefined ? {} : { namespace: query.namespace }),
    labelSelector: selector,
  });
  const records = items.filter((s) => s.type === RELEASE_SECRET_TYPE);
  if (records.length === 0) {
    const all = await api
      .list<Secret>('secrets', { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` })
      .catch(() => ({ items: [] as Secret[] }));
    const known = [
      ...new Set(
        all.items
          .filter((s) => s.type === RELEASE_SECRET_TYPE)
          .map(
            (s) =>
              `${s.metadata.labels?.[APP_LABEL] ?? '?'} in ${s.metadata.labels?.[ENVIRONMENT_LABEL] ?? '?'}`,
          ),
      ),
    ].sort();
    throw new ActionError(
      `No release of ${query.app === 'all' ? 'any app' : `app '${query.app}'`} is recorded for environment '${query.environment}'${query.namespace === undefined ? '' : ` in namespace ${query.namespace}`}. Recorded: ${known.length === 0 ? 'nothing' : known.join(', ')}.`,
      { hint: 'Check the `environment` and `app` inputs: they must match what action-deploy was given.' },
    );
  }
  const scopes = new Map<string, RollbackScope>();
  for (const s of records) {
    const app = s.metadata.labels?.[APP_LABEL] ?? '';
    const namespace = s.metadata.namespace ?? '';
    scopes.set(`${app}/${namespace}`, { app, namespace });
  }
  const byApp = new Map<string, string[]>();
  for (const s of scopes.values()) byApp.set(s.app, [...(byApp.get(s.app) ?? []), s.namespace]);
  for (const [app, namespaces] of byApp)
    if (namespaces.length > 1)
      throw new ActionError(
        `App '${app}' has releases for '${query.environment}' in ${namespaces.length} namespaces (${namespaces.join(', ')}).`,
        {
          hint: 'Set the `namespace` input.',
        },
      );
  logger.info(`History found: ${[...scopes.values()].map((s) => `${s.app} in ${s.namespace}`).join(', ')}.`);
  return [...scopes.values()].sort((a, b) => a.app.localeCompare(b.app));
}

/** What one app's rollback should do. */
export interface AppRollbackRequest {
  readonly scope: RollbackScope;
  readonly environment: string;
  readonly to: 'previous' | number;
  readonly reason: string;
  /** `plan`: find the target and the path it would take, write nothing. */
  readonly mode: 'rollback' | 'plan';
  /** Decoded checks to run instead of those recorded with the target; undefined: the recorded ones. */
  readonly healthChecks: unknown;
  readonly allowClusterObjects: readonly AllowedClusterObject[];
  readonly rolloutTimeoutMs: number;
  readonly verifyWindowMs: number;
  readonly lockWaitMs: number;
  readonly lockTtlMs: number;
}

/** The cluster and the run a rollback works with. */
export interface RollbackContext extends EngineContext {
  /** Reads and writes, and the server's discovery (the scope of kinds the built-in table does not know). */
  readonly api: ClusterApi & DiscoveryApi;
  /**
   * Called once the target is known and before anything is written (in plan mode too): throws when
   * the target cannot run (its images are gone from the registry, say).
   */
  readonly verifyTarget?: (target: ReleaseRecord) => Promise<void>;
  /** Wraps the writing part (a GitHub deployment around it, say); default: runs it. */
  readonly track?: (
    target: ReleaseRecord,
    rollback: () => Promise<AppRollbackResult>,
  ) => Promise<AppRollbackResult>;
}

/** One app's rollback, as reported. */
export interface AppRollbackResult {
  readonly app: string;
  readonly result: 'rolled-back' | 'already-current' | 'failed' | 'planned';
  readonly from: number;
  readonly to: number;
  /** The engine's outcome, when the rollback ran. */
  readonly outcome: ReleaseOutcome | undefined;
  readonly message: string;
}

/**
 * One app's rollback: finds the target revision in its history (a re-run of a run that already rolled
 * back is that rollback), stops when it is what runs now, holds the recorded manifest to the
 * confinement rule, picks the checks (the input's or the recorded ones), then plans or returns to the
 * target with the engine of the target's strategy.
 */
export async function rollbackApp(
  request: AppRollbackRequest,
  ctx: RollbackContext,
): Promise<AppRollbackResult> {
  const { scope, environment } = request;
  const { api, logger } = ctx;
  const history = new ReleaseHistory(api, logger, {
    app: scope.app,
    environment,
    namespace: scope.namespace,
  });
  const where = `app '${scope.app}' in '${environment}'`;
  const recorded = await history.list();
  const found = findRollbackTarget(recorded, request.to, where, ctx.run.runId);
  let { current, target } = found;
  if (found.repeated === true) {
    const to = current.rollbackTo ?? current.revision;
    if (await isAlreadyCurrent(api, scope, current, target)) {
      logger.notice(
        `An earlier attempt of this run already rolled back to revision ${to} (as revision ${current.revision}), and it is what runs now: nothing to do.`,
      );
      return {
        app: scope.app,
        result: 'already-current',
        from: current.previousRevision,
        to,
        outcome: undefined,
        message: `an earlier attempt of this run rolled back to revision ${to}`,
      };
    }
    // Its Services were moved since: the same rollback again, to the same revision.
    logger.notice(
      `An earlier attempt of this run rolled back to revision ${to}, but it no longer serves; returning to it again.`,
    );
    ({ current, target } = findRollbackTarget(
      recorded.filter((s) => s.record.revision !== current.revision),
      recorded.some((s) => s.record.revision === to) ? to : 'previous',
      where,
    ));
  }
  // A canary in progress (paused for approval, or running): rolling back means aborting it; the
  // release live before it stays live, unless `to` names another revision to return to.
  const latest = recorded[0]?.record;
  const canary =
    latest?.result === 'in-progress' && latest.strategy === 'canary' && found.repeated !== true
      ? latest
      : undefined;
  if (canary !== undefined && request.to === 'previous') {
    const paused = pausedWeight(canary);
    logger.notice(
      `Revision ${canary.revision} is a canary ${paused === undefined ? 'in progress' : `paused for approval at ${paused} %`}: the rollback aborts it, and revision ${current.revision} stays live.`,
    );
    target = current;
  }
  logger.info(
    `Live: revision ${current.revision}${current.color === undefined ? '' : ` (${current.color})`}; target: revision ${target.revision}.`,
  );

  if (canary === undefined && (await isAlreadyCurrent(api, scope, current, target))) {
    logger.notice(`Revision ${target.revision} is what runs now: nothing to roll back.`);
    return {
      app: scope.app,
      result: 'already-current',
      from: current.revision,
      to: target.revision,
      outcome: undefined,
      message: `revision ${target.revision} is already live`,
    };
  }
  await checkRecordedConfinement(api, scope, target, request.allowClusterObjects);
  const { checks, checksText } = rollbackChecks(request.healthChecks, target);
  await ctx.verifyTarget?.(target);

  if (request.mode === 'plan') {
    const path = await plannedRollbackPath(api, history, scope, current, target);
    return {
      app: scope.app,
      result: 'planned',
      from: current.revision,
      to: target.revision,
      outcome: undefined,
      message: `would roll back ${current.revision} → ${target.revision} by the ${path}`,
    };
  }

  const rollback = async (): Promise<AppRollbackResult> => {
    // A canary still running holds the lock: the rollback asks it to abort while it waits.
    const requestAbort = canary !== undefined && pausedWeight(canary) === undefined;
    const outcome = await returnToTarget({ request, ctx, current, target, checks, checksText, requestAbort });
    if (canary !== undefined && outcome.path === 'already-live')
      return {
        app: scope.app,
        result: 'rolled-back',
        from: canary.revision,
        to: target.revision,
        outcome,
        message: `the canary revision ${canary.revision} was aborted; revision ${target.revision} stays live`,
      };
    return {
      app: scope.app,
      result:
        outcome.path === 'already-live'
          ? 'already-current'
          : outcome.result === 'promoted'
            ? 'rolled-back'
            : 'failed',
      from: current.revision,
      to: target.revision,
      outcome,
      message: outcome.message,
    };
  };
  return ctx.track === undefined ? rollback() : ctx.track(target, rollback);
}

/** The overall result of a rollback of several apps, as the `result` output says it. */
export function overallRollbackResult(
  results: readonly AppRollbackResult[],
  mode: AppRollbackRequest['mode'],
): AppRollbackResult['result'] {
  if (results.every((r) => r.result === 'already-current')) return 'already-current';
  if (results.some((r) => r.result === 'failed')) return 'failed';
  return mode === 'plan' ? 'planned' : 'rolled-back';
}

/** The checks a rollback runs: the input's when given, else those recorded with the target. */
function rollbackChecks(
  input: unknown,
  target: ReleaseRecord,
): { checks: HealthCheck[]; checksText: string } {
  const recordedAs = `the checks recorded with revision ${target.revision}`;
  const value: unknown =
    input ?? (target.checks === '' ? undefined : parseYamlText(target.checks, recordedAs));
  return {
    checks: parseHealthChecks(
      value,
      target.services.map((s) => s.name),
      input === undefined ? recordedAs : 'health-checks',
    ),
    checksText: input === undefined ? target.checks : JSON.stringify(input),
  };
}

/** The engine of the target's strategy, returning to the target's recorded manifest. */
async function returnToTarget(o: {
  request: AppRollbackRequest;
  ctx: RollbackContext;
  current: ReleaseRecord;
  target: ReleaseRecord;
  checks: readonly HealthCheck[];
  checksText: string;
  requestAbort: boolean;
}): Promise<ReleaseOutcome> {
  const { request, ctx, current, target, checks, checksText } = o;
  // The target's own commit is recorded, not the one the rollback runs from.
  const common = engineOptions(ctx, { ...request, checks, checksText }, target.commit);
  if (target.strategy === 'rolling')
    return rollbackRolling({ ...common, current, target, reason: request.reason });
  // The exact manifest recorded with the target revision, not a re-render.
  const manifestText = unpackManifest(target);
  const plan = planBlueGreen(parseManifests(manifestText, `revision ${target.revision}`), {
    app: request.scope.app,
    environment: request.environment,
    // The namespace the record was read from, never the one it names (ReleaseHistory refuses a
    // record naming another, and this holds even if it did not).
    namespace: request.scope.namespace,
    manifestText,
  });
  return new BlueGreenDeploy({
    ...common,
    plan,
    manifestText,
    // The record says what the target was rendered from; the rollback keeps saying it.
    ...(target.source === undefined ? {} : { source: target.source }),
    previous: 'keep',
    release: { kind: 'rollback', to: target.revision, reason: request.reason },
    ...(o.requestAbort ? { requestAbort: true } : {}),
  }).run();
}

/**
 * A recorded manifest is held to the rule a deploy is (ADR 6): nothing outside its namespace unless
 * `allow-cluster-objects` lists it. A record is a Secret that whoever may write Secrets in the
 * namespace could edit, and one written before the rule may hold what a deploy now refuses.
 */
async function checkRecordedConfinement(
  api: ClusterApi & DiscoveryApi,
  scope: RollbackScope,
  target: ReleaseRecord,
  allowed: readonly AllowedClusterObject[],
): Promise<void> {
  const objects = parseManifests(unpackManifest(target), `revision ${target.revision}`);
  checkConfinement(objects, {
    namespace: scope.namespace,
    allowed,
    scopeOf: await clusterScopes(api, objects),
    source: { what: `The manifest recorded with revision ${target.revision} (the rollback target)` },
  });
}

/** True when the target release is exactly what the cluster serves now (nothing would change). */
async function isAlreadyCurrent(
  api: ClusterApi,
  scope: RollbackScope,
  current: ReleaseRecord,
  target: ReleaseRecord,
): Promise<boolean> {
  if (target.manifestHash !== current.manifestHash) return false;
  if (target.strategy === 'rolling') return true;
  const { items } = await api.list<Service>('services', { namespace: scope.namespace });
  const byName = new Map(items.map((s) => [s.metadata.name, s]));
  return current.services.every((s) => selectorColor(byName.get(s.name)) === current.color);
}

/**
 * Which path a rollback would take, without writing: the engine's own reading of the live state and
 * of the candidate color, so that the plan says what the rollback will do.
 */
async function plannedRollbackPath(
  api: ClusterApi,
  history: ReleaseHistory,
  scope: RollbackScope,
  current: ReleaseRecord,
  target: ReleaseRecord,
): Promise<string> {
  if (target.strategy === 'rolling') return 'rollout undo';
  if (current.color === undefined) return 're-apply path';
  const manifestText = unpackManifest(target);
  const plan = planBlueGreen(parseManifests(manifestText, `revision ${target.revision}`), {
    app: target.app,
    environment: target.environment,
    namespace: scope.namespace,
    manifestText,
  });
  const live = await readLiveState(api, plan, history);
  const candidate = live.active === undefined || live.active === 'legacy' ? 'blue' : otherColor(live.active);
  const path = candidatePath(plan, 'rollback', live, live.active, candidate);
  if (path === 'fast') return `fast path (${candidate} still runs it, Ready)`;
  if (path === 'warm-up') return `warm-up path (${candidate} runs it, scaled down)`;
  return `re-apply path (${candidate} runs another release)`;
}

import { ActionError, formatDuration, type Clock, type HttpClient, type Logger } from '@dreamscape/core';
import {
  evaluateRollout,
  parseManifests,
  type Deployment,
  type HorizontalPodAutoscaler,
  type KubeObject,
  type Kubectl,
  type RolloutOutcome,
  type RolloutTarget,
  type Service,
} from '@dreamscape/kube';
import { allSettled, type ClusterApi } from './cluster-api.js';
import type { Endpoints } from './endpoints.js';
import { coloredName, otherColor, previewName, type Color } from './colors.js';
import { checksFor, type HealthCheck } from './health-checks.js';
import { runGate, type GateResult, type ProbeContext } from './gates.js';
import {
  isConflict,
  packManifest,
  ReleaseHistory,
  unpackManifest,
  type ReleaseRecord,
  type StoredRelease,
} from './history.js';
import { LeaseLock, type LockHolder } from './lease-lock.js';
import {
  coloredDeployment,
  coloredHpa,
  coloredPdbs,
  coloredService,
  containersOf,
  planBlueGreen,
  previewService,
  releaseLabels,
  TEMPLATE_HASH_ANNOTATION,
  templateHash,
  type BlueGreenPlan,
  type PlannedDeployment,
} from './plan.js';
import {
  pointPreview,
  selectorColor,
  switchServices,
  type SelectorColor,
  type SwitchTarget,
} from './switching.js';
import type { ReleaseOutcome, ServiceChange, WorkloadRelease } from './outcome.js';
import { workloadContainers } from './workload-classes.js';

/** Run metadata recorded with a release. */
export interface RunInfo {
  readonly commit: string;
  readonly runId: string;
  readonly runUrl: string;
  readonly actor: string;
}

/** What a blue-green deploy needs. */
export interface BlueGreenOptions {
  readonly plan: BlueGreenPlan;
  /** The rendered, digest-pinned manifest (recorded, gzip + base64). */
  readonly manifestText: string;
  readonly checks: readonly HealthCheck[];
  /** The health-checks YAML as given (recorded for rollback). */
  readonly checksText: string;
  readonly kubectl: Kubectl;
  /** Reads and writes; an HTTP client over the run's `kubectl proxy`. */
  readonly api: ClusterApi;
  readonly http: HttpClient;
  readonly proxyBaseUrl: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly holder: LockHolder;
  readonly run: RunInfo;
  readonly rolloutTimeoutMs: number;
  readonly verifyWindowMs: number;
  readonly previous: 'keep' | 'scale-down';
  readonly lockWaitMs: number;
  readonly lockTtlMs?: number;
  readonly signal?: AbortSignal;
  /** A deploy (default), or a rollback to a recorded revision (its manifest is `manifestText`). */
  readonly release?: ReleaseKind;
}

/** What kind of release this is. */
export type ReleaseKind =
  { readonly kind: 'deploy' } | { readonly kind: 'rollback'; readonly to: number; readonly reason: string };

/**
 * How the candidate color got ready: `fast` (it already ran this release, Ready at full scale:
 * nothing applied), `warm-up` (it ran this release scaled down: scaled up), `re-apply` (applied),
 * `already-live` (the live color runs this release: nothing to do).
 */
export type ReleasePath = 'fast' | 'warm-up' | 're-apply' | 'already-live';

/** Steps, as journaled in the release record. */
export const DEPLOY_STEPS = [
  'started',
  'applied',
  'ready',
  'preview-switched',
  'gates-passed',
  'switching',
  'switched',
  'workers-updated',
  'verified',
  'finished',
] as const;

interface LiveState {
  readonly services: Map<string, Service>;
  readonly deployments: Map<string, Deployment>;
  readonly active: Color | 'legacy' | undefined;
}

/**
 * One blue-green deploy, in the order and with the safety rules of the design: lock, live state,
 * idle color applied and awaited, preview gates, switch with preconditions, verification window,
 * switch back on failure, record. Every step is journaled in the release record; a re-run of the
 * same manifest resumes, a different one first reverts what the dead run left half done.
 */
export class BlueGreenDeploy {
  private readonly o: BlueGreenOptions;
  private readonly history: ReleaseHistory;
  private readonly lock: LeaseLock;
  private readonly timings: Record<string, number> = {};
  private stored: StoredRelease | undefined;
  private readonly gates: GateResult[] = [];
  private path: ReleasePath = 're-apply';
  /** The release live before this one (its in-step workloads are what a switch back returns to). */
  private previousRelease: ReleaseRecord | undefined;
  /** The color every failure path returns the Services to, as journaled (undefined: first deploy). */
  private returnTo: Color | 'legacy' | undefined;

  private get kind(): ReleaseKind {
    return this.o.release ?? { kind: 'deploy' };
  }

  constructor(options: BlueGreenOptions) {
    this.o = options;
    const { plan } = options;
    this.history = new ReleaseHistory(
      options.api,
      options.logger,
      {
        app: plan.app,
        environment: plan.environment,
        namespace: plan.namespace,
      },
      { clock: options.clock },
    );
    this.lock = new LeaseLock({
      api: options.api,
      logger: options.logger,
      clock: options.clock,
      namespace: plan.namespace,
      app: plan.app,
      environment: plan.environment,
      holder: options.holder,
      waitMs: options.lockWaitMs,
      ...(options.lockTtlMs === undefined ? {} : { ttlMs: options.lockTtlMs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  /** Runs the deploy. Release failures come back as an outcome; setup errors are thrown. */
  async run(): Promise<ReleaseOutcome> {
    const { logger } = this.o;
    const started = this.o.clock.now();
    await this.phase('lock', () => logger.group('Lock', () => this.lock.acquire()));
    try {
      const outcome = await this.deploy();
      this.timings.total = this.o.clock.now() - started;
      return { ...outcome, timings: { ...this.timings } };
    } finally {
      await this.lock.release();
    }
  }

  private async deploy(): Promise<Omit<ReleaseOutcome, 'timings'>> {
    const { plan, logger } = this.o;
    const all = await this.history.list();
    let live = await this.readLive();
    const latest = all[0];

    // A release a killed run left half done: resume it when it deploys the same manifest, else put
    // every Service back on the color that was live before it, and close its record.
    let resume: StoredRelease | undefined;
    if (latest?.record.result === 'in-progress') {
      const r = latest.record;
      if (r.kind === this.kind.kind && r.manifestHash === plan.manifestHash && r.color !== undefined) {
        logger.notice(`Resuming revision ${r.revision}, which an earlier run left at step '${lastStep(r)}'.`);
        resume = latest;
      } else {
        logger.notice(
          `Revision ${r.revision} was left at step '${lastStep(r)}' by an earlier run; reverting it first.`,
        );
        await this.revertInterrupted(latest, live, all);
        live = await this.readLive();
      }
    }

    const lastPromoted = all.find((s) => s.record.result === 'promoted');
    if (
      resume === undefined &&
      lastPromoted !== undefined &&
      lastPromoted.record.manifestHash === plan.manifestHash &&
      live.active === lastPromoted.record.color &&
      this.activeIsReady(live, lastPromoted.record.color)
    ) {
      logger.notice(
        `Revision ${lastPromoted.record.revision} already runs this exact manifest in ${lastPromoted.record.color}: nothing to ${this.kind.kind === 'deploy' ? 'deploy' : 'roll back'}.`,
      );
      if (this.kind.kind === 'deploy')
        await this.applyPreviousPolicy(lastPromoted.record.color, lastPromoted.record.previousColor);
      this.path = 'already-live';
      return this.outcome(
        'promoted',
        lastPromoted.record,
        live,
        live,
        `revision ${lastPromoted.record.revision} is already live`,
      );
    }

    // The color to return to comes from the journal when a release is resumed, never from what the
    // Services say: after a switch they all select the candidate.
    const active: Color | 'legacy' | undefined =
      resume === undefined ? live.active : activeBefore(resume.record);
    this.previousRelease = lastPromoted?.record;
    const candidate: Color =
      resume?.record.color ?? (active === undefined || active === 'legacy' ? 'blue' : otherColor(active));
    if (active === 'legacy')
      logger.notice(
        `The Services select un-colored pods: adopting them. ${candidate} comes up beside the existing Deployments, which are left as they are.`,
      );

    const revision = resume?.record.revision ?? (all[0]?.record.revision ?? 0) + 1;
    const previousRevision = resume?.record.previousRevision ?? lastPromoted?.record.revision ?? 0;
    this.stored = resume ?? (await this.createRecord(revision, previousRevision, active, candidate));
    this.returnTo = active;
    logger.info(
      `Revision ${revision}: ${active === undefined ? 'first deploy' : `live color ${active}`}, deploying to ${candidate}.`,
    );
    const before = live;
    try {
      return await this.release(live, before, active, candidate);
    } catch (error) {
      return this.recoverFrom(error, before, active, candidate);
    }
  }

  /** Steps 4 to 9, once the release is recorded. */
  private async release(
    live: LiveState,
    before: LiveState,
    active: Color | 'legacy' | undefined,
    candidate: Color,
  ): Promise<Omit<ReleaseOutcome, 'timings'>> {
    const { logger } = this.o;
    // 4. Shared objects and the idle color only; the live color is never touched. A rollback whose
    // idle color still runs the target release at full scale and Ready skips straight to the gates.
    this.path = this.candidatePath(live, active, candidate);
    if (this.path === 'fast')
      logger.info(
        `Fast path: ${candidate} still runs this release, Ready at full scale; only what is not colored is applied.`,
      );
    else if (this.kind.kind === 'rollback')
      logger.info(
        this.path === 'warm-up'
          ? `Warm-up path: ${candidate} still runs this release but is scaled down; scaling it up.`
          : `Re-apply path: ${candidate} runs another release; re-applying the recorded manifest.`,
      );
    // Even on the fast path the configuration and the stateful workloads are applied: they are not
    // colored, so the idle color does not hold the release's version of them (an unchanged object
    // costs one request and changes nothing).
    const problem = await this.phase('apply', () =>
      logger.group(
        this.path === 'fast' ? 'Apply shared and stateful objects' : `Apply ${candidate} and shared objects`,
        () => this.applyCandidate(live, active, candidate, { colored: this.path !== 'fast' }),
      ),
    );
    if (problem !== undefined) {
      logger.error(problem);
      await this.abandonCandidate(active, candidate);
      return this.finish('failed', problem, before, await this.readLive());
    }
    await this.journal('applied');

    // 5. Every candidate Deployment awaited in parallel, by watch.
    const waited =
      this.path === 'fast'
        ? []
        : await this.phase('wait', () =>
            logger.group(`Wait for ${candidate} to be fully available`, () => this.waitCandidate(candidate)),
          );
    const notReady = waited.filter((w) => w.state !== 'complete');
    if (notReady.length > 0) {
      const message = `${candidate} did not become available: ${describeRollouts(notReady)}`;
      logger.error(message);
      await this.abandonCandidate(active, candidate);
      return this.finish('failed', message, before, await this.readLive());
    }
    await this.journal('ready');

    // 6. Pre-switch gates on the preview Services.
    await this.phase('preview', () => this.pointPreviews(candidate));
    await this.journal('preview-switched');
    const endpointsProblem = await this.phase('endpoints', () => this.checkEndpoints(candidate));
    if (endpointsProblem !== undefined) {
      logger.error(endpointsProblem);
      await this.abandonCandidate(active, candidate);
      return this.finish('failed', endpointsProblem, before, await this.readLive());
    }
    const pre = await this.phase('pre-switch gates', () =>
      logger.group('Pre-switch health gates', () => this.runGates('pre-switch', undefined)),
    );
    if (pre.some((g) => !g.passed)) {
      const message = `pre-switch health gates failed: ${describeFailures(pre)}`;
      logger.error(message);
      await this.abandonCandidate(active, candidate);
      return this.finish('failed', message, before, await this.readLive());
    }
    await this.journal('gates-passed');

    // 7. Switch every Service together, each with a precondition; revert the switched ones on any failure.
    this.lock.assertHeld();
    await this.journal('switching', `${active ?? 'none'} → ${candidate}`);
    const switched = await this.phase('switch', () =>
      logger.group(`Switch Services to ${candidate}`, () => this.switchAll(live, candidate)),
    );
    if (!switched.ok) {
      await this.abandonCandidate(active, candidate);
      return this.finish('failed', switched.message, before, await this.readLive());
    }
    await this.journal('switched');

    // 7b. The workloads no Service switches (workers, DaemonSets, CronJobs) follow the Services.
    const inStep = await this.phase('workers', () => this.updateInStep());
    await this.journal('workers-updated');

    // 8. Post-switch verification window against the live Services.
    const detection: { at: number } = { at: 0 };
    const post =
      inStep === undefined
        ? await this.phase('verify', () =>
            logger.group(`Verify for ${formatDuration(this.o.verifyWindowMs)} after the switch`, () =>
              this.runGates('post-switch', this.o.verifyWindowMs, () => {
                detection.at = this.o.clock.now();
              }),
            ),
          )
        : [];
    if (inStep !== undefined || post.some((g) => !g.passed)) {
      const message = inStep ?? `post-switch health gates failed: ${describeFailures(post)}`;
      if (detection.at === 0) detection.at = this.o.clock.now();
      logger.error(message);
      if (active === undefined) {
        return this.finish(
          'failed',
          `${message}; this was the first deploy, so there is no previous color to return to`,
          before,
          await this.readLive(),
        );
      }
      await logger.group(`Switch back to ${active}`, async () => {
        const back = await this.switchBack(candidate);
        this.timings.rollback = this.o.clock.now() - (detection.at === 0 ? this.o.clock.now() : detection.at);
        if (!back) throw new ActionError('Switching back failed; the Services are left as listed above.');
        await this.abandonCandidate(active, candidate);
      });
      return this.finish('rolled-back', message, before, await this.readLive());
    }
    await this.journal('verified');

    // 9. Record, keep or scale down the previous color.
    await this.applyPreviousPolicy(candidate, active === 'legacy' ? undefined : active);
    return this.finish('promoted', `${candidate} is live`, before, await this.readLive());
  }

  /**
   * An unexpected error after the release was recorded (an API failure that outlived the retries):
   * put every Service back on the live color, take the preview off the candidate, scale it down and
   * record the release as failed. If even that cannot be done, the record stays in progress and the
   * next run reverts what is left.
   */
  private async recoverFrom(
    error: unknown,
    before: LiveState,
    active: Color | 'legacy' | undefined,
    candidate: Color,
  ): Promise<Omit<ReleaseOutcome, 'timings'>> {
    const { logger } = this.o;
    const message = error instanceof Error ? error.message : String(error);
    logger.error(`The release stopped on an error: ${message}`);
    try {
      // Back to the color the release started from, as journaled: every Service on the candidate.
      if (active !== undefined) await this.switchBack(candidate);
      await this.abandonCandidate(active, candidate);
      return await this.finish('failed', `stopped on an error: ${message}`, before, await this.readLive());
    } catch (cleanupError) {
      throw new ActionError(
        `The release stopped on an error (${message}), and restoring the previous state failed too (${cleanupError instanceof Error ? cleanupError.message : String(cleanupError)}).`,
        {
          hint: 'The release is journaled: run the deploy again (or a rollback) and it reverts what is left.',
          cause: error,
        },
      );
    }
  }

  /** Reads the Services and Deployments of the plan and works out the live color. */
  private async readLive(): Promise<LiveState> {
    const { api, plan } = this.o;
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
    const history = await this.history.list();
    const inflight = history[0]?.record.result === 'in-progress' ? history[0].record : undefined;
    if (inflight !== undefined && inflight.color !== undefined) {
      // The journal explains it: the switch of a deploy or a rollback was interrupted. The caller
      // resumes or reverts it.
      return { services, deployments, active: inflight.previousColor };
    }
    const detail = [...colors.entries()].map(([n, c]) => `${n}=${c}`).join(', ');
    throw new ActionError(
      `The live Services of ${plan.app} in ${plan.environment} select different colors (${detail}), and no journaled release explains it.`,
      { hint: 'Point every Service of the app at one color (kubectl patch) before deploying again.' },
    );
  }

  private activeIsReady(live: LiveState, color: Color | undefined): boolean {
    if (color === undefined) return false;
    return this.o.plan.deployments.every((d) => {
      const dep = live.deployments.get(coloredName(d.name, color));
      const want = dep?.spec?.replicas ?? 0;
      return dep !== undefined && want > 0 && (dep.status?.availableReplicas ?? 0) >= want;
    });
  }

  private async createRecord(
    revision: number,
    previousRevision: number,
    active: Color | 'legacy' | undefined,
    candidate: Color,
  ): Promise<StoredRelease> {
    const { plan, run, clock } = this.o;
    const record: ReleaseRecord = {
      schema: 1,
      app: plan.app,
      environment: plan.environment,
      namespace: plan.namespace,
      revision,
      kind: this.kind.kind,
      strategy: 'blue-green',
      result: 'in-progress',
      color: candidate,
      previousColor: active === 'legacy' ? undefined : active,
      ...(active === 'legacy' ? { adopted: true } : {}),
      previousRevision,
      manifestHash: plan.manifestHash,
      manifest: packManifest(this.o.manifestText),
      images: imagesOf(plan),
      services: plan.services.map((s) => ({ name: s.name, deployment: s.deployment })),
      replicas: {},
      checks: this.o.checksText,
      commit: run.commit,
      runId: run.runId,
      runUrl: run.runUrl,
      actor: run.actor,
      reason: this.kind.kind === 'rollback' ? this.kind.reason : '',
      rollbackTo: this.kind.kind === 'rollback' ? this.kind.to : undefined,
      rolloutRevisions: {},
      startedAt: new Date(clock.now()).toISOString(),
      finishedAt: undefined,
      message: '',
      journal: [{ step: 'started', at: new Date(clock.now()).toISOString() }],
      gates: [],
    };
    try {
      return await this.history.create(record);
    } catch (error) {
      if (isConflict(error))
        throw new ActionError(
          `Revision ${revision} of ${plan.app} in ${plan.environment} was recorded by another run at the same moment.`,
          {
            cause: error,
          },
        );
      throw error;
    }
  }

  private async journal(step: (typeof DEPLOY_STEPS)[number], detail?: string): Promise<void> {
    const stored = this.stored;
    if (stored === undefined) return;
    const record: ReleaseRecord = {
      ...stored.record,
      journal: [
        ...stored.record.journal,
        { step, at: new Date(this.o.clock.now()).toISOString(), ...(detail === undefined ? {} : { detail }) },
      ],
      gates: [...this.gates],
    };
    this.stored = await this.history.update(stored, record);
  }

  /**
   * Step 4: the configuration and the stateful workloads first (in place, their rollouts awaited:
   * the candidate may depend on them), then the candidate color. Replicas are never part of the
   * apply: they are written through the scale subresource only, by one manager, so an environment
   * whose colors were scaled down applies again without a conflict. Returns what failed, or undefined.
   */
  private async applyCandidate(
    live: LiveState,
    active: Color | 'legacy' | undefined,
    candidate: Color,
    what: { readonly colored: boolean },
  ): Promise<string | undefined> {
    const { plan, logger, kubectl } = this.o;
    const first: KubeObject[] = [...plan.shared, ...withReleaseLabels(plan, plan.stateful)];
    if (first.length > 0) await this.o.api.applyServerSide(first);
    if (plan.stateful.length > 0) {
      logger.info(
        `Stateful workloads applied in place: ${plan.stateful.map((w) => `${w.kind}/${w.metadata.name}`).join(', ')}.`,
      );
      const waited = await kubectl.waitForRollouts(rolloutTargets(plan.namespace, plan.stateful), {
        timeoutMs: this.o.rolloutTimeoutMs,
        heartbeatMs: 30_000,
        ...(this.o.signal === undefined ? {} : { signal: this.o.signal }),
      });
      const failed = waited.filter((w) => w.state !== 'complete');
      if (failed.length > 0) return `stateful workloads did not roll out: ${describeRollouts(failed)}`;
    }
    if (!what.colored) return undefined;
    const objects: KubeObject[] = [];
    const targets: { name: string; replicas: number; hpa: boolean }[] = [];
    for (const d of plan.deployments) {
      const target = this.targetReplicas(d, live, active);
      const hpa = coloredHpa(plan, d, candidate);
      objects.push(coloredDeployment(plan, d, candidate, undefined));
      if (hpa !== undefined) objects.push(hpaWithFloor(hpa, target));
      targets.push({ name: coloredName(d.name, candidate), replicas: target, hpa: hpa !== undefined });
      objects.push(...coloredPdbs(plan, d, candidate));
    }
    // Existing Services get their non-selector changes now, with the color they already select;
    // preview Services keep theirs until the candidate is Ready.
    for (const s of plan.services) {
      const liveSvc = live.services.get(s.name);
      const color = selectorColor(liveSvc);
      if (color === 'blue' || color === 'green') objects.push(coloredService(plan, s, color));
      const preview = live.services.get(previewName(s.name));
      const previewColor = selectorColor(preview);
      if (previewColor === 'blue' || previewColor === 'green')
        objects.push(previewService(plan, s, previewColor));
    }
    const applied = await this.o.api.applyServerSide(objects);
    logger.info(
      `Applied ${applied.length + first.length} objects (${plan.shared.length} shared, ${plan.stateful.length} stateful, ${plan.deployments.length} ${candidate} Deployments).`,
    );
    for (const t of targets) {
      const current =
        (await this.o.api.get<Deployment>({ kind: 'Deployment', name: t.name, namespace: plan.namespace }))
          ?.spec?.replicas ?? 0;
      // An HPA owns the count once it runs: only a floor is set, never a cut.
      if (current === t.replicas || (t.hpa && current > t.replicas)) continue;
      await this.o.api.patch(
        { kind: 'Deployment', name: t.name, namespace: plan.namespace },
        { spec: { replicas: t.replicas } },
        { type: 'merge', subresource: 'scale' },
      );
      logger.info(`  ${t.name} scaled to ${t.replicas}${t.hpa ? ' (the live color runs that many)' : ''}.`);
    }
    return undefined;
  }

  /** Whether the candidate color already runs this release (see {@link ReleasePath}). */
  private candidatePath(
    live: LiveState,
    active: Color | 'legacy' | undefined,
    candidate: Color,
  ): ReleasePath {
    const { plan } = this.o;
    let scaled = true;
    for (const d of plan.deployments) {
      const dep = live.deployments.get(coloredName(d.name, candidate));
      if (dep?.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION] !== templateHash(d)) return 're-apply';
      const status = evaluateRollout(dep);
      if (status.state !== 'complete' || status.replicas < this.targetReplicas(d, live, active))
        scaled = false;
    }
    // A deploy always applies: shared objects may have changed even when the pods have not.
    if (this.kind.kind === 'deploy') return 're-apply';
    return scaled ? 'fast' : 'warm-up';
  }

  /** At least the manifest's replicas, and at least what the live color runs now (an HPA may have scaled it). */
  private targetReplicas(
    d: PlannedDeployment,
    live: LiveState,
    active: Color | 'legacy' | undefined,
  ): number {
    const liveName =
      active === undefined ? undefined : active === 'legacy' ? d.name : coloredName(d.name, active);
    const liveReplicas = liveName === undefined ? 0 : (live.deployments.get(liveName)?.spec?.replicas ?? 0);
    return Math.max(d.replicas, liveReplicas, 1);
  }

  private async waitCandidate(candidate: Color): Promise<RolloutOutcome[]> {
    const { plan, kubectl, logger } = this.o;
    const targets = plan.deployments.map((d) => ({
      namespace: plan.namespace,
      name: coloredName(d.name, candidate),
    }));
    const outcomes = await kubectl.waitForRollouts(targets, {
      timeoutMs: this.o.rolloutTimeoutMs,
      heartbeatMs: 30_000,
      ...(this.o.signal === undefined ? {} : { signal: this.o.signal }),
    });
    for (const w of outcomes)
      logger.info(
        `  ${w.name}: ${w.state}${w.state === 'complete' ? '' : ` (${w.reason})`} — ${w.available}/${w.replicas} available after ${formatDuration(w.elapsedMs)}`,
      );
    return outcomes;
  }

  private async pointPreviews(candidate: Color): Promise<void> {
    const { plan, api } = this.o;
    const live = await api.list<Service>('services', { namespace: plan.namespace });
    const existing = new Set(live.items.map((s) => s.metadata.name));
    const missing = plan.services.filter((s) => !existing.has(previewName(s.name)));
    if (missing.length > 0) await api.applyServerSide(missing.map((s) => previewService(plan, s, candidate)));
    await allSettled(
      plan.services
        .filter((s) => existing.has(previewName(s.name)))
        .map((s) => pointPreview(api, plan.namespace, previewName(s.name), candidate)),
    );
    this.o.logger.info(`Preview Services now select ${candidate}.`);
  }

  /** Every port of every preview Service has Ready endpoints (a multi-port Service switches all ports at once). */
  private async checkEndpoints(candidate: Color): Promise<string | undefined> {
    const { plan, api, clock } = this.o;
    const deadline = clock.now() + 30_000;
    let problem: string | undefined;
    for (;;) {
      const { items } = await api.list<Endpoints>('endpoints', { namespace: plan.namespace });
      const byName = new Map(items.map((e) => [e.metadata.name, e]));
      problem = undefined;
      for (const s of plan.services) {
        const ep = byName.get(previewName(s.name));
        for (const port of s.ports) {
          const ready = (ep?.subsets ?? []).some(
            (sub) =>
              (sub.addresses ?? []).length > 0 &&
              (sub.ports ?? []).some((p) => (port.name === undefined ? true : p.name === port.name)),
          );
          if (!ready)
            problem = `${previewName(s.name)} has no Ready ${candidate} endpoint on port ${port.name ?? port.port}`;
        }
      }
      if (problem === undefined || clock.now() >= deadline) return problem;
      await clock.sleep(200, this.o.signal);
    }
  }

  private async runGates(
    phase: 'pre-switch' | 'post-switch',
    windowMs: number | undefined,
    onFailure?: () => void,
  ): Promise<GateResult[]> {
    const checks = checksFor(this.o.checks, phase);
    if (checks.length === 0) {
      this.o.logger.info(`No ${phase} health checks configured; readiness is the gate.`);
      return [];
    }
    const ctx: ProbeContext = {
      http: this.o.http,
      proxyBaseUrl: this.o.proxyBaseUrl,
      namespace: this.o.plan.namespace,
      servicePorts: new Map(this.o.plan.services.map((s) => [s.name, s.ports])),
    };
    const results = await runGate(checks, ctx, {
      phase,
      logger: this.o.logger,
      clock: this.o.clock,
      ...(windowMs === undefined ? {} : { windowMs }),
      ...(this.o.signal === undefined ? {} : { signal: this.o.signal }),
      ...(onFailure === undefined ? {} : { onFailure }),
    });
    this.gates.push(...results);
    return results;
  }

  private targets(live: LiveState, candidate: Color): SwitchTarget[] {
    const { plan } = this.o;
    return plan.services.map((s) => {
      const svc = live.services.get(s.name);
      return {
        name: s.name,
        namespace: plan.namespace,
        from: selectorColor(svc),
        to: candidate,
        liveSelector: svc?.spec?.selector ?? {},
      };
    });
  }

  private async switchAll(live: LiveState, candidate: Color): Promise<{ ok: boolean; message: string }> {
    const { plan, logger } = this.o;
    const targets = this.targets(live, candidate);
    // Services that do not exist yet (first deploy, or a new Service) are created selecting the candidate.
    const create = plan.services.filter((s) => selectorColor(live.services.get(s.name)) === 'missing');
    const pending = targets.filter((t) => t.from !== 'missing' && t.from !== candidate);
    const results = await switchServices(this.o.api, logger, pending, 'forward');
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      const done = pending.filter((t) => results.find((r) => r.name === t.name)?.ok === true);
      logger.warning(
        `Switching failed for ${failed.map((f) => f.name).join(', ')}; switching back ${done.length} Service(s).`,
      );
      const back = await switchServices(this.o.api, logger, done, 'back');
      const stuck = back.filter((b) => !b.ok);
      return {
        ok: false,
        message: `switching Services to ${candidate} failed (${failed.map((f) => `${f.name}: ${f.error ?? 'error'}`).join('; ')}); ${
          stuck.length === 0
            ? `the ${done.length} already switched were switched back`
            : `could not switch back ${stuck.map((s) => s.name).join(', ')}`
        }`,
      };
    }
    if (create.length > 0) {
      await this.o.api.applyServerSide(create.map((s) => coloredService(plan, s, candidate)));
      for (const s of create) logger.info(`  Service ${s.name}: created, selecting ${candidate}`);
    }
    return { ok: true, message: '' };
  }

  /**
   * Puts every Service of the plan that selects the candidate back on the color this release
   * started from, as journaled (never as the Services say: after a switch they all select the
   * candidate). Services already back, or never switched, are left alone.
   */
  private async switchBack(candidate: Color): Promise<boolean> {
    const to = this.returnTo;
    if (to === undefined) return true;
    const { items } = await this.o.api.list<Service>('services', { namespace: this.o.plan.namespace });
    const live = new Map(items.map((s) => [s.metadata.name, s]));
    const targets: SwitchTarget[] = this.o.plan.services
      .filter((s) => selectorColor(live.get(s.name)) === candidate)
      .map((s) => ({
        name: s.name,
        namespace: this.o.plan.namespace,
        from: to,
        to: candidate,
        liveSelector: live.get(s.name)?.spec?.selector ?? {},
      }));
    const results = await switchServices(this.o.api, this.o.logger, targets, 'back');
    return results.every((r) => r.ok);
  }

  /**
   * After a failure before or after the switch: preview Services back on the live color (or removed on
   * a first deploy), then the candidate scaled down; never leaves a Service selecting nothing.
   */
  private async abandonCandidate(active: Color | 'legacy' | undefined, candidate: Color): Promise<void> {
    const { plan, api, logger } = this.o;
    const previews = await api.list<Service>('services', { namespace: plan.namespace });
    const names = new Set(previews.items.map((s) => s.metadata.name));
    for (const s of plan.services) {
      const name = previewName(s.name);
      if (!names.has(name)) continue;
      if (active === 'blue' || active === 'green') await pointPreview(api, plan.namespace, name, active);
      else await api.delete({ kind: 'Service', name, namespace: plan.namespace }, { ignoreNotFound: true });
    }
    if (active !== undefined) await this.revertWorkloads(this.previousRelease, plan);
    await this.scaleDown(candidate);
    logger.info(`${candidate} scaled down; the live color is untouched.`);
  }

  /**
   * Scales a color to zero. The last guard against an outage: a color that a live Service of the
   * plan still selects is never scaled down; that is an error, loud, whatever path led here.
   */
  private async scaleDown(color: Color): Promise<void> {
    const { plan, api } = this.o;
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

  /**
   * Step 7b: the in-step workloads (workers, DaemonSets, CronJobs) take this release's manifest the
   * moment the Services run it, and their rollouts are awaited. Returns what failed, or undefined.
   */
  private async updateInStep(): Promise<string | undefined> {
    const { plan, logger, kubectl } = this.o;
    if (plan.inStep.length === 0) return undefined;
    return logger.group('Update the workloads that follow the Services', async () => {
      await this.o.api.applyServerSide(withReleaseLabels(plan, plan.inStep));
      logger.info(`Applied ${plan.inStep.map((w) => `${w.kind}/${w.metadata.name}`).join(', ')}.`);
      const waited = await kubectl.waitForRollouts(rolloutTargets(plan.namespace, plan.inStep), {
        timeoutMs: this.o.rolloutTimeoutMs,
        heartbeatMs: 30_000,
        ...(this.o.signal === undefined ? {} : { signal: this.o.signal }),
      });
      const failed = waited.filter((w) => w.state !== 'complete');
      return failed.length === 0
        ? undefined
        : `workloads did not roll out after the switch: ${describeRollouts(failed)}`;
    });
  }

  /**
   * Returns the workloads that are not switched by color (in-step and stateful ones) to `previous`,
   * the release that was live before: its manifest's are applied again (and awaited), those the
   * reverted release (`applied`) added are deleted. Nothing when there is no previous release (a
   * first deploy).
   */
  private async revertWorkloads(
    previous: ReleaseRecord | undefined,
    applied: Pick<BlueGreenPlan, 'inStep' | 'stateful'>,
  ): Promise<void> {
    if (previous === undefined) return;
    const { plan, api, logger, kubectl } = this.o;
    const earlier = planOfRecord(previous, plan.namespace);
    const before = [...earlier.stateful, ...earlier.inStep];
    const kept = new Set(before.map((w) => `${w.kind}/${w.metadata.name}`));
    const added = [...applied.stateful, ...applied.inStep].filter(
      (w) => !kept.has(`${w.kind}/${w.metadata.name}`),
    );
    if (before.length === 0 && added.length === 0) return;
    if (before.length > 0) {
      await api.applyServerSide(withReleaseLabels(plan, before));
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
    const waited = await kubectl.waitForRollouts(rolloutTargets(plan.namespace, before), {
      timeoutMs: this.o.rolloutTimeoutMs,
      heartbeatMs: 30_000,
      ...(this.o.signal === undefined ? {} : { signal: this.o.signal }),
    });
    const failed = waited.filter((w) => w.state !== 'complete');
    if (failed.length > 0)
      logger.warning(
        `Workloads of revision ${previous.revision} did not roll out again: ${describeRollouts(failed)}`,
      );
  }

  private async applyPreviousPolicy(live: Color | undefined, previous: Color | undefined): Promise<void> {
    if (this.o.previous !== 'scale-down' || previous === undefined || previous === live) return;
    await this.scaleDown(previous);
    this.o.logger.info(`Previous color ${previous} scaled down (previous: scale-down).`);
  }

  /** Puts the Services of an interrupted release back on its previous color and closes its record. */
  /**
   * Puts the Services of an interrupted release back on the color it started from (from its
   * journal), returns the in-step workloads to the release live before it, and closes its record.
   */
  private async revertInterrupted(
    stored: StoredRelease,
    live: LiveState,
    history: readonly StoredRelease[],
  ): Promise<void> {
    const r = stored.record;
    const back = activeBefore(r);
    if (r.color !== undefined && back !== undefined) {
      const targets = this.o.plan.services
        .filter((s) => selectorColor(live.services.get(s.name)) === r.color)
        .map((s) => ({
          name: s.name,
          namespace: this.o.plan.namespace,
          from: back,
          to: r.color as Color,
          liveSelector: live.services.get(s.name)?.spec?.selector ?? {},
        }));
      await switchServices(this.o.api, this.o.logger, targets, 'back');
      if (back !== 'legacy')
        for (const s of this.o.plan.services) {
          const name = previewName(s.name);
          if (live.services.has(name)) await pointPreview(this.o.api, this.o.plan.namespace, name, back);
        }
      const previous = history.find((h) => h.record.revision < r.revision && h.record.result === 'promoted');
      await this.revertWorkloads(previous?.record, planOfRecord(r, this.o.plan.namespace));
    }
    const at = new Date(this.o.clock.now()).toISOString();
    await this.history.update(stored, {
      ...r,
      result: 'failed',
      finishedAt: at,
      message: `interrupted at step '${lastStep(r)}' and reverted by run ${this.o.run.runId}`,
      journal: [...r.journal, { step: 'finished', at, detail: 'failed' }],
    });
  }

  private async finish(
    result: 'promoted' | 'failed' | 'rolled-back',
    message: string,
    before: LiveState,
    after: LiveState,
  ): Promise<Omit<ReleaseOutcome, 'timings'>> {
    const stored = this.stored;
    if (stored === undefined) throw new Error('finish() before the release was recorded');
    const replicas: Record<string, number> = {};
    for (const d of this.o.plan.deployments) {
      const dep = after.deployments.get(coloredName(d.name, stored.record.color ?? 'blue'));
      replicas[d.name] = dep?.spec?.replicas ?? d.replicas;
    }
    const record: ReleaseRecord = {
      ...stored.record,
      result,
      message,
      replicas,
      finishedAt: new Date(this.o.clock.now()).toISOString(),
      journal: [
        ...stored.record.journal,
        { step: 'finished', at: new Date(this.o.clock.now()).toISOString(), detail: result },
      ],
      gates: [...this.gates],
    };
    this.stored = await this.history.update(stored, record);
    // Old records go once the release is settled: nothing urgent waits on it.
    await this.history.prune(await this.history.list()).catch((error: unknown) => {
      this.o.logger.warning(`Could not prune old release records: ${String(error)}`);
    });
    return this.outcome(result, record, before, after, message);
  }

  private outcome(
    result: ReleaseOutcome['result'],
    record: ReleaseRecord,
    before: LiveState,
    after: LiveState,
    message: string,
  ): Omit<ReleaseOutcome, 'timings'> {
    const { plan } = this.o;
    const changes: ServiceChange[] = plan.services.map((s) => {
      const was = selectorColor(before.services.get(s.name));
      const now = selectorColor(after.services.get(s.name));
      return {
        service: s.name,
        deployment: s.deployment,
        before: { color: was, images: imagesIn(before.deployments, s.deployment, was) },
        after: { color: now, images: imagesIn(after.deployments, s.deployment, now) },
      };
    });
    const activeAfter = after.active === 'legacy' ? undefined : after.active;
    return {
      result,
      message,
      app: plan.app,
      environment: plan.environment,
      namespace: plan.namespace,
      revision: record.revision,
      activeColor: activeAfter,
      previousColor: record.previousColor,
      services: changes,
      gates: [...record.gates],
      record,
      path: this.path,
      workloads: this.workloadReleases(after),
    };
  }

  /** The workloads not switched by color, and the images they run after the release. */
  private workloadReleases(after: LiveState): WorkloadRelease[] {
    const { plan } = this.o;
    return plan.workloads
      .filter((w): w is typeof w & { cls: 'stateful' | 'in-step' } => w.cls !== 'colored')
      .map((w) => {
        const live = w.kind === 'Deployment' ? after.deployments.get(w.name) : undefined;
        const source =
          live ??
          [...plan.stateful, ...plan.inStep].find((o) => o.kind === w.kind && o.metadata.name === w.name);
        return {
          kind: w.kind,
          name: w.name,
          cls: w.cls,
          reason: w.reason,
          images: source === undefined ? [] : workloadContainers(source).map((c) => c.image ?? ''),
        };
      });
  }

  private async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = this.o.clock.now();
    try {
      return await fn();
    } finally {
      this.timings[name] = this.o.clock.now() - started;
    }
  }
}

/** Every image of the release, by `workload/container`: colored, stateful and in-step alike. */
function imagesOf(plan: BlueGreenPlan): Record<string, string> {
  const images: Record<string, string> = {};
  for (const d of plan.deployments)
    for (const c of containersOf(d.manifest)) images[`${d.name}/${c.name}`] = c.image ?? '';
  for (const w of [...plan.stateful, ...plan.inStep])
    for (const c of workloadContainers(w)) images[`${w.metadata.name}/${c.name}`] = c.image ?? '';
  return images;
}

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
  throw new ActionError(
    `Refusing to scale ${color} down: the Service${one ? '' : 's'} ${serving.join(', ')} still select${one ? 's' : ''} it, and scaling it down would leave ${one ? 'it' : 'them'} with no endpoints.`,
    {
      hint: 'Nothing was scaled down. Point the Services at the other color (or run the deploy again, which reverts from its journal) before scaling a color down.',
    },
  );
}

/** The color a release started from, as its record says: what every failure returns to. */
export function activeBefore(record: ReleaseRecord): Color | 'legacy' | undefined {
  return record.previousColor ?? (record.adopted === true ? 'legacy' : undefined);
}

/** `name state (reason: message)` of rollouts that did not complete, joined. */
function describeRollouts(outcomes: readonly RolloutOutcome[]): string {
  return outcomes
    .map((w) => `${w.name} ${w.state} (${w.reason}${w.message === '' ? '' : `: ${w.message}`})`)
    .join('; ');
}

/** The plan of a recorded release (its exact manifest), for what its workloads were. */
function planOfRecord(record: ReleaseRecord, namespace: string): BlueGreenPlan {
  const text = unpackManifest(record);
  return planBlueGreen(parseManifests(text, `revision ${record.revision}`), {
    app: record.app,
    environment: record.environment,
    namespace,
    manifestText: text,
  });
}

/** Workloads with the release's labels on their metadata (never on their pods: no restart). */
function withReleaseLabels(plan: BlueGreenPlan, objects: readonly KubeObject[]): KubeObject[] {
  return objects.map((o) => ({
    ...o,
    metadata: { ...o.metadata, labels: { ...(o.metadata.labels ?? {}), ...releaseLabels(plan) } },
  }));
}

/** What to wait for among workloads: Deployments, StatefulSets and DaemonSets (a CronJob has no rollout). */
function rolloutTargets(namespace: string, objects: readonly KubeObject[]): RolloutTarget[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet')
    .map((o) => ({
      namespace,
      name: o.metadata.name,
      kind: o.kind as 'Deployment' | 'StatefulSet' | 'DaemonSet',
    }));
}

function imagesIn(
  deployments: ReadonlyMap<string, Deployment>,
  name: string,
  color: SelectorColor,
): string[] {
  const dep =
    color === 'missing' ? undefined : deployments.get(color === 'legacy' ? name : coloredName(name, color));
  return dep === undefined ? [] : containersOf(dep).map((c) => c.image ?? '');
}

/** The candidate must be able to carry what the live color carries: its HPA may not cap it lower. */
function hpaWithFloor(hpa: HorizontalPodAutoscaler, floor: number): HorizontalPodAutoscaler {
  if (hpa.spec === undefined) return hpa;
  return { ...hpa, spec: { ...hpa.spec, maxReplicas: Math.max(hpa.spec.maxReplicas, floor) } };
}

function lastStep(r: ReleaseRecord): string {
  return r.journal[r.journal.length - 1]?.step ?? 'started';
}

function describeFailures(results: readonly GateResult[]): string {
  const failed = results.filter((g) => !g.passed && !g.stopped);
  return (failed.length === 0 ? results.filter((g) => !g.passed) : failed)
    .map((g) => `${g.check} (${g.target}): ${g.lastDetail}`)
    .join('; ');
}

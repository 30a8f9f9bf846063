import { formatDuration } from '@dreamscape/core';
import {
  canaryAnalysis,
  canaryRouter,
  preparedDetail,
  removeRecordedRoutes,
  restoreServiceRouting,
  serviceRouting,
  sideQueries,
  type SideReading,
  type CanaryRelease,
  type CanaryStepReport,
} from './canary.js';
import { approvedWeights, checkContinuation, pausedWeight, type Continuation } from './canary-pause.js';
import { candidateFromLive, candidatePath, type CandidateRelease, type ReleasePath } from './candidate.js';
import { coloredName, otherColor, previewName, type Color } from './colors.js';
import { checkPreviewEndpoints } from './endpoints.js';
import { checksFor, type HealthCheck } from './health-checks.js';
import { probe, runGate, type GateResult, type ProbeContext } from './gates.js';
import { isConflict, type ReleaseRecord, type StoredRelease } from './history.js';
import { activeBefore, lastStep, newRecord } from './journal.js';
import { colorIsReady, readLiveState, type LiveState } from './live-state.js';
import { blueGreenOutcome, type ReleaseOutcome } from './outcome.js';
import { ServiceRouter, type TrafficRouter } from './traffic-routers.js';
import { containersOf, type BlueGreenPlan } from './plan.js';
import { ReleaseContext, type ReleaseOptions } from './release-context.js';
import { RecordConflictError, RestoreFailedError, SwitchBackFailedError } from './release-errors.js';
import { scaleDown } from './scaling.js';
import { pointPreview, pointPreviews, previewsBack, switchBackFrom, switchToCandidate } from './switching.js';
import {
  applyCandidate,
  describeRollouts,
  planOfRecord,
  revertWorkloads,
  updateInStep,
  waitCandidate,
} from './workload-rollout.js';
import { workloadContainers } from './workload-classes.js';
import { reportRunningHookJobs, runHookPhase, type HookJobRun, type HookPhase } from './hook-jobs.js';
import {
  explainFailure,
  failedJobRefs,
  rolloutRefs,
  type FailureReport,
  type StepFailure,
  type WorkloadRef,
} from './failure-diagnostics.js';

/** What a blue-green deploy needs. */
export interface BlueGreenOptions extends ReleaseOptions {
  readonly previous: 'keep' | 'scale-down';
  /** A canary: the switch is gradual, through a traffic router, with analysis at every step (ADR 10). */
  readonly canary?: CanaryRelease;
  /** `promote` continues a canary paused for approval; `abort` stops the release in progress. */
  readonly continuation?: Continuation;
}

type Result = Omit<ReleaseOutcome, 'timings'>;

/** How often a canary step looks for an abort request on the Lease. */
const ABORT_POLL_MS = 1000;

/**
 * One blue-green deploy, in the order and with the safety rules of the design (docs/DESIGN.md,
 * "Blue-green"): lock, live state, idle color applied and awaited, preview gates, switch with
 * preconditions, verification window, switch back on failure, record. Every step is journaled in
 * the release record; a re-run of the same manifest resumes, a different one first reverts what the
 * dead run left half done. This file is only the sequence: the live state, the candidate objects,
 * the switching, the scaling and the journal are their own modules, over one {@link ReleaseContext}.
 */
export class BlueGreenDeploy {
  private readonly ctx: ReleaseContext;
  private readonly previous: 'keep' | 'scale-down';
  private readonly verifyWindowMs: number;
  private readonly gates: GateResult[] = [];
  private path: ReleasePath = 're-apply';
  /** The release live before this one (its in-step workloads are what a switch back returns to). */
  private previousRelease: ReleaseRecord | undefined;
  /** The color every failure path returns the Services to, as journaled (undefined: first deploy). */
  private returnTo: Color | 'legacy' | undefined;
  private readonly canary: CanaryRelease | undefined;
  /** The canary's router once prepared (its objects are removed on every way out). */
  private router: TrafficRouter | undefined;
  private readonly canarySteps: CanaryStepReport[] = [];
  private readonly continuation: Continuation | undefined;
  /** The weight a paused canary stands at when this run promotes it (its steps go on from there). */
  private promotingFrom: number | undefined;
  /** The pre-deploy and post-deploy Jobs run so far. */
  private readonly hookRuns: HookJobRun[] = [];
  /** The environment has a promoted release (Helm's install-only hooks do not run again). */
  private installed = false;
  /** Why a step failed, as the cluster said right after (for the outcome and the summary). */
  private diagnostics: FailureReport | undefined;

  constructor(options: BlueGreenOptions) {
    this.ctx = new ReleaseContext({
      ...options,
      // A run that promotes or aborts a paused canary, or rolls back, may take the lock from it.
      takeOverPaused: options.continuation !== undefined || options.release?.kind === 'rollback',
    });
    this.previous = options.previous;
    this.verifyWindowMs = options.verifyWindowMs;
    this.canary = options.canary;
    this.continuation = options.continuation;
  }

  /** Runs the deploy. Release failures come back as an outcome; setup errors are thrown. */
  async run(): Promise<ReleaseOutcome> {
    // 2. Lock: held for the whole release, freed whatever happens.
    return this.ctx.locked(() => this.deploy());
  }

  /** Step 3: the live state and the history decide what this release is; then steps 4 to 9. */
  private async deploy(): Promise<Result> {
    const { ctx } = this;
    const { plan, logger, history, journal } = ctx;
    const all = await history.list();
    let live = await this.readLive();
    const latest = all[0];
    // A paused canary: only `promote` (the same manifest) or `abort` goes on, a rollback aborts it;
    // checked again here, under the lock, after preflight checked it before any write.
    if (ctx.kind.kind === 'deploy') checkContinuation(latest, this.continuation, plan.manifestHash, plan);
    if (this.continuation === 'abort' && latest !== undefined) return this.abortInProgress(latest, live, all);

    // A release a killed run left half done: resume it when it deploys the same manifest, else put
    // every Service back on the color that was live before it, and close its record.
    let resume: StoredRelease | undefined;
    if (latest?.record.result === 'in-progress') {
      const r = latest.record;
      const paused = pausedWeight(r);
      if (r.kind === ctx.kind.kind && r.manifestHash === plan.manifestHash && r.color !== undefined) {
        if (paused === undefined) {
          logger.notice(
            `Resuming revision ${r.revision}, which an earlier run left at step '${lastStep(r)}'.`,
          );
          // The dead run's weight is no step's: until this run's own steps send the candidate traffic,
          // each analysed, it gets none, and a failure before them leaves no router object behind.
          // (A promotion goes on from the weight it paused at: its routing stays.)
          if (r.strategy === 'canary') {
            await this.removeInterruptedRoutes(r, all);
            live = await this.readLive();
          }
        } else {
          logger.notice(`Promoting revision ${r.revision}, a canary paused for approval at ${paused} %.`);
          this.promotingFrom = paused;
        }
        resume = latest;
      } else if (paused !== undefined || (ctx.kind.kind === 'rollback' && r.strategy === 'canary')) {
        // A rollback during a canary (paused, or left by a killed run) aborts it first: weight 0,
        // candidate scaled down, recorded rolled back.
        logger.notice(
          `Revision ${r.revision} is a canary ${paused === undefined ? `left at step '${lastStep(r)}'` : `paused at ${paused} %`}: aborting it first.`,
        );
        await this.revertInterrupted(latest, live, all, 'abort');
        live = await this.readLive();
      } else {
        logger.notice(
          `Revision ${r.revision} was left at step '${lastStep(r)}' by an earlier run; reverting it first.`,
        );
        await this.revertInterrupted(latest, live, all);
        live = await this.readLive();
      }
    }

    const lastPromoted = all.find((s) => s.record.result === 'promoted');
    // Installed: a release was promoted, or the Services select something (a history pruned of its
    // promoted records, an adopted environment): Helm's install-only hooks do not run again.
    this.installed = lastPromoted !== undefined || live.active !== undefined;
    if (
      resume === undefined &&
      lastPromoted !== undefined &&
      lastPromoted.record.manifestHash === plan.manifestHash &&
      live.active === lastPromoted.record.color &&
      colorIsReady(plan, live, lastPromoted.record.color)
    ) {
      logger.notice(
        `Revision ${lastPromoted.record.revision} already runs this exact manifest in ${lastPromoted.record.color}: nothing to ${ctx.kind.kind === 'deploy' ? 'deploy' : 'roll back'}.`,
      );
      if (ctx.kind.kind === 'deploy')
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
    if (resume === undefined) await this.openRecord(revision, previousRevision, active, candidate);
    else journal.resume(resume);
    // A resumed canary starts over from weight 0: what a service router shared goes back first
    // (not for a promotion, which goes on from the weight it paused at).
    if (
      resume !== undefined &&
      this.promotingFrom === undefined &&
      (active === 'blue' || active === 'green') &&
      (await restoreServiceRouting(ctx, resume.record, plan, active, lastPromoted?.record))
    )
      live = await this.readLive();
    if (this.promotingFrom !== undefined)
      await this.journal(
        `approved-${String(this.promotingFrom)}`,
        `run ${ctx.o.run.runId} by ${ctx.o.run.actor}`,
      );
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
  ): Promise<Result> {
    const { ctx } = this;
    const { logger } = ctx;
    const failed = async (failure: StepFailure): Promise<Result> => {
      logger.error(failure.message);
      // Read while the candidate still runs: its pods and events say why.
      await this.explain(failure);
      await this.abandonCandidate(active, candidate);
      return this.finish('failed', failure.message, before, await this.readLive());
    };

    // 4. Shared objects and the idle color only; the live color is never touched. A rollback whose
    // idle color still runs the target release at full scale and Ready skips straight to the gates.
    const objects: CandidateRelease = candidateFromLive(ctx.plan, live, active, candidate);
    this.path = candidatePath(ctx.plan, ctx.kind.kind, live, active, candidate);
    if (this.path === 'fast')
      logger.info(
        `Fast path: ${candidate} still runs this release, Ready at full scale; only what is not colored is applied.`,
      );
    else if (ctx.kind.kind === 'rollback')
      logger.info(
        this.path === 'warm-up'
          ? `Warm-up path: ${candidate} still runs this release but is scaled down; scaling it up.`
          : `Re-apply path: ${candidate} runs another release; re-applying the recorded manifest.`,
      );
    // A promotion goes on where the paused run stopped: its candidate was applied, awaited and gated
    // then, and is left as the router holds it (the service router runs it at a share of its size).
    if (this.promotingFrom === undefined) {
      const problem = await this.bringUp(objects, candidate);
      if (problem !== undefined) return failed(problem);
    } else
      logger.info(
        `${candidate} is as the paused run left it (applied, awaited, past its pre-switch gates); going on from ${String(this.promotingFrom)} %.`,
      );

    // 6b. Canary: the router sends the candidate a growing share of the real traffic, analysed at
    // every step; a failed analysis sends it none at once and abandons the candidate.
    if (this.canary !== undefined) {
      if (active === undefined || active === 'legacy')
        logger.notice(
          `No live color to share traffic with (${active === undefined ? 'first deploy' : 'adopting un-colored pods'}): the canary is released as blue-green, switched at once.`,
        );
      else {
        const shifted = await ctx.phase('canary', () =>
          logger.group(
            `Canary: ${candidate} at ${this.canary?.settings.steps.map((s) => `${String(s.weight)} %`).join(', ') ?? ''}`,
            () => this.shiftTraffic(this.canary as CanaryRelease, active, candidate),
          ),
        );
        if (shifted.kind === 'aborted') {
          logger.error(shifted.message);
          // No traffic to the candidate first; then why, while it still runs.
          await this.stopRouter();
          if (shifted.analysis !== undefined)
            await this.explain({
              message: shifted.message,
              workloads: this.workloadsBehind(shifted.analysis, candidate),
              gates: shifted.analysis,
            });
          await this.abandonCandidate(active, candidate);
          return this.finish('rolled-back', shifted.message, before, await this.readLive());
        }
        if (shifted.kind === 'paused') return this.pause(shifted.weight, before);
      }
    }

    // 7. Switch every Service together, each with a precondition; revert the switched ones on any failure.
    ctx.lock.assertHeld();
    await this.journal('switching', `${active ?? 'none'} → ${candidate}`);
    const switched = await ctx.phase('switch', () =>
      logger.group(`Switch Services to ${candidate}`, async () =>
        // The service router's last step left the Services on the candidate already.
        switchToCandidate(ctx, this.router?.kind === 'service' ? await this.readLive() : live, candidate),
      ),
    );
    if (!switched.ok) {
      await this.abandonCandidate(active, candidate);
      return this.finish('failed', switched.message, before, await this.readLive());
    }
    await this.journal('switched');
    if (this.router !== undefined) {
      // The main Services select the candidate now: the router's weighting has nothing left to do.
      await this.router.remove('promoted');
      this.router = undefined;
      await this.journal('canary-removed');
    }

    // 7b. The workloads no Service switches (workers, DaemonSets, CronJobs) follow the Services.
    const inStep = await ctx.phase('workers', () => updateInStep(ctx, objects));
    await this.journal('workers-updated');

    // 8. Post-switch verification window against the live Services.
    const detection: { at: number } = { at: 0 };
    const post =
      inStep === undefined
        ? await ctx.phase('verify', () =>
            logger.group(`Verify for ${formatDuration(this.verifyWindowMs)} after the switch`, () =>
              this.runGates('post-switch', this.verifyWindowMs, () => {
                detection.at = ctx.clock.now();
              }),
            ),
          )
        : [];
    if (inStep !== undefined || post.some((g) => !g.passed)) {
      const failure: StepFailure = inStep ?? {
        message: `post-switch health gates failed: ${describeFailures(post)}`,
        workloads: this.workloadsBehind(post, candidate),
        gates: post,
      };
      const { message } = failure;
      if (detection.at === 0) detection.at = ctx.clock.now();
      logger.error(message);
      if (active === undefined) {
        await this.explain(failure);
        return this.finish(
          'failed',
          `${message}; this was the first deploy, so there is no previous color to return to`,
          before,
          await this.readLive(),
        );
      }
      await logger.group(`Switch back to ${active}`, async () => {
        const back = await switchBackFrom(ctx, candidate, active);
        ctx.timings.rollback = ctx.clock.now() - (detection.at === 0 ? ctx.clock.now() : detection.at);
        if (!back)
          throw new SwitchBackFailedError('Switching back failed; the Services are left as listed above.', {
            to: active,
            from: candidate,
          });
      });
      // Traffic is back; the candidate still runs, so its state says why before it is scaled down.
      await this.explain(failure);
      await this.abandonCandidate(active, candidate);
      return this.finish('rolled-back', message, before, await this.readLive());
    }
    await this.journal('verified');

    // 8b. Post-deploy Jobs, against the release now live; a failure is reported, or switches back. An
    // error while they run (the API, past its retries) is such a failure, not a reason to revert.
    const postFailure = await this.runHooks('post-deploy').catch((error: unknown): StepFailure => {
      if (ctx.o.signal?.aborted === true) throw error;
      return {
        message: `post-deploy Jobs could not be run or awaited: ${error instanceof Error ? error.message : String(error)}`,
        workloads: [],
      };
    });
    if (postFailure !== undefined) {
      const postProblem = postFailure.message;
      if (ctx.o.hooks?.onPostDeployFailure === 'switch-back' && active !== undefined) {
        logger.error(postProblem);
        await logger.group(`Switch back to ${active}`, async () => {
          if (!(await switchBackFrom(ctx, candidate, active)))
            throw new SwitchBackFailedError('Switching back failed; the Services are left as listed above.', {
              to: active,
              from: candidate,
            });
        });
        await this.explain(postFailure);
        await this.abandonCandidate(active, candidate);
        return this.finish('rolled-back', postProblem, before, await this.readLive());
      }
      logger.warning(`${postProblem} (post-deploy-failure: report: the release stays live).`);
      await this.explain(postFailure);
    }

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
  ): Promise<Result> {
    const message = error instanceof Error ? error.message : String(error);
    this.ctx.logger.error(`The release stopped on an error: ${message}`);
    await reportRunningHookJobs(this.ctx);
    try {
      // Back to the color the release started from, as journaled: every Service on the candidate.
      if (active !== undefined && this.returnTo !== undefined)
        await switchBackFrom(this.ctx, candidate, this.returnTo);
      await this.abandonCandidate(active, candidate);
      return await this.finish('failed', `stopped on an error: ${message}`, before, await this.readLive());
    } catch (cleanupError) {
      throw new RestoreFailedError(
        `The release stopped on an error (${message}), and restoring the previous state failed too (${cleanupError instanceof Error ? cleanupError.message : String(cleanupError)}).`,
        { error, restoreError: cleanupError },
        'The release is journaled: run the deploy again (or a rollback) and it reverts what is left.',
      );
    }
  }

  /**
   * After a failure before or after the switch: preview Services back on the live color (or removed on
   * a first deploy), the workloads that follow the Services back to the release live before, then the
   * candidate scaled down; never leaves a Service selecting nothing.
   */
  private async abandonCandidate(active: Color | 'legacy' | undefined, candidate: Color): Promise<void> {
    const { ctx } = this;
    await this.stopRouter();
    await previewsBack(ctx, active);
    if (active !== undefined) await revertWorkloads(ctx, this.previousRelease, ctx.plan);
    await scaleDown(ctx, candidate);
    ctx.logger.info(`${candidate} scaled down; the live color is untouched.`);
  }

  /**
   * The canary's steps: the router prepared at weight 0 (a resumed run starts over from there), then
   * for each step the weight written and the analysis run for the step's pause. Returns why it was
   * aborted, or undefined when the last step (100) passed its analysis.
   */
  private async shiftTraffic(
    canary: CanaryRelease,
    active: Color,
    candidate: Color,
  ): Promise<
    | { kind: 'aborted'; message: string; analysis?: readonly GateResult[] }
    | { kind: 'paused'; weight: number }
    | { kind: 'done' }
  > {
    const { ctx } = this;
    const { logger } = ctx;
    const colors = { live: active, candidate };
    const service =
      canary.settings.router === 'service'
        ? await serviceRouting(ctx, ctx.plan, colors, this.previousRelease)
        : undefined;
    const router = canaryRouter(
      canary,
      {
        api: ctx.api,
        namespace: ctx.namespace,
        app: ctx.plan.app,
        services: ctx.plan.services.map((s) => s.name),
      },
      service,
    );
    if (service !== undefined)
      logger.notice(
        ServiceRouter.describe(
          canary.settings.steps.map((s) => s.weight),
          service.sides,
        ),
      );
    // A promotion goes on from the paused weight, whose routing is in place; anything else
    // (a first run, a resumed one) prepares the router at weight 0.
    const from = this.promotingFrom ?? 0;
    if (this.promotingFrom === undefined) await router.prepare();
    // Only a prepared router is stopped on the way out: one that failed to prepare sent nothing.
    this.router = router;
    if (this.promotingFrom === undefined)
      await this.journal('canary-prepared', preparedDetail(canary, router));
    const approved = approvedWeights(ctx.journal.record as ReleaseRecord);
    const sides = { namespace: ctx.namespace, canary: candidate, stable: active };
    const checks = canaryAnalysis(canary.settings, ctx.o.checks, sides);
    if (checks.length === 0)
      logger.warning(
        'The canary has no analysis (no `analysis` and no post-switch health checks): each step only waits.',
      );
    const last = canary.settings.steps[canary.settings.steps.length - 1];
    for (const step of canary.settings.steps) {
      if (step.weight < from) continue;
      ctx.lock.assertHeld();
      const at = ctx.clock.now();
      const weight = await router.setWeight(step.weight);
      await this.journal(`weight-${String(weight)}`);
      // An approval step is analysed once (each check to its successes), then waits for a person.
      const waitsForApproval = step.pause.kind === 'approval' && !approved.has(step.weight);
      const windowMs = step.pause.kind === 'duration' ? step.pause.ms : 0;
      logger.info(
        `${candidate} receives ${String(weight)} % of the traffic; analysing it${windowMs > 0 ? ` for ${formatDuration(windowMs)}` : ''}.`,
      );
      const { analysis, abortedBy } = await this.analyseStep(checks, windowMs);
      const passed = abortedBy === undefined && analysis.every((g) => g.passed);
      const readings = await this.readSides(sideQueries(canary.settings, sides));
      this.canarySteps.push({
        weight,
        at,
        durationMs: ctx.clock.now() - at,
        analysis,
        ...(readings.length === 0 ? {} : { readings }),
        decision: !passed ? 'abort' : waitsForApproval ? 'pause' : step === last ? 'promote' : 'next step',
      });
      if (abortedBy !== undefined)
        return {
          kind: 'aborted',
          message: `canary aborted at ${String(weight)} % at the request of ${abortedBy}`,
        };
      if (!passed)
        return {
          kind: 'aborted',
          message: `canary analysis failed at ${String(weight)} %: ${describeFailures(analysis)}`,
          analysis,
        };
      await this.journal(`analysed-${String(weight)}`);
      if (waitsForApproval) {
        await this.journal(`paused-${String(step.weight)}`);
        return { kind: 'paused', weight: step.weight };
      }
    }
    return { kind: 'done' };
  }

  /**
   * The canary waits for approval: the release stays in progress at `paused-<weight>`, its router
   * keeps the weight, and the lock stays held in its name; a run with `mode: promote` or `abort`
   * (or a rollback) goes on from here.
   */
  private async pause(weight: number, before: LiveState): Promise<Result> {
    const { ctx } = this;
    const record = ctx.journal.record as ReleaseRecord;
    // The router's objects stay: the canary keeps its share of the traffic while it waits.
    this.router = undefined;
    ctx.pausedAt = { revision: record.revision, weight };
    const message = `the canary is paused for approval at ${String(weight)} %`;
    ctx.logger.notice(
      `Revision ${String(record.revision)}: ${message}. Continue it with \`mode: promote\` (the same inputs), stop it with \`mode: abort\` or action-rollback.`,
    );
    return this.outcome('paused', record, before, await this.readLive(), message);
  }

  /**
   * `mode: abort`: the release in progress (paused, or left by a killed run) loses its share of the
   * traffic at once, its candidate is scaled down, and it is recorded rolled back.
   */
  private async abortInProgress(
    stored: StoredRelease,
    live: LiveState,
    history: readonly StoredRelease[],
  ): Promise<Result> {
    const { ctx } = this;
    const r = stored.record;
    ctx.logger.notice(`Aborting revision ${r.revision}, in progress at step '${lastStep(r)}'.`);
    await this.revertInterrupted(stored, live, history, 'abort');
    const after = await this.readLive();
    const closed = (await ctx.history.list()).find((s) => s.record.revision === r.revision)?.record ?? r;
    return this.outcome(
      'rolled-back',
      closed,
      live,
      after,
      `revision ${r.revision} aborted by run ${ctx.o.run.runId}`,
    );
  }

  /**
   * The analysis of one step: service checks probe the `-preview` Services (the canary), so they run
   * with the pre-switch targets, for the whole step as their window.
   */
  /** Each side's value of the canary's own Prometheus queries, read once (never fails the step). */
  private async readSides(queries: ReturnType<typeof sideQueries>): Promise<SideReading[]> {
    const value = async (check: HealthCheck): Promise<number | undefined> => {
      const r = await probe(check, 'pre-switch', this.probeContext());
      const m = /^value (\S+) /.exec(r.detail);
      return m === null ? undefined : Number(m[1]);
    };
    return Promise.all(
      queries.map(async (q) => ({
        check: q.check,
        canary: await value(q.canary),
        stable: await value(q.stable),
      })),
    );
  }

  private async analyseStep(
    checks: readonly HealthCheck[],
    windowMs: number,
  ): Promise<{ analysis: GateResult[]; abortedBy: string | undefined }> {
    const { ctx } = this;
    // A rollback asks for an abort on the Lease: looked at every second, it stops the step at once.
    const stop = new AbortController();
    const outer = ctx.o.signal;
    const onOuter = (): void => {
      stop.abort(outer?.reason);
    };
    outer?.addEventListener('abort', onOuter);
    let abortedBy: string | undefined;
    const watch = setInterval(() => {
      void ctx.lock
        .abortRequested()
        .then((by) => {
          if (by === undefined || abortedBy !== undefined) return;
          abortedBy = by;
          ctx.logger.notice(`An abort of the canary was asked for by ${by}.`);
          stop.abort(new Error(`abort asked for by ${by}`));
        })
        .catch(() => undefined);
    }, ABORT_POLL_MS);
    try {
      const analysis =
        checks.length === 0
          ? await ctx.clock.sleep(windowMs, stop.signal).then(
              () => [],
              (error: unknown) => {
                // Stopped by an abort request: the step ends here; a cancelled run stops.
                if (outer?.aborted === true) throw error;
                return [];
              },
            )
          : await runGate(checks, this.probeContext(), {
              phase: 'pre-switch',
              logger: ctx.logger,
              clock: ctx.clock,
              windowMs,
              signal: stop.signal,
            });
      return { analysis, abortedBy };
    } finally {
      clearInterval(watch);
      outer?.removeEventListener('abort', onOuter);
    }
  }

  /**
   * Steps 4 to 6: the shared objects and the candidate applied, awaited, and gated on the preview
   * Services. Returns why it failed, or undefined.
   */
  private async bringUp(objects: CandidateRelease, candidate: Color): Promise<StepFailure | undefined> {
    const { ctx } = this;
    const { logger } = ctx;
    // Even on the fast path the configuration and the stateful workloads are applied: they are not
    // colored, so the idle color does not hold the release's version of them (an unchanged object
    // costs one request and changes nothing).
    const problem = await ctx.phase('apply', () =>
      logger.group(
        this.path === 'fast' ? 'Apply shared and stateful objects' : `Apply ${candidate} and shared objects`,
        () =>
          applyCandidate(ctx, objects, {
            colored: this.path !== 'fast',
            candidate,
            beforeCandidate: () => this.runHooks('pre-deploy'),
          }),
      ),
    );
    if (problem !== undefined) return problem;
    await this.journal('applied');

    // 5. Every candidate Deployment awaited in parallel, by watch.
    const waited =
      this.path === 'fast'
        ? []
        : await ctx.phase('wait', () =>
            logger.group(`Wait for ${candidate} to be fully available`, () => waitCandidate(ctx, candidate)),
          );
    const notReady = waited.filter((w) => w.state !== 'complete');
    if (notReady.length > 0)
      return {
        message: `${candidate} did not become available: ${describeRollouts(notReady)}`,
        workloads: rolloutRefs(notReady),
      };
    await this.journal('ready');

    // 6. Pre-switch gates on the preview Services.
    await ctx.phase('preview', () => pointPreviews(ctx, candidate));
    await this.journal('preview-switched');
    const endpointsProblem = await ctx.phase('endpoints', () => checkPreviewEndpoints(ctx, candidate));
    if (endpointsProblem !== undefined)
      return {
        message: endpointsProblem,
        workloads: ctx.plan.deployments.map((d) => ({
          kind: 'Deployment',
          name: coloredName(d.name, candidate),
        })),
      };
    const pre = await ctx.phase('pre-switch gates', () =>
      logger.group('Pre-switch health gates', () => this.runGates('pre-switch', undefined)),
    );
    if (pre.some((g) => !g.passed))
      return {
        message: `pre-switch health gates failed: ${describeFailures(pre)}`,
        workloads: this.workloadsBehind(pre, candidate),
        gates: pre,
      };
    await this.journal('gates-passed');
    return undefined;
  }

  /** The hook Jobs of a phase (a rollback runs none); returns what failed, or undefined. */
  private async runHooks(phase: HookPhase): Promise<StepFailure | undefined> {
    const { ctx } = this;
    const record = ctx.journal.record;
    if (record === undefined) return undefined;
    const ran = await runHookPhase(ctx, phase, {
      revision: record.revision,
      installed: this.installed,
      // Pre-deploy Jobs run inside the apply's group.
      grouped: phase === 'post-deploy',
    });
    this.hookRuns.push(...ran.runs);
    if (ran.runs.length > 0 && ran.problem === undefined) await this.journal(`${phase}-jobs`);
    return ran.problem === undefined
      ? undefined
      : { message: ran.problem, workloads: failedJobRefs(ran.runs) };
  }

  /**
   * Reads why a step failed from the cluster and says it in the log (a group of its own); kept for
   * the outcome. Never fails the release further: the step's failure is what is reported.
   */
  private async explain(failure: StepFailure): Promise<void> {
    this.diagnostics = (await explainFailure(this.ctx, failure)) ?? this.diagnostics;
  }

  /** The candidate's Deployments behind the Services that failed checks probe. */
  private workloadsBehind(results: readonly GateResult[], candidate: Color): WorkloadRef[] {
    const failed = new Set(results.filter((g) => !g.passed && !g.stopped).map((g) => g.check));
    const services = new Set(
      this.ctx.o.checks.flatMap((c) => (failed.has(c.name) && c.kind === 'service' ? [c.service] : [])),
    );
    return this.ctx.plan.services
      .filter((s) => services.has(s.name))
      .map((s) => ({ kind: 'Deployment', name: coloredName(s.deployment, candidate) }));
  }

  /** Sends the candidate no traffic, at once, then removes the router's objects. */
  private async stopRouter(): Promise<void> {
    const router = this.router;
    if (router === undefined) return;
    await router.setWeight(0);
    await router.remove('aborted');
    this.router = undefined;
    this.ctx.logger.info(
      `Canary stopped: the ${router.kind} router sends it no traffic and its objects are removed.`,
    );
  }

  private async applyPreviousPolicy(live: Color | undefined, previous: Color | undefined): Promise<void> {
    if (this.previous !== 'scale-down' || previous === undefined || previous === live) return;
    await scaleDown(this.ctx, previous);
    this.ctx.logger.info(`Previous color ${previous} scaled down (previous: scale-down).`);
  }

  /**
   * Puts the Services of an interrupted release back on the color it started from (from its
   * journal), returns the in-step workloads to the release live before it, and closes its record.
   */
  private async revertInterrupted(
    stored: StoredRelease,
    live: LiveState,
    history: readonly StoredRelease[],
    how: 'revert' | 'abort' = 'revert',
  ): Promise<void> {
    const { ctx } = this;
    const r = stored.record;
    const back = activeBefore(r);
    if (r.strategy === 'canary') await this.removeInterruptedRoutes(r, history);
    if (r.color !== undefined && back !== undefined) {
      await switchBackFrom(ctx, r.color, back, live.services);
      if (back !== 'legacy')
        for (const s of ctx.plan.services) {
          const name = previewName(s.name);
          if (live.services.has(name)) await pointPreview(ctx.api, ctx.namespace, name, back);
        }
      const previous = history.find((h) => h.record.revision < r.revision && h.record.result === 'promoted');
      await revertWorkloads(ctx, previous?.record, planOfRecord(r, ctx.namespace));
    }
    await reportRunningHookJobs(ctx);
    if (how === 'revert') {
      await ctx.journal.closeInterrupted(stored, `reverted by run ${ctx.o.run.runId}`);
      return;
    }
    // Aborted: its candidate goes too (nothing selects it any more), and it is recorded rolled back.
    if (r.color !== undefined && r.color !== back) await scaleDown(ctx, r.color);
    await ctx.journal.closeInterrupted(stored, `aborted by run ${ctx.o.run.runId}`, 'rolled-back');
  }

  /**
   * What the router of an interrupted canary added: the shared Services of the service router (back
   * on the color live before, at its full size), the canary Ingresses of the app (nginx), or this
   * run's own router's additions to its HTTPRoute (gateway-api), removed before the Services go back.
   */
  private async removeInterruptedRoutes(r: ReleaseRecord, history: readonly StoredRelease[]): Promise<void> {
    const { ctx } = this;
    const back = activeBefore(r);
    if (back === 'blue' || back === 'green') {
      const previous = history.find((h) => h.record.revision < r.revision && h.record.result === 'promoted');
      await restoreServiceRouting(ctx, r, planOfRecord(r, ctx.namespace), back, previous?.record);
    }
    const removed = await removeRecordedRoutes(r, {
      api: ctx.api,
      namespace: ctx.namespace,
      app: ctx.plan.app,
    });
    if (removed !== undefined) ctx.logger.info(removed);
  }

  /** Records the release, in progress; a revision another run recorded at the same moment is refused. */
  private async openRecord(
    revision: number,
    previousRevision: number,
    active: Color | 'legacy' | undefined,
    candidate: Color,
  ): Promise<void> {
    const { plan } = this.ctx;
    const record = newRecord(this.ctx, {
      revision,
      previousRevision,
      strategy: this.canary === undefined ? 'blue-green' : 'canary',
      color: candidate,
      previousColor: active === 'legacy' ? undefined : active,
      adopted: active === 'legacy',
      images: imagesOf(plan),
    });
    try {
      await this.ctx.journal.open(record);
    } catch (error) {
      if (isConflict(error))
        throw new RecordConflictError(
          `Revision ${revision} of ${plan.app} in ${plan.environment} was recorded by another run at the same moment.`,
          { app: plan.app, environment: plan.environment, revision },
          error,
        );
      throw error;
    }
  }

  private journal(step: string, detail?: string): Promise<void> {
    return this.ctx.journal.step(step, { ...(detail === undefined ? {} : { detail }), gates: this.gates });
  }

  private readLive(): Promise<LiveState> {
    return readLiveState(this.ctx.api, this.ctx.plan, this.ctx.history);
  }

  private async runGates(
    phase: 'pre-switch' | 'post-switch',
    windowMs: number | undefined,
    onFailure?: () => void,
  ): Promise<GateResult[]> {
    const { ctx } = this;
    const checks = checksFor(ctx.o.checks, phase);
    if (checks.length === 0) {
      ctx.logger.info(`No ${phase} health checks configured; readiness is the gate.`);
      return [];
    }
    const results = await runGate(checks, this.probeContext(), {
      phase,
      logger: ctx.logger,
      clock: ctx.clock,
      ...(windowMs === undefined ? {} : { windowMs }),
      ...(ctx.o.signal === undefined ? {} : { signal: ctx.o.signal }),
      ...(onFailure === undefined ? {} : { onFailure }),
    });
    this.gates.push(...results);
    return results;
  }

  private probeContext(): ProbeContext {
    const { ctx } = this;
    return {
      http: ctx.o.http,
      proxyBaseUrl: ctx.o.proxyBaseUrl,
      namespace: ctx.namespace,
      servicePorts: new Map(ctx.plan.services.map((s) => [s.name, s.ports])),
    };
  }

  private async finish(
    result: 'promoted' | 'failed' | 'rolled-back',
    message: string,
    before: LiveState,
    after: LiveState,
  ): Promise<Result> {
    const color = this.ctx.journal.record?.color ?? 'blue';
    const replicas: Record<string, number> = {};
    for (const d of this.ctx.plan.deployments)
      replicas[d.name] = after.deployments.get(coloredName(d.name, color))?.spec?.replicas ?? d.replicas;
    const record = await this.ctx.journal.finish(result, message, {
      replicas,
      gates: [...this.gates],
      ...(this.hookRuns.length === 0 ? {} : { jobs: [...this.hookRuns] }),
    });
    return this.outcome(result, record, before, after, message);
  }

  private outcome(
    result: ReleaseOutcome['result'],
    record: ReleaseRecord,
    before: LiveState,
    after: LiveState,
    message: string,
  ): Result {
    const outcome = blueGreenOutcome(this.ctx.plan, {
      result,
      message,
      record,
      before,
      after,
      path: this.path,
    });
    return {
      ...outcome,
      ...(this.canarySteps.length === 0 ? {} : { canary: [...this.canarySteps] }),
      ...(this.diagnostics === undefined ? {} : { diagnostics: this.diagnostics }),
    };
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

function describeFailures(results: readonly GateResult[]): string {
  const failed = results.filter((g) => !g.passed && !g.stopped);
  return (failed.length === 0 ? results.filter((g) => !g.passed) : failed)
    .map((g) => `${g.check} (${g.target}): ${g.lastDetail}`)
    .join('; ');
}

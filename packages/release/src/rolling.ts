import { formatDuration } from '@dreamscape/core';
import {
  parseManifests,
  type Deployment,
  type KubeObject,
  type RolloutOutcome,
  type Service,
} from '@dreamscape/kube';
import { runGate, type GateResult, type ProbeContext } from './gates.js';
import { unpackManifest, type ReleaseRecord, type StoredRelease } from './history.js';
import { lastStep, newRecord } from './journal.js';
import type { ReleaseOutcome, ServiceChange } from './outcome.js';
import { CLUSTER_SCOPED_KINDS, containersOf, releaseLabels, type BlueGreenPlan } from './plan.js';
import { ReleaseContext, type ReleaseOptions } from './release-context.js';
import { rolloutTargets } from './workload-rollout.js';
import { isWorkload, workloadContainers } from './workload-classes.js';
import { runHookPhase, splitHooks, type HookJobRun, type HookPhase } from './hook-jobs.js';
import {
  explainFailure,
  failedJobRefs,
  rolloutRefs,
  type FailureReport,
  type StepFailure,
  type WorkloadRef,
} from './failure-diagnostics.js';

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/** What a rolling release needs: the same plan, applied in place. */
export interface RollingOptions extends ReleaseOptions {
  /** The rendered objects, applied as they are. */
  readonly objects: readonly KubeObject[];
}

/**
 * The objects a rolling release applies: the rendered ones as they are, in the release's namespace
 * (cluster-scoped kinds excepted), with the release's labels on their metadata.
 */
export function rollingObjects(
  plan: Pick<BlueGreenPlan, 'app' | 'environment' | 'namespace'>,
  objects: readonly KubeObject[],
): KubeObject[] {
  const labels = releaseLabels(plan);
  const scoped = new Set(['Namespace', ...CLUSTER_SCOPED_KINDS]);
  // Hook Jobs run around the rollout, never applied with it; Helm's test hooks are never applied.
  return splitHooks(objects).rest.map((o) => ({
    ...o,
    metadata: {
      ...o.metadata,
      namespace: scoped.has(o.kind) ? undefined : plan.namespace,
      labels: { ...(o.metadata.labels ?? {}), ...labels },
    },
  }));
}

/**
 * The simple strategy: server-side apply in place, wait for every workload, run the health checks
 * against the live Services. On failure it returns to the release that was live before, as its
 * record has it: that release's exact manifest is applied again and awaited (not `rollout undo`,
 * whose revision numbers move under a re-run). Every step is journaled: a re-run of the same
 * release resumes it, a different one first closes it.
 */
export class RollingDeploy {
  private readonly ctx: ReleaseContext;
  private readonly objects: readonly KubeObject[];
  private readonly hookRuns: HookJobRun[] = [];
  /** Why a step failed, as the cluster said right after (for the outcome and the summary). */
  private diagnostics: FailureReport | undefined;

  constructor(options: RollingOptions) {
    this.ctx = new ReleaseContext(options);
    this.objects = options.objects;
  }

  /** Runs the release. Release failures come back as an outcome; setup errors are thrown. */
  async run(): Promise<ReleaseOutcome> {
    return this.ctx.locked(
      () => this.deploy(),
      () => {
        this.ctx.logger.debug('lock released');
      },
    );
  }

  private async deploy(): Promise<Omit<ReleaseOutcome, 'timings'>> {
    const { ctx } = this;
    const { plan, logger, history, journal } = ctx;
    const names = this.workloadNames();
    const before = await this.readDeployments(names.deployments);

    const all = await history.list();
    const latest = all[0];
    let resume: StoredRelease | undefined;
    if (latest?.record.result === 'in-progress') {
      const r = latest.record;
      if (r.kind === ctx.kind.kind && r.manifestHash === plan.manifestHash) {
        logger.notice(`Resuming revision ${r.revision}, which an earlier run left at step '${lastStep(r)}'.`);
        resume = latest;
      } else {
        logger.notice(
          `Revision ${r.revision} was left at step '${lastStep(r)}' by an earlier run; this release replaces it.`,
        );
        await journal.closeInterrupted(latest, `replaced by run ${ctx.o.run.runId}`);
      }
    }
    // What a failure returns to: the release live before this one, from the history.
    const lastPromoted = all.find(
      (x) => x.record.result === 'promoted' && x.record.revision !== resume?.record.revision,
    );
    const revision = resume?.record.revision ?? (all[0]?.record.revision ?? 0) + 1;
    if (resume === undefined) await journal.open(this.record(revision, lastPromoted?.record.revision ?? 0));
    else journal.resume(resume);

    const installed = lastPromoted !== undefined;
    // Pre-deploy Jobs run once the configuration they may need is in place, before any workload changes.
    let failure = '';
    let involved: WorkloadRef[] = [];
    if (plan.hooks.some((h) => h.phase === 'pre-deploy') && ctx.kind.kind === 'deploy') {
      const config = this.labelled(this.objects).filter((o) => !isWorkload(o));
      if (config.length > 0) await ctx.api.applyServerSide(config);
      const hooked = await this.runHooks('pre-deploy', revision, installed);
      failure = hooked?.message ?? '';
      involved = [...(hooked?.workloads ?? [])];
    }
    let waited: RolloutOutcome[] = [];
    if (failure === '') {
      await ctx.phase('apply', () =>
        logger.group('Apply in place', async () => {
          const applied = await ctx.api.applyServerSide(this.labelled(this.objects));
          logger.info(`Applied ${applied.length} objects.`);
        }),
      );
      await journal.step('applied');
      waited = await ctx.phase('wait', () =>
        logger.group('Wait for the rollout', () => this.wait(this.objects)),
      );
      failure = waited
        .filter((w) => w.state !== 'complete')
        .map((w) => `${w.name} ${w.state} (${w.reason})`)
        .join('; ');
      involved = rolloutRefs(waited);
    }
    if (failure !== '' && waited.length === 0) {
      // A pre-deploy Job failed: no workload of the release was applied, but its configuration was;
      // the release live before gets its own back.
      logger.error(failure);
      await this.explain({ message: failure, workloads: involved });
      const previous = lastPromoted?.record;
      let message = failure;
      if (previous !== undefined) {
        const returned = await ctx.phase('rollback', () =>
          logger.group(`Return to revision ${previous.revision}`, () => this.returnTo(previous)),
        );
        message = `${failure}; the configuration of revision ${previous.revision} ${returned ? 'was applied again' : 'was applied again, but its workloads did not roll out'}`;
      }
      const after = await this.readDeployments(names.deployments);
      const record = await this.finish('failed', message, [], after);
      return this.outcome('failed', message, record, before, after);
    }
    let gates: GateResult[] = [];
    if (failure === '') {
      await journal.step('ready');
      gates = await ctx.phase('verify', () => logger.group('Health gates', () => this.gates()));
      const failed = gates.filter((g) => !g.passed && !g.stopped);
      if (failed.length > 0) {
        failure = `health gates failed: ${failed.map((g) => `${g.check}: ${g.lastDetail}`).join('; ')}`;
        involved = this.workloadsBehind(failed);
      }
    }

    if (failure === '') {
      await journal.step('verified');
      const post = await this.runHooks('post-deploy', revision, installed);
      if (post !== undefined) {
        logger.warning(`${post.message} (the rolling release stays live).`);
        await this.explain(post);
      }
      const after = await this.readDeployments(names.deployments);
      const kind = ctx.kind;
      const message = kind.kind === 'rollback' ? `rolled back to revision ${kind.to}` : 'rolled out';
      const record = await this.finish('promoted', message, gates, after);
      return this.outcome('promoted', record.message, record, before, after);
    }

    logger.error(failure);
    // Read before the release live before is applied again, which replaces the pods that say why.
    await this.explain({ message: failure, workloads: involved, gates });
    const previous = lastPromoted?.record;
    if (previous === undefined) {
      const after = await this.readDeployments(names.deployments);
      const message = `${failure}; nothing to return to on a first deploy`;
      const record = await this.finish('failed', message, gates, after);
      return this.outcome('failed', message, record, before, after);
    }
    const returned = await ctx.phase('rollback', () =>
      logger.group(`Return to revision ${previous.revision}`, () => this.returnTo(previous)),
    );
    const after = await this.readDeployments(names.deployments);
    const result = returned ? 'rolled-back' : 'failed';
    const message = `${failure}; ${returned ? `returned to revision ${previous.revision}` : `the return to revision ${previous.revision} did not complete`}`;
    const record = await this.finish(result, message, gates, after);
    return this.outcome(result, message, record, before, after);
  }

  /** The hook Jobs of a phase (a rollback runs none); returns what failed, or undefined. */
  private async runHooks(
    phase: HookPhase,
    revision: number,
    installed: boolean,
  ): Promise<StepFailure | undefined> {
    const ran = await runHookPhase(this.ctx, phase, { revision, installed, grouped: true });
    this.hookRuns.push(...ran.runs);
    return ran.problem === undefined
      ? undefined
      : { message: ran.problem, workloads: failedJobRefs(ran.runs) };
  }

  /** Reads why a step failed from the cluster and says it in the log; kept for the outcome. */
  private async explain(failure: StepFailure): Promise<void> {
    this.diagnostics = (await explainFailure(this.ctx, failure)) ?? this.diagnostics;
  }

  /** The Deployments behind the Services that the failed checks probe. */
  private workloadsBehind(failed: readonly GateResult[]): WorkloadRef[] {
    const names = new Set(failed.map((g) => g.check));
    const services = new Set(
      this.ctx.o.checks.flatMap((c) => (names.has(c.name) && c.kind === 'service' ? [c.service] : [])),
    );
    return this.ctx.plan.services
      .filter((s) => services.has(s.name))
      .map((s) => ({ kind: 'Deployment', name: s.deployment }));
  }

  /** Applies a recorded release's exact manifest again and waits for it: true when it rolled out. */
  private async returnTo(previous: ReleaseRecord): Promise<boolean> {
    const { ctx } = this;
    const text = unpackManifest(previous);
    const objects = parseManifests(text, `revision ${previous.revision}`).map((o) =>
      o.kind === 'Namespace' ? o : { ...o, metadata: { ...o.metadata, namespace: ctx.namespace } },
    );
    // With that release's provenance: its objects read again as it left them.
    await ctx.api.applyServerSide(this.labelled(objects), { release: previous });
    ctx.logger.info(`Revision ${previous.revision}'s manifest applied again (${objects.length} objects).`);
    const again = await this.wait(objects);
    return again.every((w) => w.state === 'complete');
  }

  private labelled(objects: readonly KubeObject[]): KubeObject[] {
    return rollingObjects(this.ctx.plan, objects);
  }

  private workloadNames(): { deployments: string[] } {
    return { deployments: this.objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name) };
  }

  private async readDeployments(names: readonly string[]): Promise<Map<string, Deployment>> {
    const { items } = await this.ctx.api.list<Deployment>('deployments', { namespace: this.ctx.namespace });
    return new Map(items.filter((d) => names.includes(d.metadata.name)).map((d) => [d.metadata.name, d]));
  }

  /** Waits for every Deployment, StatefulSet and DaemonSet among `objects`. */
  private async wait(objects: readonly KubeObject[]): Promise<RolloutOutcome[]> {
    const { ctx } = this;
    const outcomes = await ctx.kubectl.waitForRollouts(
      rolloutTargets(ctx.namespace, objects),
      ctx.waitOptions,
    );
    for (const w of outcomes)
      ctx.logger.info(
        `  ${w.name}: ${w.state} — ${w.available}/${w.replicas} available after ${formatDuration(w.elapsedMs)}`,
      );
    return outcomes;
  }

  private async gates(): Promise<GateResult[]> {
    const { ctx } = this;
    const services = await ctx.api.list<Service>('services', { namespace: ctx.namespace });
    const probe: ProbeContext = {
      http: ctx.o.http,
      proxyBaseUrl: ctx.o.proxyBaseUrl,
      namespace: ctx.namespace,
      servicePorts: new Map(services.items.map((s) => [s.metadata.name, s.spec?.ports ?? []])),
    };
    // No preview exists in place: every check runs against the live Services, for the window.
    return runGate(ctx.o.checks, probe, {
      phase: 'post-switch',
      logger: ctx.logger,
      clock: ctx.clock,
      windowMs: ctx.o.verifyWindowMs,
      ...(ctx.o.signal === undefined ? {} : { signal: ctx.o.signal }),
    });
  }

  private record(revision: number, previousRevision: number): ReleaseRecord {
    const images: Record<string, string> = {};
    for (const o of this.objects)
      if (isWorkload(o))
        for (const c of workloadContainers(o)) images[`${o.metadata.name}/${c.name}`] = c.image ?? '';
    return newRecord(this.ctx, {
      revision,
      previousRevision,
      strategy: 'rolling',
      color: undefined,
      previousColor: undefined,
      images,
    });
  }

  private finish(
    result: 'promoted' | 'rolled-back' | 'failed',
    message: string,
    gates: GateResult[],
    after: Map<string, Deployment>,
  ): Promise<ReleaseRecord> {
    const replicas: Record<string, number> = {};
    const revisions: Record<string, number> = {};
    for (const [name, d] of after) {
      replicas[name] = d.spec?.replicas ?? 0;
      revisions[name] = Number(d.metadata.annotations?.[REVISION_ANNOTATION] ?? '0');
    }
    return this.ctx.journal.finish(result, message, {
      gates,
      replicas,
      rolloutRevisions: revisions,
      ...(this.hookRuns.length === 0 ? {} : { jobs: [...this.hookRuns] }),
    });
  }

  private outcome(
    result: ReleaseOutcome['result'],
    message: string,
    record: ReleaseRecord,
    before: Map<string, Deployment>,
    after: Map<string, Deployment>,
  ): Omit<ReleaseOutcome, 'timings'> {
    const { plan } = this.ctx;
    const images = (m: Map<string, Deployment>, name: string): string[] => {
      const d = m.get(name);
      return d === undefined ? [] : containersOf(d).map((c) => c.image ?? '');
    };
    const services: ServiceChange[] = plan.services.map((s) => ({
      service: s.name,
      deployment: s.deployment,
      before: {
        color: before.has(s.deployment) ? 'legacy' : 'missing',
        images: images(before, s.deployment),
      },
      after: { color: 'legacy', images: images(after, s.deployment) },
    }));
    return {
      result,
      message,
      app: plan.app,
      environment: plan.environment,
      namespace: plan.namespace,
      revision: record.revision,
      activeColor: undefined,
      previousColor: undefined,
      services,
      gates: record.gates,
      record,
      path: this.ctx.kind.kind === 'rollback' ? 're-apply' : 'rolling',
      ...(this.diagnostics === undefined ? {} : { diagnostics: this.diagnostics }),
    };
  }
}

import { createHash } from 'node:crypto';
import { formatDuration } from '@dreamscape/core';
import type { KubeObject } from '@dreamscape/kube';
import { APP_LABEL, ENVIRONMENT_LABEL } from './colors.js';
import type { LintFinding } from './plan.js';
import type { ReleaseContext } from './release-context.js';

/**
 * Jobs a release runs around its switch (docs/adr/0011-helm-charts-and-hook-jobs.md): `pre-deploy`
 * Jobs (a database migration) after the shared objects are applied and before the candidate comes
 * up, so no traffic ever reaches code that needs a migration that did not run; `post-deploy` Jobs
 * after the release is verified. A Job is marked by our annotation, or by Helm's hook annotations
 * in a chart. Jobs are never colored.
 */
export const HOOK_ANNOTATION = 'dreamscape.io/hook';
/** The values {@link HOOK_ANNOTATION} accepts. */
export const HOOK_PHASES = ['pre-deploy', 'post-deploy'] as const;
/** When a hook Job runs. */
export type HookPhase = (typeof HOOK_PHASES)[number];
/** Helm's hook annotation (a comma-separated list of events). */
export const HELM_HOOK_ANNOTATION = 'helm.sh/hook';
/** Helm's ordering of hooks: lower weights run first (default 0). */
export const HELM_HOOK_WEIGHT_ANNOTATION = 'helm.sh/hook-weight';
/** Labels of a Job the release created for a hook: its phase, its name in the manifest, its revision. */
export const HOOK_LABEL = 'dreamscape.io/hook';
export const HOOK_NAME_LABEL = 'dreamscape.io/hook-job';
export const HOOK_REVISION_LABEL = 'dreamscape.io/revision';

/** A Job of the manifest that runs around the switch. */
export interface HookJob {
  /** Its name in the manifest; the Job created is {@link hookJobName} of it. */
  readonly name: string;
  readonly phase: HookPhase;
  readonly weight: number;
  /** Helm's `pre-install` / `post-install` without the `-upgrade` event: only on an environment's first release. */
  readonly firstOnly: boolean;
  readonly manifest: KubeObject;
}

/** An object of the manifest a deploy never applies, and why (a Helm test or uninstall hook). */
export interface SkippedHook {
  /** `Kind/name`. */
  readonly object: string;
  readonly reason: string;
}

/** The manifest's objects split into hook Jobs, hooks a deploy never runs, and everything else. */
export interface HookSplit {
  readonly jobs: readonly HookJob[];
  readonly skipped: readonly SkippedHook[];
  /** What the release applies. */
  readonly rest: readonly KubeObject[];
  readonly findings: readonly LintFinding[];
}

const DEPLOY_EVENTS: Readonly<Record<string, { phase: HookPhase; firstOnly: boolean }>> = {
  'pre-upgrade': { phase: 'pre-deploy', firstOnly: false },
  'pre-install': { phase: 'pre-deploy', firstOnly: true },
  'post-upgrade': { phase: 'post-deploy', firstOnly: false },
  'post-install': { phase: 'post-deploy', firstOnly: true },
};
const OTHER_EVENTS = ['pre-delete', 'post-delete', 'pre-rollback', 'post-rollback', 'test', 'test-success'];

function helmEvents(o: KubeObject): string[] | undefined {
  const value = o.metadata.annotations?.[HELM_HOOK_ANNOTATION];
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
}

function weightOf(o: KubeObject): number {
  const w = Number(o.metadata.annotations?.[HELM_HOOK_WEIGHT_ANNOTATION] ?? '0');
  return Number.isInteger(w) ? w : 0;
}

/**
 * Splits a rendered manifest: Jobs marked `dreamscape.io/hook: pre-deploy|post-deploy`, or with
 * Helm's `pre-/post-install`/`-upgrade` hooks, run around the switch; Helm's test, delete and
 * rollback hooks are never applied by a deploy (each named in `skipped`); other objects with Helm
 * deploy hooks (the ServiceAccount or ConfigMap of a migration) are applied as configuration.
 */
export function splitHooks(objects: readonly KubeObject[]): HookSplit {
  const jobs: HookJob[] = [];
  const skipped: SkippedHook[] = [];
  const rest: KubeObject[] = [];
  const findings: LintFinding[] = [];
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata.name}`;
    const ours = o.metadata.annotations?.[HOOK_ANNOTATION];
    if (ours !== undefined) {
      if (!(HOOK_PHASES as readonly string[]).includes(ours)) {
        findings.push({
          level: 'error',
          object: id,
          message: `its annotation ${HOOK_ANNOTATION} is '${ours}'; accepted: ${HOOK_PHASES.join(', ')}`,
        });
        rest.push(o);
      } else if (o.kind !== 'Job') {
        findings.push({
          level: 'error',
          object: id,
          message: `only a Job can be a ${ours} hook (${HOOK_ANNOTATION}), and this is a ${o.kind}`,
        });
        rest.push(o);
      } else
        jobs.push({
          name: o.metadata.name,
          phase: ours as HookPhase,
          weight: weightOf(o),
          firstOnly: false,
          manifest: o,
        });
      continue;
    }
    const events = helmEvents(o);
    if (events === undefined) {
      rest.push(o);
      continue;
    }
    const deploy = events.flatMap((e) => (DEPLOY_EVENTS[e] === undefined ? [] : [DEPLOY_EVENTS[e]]));
    if (deploy.length === 0) {
      const known = events.filter((e) => OTHER_EVENTS.includes(e));
      const test = known.some((e) => e.startsWith('test'));
      skipped.push({
        object: id,
        reason: test
          ? `a Helm test hook (${events.join(', ')}): run by \`helm test\`, never by a deploy`
          : `a Helm ${events.join(', ')} hook: run by helm uninstall or rollback, never by a deploy`,
      });
      continue;
    }
    if (o.kind === 'Pod') {
      // A bare Pod's spec is immutable: applied again by the next release, it would be refused.
      skipped.push({
        object: id,
        reason: `a Helm ${events.join(', ')} hook on a Pod: only Jobs run around a deploy (make it a Job)`,
      });
      continue;
    }
    if (o.kind !== 'Job') {
      // The ServiceAccount, ConfigMap or Secret a migration Job uses: configuration, applied first.
      rest.push(o);
      continue;
    }
    const phases = new Set(deploy.map((d) => d.phase));
    if (phases.size > 1)
      findings.push({
        level: 'warning',
        object: id,
        message: `is a Helm hook both before and after the upgrade (${events.join(', ')}); it runs once, as a pre-deploy Job`,
      });
    const phase: HookPhase = phases.has('pre-deploy') ? 'pre-deploy' : 'post-deploy';
    jobs.push({
      name: o.metadata.name,
      phase,
      weight: weightOf(o),
      // Only when no `-upgrade` event of the same phase asks for every release.
      firstOnly: deploy.filter((d) => d.phase === phase).every((d) => d.firstOnly),
      manifest: o,
    });
  }
  jobs.sort((a, b) => a.weight - b.weight || a.name.localeCompare(b.name));
  return { jobs, skipped, rest, findings };
}

/** Job names are label values: at most 63 characters. */
const MAX_JOB_NAME = 63;

/** The name of the Job a release creates for a hook: unique to the revision (`<name>-r<revision>`). */
export function hookJobName(name: string, revision: number | 'dry-run'): string {
  const suffix = revision === 'dry-run' ? '-dry-run' : `-r${String(revision)}`;
  if (name.length + suffix.length <= MAX_JOB_NAME) return `${name}${suffix}`;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  const head = name.slice(0, MAX_JOB_NAME - suffix.length - hash.length - 1).replace(/-+$/, '');
  return `${head}-${hash}${suffix}`;
}

/**
 * The Job a release creates for a hook: its unique name, the release's labels and the hook's, and a
 * deadline (`activeDeadlineSeconds`, the Job's own, when it sets none): the Job controller ends a
 * Job that outlives the release's wait, so no migration keeps running unobserved.
 */
export function hookJobObject(
  hook: HookJob,
  o: {
    readonly app: string;
    readonly environment: string;
    readonly namespace: string;
    readonly revision: number | 'dry-run';
    readonly timeoutMs: number;
  },
): KubeObject {
  const m = hook.manifest as KubeObject & { spec?: Record<string, unknown> };
  const spec = { ...(m.spec ?? {}) };
  if (spec.activeDeadlineSeconds === undefined)
    spec.activeDeadlineSeconds = Math.max(1, Math.ceil(o.timeoutMs / 1000));
  // The release reads the Job's result and removes earlier revisions' Jobs itself: a Job the TTL
  // controller deleted would be created again by a resumed run, and its migration run twice.
  delete spec.ttlSecondsAfterFinished;
  return {
    ...m,
    metadata: {
      ...m.metadata,
      name: hookJobName(hook.name, o.revision),
      namespace: o.namespace,
      labels: {
        ...(m.metadata.labels ?? {}),
        [APP_LABEL]: o.app,
        [ENVIRONMENT_LABEL]: o.environment,
        'app.kubernetes.io/managed-by': 'dreamscape',
        [HOOK_LABEL]: hook.phase,
        [HOOK_NAME_LABEL]: hook.name.slice(0, MAX_JOB_NAME),
        [HOOK_REVISION_LABEL]: String(o.revision),
      },
    },
    spec,
  };
}

/** How one hook Job ran. */
export interface HookJobRun {
  readonly name: string;
  /** The Job created (`<name>-r<revision>`). */
  readonly job: string;
  readonly phase: HookPhase;
  readonly result: 'succeeded' | 'failed' | 'timed-out' | 'skipped';
  readonly durationMs: number;
  readonly message: string;
  /** The pod the failure came from, and the last lines of its log. */
  readonly pod?: string;
  readonly logTail?: readonly string[];
}

/** How hook Jobs are run. */
export interface HookSettings {
  /** How long one Job may take (its `activeDeadlineSeconds` unless it sets its own). */
  readonly timeoutMs: number;
  /** A failed post-deploy Job: only reported, or the release switches back. */
  readonly onPostDeployFailure: 'report' | 'switch-back';
}

/** The default: 10 minutes per Job, post-deploy failures reported. */
export const DEFAULT_HOOK_SETTINGS: HookSettings = { timeoutMs: 600_000, onPostDeployFailure: 'report' };

/** Log lines shown for a failed Job, and the bytes they may take. */
export const LOG_TAIL_LINES = 20;
const LOG_TAIL_BYTES = 4096;
/** What is read from the server to keep {@link LOG_TAIL_BYTES} of the end. */
const LOG_READ_BYTES = 65_536;
const POLL_MS = 1000;
const HEARTBEAT_MS = 15_000;
/** How long past a Job's deadline the release still waits for the Job controller to end it. */
const DEADLINE_GRACE_MS = 30_000;

type JobView = KubeObject & {
  spec?: { activeDeadlineSeconds?: number; backoffLimit?: number };
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
};

type PodView = KubeObject & {
  status?: {
    phase?: string;
    containerStatuses?: {
      name: string;
      state?: { terminated?: { exitCode?: number; reason?: string } };
    }[];
  };
};

type HookContext = Pick<ReleaseContext, 'api' | 'logger' | 'clock' | 'namespace' | 'plan'> & {
  readonly o: Pick<ReleaseContext['o'], 'signal'>;
};

/**
 * A phase's hook Jobs as a strategy runs them: none by a rollback (a migration is not undone by
 * running it again; a notice names them), else {@link runHookJobs} timed as the phase, in a log
 * group of its own unless the caller is inside one (the log has no nested groups). Returns the runs
 * and what failed.
 */
export async function runHookPhase(
  ctx: HookContext &
    Pick<ReleaseContext, 'kind' | 'phase'> & { readonly o: Pick<ReleaseContext['o'], 'hooks'> },
  phase: HookPhase,
  o: { readonly revision: number; readonly installed: boolean; readonly grouped: boolean },
): Promise<{ readonly runs: HookJobRun[]; readonly problem: string | undefined }> {
  const hooks = ctx.plan.hooks.filter((h) => h.phase === phase);
  if (hooks.length === 0) return { runs: [], problem: undefined };
  if (ctx.kind.kind === 'rollback') {
    ctx.logger.notice(
      `The ${phase} Jobs of this manifest (${hooks.map((h) => h.name).join(', ')}) are not run by a rollback.`,
    );
    return { runs: [], problem: undefined };
  }
  const run = (): ReturnType<typeof runHookJobs> =>
    runHookJobs(ctx, hooks, {
      phase,
      revision: o.revision,
      settings: ctx.o.hooks ?? DEFAULT_HOOK_SETTINGS,
      installed: o.installed,
    });
  return ctx.phase(phase, () =>
    o.grouped
      ? ctx.logger.group(`${phase === 'pre-deploy' ? 'Pre-deploy' : 'Post-deploy'} Jobs`, run)
      : run(),
  );
}

/**
 * Runs the hook Jobs of one phase, in order of weight, each to its end: created (a resumed run
 * finds the one it created and waits for it again), awaited with a progress line every 15 s, and,
 * when it fails, the last lines of its pod's log read. Stops at the first failure. After a success
 * the same hook's Jobs of earlier revisions are deleted.
 */
export async function runHookJobs(
  ctx: HookContext,
  hooks: readonly HookJob[],
  o: {
    readonly phase: HookPhase;
    readonly revision: number;
    readonly settings: HookSettings;
    /** The environment has a promoted release: `pre-install`-only hooks are skipped. */
    readonly installed: boolean;
  },
): Promise<{ readonly runs: HookJobRun[]; readonly problem: string | undefined }> {
  const runs: HookJobRun[] = [];
  const mine = hooks.filter((h) => h.phase === o.phase);
  if (mine.length === 0) return { runs, problem: undefined };
  // A Job an earlier run left running (it was killed, cancelled or gave up) must end before this
  // revision's starts: two migrations never run at once, and none is deleted half done.
  const earlier = await awaitEarlierJobs(ctx, o.revision, o.settings);
  if (earlier !== undefined) return { runs, problem: earlier };
  for (const hook of mine) {
    const job = hookJobName(hook.name, o.revision);
    if (hook.firstOnly && o.installed) {
      ctx.logger.info(
        `Job ${hook.name} skipped: a Helm ${o.phase === 'pre-deploy' ? 'pre-install' : 'post-install'} hook runs only on an environment's first release.`,
      );
      runs.push({
        name: hook.name,
        job,
        phase: o.phase,
        result: 'skipped',
        durationMs: 0,
        message: 'install-only hook',
      });
      continue;
    }
    const run = await runOne(ctx, hook, o);
    runs.push(run);
    if (run.result !== 'succeeded')
      return { runs, problem: `${o.phase} Job ${run.job} ${run.result}: ${run.message}` };
    await removeEarlier(ctx, hook, o.revision);
  }
  return { runs, problem: undefined };
}

/** How a Job ended, as the wait saw it. */
type JobEnd =
  { readonly kind: 'complete' } | { readonly kind: 'failed' | 'timed-out' | 'gone'; readonly why: string };

/**
 * Waits for a Job to end: polled every second, a progress line every 15 s, given up `DEADLINE_GRACE_MS`
 * after its deadline (the Job controller ends it at its `activeDeadlineSeconds`).
 */
async function awaitJob(ctx: HookContext, job: string, deadlineMs: number, what: string): Promise<JobEnd> {
  const { api, logger, clock } = ctx;
  const start = clock.now();
  const giveUpAt = start + deadlineMs + DEADLINE_GRACE_MS;
  let lastBeat = start;
  for (;;) {
    const current = await api.get<JobView>({ kind: 'Job', name: job, namespace: ctx.namespace });
    const done = finished(current);
    const elapsed = clock.now() - start;
    if (current === undefined)
      return { kind: 'gone', why: 'the Job was deleted while the release waited for it' };
    if (done?.type === 'Complete') return { kind: 'complete' };
    if (done?.type === 'Failed')
      return {
        kind: done.reason === 'DeadlineExceeded' ? 'timed-out' : 'failed',
        why: `${done.reason ?? 'Failed'}: ${done.message ?? 'the Job failed'}`,
      };
    if (clock.now() >= giveUpAt)
      return { kind: 'timed-out', why: `it was still running after ${formatDuration(elapsed)}` };
    if (clock.now() - lastBeat >= HEARTBEAT_MS) {
      lastBeat = clock.now();
      const st = current.status ?? {};
      logger.info(
        `  ${what} ${job}: running for ${formatDuration(elapsed)} of at most ${formatDuration(deadlineMs)} (${String(st.active ?? 0)} active, ${String(st.failed ?? 0)} failed pods).`,
      );
    }
    await clock.sleep(POLL_MS, ctx.o.signal);
  }
}

/** The hook Jobs of this app and environment (from revisions other than `revision`) that have not ended. */
async function runningEarlier(ctx: HookContext, revision?: number): Promise<JobView[]> {
  const { items } = await ctx.api.list<JobView>('jobs', {
    namespace: ctx.namespace,
    labelSelector: `${APP_LABEL}=${ctx.plan.app},${ENVIRONMENT_LABEL}=${ctx.plan.environment},${HOOK_LABEL}`,
  });
  return items.filter(
    (j) =>
      (revision === undefined || j.metadata.labels?.[HOOK_REVISION_LABEL] !== String(revision)) &&
      finished(j) === undefined,
  );
}

/** Waits for the hook Jobs earlier runs left running; returns why the release cannot go on, if so. */
async function awaitEarlierJobs(
  ctx: HookContext,
  revision: number,
  settings: HookSettings,
): Promise<string | undefined> {
  for (const j of await runningEarlier(ctx, revision)) {
    const name = j.metadata.name;
    const deadlineMs = (j.spec?.activeDeadlineSeconds ?? settings.timeoutMs / 1000) * 1000;
    ctx.logger.notice(
      `Job ${name}, started by an earlier run of revision ${j.metadata.labels?.[HOOK_REVISION_LABEL] ?? '?'}, is still running: waiting for it to end before this release's Jobs start.`,
    );
    const end = await awaitJob(ctx, name, deadlineMs, 'Earlier Job');
    if (end.kind === 'timed-out')
      return `Job ${name} of an earlier run is still running (${end.why}); this release's Jobs did not start`;
    ctx.logger.info(
      `Job ${name} of an earlier run ended (${end.kind === 'complete' ? 'completed' : end.why}).`,
    );
  }
  return undefined;
}

/**
 * The hook Jobs still running in the namespace for this app and environment (a release that stops
 * or is reverted says so: the Job is left to end by its deadline, never killed half done).
 */
export async function reportRunningHookJobs(ctx: HookContext): Promise<void> {
  try {
    for (const j of await runningEarlier(ctx))
      ctx.logger.notice(
        `Job ${j.metadata.name} is still running; it is left to end by its own deadline, and the next release waits for it.`,
      );
  } catch {
    // Only a report.
  }
}

async function runOne(
  ctx: HookContext,
  hook: HookJob,
  o: { readonly phase: HookPhase; readonly revision: number; readonly settings: HookSettings },
): Promise<HookJobRun> {
  const { api, logger, clock, plan } = ctx;
  const object = hookJobObject(hook, {
    app: plan.app,
    environment: plan.environment,
    namespace: ctx.namespace,
    revision: o.revision,
    timeoutMs: o.settings.timeoutMs,
  });
  const job = object.metadata.name;
  const start = clock.now();
  const result = (r: HookJobRun['result'], message: string, extra: Partial<HookJobRun> = {}): HookJobRun => ({
    name: hook.name,
    job,
    phase: o.phase,
    result: r,
    durationMs: clock.now() - start,
    message,
    ...extra,
  });
  // A Job of that name that another app or environment owns is never taken over.
  const existing = await api.get<JobView>({ kind: 'Job', name: job, namespace: ctx.namespace });
  const owner = existing?.metadata.labels;
  if (
    existing !== undefined &&
    (owner?.[APP_LABEL] !== plan.app || owner[ENVIRONMENT_LABEL] !== plan.environment)
  )
    return result(
      'failed',
      `a Job named ${job} already exists in ${ctx.namespace} and belongs to ${owner?.[APP_LABEL] ?? 'something else'} (${owner?.[ENVIRONMENT_LABEL] ?? 'no environment'}); rename the hook Job`,
    );
  // Created by apply: a resumed run finds the Job it created (same revision, same manifest) unchanged.
  await api.applyServerSide([object]);
  const deadlineMs = ((object as JobView).spec?.activeDeadlineSeconds ?? o.settings.timeoutMs / 1000) * 1000;
  logger.info(
    `${o.phase} Job ${job} ${existing === undefined ? 'created' : 'found (an earlier run of this revision created it)'}; waiting for it (at most ${formatDuration(deadlineMs)}).`,
  );
  const end = await awaitJob(ctx, job, deadlineMs, 'Job');
  if (end.kind === 'complete') {
    logger.info(`Job ${job} completed in ${formatDuration(clock.now() - start)}.`);
    return result('succeeded', 'completed');
  }
  const tail = end.kind === 'gone' ? undefined : await lastLines(ctx, job);
  // Said here as a fact; the release reports it as its failure (one error, not two).
  logger.info(`Job ${job} ${end.kind === 'timed-out' ? 'timed out' : 'failed'} (${end.why}).`);
  if (tail !== undefined) {
    logger.info(
      `Last lines of pod ${tail.pod}${tail.exit === undefined ? '' : ` (exit code ${String(tail.exit)})`}:`,
    );
    // Prefixed, control characters shown as such: a log line is never read as a workflow command.
    for (const line of tail.lines) logger.info(`  | ${line}`);
  }
  return result(end.kind === 'timed-out' ? 'timed-out' : 'failed', end.why, {
    ...(tail === undefined ? {} : { pod: tail.pod, logTail: tail.lines }),
  });
}

function finished(
  job: JobView | undefined,
): { type: 'Complete' | 'Failed'; reason?: string; message?: string } | undefined {
  for (const c of job?.status?.conditions ?? [])
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')
      return {
        type: c.type,
        ...(c.reason === undefined ? {} : { reason: c.reason }),
        ...(c.message === undefined ? {} : { message: c.message }),
      };
  return undefined;
}

/** The last lines of the log of the Job's most recent failed pod (or its latest pod). */
async function lastLines(
  ctx: HookContext,
  job: string,
): Promise<{ pod: string; lines: string[]; exit: number | undefined } | undefined> {
  const { api } = ctx;
  try {
    const { items } = await api.list<PodView>('pods', {
      namespace: ctx.namespace,
      labelSelector: `batch.kubernetes.io/job-name=${job}`,
    });
    if (items.length === 0) return undefined;
    const sorted = [...items].sort((a, b) =>
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
    );
    const failed = sorted.filter((p) => p.status?.phase === 'Failed');
    const pod = failed[failed.length - 1] ?? sorted[sorted.length - 1];
    if (pod === undefined) return undefined;
    const terminated = pod.status?.containerStatuses?.find((c) => c.state?.terminated !== undefined);
    const exit = terminated?.state?.terminated?.exitCode;
    if (api.podLog === undefined) return { pod: pod.metadata.name, lines: [], exit };
    // The server cuts at `limitBytes` from the start of the tail: asked for more, the end (where the
    // error is) is kept here instead.
    const text = await api.podLog(ctx.namespace, pod.metadata.name, {
      tailLines: LOG_TAIL_LINES,
      limitBytes: LOG_READ_BYTES,
      ...(terminated === undefined ? {} : { container: terminated.name }),
    });
    return { pod: pod.metadata.name, lines: tailOf(text), exit };
  } catch (error) {
    ctx.logger.warning(
      `Could not read the log of Job ${job}'s pod: ${error instanceof Error ? error.message : String(error)}`,
    );
    return undefined;
  }
}

/**
 * The last lines of a log, at most {@link LOG_TAIL_BYTES} from the end, each with its control
 * characters shown as `\u{…}` escapes (a carriage return would start a new line for the runner,
 * which could then read it as a workflow command).
 */
export function tailOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const kept: string[] = [];
  let bytes = 0;
  for (const line of lines.slice(-LOG_TAIL_LINES).reverse()) {
    // Anything but the tab, printable ASCII and printable Unicode: C0 and C1 controls, DEL, U+2028/9.
    const clean = line.replace(/[^\t\x20-\x7e\u00a0-\u2027\u202a-\u{10ffff}]/gu, (c) =>
      c === '\r' ? '\\r' : `\\u{${c.codePointAt(0)?.toString(16) ?? ''}}`,
    );
    bytes += Buffer.byteLength(clean) + 1;
    if (bytes > LOG_TAIL_BYTES && kept.length > 0) break;
    kept.unshift(clean.length > LOG_TAIL_BYTES ? `…${clean.slice(-LOG_TAIL_BYTES)}` : clean);
  }
  return kept;
}

/** The same hook's Jobs of other revisions that have ended: deleted once this revision's has succeeded. */
async function removeEarlier(ctx: HookContext, hook: HookJob, revision: number): Promise<void> {
  try {
    const { items } = await ctx.api.list<JobView>('jobs', {
      namespace: ctx.namespace,
      labelSelector: `${APP_LABEL}=${ctx.plan.app},${ENVIRONMENT_LABEL}=${ctx.plan.environment},${HOOK_NAME_LABEL}=${hook.name.slice(0, MAX_JOB_NAME)}`,
    });
    for (const j of items)
      if (j.metadata.labels?.[HOOK_REVISION_LABEL] !== String(revision) && finished(j) !== undefined)
        await ctx.api.delete(
          { kind: 'Job', name: j.metadata.name, namespace: ctx.namespace },
          { ignoreNotFound: true },
        );
  } catch (error) {
    ctx.logger.warning(
      `Could not remove earlier Jobs of ${hook.name}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

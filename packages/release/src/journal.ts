import type { Clock, Logger } from '@dreamscape/core';
import type { Color } from './colors.js';
import type { GateResult } from './gates.js';
import { packManifest, type ReleaseHistory, type ReleaseRecord, type StoredRelease } from './history.js';
import type { ReleaseContext } from './release-context.js';

/** Steps of a blue-green release, as journaled in its record. */
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

/** Steps, as journaled in a rolling release's record. */
export const ROLLING_STEPS = ['started', 'applied', 'ready', 'verified', 'finished'] as const;

/**
 * The record of the release in progress, written at every step so that a run killed at any point
 * leaves enough for the next one to resume or revert it. One journal per release context.
 */
export class ReleaseJournal {
  private stored: StoredRelease | undefined;

  constructor(
    private readonly history: ReleaseHistory,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** The record as last written (undefined before the release is recorded). */
  get record(): ReleaseRecord | undefined {
    return this.stored?.record;
  }

  /** Continues the journal of a release an earlier run left in progress. */
  resume(stored: StoredRelease): void {
    this.stored = stored;
  }

  /** Records a new release (its first entry, `started`, is in `record`). */
  async open(record: ReleaseRecord): Promise<void> {
    this.stored = await this.history.create(record);
  }

  /** Appends a step (with the gate results so far, when given). Nothing before the release is recorded. */
  async step(step: string, options: { detail?: string; gates?: readonly GateResult[] } = {}): Promise<void> {
    const stored = this.stored;
    if (stored === undefined) return;
    const record: ReleaseRecord = {
      ...stored.record,
      journal: [
        ...stored.record.journal,
        {
          step,
          at: new Date(this.clock.now()).toISOString(),
          ...(options.detail === undefined ? {} : { detail: options.detail }),
        },
      ],
      ...(options.gates === undefined ? {} : { gates: [...options.gates] }),
    };
    this.stored = await this.history.update(stored, record);
  }

  /**
   * Closes the release with its result (the `finished` step), then prunes old records: nothing
   * urgent waits on that, so a failure there is only a warning. Returns the record written.
   */
  async finish(
    result: 'promoted' | 'failed' | 'rolled-back',
    message: string,
    fields: Partial<Pick<ReleaseRecord, 'replicas' | 'gates' | 'rolloutRevisions' | 'jobs'>>,
  ): Promise<ReleaseRecord> {
    const stored = this.stored;
    if (stored === undefined) throw new Error('finish() before the release was recorded');
    const at = new Date(this.clock.now()).toISOString();
    const record: ReleaseRecord = {
      ...stored.record,
      result,
      message,
      ...fields,
      finishedAt: at,
      journal: [...stored.record.journal, { step: 'finished', at, detail: result }],
    };
    this.stored = await this.history.update(stored, record);
    await this.history.prune(await this.history.list()).catch((error: unknown) => {
      this.logger.warning(`Could not prune old release records: ${String(error)}`);
    });
    return this.stored.record;
  }

  /**
   * Closes the record of a release an earlier run left in progress, saying why: failed when it was
   * reverted, rolled back when it was aborted (`mode: abort`, a rollback of a paused canary).
   */
  async closeInterrupted(
    stored: StoredRelease,
    why: string,
    result: 'failed' | 'rolled-back' = 'failed',
  ): Promise<void> {
    const r = stored.record;
    const at = new Date(this.clock.now()).toISOString();
    await this.history.update(stored, {
      ...r,
      result,
      finishedAt: at,
      message: `${pausedAtStep(r) ? 'paused' : 'interrupted'} at step '${lastStep(r)}' and ${why}`,
      journal: [...r.journal, { step: 'finished', at, detail: result }],
    });
  }
}

function pausedAtStep(r: ReleaseRecord): boolean {
  return /^paused-\d+$/.test(lastStep(r));
}

/** The last step a record's journal reached. */
export function lastStep(r: ReleaseRecord): string {
  return r.journal[r.journal.length - 1]?.step ?? 'started';
}

/** The color a release started from, as its record says: what every failure returns to. */
export function activeBefore(record: ReleaseRecord): Color | 'legacy' | undefined {
  return record.previousColor ?? (record.adopted === true ? 'legacy' : undefined);
}

/**
 * The first record of a release, in progress at its `started` step: what it deploys (the packed
 * manifest, its hash, its images), who runs it, and the colors it goes from and to.
 */
export function newRecord(
  ctx: Pick<ReleaseContext, 'plan' | 'o' | 'kind' | 'clock'>,
  r: {
    readonly revision: number;
    readonly previousRevision: number;
    readonly strategy: ReleaseRecord['strategy'];
    readonly color: Color | undefined;
    readonly previousColor: Color | undefined;
    readonly adopted?: boolean;
    readonly images: Record<string, string>;
  },
): ReleaseRecord {
  const { plan, kind, clock } = ctx;
  const { run } = ctx.o;
  return {
    schema: 1,
    app: plan.app,
    environment: plan.environment,
    namespace: plan.namespace,
    revision: r.revision,
    kind: kind.kind,
    strategy: r.strategy,
    result: 'in-progress',
    color: r.color,
    previousColor: r.previousColor,
    ...(r.adopted === true ? { adopted: true } : {}),
    previousRevision: r.previousRevision,
    manifestHash: plan.manifestHash,
    manifest: packManifest(ctx.o.manifestText),
    images: r.images,
    services: plan.services.map((s) => ({ name: s.name, deployment: s.deployment })),
    replicas: {},
    checks: ctx.o.checksText,
    commit: run.commit,
    runId: run.runId,
    runUrl: run.runUrl,
    actor: run.actor,
    ...(run.repository === undefined || run.repository === '' ? {} : { repository: run.repository }),
    ...(run.workflow === undefined || run.workflow === '' ? {} : { workflow: run.workflow }),
    reason: kind.kind === 'rollback' ? kind.reason : '',
    rollbackTo: kind.kind === 'rollback' ? kind.to : undefined,
    rolloutRevisions: {},
    startedAt: new Date(clock.now()).toISOString(),
    finishedAt: undefined,
    message: '',
    journal: [{ step: 'started', at: new Date(clock.now()).toISOString() }],
    gates: [],
    ...(ctx.o.source === undefined ? {} : { source: ctx.o.source }),
  };
}

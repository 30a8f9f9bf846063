import { sleep, type Logger } from '@dreamscape/core';
import type { Service } from '@dreamscape/kube';
import { allSettled, type ClusterApi } from './cluster-api.js';
import { COLOR_LABEL, previewName, type Color } from './colors.js';
import type { LiveState } from './live-state.js';
import { coloredService, previewService } from './plan.js';
import type { ReleaseContext } from './release-context.js';

/** What a Service's selector says about colors. `legacy`: it selects pods without any color key. */
export type SelectorColor = Color | 'legacy' | 'missing';

/** The color a live Service selects (`missing` when the Service does not exist). */
export function selectorColor(service: Service | undefined): SelectorColor {
  if (service === undefined) return 'missing';
  const value = service.spec?.selector?.[COLOR_LABEL];
  return value === 'blue' || value === 'green' ? value : 'legacy';
}

/** One Service to move from one color to another. */
export interface SwitchTarget {
  readonly name: string;
  readonly namespace: string;
  readonly from: SelectorColor;
  readonly to: Color;
  /** The live selector, for the precondition when adopting an un-colored Service. */
  readonly liveSelector: Readonly<Record<string, string>>;
}

/** How one Service's switch went. */
export interface SwitchResult {
  readonly name: string;
  readonly ok: boolean;
  readonly skipped: boolean;
  readonly error?: string;
}

/** Attempts per Service patch before the switch is given up (and reverted). */
const SWITCH_ATTEMPTS = 3;

const KEY_PATH = `/spec/selector/${COLOR_LABEL.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * The JSON patch that moves a Service's selector to `to` only if it still selects `from`: a `test`
 * on the color key (or, for an un-colored Service, on the whole selector) then the change. A
 * concurrent edit makes the patch fail instead of being overwritten.
 */
export function switchPatch(target: SwitchTarget): { op: string; path: string; value?: unknown }[] {
  if (target.from === 'legacy') {
    return [
      { op: 'test', path: '/spec/selector', value: target.liveSelector },
      { op: 'add', path: KEY_PATH, value: target.to },
    ];
  }
  return [
    { op: 'test', path: KEY_PATH, value: target.from },
    { op: 'replace', path: KEY_PATH, value: target.to },
  ];
}

/** The patch that undoes {@link switchPatch}. */
export function revertPatch(target: SwitchTarget): { op: string; path: string; value?: unknown }[] {
  if (target.from === 'legacy') {
    return [
      { op: 'test', path: KEY_PATH, value: target.to },
      { op: 'remove', path: KEY_PATH },
    ];
  }
  return [
    { op: 'test', path: KEY_PATH, value: target.to },
    { op: 'replace', path: KEY_PATH, value: target.from },
  ];
}

/**
 * Patches every Service at once (one request each, in parallel), each only if it still selects its
 * `from` color. Services already on `to` are skipped, so a resumed switch finishes what is left.
 */
export async function switchServices(
  api: ClusterApi,
  logger: Logger,
  targets: readonly SwitchTarget[],
  direction: 'forward' | 'back',
): Promise<SwitchResult[]> {
  return Promise.all(
    targets.map(async (t): Promise<SwitchResult> => {
      if (t.from === 'missing') return { name: t.name, ok: true, skipped: true };
      const patch = direction === 'forward' ? switchPatch(t) : revertPatch(t);
      const want: SelectorColor = direction === 'forward' ? t.to : t.from;
      const ref = { kind: 'Service', name: t.name, namespace: t.namespace };
      let message = '';
      // The precondition makes a repeat safe: if an earlier attempt did land, the test fails and a
      // read shows the Service already where it should be.
      for (let attempt = 1; attempt <= SWITCH_ATTEMPTS; attempt++) {
        try {
          await api.patch(ref, patch, { type: 'json' });
          logger.info(
            direction === 'forward'
              ? `  Service ${t.name}: ${t.from} → ${t.to}`
              : `  Service ${t.name}: ${t.to} → ${t.from} (switched back)`,
          );
          return { name: t.name, ok: true, skipped: false };
        } catch (error) {
          message = error instanceof Error ? error.message : String(error);
          const now = await api.get<Service>(ref).then(selectorColor, () => undefined);
          if (now === want) {
            logger.info(`  Service ${t.name}: already selects ${want}`);
            return { name: t.name, ok: true, skipped: false };
          }
          // A Service that left the color we move it from is someone else's change: stop. A read
          // that failed tells nothing, and the precondition keeps another attempt safe.
          const moved = now !== undefined && now !== (direction === 'forward' ? t.from : t.to);
          if (moved || attempt === SWITCH_ATTEMPTS) break;
          await sleep(50 * attempt);
        }
      }
      logger.warning(
        `  Service ${t.name}: ${direction === 'forward' ? 'switch' : 'switch back'} failed: ${message}`,
      );
      return { name: t.name, ok: false, skipped: false, error: message };
    }),
  );
}

/** Points a preview Service at a color (a plain merge patch: nobody else routes traffic through it). */
export async function pointPreview(
  api: ClusterApi,
  namespace: string,
  name: string,
  color: Color,
): Promise<void> {
  await api.patch(
    { kind: 'Service', name, namespace },
    { spec: { selector: { [COLOR_LABEL]: color } } },
    { type: 'merge' },
  );
}

/** The Services of a release, as the switch moves them (see {@link switchToCandidate}). */
type SwitchContext = Pick<ReleaseContext, 'plan' | 'api' | 'logger'>;

/**
 * Step 7: moves every Service of the plan to the candidate together, each with a precondition on
 * its current color; if any patch fails, those already switched are switched back. Services that do
 * not exist yet (first deploy, or a new Service) are created selecting the candidate.
 */
export async function switchToCandidate(
  ctx: SwitchContext,
  live: LiveState,
  candidate: Color,
): Promise<{ ok: boolean; message: string }> {
  const { plan, logger } = ctx;
  const targets: SwitchTarget[] = plan.services.map((s) => {
    const svc = live.services.get(s.name);
    return {
      name: s.name,
      namespace: plan.namespace,
      from: selectorColor(svc),
      to: candidate,
      liveSelector: svc?.spec?.selector ?? {},
    };
  });
  const create = plan.services.filter((s) => selectorColor(live.services.get(s.name)) === 'missing');
  const pending = targets.filter((t) => t.from !== 'missing' && t.from !== candidate);
  const results = await switchServices(ctx.api, logger, pending, 'forward');
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    const done = pending.filter((t) => results.find((r) => r.name === t.name)?.ok === true);
    logger.warning(
      `Switching failed for ${failed.map((f) => f.name).join(', ')}; switching back ${done.length} Service(s).`,
    );
    const back = await switchServices(ctx.api, logger, done, 'back');
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
    await ctx.api.applyServerSide(create.map((s) => coloredService(plan, s, candidate)));
    for (const s of create) logger.info(`  Service ${s.name}: created, selecting ${candidate}`);
  }
  return { ok: true, message: '' };
}

/**
 * Puts every Service of the plan that selects `candidate` back on `to`, the color the release
 * started from as journaled (never as the Services say: after a switch they all select the
 * candidate). Services already back, or never switched, are left alone. True when all went back.
 */
export async function switchBackFrom(
  ctx: SwitchContext,
  candidate: Color,
  to: Color | 'legacy',
  services?: ReadonlyMap<string, Service>,
): Promise<boolean> {
  const { plan } = ctx;
  const live =
    services ??
    new Map(
      (await ctx.api.list<Service>('services', { namespace: plan.namespace })).items.map((s) => [
        s.metadata.name,
        s,
      ]),
    );
  const targets: SwitchTarget[] = plan.services
    .filter((s) => selectorColor(live.get(s.name)) === candidate)
    .map((s) => ({
      name: s.name,
      namespace: plan.namespace,
      from: to,
      to: candidate,
      liveSelector: live.get(s.name)?.spec?.selector ?? {},
    }));
  const results = await switchServices(ctx.api, ctx.logger, targets, 'back');
  return results.every((r) => r.ok);
}

/** Step 6: every preview Service selects the candidate (created where missing). */
export async function pointPreviews(ctx: SwitchContext, candidate: Color): Promise<void> {
  const { plan, api } = ctx;
  const live = await api.list<Service>('services', { namespace: plan.namespace });
  const existing = new Set(live.items.map((s) => s.metadata.name));
  const missing = plan.services.filter((s) => !existing.has(previewName(s.name)));
  if (missing.length > 0) await api.applyServerSide(missing.map((s) => previewService(plan, s, candidate)));
  await allSettled(
    plan.services
      .filter((s) => existing.has(previewName(s.name)))
      .map((s) => pointPreview(api, plan.namespace, previewName(s.name), candidate)),
  );
  ctx.logger.info(`Preview Services now select ${candidate}.`);
}

/**
 * Takes the preview Services off an abandoned candidate: back on the live color, or removed when
 * there is none (a first deploy, or un-colored Services), so no preview selects a scaled-down color.
 */
export async function previewsBack(ctx: SwitchContext, active: Color | 'legacy' | undefined): Promise<void> {
  const { plan, api } = ctx;
  const previews = await api.list<Service>('services', { namespace: plan.namespace });
  const names = new Set(previews.items.map((s) => s.metadata.name));
  for (const s of plan.services) {
    const name = previewName(s.name);
    if (!names.has(name)) continue;
    if (active === 'blue' || active === 'green') await pointPreview(api, plan.namespace, name, active);
    else await api.delete({ kind: 'Service', name, namespace: plan.namespace }, { ignoreNotFound: true });
  }
}

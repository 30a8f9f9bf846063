import { sleep, type Logger } from '@dreamscape/core';
import type { Service } from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import { COLOR_LABEL, type Color } from './colors.js';

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

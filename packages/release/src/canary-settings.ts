import { checkDuration, durationAccepted, InputError, previewValue } from '@dreamscape/core';
import type { KubeObject } from '@dreamscape/kube';
import { parseHealthChecks, type HealthCheck } from './health-checks.js';
import { ROUTER_KINDS, type RouterKind } from './traffic-routers.js';
import type { Color } from './colors.js';

/** One step of a canary: the candidate's share, then how long to watch it (or wait for approval). */
export interface CanaryStep {
  readonly weight: number;
  readonly pause: { readonly kind: 'duration'; readonly ms: number } | { readonly kind: 'approval' };
}

/** The `canary` input, checked (ADR 10). */
export interface CanarySettings {
  readonly router: RouterKind;
  readonly steps: readonly CanaryStep[];
  /** Checks run against the canary at every step; undefined: the post-switch health checks. */
  readonly analysis: readonly HealthCheck[] | undefined;
  /** Analysis failures tolerated per step. */
  readonly failureLimit: number;
  /** A header testers set (`always`) to reach the canary before the first weight. */
  readonly header: string | undefined;
  /** The router's object, when the overlay has more than one. */
  readonly ingress: string | undefined;
  readonly route: string | undefined;
}

/** A step's pause when none is given. */
export const DEFAULT_CANARY_PAUSE_MS = 60_000;
/** How short and long a pause may be, and how many steps a canary may have. */
export const CANARY_LIMITS = { pause: { minMs: 1000, maxMs: 60 * 60_000 }, steps: 20 } as const;

/** The placeholders a Prometheus query of the analysis may hold, one per side. */
export const CANARY_PLACEHOLDERS = { canary: '{{ canary }}', stable: '{{ stable }}' } as const;

const ACCEPTED =
  'a YAML mapping with `router` (nginx, gateway-api or service), `steps` (weights from 1 to 100, strictly increasing, ending at 100; a step may be {weight, pause}), and optional `pause` (a duration or approval), `analysis` (health checks), `failure-limit`, `header`, `ingress`, `route`';

const KEYS = ['router', 'steps', 'pause', 'analysis', 'failure-limit', 'header', 'ingress', 'route'];

/**
 * Parses the `canary` input (already YAML-decoded). Every problem names the input and the field;
 * nothing about the cluster is read, so a refusal comes before any write.
 */
export function parseCanarySettings(
  value: unknown,
  services: readonly string[],
  input = 'canary',
): CanarySettings {
  const fail = (where: string, reason: string): never => {
    throw new InputError(input, typeof value === 'string' ? value : previewValue(value), ACCEPTED, {
      reason: `${where}: ${reason}`,
    });
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail('the document', 'is not a mapping');
  const doc = value as Record<string, unknown>;
  for (const key of Object.keys(doc))
    if (!KEYS.includes(key)) fail(`\`${key}\``, `is not a canary setting (settings: ${KEYS.join(', ')})`);

  const router = doc.router;
  if (typeof router !== 'string' || !(ROUTER_KINDS as readonly string[]).includes(router))
    fail('`router`', `is ${previewValue(router, 60)}; expected ${ROUTER_KINDS.join(', ')}`);

  const defaultPause = pauseOf(doc.pause, '`pause`', fail) ?? {
    kind: 'duration' as const,
    ms: DEFAULT_CANARY_PAUSE_MS,
  };
  if (!Array.isArray(doc.steps) || doc.steps.length === 0)
    return fail('`steps`', 'must be a list of weights, for example [10, 50, 100]');
  if (doc.steps.length > CANARY_LIMITS.steps)
    fail('`steps`', `has ${String(doc.steps.length)} steps; at most ${String(CANARY_LIMITS.steps)}`);
  const steps = (doc.steps as unknown[]).map((raw, i): CanaryStep => {
    const where = `step ${String(i + 1)}`;
    const item =
      typeof raw === 'object' && raw !== null && !Array.isArray(raw)
        ? (raw as Record<string, unknown>)
        : undefined;
    if (item !== undefined)
      for (const key of Object.keys(item))
        if (key !== 'weight' && key !== 'pause')
          fail(where, `\`${key}\` is not a step setting (weight, pause)`);
    const weight = item === undefined ? raw : item.weight;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1 || weight > 100)
      return fail(where, `weight is ${previewValue(weight, 60)}; expected a whole number from 1 to 100`);
    return { weight, pause: pauseOf(item?.pause, `${where} \`pause\``, fail) ?? defaultPause };
  });
  steps.forEach((step, i) => {
    const before = steps[i - 1];
    if (before !== undefined && step.weight <= before.weight)
      fail(
        `step ${String(i + 1)}`,
        `weight ${String(step.weight)} does not increase on step ${String(i)}'s ${String(before.weight)}; weights only grow`,
      );
  });
  if (steps[steps.length - 1]?.weight !== 100)
    fail(
      '`steps`',
      `end at ${String(steps[steps.length - 1]?.weight)}; the last step is 100 (the promotion)`,
    );

  const analysis =
    doc.analysis === undefined ? undefined : parseHealthChecks(doc.analysis, services, `${input}.analysis`);
  for (const check of analysis ?? [])
    if (check.kind === 'prometheus' && !check.query.includes(CANARY_PLACEHOLDERS.canary))
      fail(
        `analysis check '${check.name}'`,
        `its query has no ${CANARY_PLACEHOLDERS.canary}: it would judge the stable pods as well as the canary (write for example http_requests_total{${CANARY_PLACEHOLDERS.canary},code=~"5.."})`,
      );

  const failureLimit = doc['failure-limit'] ?? 0;
  if (
    typeof failureLimit !== 'number' ||
    !Number.isInteger(failureLimit) ||
    failureLimit < 0 ||
    failureLimit > 10
  )
    fail('`failure-limit`', `is ${previewValue(failureLimit, 60)}; expected a whole number from 0 to 10`);
  const header = doc.header;
  if (header !== undefined && (typeof header !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(header)))
    fail('`header`', `is ${previewValue(header, 60)}; expected a header name (letters, digits, dashes)`);
  const names = { ingress: doc.ingress, route: doc.route };
  for (const [key, name] of Object.entries(names))
    if (
      name !== undefined &&
      (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name))
    )
      fail(`\`${key}\``, `is ${previewValue(name, 60)}; expected an object name`);
  if (names.ingress !== undefined && router !== 'nginx')
    fail('`ingress`', 'only the nginx router uses an Ingress');
  if (names.route !== undefined && router !== 'gateway-api')
    fail('`route`', 'only the gateway-api router uses an HTTPRoute');

  return {
    router: router as RouterKind,
    steps,
    analysis,
    failureLimit: failureLimit as number,
    header: header as string | undefined,
    ingress: names.ingress as string | undefined,
    route: names.route as string | undefined,
  };
}

function pauseOf(
  value: unknown,
  where: string,
  fail: (where: string, reason: string) => never,
): CanaryStep['pause'] | undefined {
  if (value === undefined) return undefined;
  if (value === 'approval') return { kind: 'approval' };
  const checked =
    typeof value === 'string' || typeof value === 'number'
      ? checkDuration(String(value), CANARY_LIMITS.pause)
      : { ok: false as const, reason: 'not a duration' };
  if (!checked.ok)
    return fail(
      where,
      `is ${previewValue(value, 60)} (${checked.reason}); expected approval or ${durationAccepted(CANARY_LIMITS.pause)}`,
    );
  return { kind: 'duration', ms: checked.ms };
}

/**
 * The object the router splits, found in the release's objects: the Ingress (nginx) or HTTPRoute
 * (gateway-api) named in the settings, else the only one. The `service` router needs none.
 * Throws an InputError naming what the overlay has.
 */
export function canaryRoutingObject(
  settings: CanarySettings,
  objects: readonly KubeObject[],
  input = 'canary',
): KubeObject | undefined {
  if (settings.router === 'service') return undefined;
  const kind = settings.router === 'nginx' ? 'Ingress' : 'HTTPRoute';
  const wanted = settings.router === 'nginx' ? settings.ingress : settings.route;
  const found = objects.filter((o) => o.kind === kind && !isCanaryOwn(o));
  const names = found.map((o) => o.metadata.name);
  const pick =
    wanted === undefined
      ? found.length === 1
        ? found[0]
        : undefined
      : found.find((o) => o.metadata.name === wanted);
  if (pick !== undefined) return pick;
  const key = settings.router === 'nginx' ? 'ingress' : 'route';
  const plural = kind === 'Ingress' ? 'Ingresses' : 'HTTPRoutes';
  const reason =
    wanted !== undefined
      ? `the overlay has no ${kind} named ${wanted} (its ${plural}: ${names.join(', ') || 'none'})`
      : found.length === 0
        ? `the ${settings.router} router splits traffic through an ${kind} of the overlay, and it has none`
        : `the overlay has ${String(found.length)} ${plural} (${names.join(', ')}): name one with \`${key}\``;
  throw new InputError(input, settings.router, ACCEPTED, { reason });
}

function isCanaryOwn(object: KubeObject): boolean {
  return object.metadata.annotations?.['nginx.ingress.kubernetes.io/canary'] === 'true';
}

/**
 * A query with its placeholders expanded to one side's label matchers: `{{ canary }}` to the
 * candidate color's, `{{ stable }}` to the live color's.
 */
export function expandCanaryQuery(
  query: string,
  sides: { readonly namespace: string; readonly canary: Color; readonly stable: Color },
): string {
  const matchers = (color: Color): string => `namespace="${sides.namespace}",color="${color}"`;
  return query
    .split(CANARY_PLACEHOLDERS.canary)
    .join(matchers(sides.canary))
    .split(CANARY_PLACEHOLDERS.stable)
    .join(matchers(sides.stable));
}

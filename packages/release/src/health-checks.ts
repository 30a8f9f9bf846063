import {
  checkDuration,
  durationAccepted,
  InputError,
  previewValue,
  type DurationBounds,
} from '@dreamscape/core';

/** When a check runs: before the switch (against `<service>-preview`), after it, or both. */
export const CHECK_PHASES = ['pre-switch', 'post-switch', 'both'] as const;
export type CheckWhen = (typeof CHECK_PHASES)[number];
export type Phase = 'pre-switch' | 'post-switch';

/** Which HTTP statuses count as healthy. */
export interface StatusMatcher {
  readonly text: string;
  matches(status: number): boolean;
}

/** What the body must contain: a substring, or a `/regex/flags`. */
export interface BodyMatcher {
  readonly text: string;
  matches(body: string): boolean;
}

interface CheckBase {
  readonly name: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive successes needed to pass. */
  readonly successes: number;
  /** Failures tolerated; one more fails the check. */
  readonly failures: number;
  readonly when: CheckWhen;
}

/** An HTTP check through the API server's service proxy (`<service>-preview` before the switch). */
export interface ServiceCheck extends CheckBase {
  readonly kind: 'service';
  readonly service: string;
  /** Port name or number; undefined = the Service's first port. */
  readonly port: string | number | undefined;
  readonly path: string;
  readonly expectStatus: StatusMatcher;
  readonly expectBody: BodyMatcher | undefined;
}

/** An HTTP check of a URL reached directly from the runner. */
export interface UrlCheck extends CheckBase {
  readonly kind: 'url';
  readonly url: string;
  readonly expectStatus: StatusMatcher;
  readonly expectBody: BodyMatcher | undefined;
}

/** A Prometheus instant query whose value must stay within bounds. */
export interface PrometheusCheck extends CheckBase {
  readonly kind: 'prometheus';
  readonly source:
    { readonly service: string; readonly port: string | number | undefined } | { readonly url: string };
  readonly query: string;
  readonly max: number | undefined;
  readonly min: number | undefined;
}

export type HealthCheck = ServiceCheck | UrlCheck | PrometheusCheck;

/**
 * How short and how long `interval` and `timeout` may be. An interval below 100ms would poll a
 * service as fast as it answers; a timeout or interval beyond these would keep a release waiting
 * on one check for longer than any rollout takes.
 */
export const CHECK_DURATION_BOUNDS = {
  interval: { minMs: 100, maxMs: 10 * 60_000 },
  timeout: { minMs: 100, maxMs: 5 * 60_000 },
} as const satisfies Record<string, DurationBounds>;

/** Defaults for fields a check leaves out. */
export const CHECK_DEFAULTS = {
  intervalMs: 2000,
  timeoutMs: 5000,
  successes: 3,
  failures: 0,
  when: 'both' as CheckWhen,
};

const ACCEPTED =
  'a YAML list of checks; each has a `name` and one of `service` (with `port`, `path`), `url`, or `prometheus` (with `query` and `max`/`min`), plus optional `interval`, `timeout`, `successes`, `failures`, `when`, `expect-status`, `expect-body`';

const COMMON_KEYS = ['name', 'interval', 'timeout', 'successes', 'failures', 'when'];
const HTTP_KEYS = ['expect-status', 'expect-body'];

/**
 * Parses the `health-checks` input (already YAML-decoded). Every problem names the input, the check
 * and the field. `services` lists the Services of the overlay so that a check naming another one
 * fails before anything is written.
 */
export function parseHealthChecks(
  value: unknown,
  services: readonly string[],
  input = 'health-checks',
): HealthCheck[] {
  if (value === undefined || value === null) return [];
  const fail = (where: string, reason: string): never => {
    // A preview, never the whole document: an error must not cost more than the document did.
    throw new InputError(input, typeof value === 'string' ? value : previewValue(value), ACCEPTED, {
      reason: `${where}: ${reason}`,
    });
  };
  if (!Array.isArray(value)) fail('the document', 'is not a list');
  const list = value as unknown[];
  const names = new Set<string>();
  return list.map((raw, index) => {
    const where0 = `check ${index + 1}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      return fail(where0, 'is not a mapping');
    const item = raw as Record<string, unknown>;
    const name = item.name;
    if (typeof name !== 'string' || name.trim() === '') return fail(where0, 'has no `name`');
    const where = `check '${name}'`;
    if (names.has(name)) fail(where, 'the name is used twice');
    names.add(name);

    const targets = ['service', 'url', 'prometheus'].filter((k) => item[k] !== undefined);
    if (targets.length !== 1)
      fail(
        where,
        targets.length === 0
          ? 'needs one of `service`, `url` or `prometheus`'
          : `has ${targets.join(' and ')}; choose one`,
      );
    const kind = targets[0] as 'service' | 'url' | 'prometheus';

    const allowed = new Set([
      ...COMMON_KEYS,
      ...(kind === 'service' ? ['service', 'port', 'path', ...HTTP_KEYS] : []),
      ...(kind === 'url' ? ['url', ...HTTP_KEYS] : []),
      ...(kind === 'prometheus' ? ['prometheus', 'query', 'max', 'min'] : []),
    ]);
    for (const key of Object.keys(item)) {
      if (!allowed.has(key))
        fail(where, `unknown field \`${key}\` for a ${kind} check (allowed: ${[...allowed].join(', ')})`);
    }

    const base: CheckBase = {
      name,
      intervalMs: durationField(item, 'interval', CHECK_DEFAULTS.intervalMs, where, fail),
      timeoutMs: durationField(item, 'timeout', CHECK_DEFAULTS.timeoutMs, where, fail),
      successes: countField(item, 'successes', CHECK_DEFAULTS.successes, 1, where, fail),
      failures: countField(item, 'failures', CHECK_DEFAULTS.failures, 0, where, fail),
      when: whenField(item, where, fail),
    };

    if (kind === 'service') {
      const service = stringField(item, 'service', where, fail);
      checkService(service, services, where, fail);
      return {
        ...base,
        kind,
        service,
        port: portField(item.port, `${where} \`port\``, fail),
        path: pathField(item.path, where, fail),
        expectStatus: statusMatcher(item['expect-status'], where, fail),
        expectBody: bodyMatcher(item['expect-body'], where, fail),
      };
    }
    if (kind === 'url') {
      const url = stringField(item, 'url', where, fail);
      if (!/^https?:\/\/[^\s]+$/.test(url)) fail(where, '`url` must be an http:// or https:// address');
      return {
        ...base,
        kind,
        url,
        expectStatus: statusMatcher(item['expect-status'], where, fail),
        expectBody: bodyMatcher(item['expect-body'], where, fail),
      };
    }
    const query = stringField(item, 'query', where, fail);
    const max = numberField(item.max, `${where} \`max\``, fail);
    const min = numberField(item.min, `${where} \`min\``, fail);
    if (max === undefined && min === undefined) fail(where, 'a prometheus check needs `max`, `min` or both');
    const prom = item.prometheus;
    let source: PrometheusCheck['source'];
    if (typeof prom === 'string') {
      source = /^https?:\/\//.test(prom) ? { url: prom } : { service: prom, port: undefined };
    } else if (typeof prom === 'object' && prom !== null) {
      const p = prom as Record<string, unknown>;
      if (typeof p.url === 'string') source = { url: p.url };
      else if (typeof p.service === 'string')
        source = { service: p.service, port: portField(p.port, `${where} \`prometheus.port\``, fail) };
      else return fail(where, '`prometheus` needs `service` (and `port`) or `url`');
    } else {
      return fail(where, '`prometheus` must be a URL, a Service name, or {service, port} / {url}');
    }
    return { ...base, kind, source, query, max, min };
  });
}

/** The checks that run in a phase. */
export function checksFor(checks: readonly HealthCheck[], phase: Phase): HealthCheck[] {
  return checks.filter((c) => c.when === 'both' || c.when === phase);
}

type Fail = (where: string, reason: string) => never;

function stringField(item: Record<string, unknown>, key: string, where: string, fail: Fail): string {
  const v = item[key];
  if (typeof v !== 'string' || v.trim() === '') return fail(where, `\`${key}\` must be a non-empty string`);
  return v.trim();
}

function checkService(service: string, services: readonly string[], where: string, fail: Fail): void {
  if (services.length > 0 && !services.includes(service))
    fail(where, `Service '${service}' is not in the overlay (its Services: ${services.join(', ')})`);
}

function durationField(
  item: Record<string, unknown>,
  key: keyof typeof CHECK_DURATION_BOUNDS,
  fallback: number,
  where: string,
  fail: Fail,
): number {
  const v = item[key];
  if (v === undefined) return fallback;
  const bounds = CHECK_DURATION_BOUNDS[key];
  // YAML reads a bare 400-digit number as Infinity: String() keeps it refusable as not a duration.
  const checked =
    typeof v === 'string' || typeof v === 'number'
      ? checkDuration(String(v), bounds)
      : { ok: false as const, reason: 'not a duration' };
  if (!checked.ok)
    return fail(where, `\`${key}\` is ${shown(v)} (${checked.reason}); expected ${durationAccepted(bounds)}`);
  return checked.ms;
}

/** A field's value for an error message, bounded whatever the value holds. */
function shown(v: unknown): string {
  return previewValue(v, 100);
}

function countField(
  item: Record<string, unknown>,
  key: string,
  fallback: number,
  min: number,
  where: string,
  fail: Fail,
): number {
  const v = item[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 1000)
    return fail(where, `\`${key}\` is ${shown(v)}; expected an integer from ${min} to 1000`);
  return v;
}

function whenField(item: Record<string, unknown>, where: string, fail: Fail): CheckWhen {
  const v = item.when;
  if (v === undefined) return CHECK_DEFAULTS.when;
  if (typeof v === 'string' && (CHECK_PHASES as readonly string[]).includes(v)) return v as CheckWhen;
  return fail(where, `\`when\` is ${shown(v)}; expected ${CHECK_PHASES.join(', ')}`);
}

function portField(v: unknown, where: string, fail: Fail): string | number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536) return n;
  if (typeof n === 'string' && /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(n)) return n;
  return fail(where, `is ${shown(v)}; expected a port number or a port name`);
}

function pathField(v: unknown, where: string, fail: Fail): string {
  if (v === undefined) return '/';
  if (typeof v !== 'string' || !v.startsWith('/') || /\s/.test(v) || v.split('/').includes('..'))
    return fail(where, `\`path\` is ${shown(v)}; expected an absolute path such as /health`);
  return v;
}

function numberField(v: unknown, where: string, fail: Fail): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return fail(where, `is ${shown(v)}; expected a number`);
}

function statusMatcher(v: unknown, where: string, fail: Fail): StatusMatcher {
  if (v === undefined) return { text: '2xx', matches: (s) => s >= 200 && s < 300 };
  const items = Array.isArray(v) ? v : [v];
  const parts = items.map((i) => {
    const text = String(i).trim();
    if (/^[1-5]\d\d$/.test(text)) {
      const n = Number(text);
      return { text, matches: (s: number) => s === n };
    }
    if (/^[1-5]xx$/i.test(text)) {
      const c = Number(text[0]);
      return { text: text.toLowerCase(), matches: (s: number) => Math.floor(s / 100) === c };
    }
    return fail(
      where,
      `\`expect-status\` has ${shown(i)}; expected a status such as 200, a class such as 2xx, or a list`,
    );
  });
  return { text: parts.map((p) => p.text).join(', '), matches: (s) => parts.some((p) => p.matches(s)) };
}

function bodyMatcher(v: unknown, where: string, fail: Fail): BodyMatcher | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '')
    return fail(where, '`expect-body` must be a non-empty string or /regex/');
  const re = /^\/(.+)\/([gimsuy]*)$/.exec(v);
  if (re !== null) {
    let regex: RegExp;
    try {
      regex = new RegExp(re[1] ?? '', (re[2] ?? '').replace('g', ''));
    } catch (error) {
      return fail(where, `\`expect-body\` is not a valid regular expression: ${String(error)}`);
    }
    return { text: v, matches: (body) => regex.test(body) };
  }
  return { text: JSON.stringify(v), matches: (body) => body.includes(v) };
}

import { DURATION_FORMAT, parseDuration } from '@dreamscape/core';
import { ApiError, conflict, type StatusFields } from './api-status.js';
import { globToRegExp } from './image-behaviours.js';
import { isJsonObject } from './json-value.js';
import type { ResourceType } from './resource-table.js';
import { SeededRandom } from './seeded-random.js';

/**
 * One fault rule. The filters (all optional) narrow which requests it applies to; `rate` is the share
 * of those that fail; the effect is one of `error`, `conflict`, `dropWatch`, `dropAnswer`, `hang`,
 * optionally with `latency` (or `latency` alone).
 */
export interface FaultRule {
  /** get, list, watch, create, update, patch, delete, deletecollection, proxy. Default: all. */
  readonly verbs?: readonly string[];
  /** Resources as RBAC names them: `deployments`, `deployments/scale`, `services/proxy`. Default: all. */
  readonly resources?: readonly string[];
  readonly namespaces?: readonly string[];
  /** Object names (globs). */
  readonly names?: readonly string[];
  /** Non-resource paths (globs: `/version`, `/openapi/*`); a rule with paths applies to those only. */
  readonly paths?: readonly string[];
  /** Share of matching requests affected, 0..1. Default 1. */
  readonly rate?: number;
  /** Fire at most this many times. */
  readonly limit?: number;
  /** Let this many matching requests through before the rule takes effect. */
  readonly after?: number;
  /** Answer with this HTTP status and a metav1.Status body. */
  readonly error?: number | { readonly status: number; readonly reason?: string; readonly message?: string };
  /** Answer a write with 409 Conflict ("the object has been modified"). Writes only. */
  readonly conflict?: boolean;
  /** Close a watch stream this long after it starts (duration). Watches only. */
  readonly dropWatch?: string | number;
  /** Never answer; the client times out. */
  readonly hang?: boolean;
  /**
   * Serve the request in full (a write lands), then cut the connection halfway through the answer's
   * body, as a load balancer or a restarting server may: the client cannot know whether it landed.
   * Not for watches.
   */
  readonly dropAnswer?: boolean;
  /** Wait this long before answering (duration); combines with the other effects. */
  readonly latency?: string | number;
}

/** What the fault injector decided for one request. */
export interface FaultDecision {
  readonly latencyMs: number;
  readonly error?: ApiError;
  readonly dropWatchAfterMs?: number;
  readonly hang: boolean;
  /** Serve, then cut the answer mid-body. */
  readonly dropAnswer: boolean;
  /** Indexes of the rules that fired. */
  readonly rules: readonly number[];
}

/** What a request is, for matching. */
export interface FaultTarget {
  readonly verb: string;
  readonly resource?: ResourceType;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** For non-resource requests. */
  readonly path: string;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function durationMs(value: string | number | undefined, where: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'number' ? value * 1000 : parseDuration(value);
  if (ms === undefined || ms < 0)
    throw new Error(`faults: ${where}: expected ${DURATION_FORMAT}, got ${JSON.stringify(value)}`);
  return ms;
}

function stringList(value: unknown, where: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw new Error(`faults: ${where}: expected a list of strings`);
  return value;
}

/** Validates a list of rules from JSON (the `POST /_double/faults` body, or `setFaults`). */
export function parseFaultRules(document: unknown): FaultRule[] {
  const list = isJsonObject(document) && Array.isArray(document.rules) ? document.rules : document;
  if (!Array.isArray(list)) throw new Error('faults: expected a list of rules (or {seed, rules})');
  return list.map((raw: unknown, i) => {
    const where = `rule ${i}`;
    if (!isJsonObject(raw)) throw new Error(`faults: ${where}: expected an object`);
    const known = [
      'verbs',
      'resources',
      'namespaces',
      'names',
      'paths',
      'rate',
      'limit',
      'after',
      'error',
      'conflict',
      'dropWatch',
      'hang',
      'dropAnswer',
      'latency',
    ];
    for (const k of Object.keys(raw))
      if (!known.includes(k))
        throw new Error(`faults: ${where}: unknown field "${k}" (known: ${known.join(', ')})`);
    const rate = raw.rate ?? 1;
    if (typeof rate !== 'number' || rate < 0 || rate > 1)
      throw new Error(`faults: ${where}.rate: expected a number from 0 to 1`);
    const limit = raw.limit;
    if (limit !== undefined && (typeof limit !== 'number' || limit < 0))
      throw new Error(`faults: ${where}.limit: expected a count`);
    const after = raw.after;
    if (after !== undefined && (typeof after !== 'number' || after < 0 || !Number.isInteger(after)))
      throw new Error(`faults: ${where}.after: expected a count`);
    let error: FaultRule['error'];
    if (typeof raw.error === 'number') error = raw.error;
    else if (isJsonObject(raw.error) && typeof raw.error.status === 'number')
      error = {
        status: raw.error.status,
        ...(typeof raw.error.reason === 'string' ? { reason: raw.error.reason } : {}),
        ...(typeof raw.error.message === 'string' ? { message: raw.error.message } : {}),
      };
    else if (raw.error !== undefined)
      throw new Error(`faults: ${where}.error: expected an HTTP status or {status, reason, message}`);
    const effects = [
      error !== undefined,
      raw.conflict === true,
      raw.dropWatch !== undefined,
      raw.hang === true,
      raw.dropAnswer === true,
    ].filter(Boolean).length;
    if (effects > 1)
      throw new Error(`faults: ${where}: choose one of error, conflict, dropWatch, dropAnswer, hang`);
    if (effects === 0 && raw.latency === undefined)
      throw new Error(
        `faults: ${where}: no effect (error, conflict, dropWatch, dropAnswer, hang or latency)`,
      );
    const dropWatch = raw.dropWatch;
    const latency = raw.latency;
    if (dropWatch !== undefined && typeof dropWatch !== 'string' && typeof dropWatch !== 'number')
      throw new Error(`faults: ${where}.dropWatch: expected a duration`);
    if (latency !== undefined && typeof latency !== 'string' && typeof latency !== 'number')
      throw new Error(`faults: ${where}.latency: expected a duration`);
    durationMs(dropWatch, `${where}.dropWatch`);
    durationMs(latency, `${where}.latency`);
    const rule: FaultRule = {
      ...optional('verbs', stringList(raw.verbs, `${where}.verbs`)),
      ...optional('resources', stringList(raw.resources, `${where}.resources`)),
      ...optional('namespaces', stringList(raw.namespaces, `${where}.namespaces`)),
      ...optional('names', stringList(raw.names, `${where}.names`)),
      ...optional('paths', stringList(raw.paths, `${where}.paths`)),
      rate,
      ...optional('limit', limit),
      ...optional('after', after),
      ...optional('error', error),
      ...(raw.conflict === true ? { conflict: true } : {}),
      ...optional('dropWatch', dropWatch),
      ...(raw.hang === true ? { hang: true } : {}),
      ...(raw.dropAnswer === true ? { dropAnswer: true } : {}),
      ...optional('latency', latency),
    };
    return rule;
  });
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function statusOf(status: number, reason: string | undefined, message: string | undefined): StatusFields {
  const defaultMessage =
    status === 500
      ? 'Internal error occurred: injected fault'
      : status === 503
        ? 'the server is currently unable to handle the request (injected fault)'
        : status === 429
          ? 'Too many requests, please try again later. (injected fault)'
          : `injected fault (${status})`;
  return {
    code: status,
    reason: reason ?? REASONS[status] ?? 'Unknown',
    message: message ?? defaultMessage,
    ...(status === 429 ? { details: { retryAfterSeconds: 1 } } : {}),
  };
}

/**
 * Decides, deterministically from a seed, which requests fail and how. Rules are tried in order;
 * every matching rule draws one number from the seeded source; latency adds up, and the first
 * error, conflict, dropped watch, dropped answer or hang wins.
 */
export class FaultInjector {
  private rules: readonly FaultRule[] = [];
  private fired: number[] = [];
  private seen: number[] = [];
  private random: SeededRandom;

  constructor(private seed = 1) {
    this.random = new SeededRandom(seed);
  }

  /** Replaces the rules (and restarts the random sequence, from `seed` when given). */
  set(rules: readonly FaultRule[], seed?: number): void {
    if (seed !== undefined) this.seed = seed;
    this.rules = parseFaultRules(rules);
    this.fired = this.rules.map(() => 0);
    this.seen = this.rules.map(() => 0);
    this.random = new SeededRandom(this.seed);
  }

  /** The rules in force. */
  list(): readonly FaultRule[] {
    return this.rules;
  }

  /** How many times each rule has fired. */
  counts(): readonly number[] {
    return [...this.fired];
  }

  /** The decision for one request (faults never apply to `/_double/*`; the caller skips those). */
  decide(target: FaultTarget): FaultDecision {
    let latencyMs = 0;
    let error: ApiError | undefined;
    let dropWatchAfterMs: number | undefined;
    let hang = false;
    let dropAnswer = false;
    const rules: number[] = [];
    this.rules.forEach((rule, i) => {
      if (!this.matches(rule, target)) return;
      this.seen[i] = (this.seen[i] ?? 0) + 1;
      if (rule.after !== undefined && (this.seen[i] ?? 0) <= rule.after) return;
      if (rule.limit !== undefined && (this.fired[i] ?? 0) >= rule.limit) return;
      if (this.random.next() >= (rule.rate ?? 1)) return;
      const terminal = error !== undefined || dropWatchAfterMs !== undefined || hang || dropAnswer;
      const hasTerminal =
        rule.error !== undefined ||
        rule.conflict === true ||
        rule.dropWatch !== undefined ||
        rule.hang === true ||
        rule.dropAnswer === true;
      if (terminal && hasTerminal) return;
      this.fired[i] = (this.fired[i] ?? 0) + 1;
      rules.push(i);
      latencyMs += durationMs(rule.latency, `rule ${i}.latency`) ?? 0;
      if (rule.error !== undefined) {
        const e = typeof rule.error === 'number' ? { status: rule.error } : rule.error;
        error = new ApiError(statusOf(e.status, e.reason, e.message));
      } else if (rule.conflict === true && target.resource !== undefined) {
        error = conflict(target.resource, target.name ?? '');
      } else if (rule.dropWatch !== undefined) {
        dropWatchAfterMs = durationMs(rule.dropWatch, `rule ${i}.dropWatch`);
      } else if (rule.hang === true) hang = true;
      else if (rule.dropAnswer === true) dropAnswer = true;
    });
    return {
      latencyMs,
      hang,
      dropAnswer,
      rules,
      ...(error === undefined ? {} : { error }),
      ...(dropWatchAfterMs === undefined ? {} : { dropWatchAfterMs }),
    };
  }

  private matches(rule: FaultRule, target: FaultTarget): boolean {
    if (rule.paths !== undefined) {
      if (target.resource !== undefined) return false;
      if (!rule.paths.some((p) => globToRegExp(p).test(target.path))) return false;
    } else if (target.resource === undefined) return false;
    if (rule.verbs !== undefined && !rule.verbs.includes(target.verb)) return false;
    if (rule.conflict === true && !WRITE_VERBS.has(target.verb)) return false;
    if (rule.dropWatch !== undefined && target.verb !== 'watch') return false;
    if (rule.dropAnswer === true && target.verb === 'watch') return false;
    if (rule.resources !== undefined && target.resource !== undefined) {
      const name =
        target.subresource === undefined
          ? target.resource.plural
          : `${target.resource.plural}/${target.subresource}`;
      if (!rule.resources.includes(name)) return false;
    }
    if (rule.namespaces !== undefined && !rule.namespaces.includes(target.namespace ?? '')) return false;
    if (rule.names !== undefined && !rule.names.some((n) => globToRegExp(n).test(target.name ?? '')))
      return false;
    return true;
  }
}

import { DURATION_FORMAT, parseDuration } from '@dreamscape/core';
import { load as loadYaml } from 'js-yaml';
import { isJsonObject } from './json-value.js';
import { SeededRandom } from './seeded-random.js';

/** When a pod running an image becomes Ready. */
export type Readiness =
  | { readonly kind: 'after'; readonly ms: number }
  /** Never Ready; the Deployment hits its progress deadline after progressDeadlineSeconds. */
  | { readonly kind: 'never' }
  /** Never Ready, and the Deployment reports ProgressDeadlineExceeded at once. */
  | { readonly kind: 'deadline' };

/**
 * The longest latency an answer may have, declared or drawn. A client that should time out is
 * tested with a fault rule's `hang`; a minute is already longer than any gate or probe waits.
 */
export const MAX_LATENCY_MS = 60_000;

/**
 * How long an answer takes, in real milliseconds (not scaled: clients time these with real clocks):
 * always the same, uniform between two bounds, or log-normal through its median and 99th percentile
 * (the long right tail real services have).
 */
export type Latency =
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly minMs: number; readonly maxMs: number }
  | { readonly kind: 'log-normal'; readonly medianMs: number; readonly p99Ms: number };

/** A share of the requests answered with an error instead of the declared answer. */
export interface ErrorShare {
  /** From 0 to 1: after n requests, exactly floor(n * rate) were answered with this error. */
  readonly rate: number;
  readonly status: number;
  readonly body: string;
}

/** How the service proxy answers one path for an image, as declared. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly latency: Latency;
  readonly errors?: ErrorShare;
}

/** The answer to one request: the error share decided and the latency drawn. */
export interface ConcreteAnswer {
  readonly status: number;
  readonly body: string;
  /** Real milliseconds to wait before answering. */
  readonly latencyMs: number;
}

/**
 * How a container of a run-to-completion pod (a Job's, or any pod whose restartPolicy is Never or
 * OnFailure) ends: after `durationMs` of simulated time, with `exitCode`.
 */
export interface RunToCompletion {
  readonly exitCode: number;
  readonly durationMs: number;
  /** What the container writes to its termination message path (`terminated.message`), if anything. */
  readonly message?: string;
}

/**
 * An image the kubelet cannot pull: its containers wait with reason `ErrImagePull`, then
 * `ImagePullBackOff`, and the pull is tried again on the kubelet's back-off.
 */
export interface PullFailure {
  /** What the container runtime answered, as the kubelet reports it. */
  readonly message: string;
}

/**
 * A serving container that exits after each start: the kubelet restarts it on its back-off, so the
 * pod is in `CrashLoopBackOff` with a growing restart count.
 */
export interface CrashLoop {
  readonly exitCode: number;
  /** What the container writes to its termination message path (`lastState.terminated.message`). */
  readonly message: string | undefined;
  /** Simulated milliseconds each run lasts before the container exits. */
  readonly afterMs: number;
}

/** The longest termination message a behaviour may declare: the kubelet keeps at most 4096 bytes. */
export const MAX_TERMINATION_MESSAGE = 4096;

/** The default: exit 0 after 1 s. */
export const DEFAULT_RUN: RunToCompletion = { exitCode: 0, durationMs: 1000 };

/** The most lines a behaviour's `logs` may hold. */
export const MAX_LOG_LINES = 1000;

/** The longest line a behaviour's `logs` may hold, in characters. */
export const MAX_LOG_LINE_LENGTH = 4096;

/** One entry of the behaviours document. */
export interface ImageBehaviour {
  /** An exact image reference, or a glob where `*` matches any run of characters. */
  readonly image: string;
  readonly ready: Readiness;
  /** How a run-to-completion container ends. */
  readonly run: RunToCompletion;
  /** Answers by request path (exact, or a glob); these overlay the default `/health`. */
  readonly http: Readonly<Record<string, HttpAnswer>>;
  /**
   * The lines a container of the image prints (without line breaks). Absent: the double's own
   * lines (when the container started, became ready, exited).
   */
  readonly logs?: readonly string[];
  /** The image cannot be pulled. */
  readonly pull?: PullFailure;
  /** Each container of the image exits after a while, and is restarted on a back-off. */
  readonly crash?: CrashLoop;
}

/** The default: Ready after 1 s, `/health` answers 200. */
export const DEFAULT_READINESS: Readiness = { kind: 'after', ms: 1000 };

/** A glob (`*` = any run of characters, everything else literal) as a RegExp. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`, 's');
}

function fail(where: string, message: string): never {
  throw new Error(`image behaviours: ${where}: ${message}`);
}

function parseDurationField(value: unknown, where: string): number {
  const ms =
    typeof value === 'number' ? value * 1000 : typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || ms < 0) fail(where, `expected ${DURATION_FORMAT}, got ${JSON.stringify(value)}`);
  return ms;
}

function parseReadiness(value: unknown, where: string): Readiness {
  if (value === undefined) return DEFAULT_READINESS;
  if (value === 'never') return { kind: 'never' };
  if (value === 'deadline') return { kind: 'deadline' };
  return { kind: 'after', ms: parseDurationField(value, `${where}.ready`) };
}

function parseStatus(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 100 || value > 599)
    fail(where, `expected an HTTP status code, got ${JSON.stringify(value)}`);
  return value;
}

function bodyText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function refuseUnknownFields(
  value: Record<string, unknown>,
  known: readonly string[],
  where: string,
  shape: string,
): void {
  for (const key of Object.keys(value))
    if (!known.includes(key)) fail(`${where}.${key}`, `unknown field; expected ${shape}`);
}

const LATENCY_SHAPE = 'a duration, {min, max} (uniform) or {median, p99} (log-normal)';

function parseLatencyDuration(value: unknown, where: string): number {
  if (value === undefined) fail(where, `missing; a latency is ${LATENCY_SHAPE}`);
  const ms = parseDurationField(value, where);
  if (ms > MAX_LATENCY_MS) fail(where, `expected at most 60s, got ${JSON.stringify(value)}`);
  return ms;
}

function parseLatency(value: unknown, where: string): Latency {
  if (value === undefined) return { kind: 'fixed', ms: 0 };
  if (!isJsonObject(value)) return { kind: 'fixed', ms: parseLatencyDuration(value, where) };
  refuseUnknownFields(value, ['min', 'max', 'median', 'p99'], where, LATENCY_SHAPE);
  const uniform = 'min' in value || 'max' in value;
  if (uniform && ('median' in value || 'p99' in value))
    fail(where, `expected either {min, max} or {median, p99}, got ${JSON.stringify(value)}`);
  if (uniform) {
    const minMs = parseLatencyDuration(value.min, `${where}.min`);
    const maxMs = parseLatencyDuration(value.max, `${where}.max`);
    if (maxMs < minMs) fail(`${where}.max`, `expected at least min, got ${JSON.stringify(value.max)}`);
    return { kind: 'uniform', minMs, maxMs };
  }
  const medianMs = parseLatencyDuration(value.median, `${where}.median`);
  const p99Ms = parseLatencyDuration(value.p99, `${where}.p99`);
  // A log-normal distribution has no mass at zero, so a zero median has no fit.
  if (medianMs <= 0) fail(`${where}.median`, `expected more than 0, got ${JSON.stringify(value.median)}`);
  if (p99Ms < medianMs)
    fail(`${where}.p99`, `expected at least the median, got ${JSON.stringify(value.p99)}`);
  return { kind: 'log-normal', medianMs, p99Ms };
}

function parseErrors(value: unknown, where: string): ErrorShare {
  const shape = '{rate, status, body}';
  if (!isJsonObject(value)) fail(where, `expected ${shape}`);
  refuseUnknownFields(value, ['rate', 'status', 'body'], where, shape);
  const rate = value.rate;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1))
    fail(`${where}.rate`, `expected a share from 0 to 1, got ${JSON.stringify(rate)}`);
  return {
    rate,
    status: parseStatus(value.status ?? 500, `${where}.status`),
    body: value.body === undefined ? 'internal server error' : bodyText(value.body),
  };
}

function parseLogs(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_LOG_LINES)
    fail(where, `expected a list of at most ${MAX_LOG_LINES} lines (strings)`);
  return value.map((line: unknown, i) => {
    if (typeof line !== 'string') fail(`${where}[${i}]`, `expected a string, got ${JSON.stringify(line)}`);
    if (line.length > MAX_LOG_LINE_LENGTH)
      fail(`${where}[${i}]`, `expected at most ${MAX_LOG_LINE_LENGTH} characters, got ${line.length}`);
    // A line with a break in it would be two lines to tailLines and timestamps.
    if (/[\r\n]/.test(line)) fail(`${where}[${i}]`, 'expected one line, without line breaks');
    return line;
  });
}

function parseAnswer(value: unknown, where: string): HttpAnswer {
  if (!isJsonObject(value)) fail(where, 'expected {status, body, latency, errors}');
  const answer: HttpAnswer = {
    status: parseStatus(value.status ?? 200, `${where}.status`),
    body: value.body === undefined ? '' : bodyText(value.body),
    latency: parseLatency(value.latency, `${where}.latency`),
  };
  return value.errors === undefined
    ? answer
    : { ...answer, errors: parseErrors(value.errors, `${where}.errors`) };
}

const ENTRY_FIELDS = ['image', 'ready', 'http', 'exitCode', 'duration', 'logs', 'pull', 'crash'] as const;
const ENTRY_SHAPE = `{${ENTRY_FIELDS.join(', ')}}`;

function parseMessage(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '')
    fail(where, `expected a message (a non-empty string), got ${JSON.stringify(value)}`);
  if (Buffer.byteLength(value) > MAX_TERMINATION_MESSAGE)
    fail(where, `expected at most ${MAX_TERMINATION_MESSAGE} bytes, got ${Buffer.byteLength(value)}`);
  return value;
}

function parseExitCode(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255)
    fail(where, `expected an exit code from 0 to 255, got ${JSON.stringify(value)}`);
  return value;
}

/** The runtime's answer for an image that is not in its registry, as containerd words it. */
export function notFoundMessage(image: string): string {
  return `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`;
}

function parsePull(value: unknown, where: string): PullFailure {
  const shape = '`fail` or {message}';
  if (value === 'fail') return { message: '' };
  if (!isJsonObject(value)) fail(where, `expected ${shape}, got ${JSON.stringify(value)}`);
  refuseUnknownFields(value, ['message'], where, shape);
  return { message: value.message === undefined ? '' : parseMessage(value.message, `${where}.message`) };
}

function parseCrash(value: unknown, where: string): CrashLoop {
  const shape = '{exitCode, message, after}';
  if (!isJsonObject(value)) fail(where, `expected ${shape}, got ${JSON.stringify(value)}`);
  refuseUnknownFields(value, ['exitCode', 'message', 'after'], where, shape);
  return {
    exitCode: value.exitCode === undefined ? 1 : parseExitCode(value.exitCode, `${where}.exitCode`),
    message: value.message === undefined ? undefined : parseMessage(value.message, `${where}.message`),
    afterMs: value.after === undefined ? 1000 : parseDurationField(value.after, `${where}.after`),
  };
}

/**
 * Parses the behaviours document (already decoded from YAML or JSON): a list of
 * `{image, ready?, http?, exitCode?, duration?, logs?, pull?, crash?}`. Throws an Error naming the
 * entry and field that is wrong, an unknown field among them.
 */
export function parseBehaviours(document: unknown): ImageBehaviour[] {
  if (!Array.isArray(document)) fail('document', `expected a list of ${ENTRY_SHAPE} entries`);
  return document.map((entry: unknown, i) => {
    const where = `entry ${i}`;
    if (!isJsonObject(entry)) fail(where, 'expected an object with an image field');
    refuseUnknownFields(entry, ENTRY_FIELDS, where, ENTRY_SHAPE);
    if (typeof entry.image !== 'string' || entry.image === '')
      fail(`${where}.image`, 'expected an image reference or glob');
    const http: Record<string, HttpAnswer> = {};
    if (entry.http !== undefined) {
      if (!isJsonObject(entry.http))
        fail(`${where}.http`, 'expected a map of path to {status, body, latency, errors}');
      for (const [path, answer] of Object.entries(entry.http)) {
        if (!path.startsWith('/')) fail(`${where}.http`, `paths start with "/", got ${JSON.stringify(path)}`);
        http[path] = parseAnswer(answer, `${where}.http.${path}`);
      }
    }
    if (entry.pull !== undefined && entry.crash !== undefined)
      fail(where, 'expected pull or crash, not both: a container that cannot be pulled never runs');
    const failing = entry.pull !== undefined ? 'pull' : entry.crash !== undefined ? 'crash' : undefined;
    // A container that cannot be pulled, or keeps exiting, is never Ready (or past its deadline at once).
    if (
      failing !== undefined &&
      entry.ready !== undefined &&
      entry.ready !== 'never' &&
      entry.ready !== 'deadline'
    )
      fail(
        `${where}.ready`,
        `a container with ${failing} is never Ready; expected never or deadline, got ${JSON.stringify(entry.ready)}`,
      );
    if (entry.crash !== undefined)
      for (const field of ['exitCode', 'duration'] as const)
        if (entry[field] !== undefined)
          fail(`${where}.${field}`, 'crash says how the container ends (exitCode and after); leave this out');
    const exitCode =
      entry.exitCode === undefined
        ? DEFAULT_RUN.exitCode
        : parseExitCode(entry.exitCode, `${where}.exitCode`);
    const durationMs =
      entry.duration === undefined
        ? DEFAULT_RUN.durationMs
        : parseDurationField(entry.duration, `${where}.duration`);
    const crash = entry.crash === undefined ? undefined : parseCrash(entry.crash, `${where}.crash`);
    const behaviour: ImageBehaviour = {
      image: entry.image,
      ready:
        failing !== undefined && entry.ready === undefined
          ? { kind: 'never' }
          : parseReadiness(entry.ready, where),
      // A run-to-completion container with a crash ends as the crash says, with its message.
      run:
        crash === undefined
          ? { exitCode, durationMs }
          : {
              exitCode: crash.exitCode,
              durationMs: crash.afterMs,
              ...(crash.message === undefined ? {} : { message: crash.message }),
            },
      http,
      ...(entry.logs === undefined ? {} : { logs: parseLogs(entry.logs, `${where}.logs`) }),
      ...(entry.pull === undefined ? {} : { pull: parsePull(entry.pull, `${where}.pull`) }),
      ...(crash === undefined ? {} : { crash }),
    };
    return behaviour;
  });
}

/** Parses the document from YAML or JSON text (the `--behaviours FILE` form). */
export function parseBehavioursText(text: string): ImageBehaviour[] {
  return parseBehaviours(loadYaml(text));
}

/** The behaviour in force for one image. */
export interface ResolvedBehaviour {
  readonly ready: Readiness;
  readonly run: RunToCompletion;
  /** The lines a container prints; undefined: the double's own lines. */
  readonly logs: readonly string[] | undefined;
  /** The image cannot be pulled (its message filled in with the image when none was declared). */
  readonly pull: PullFailure | undefined;
  /** A serving container of the image keeps exiting. */
  readonly crash: CrashLoop | undefined;
  /**
   * The answer to one request for a path, or undefined when nothing answers it (404). Each call is
   * one request: it counts towards the error share and draws a latency.
   */
  respond(path: string): ConcreteAnswer | undefined;
}

/** Options for a {@link BehaviourBook}. */
export interface BehaviourBookOptions {
  /** Seed for latency draws. Default 1. */
  readonly seed?: number;
}

/** What one (image, declared path) has served since the document was last replaced. */
interface AnswerState {
  served: number;
  readonly random: SeededRandom;
}

/** The standard normal distribution's 99th percentile. */
const Z_99 = 2.3263478740408408;

/**
 * How many of the first `served` requests are errors: floor(served * rate). The relative nudge
 * absorbs binary rounding (0.29 * 100 is 28.999999999999996 in doubles), which would otherwise drop
 * the error due at the 100th request; it is far below any share a document would write.
 */
function errorsAmong(served: number, rate: number): number {
  const exact = served * rate;
  return Math.floor(exact + exact * 1e-12);
}

function drawLatency(latency: Latency, random: SeededRandom): number {
  switch (latency.kind) {
    case 'fixed':
      return latency.ms;
    case 'uniform':
      return latency.minMs + (latency.maxMs - latency.minMs) * random.next();
    case 'log-normal': {
      // Box-Muller: 1 - next() is in (0, 1], so the logarithm is finite.
      const normal = Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
      const sigma = Math.log(latency.p99Ms / latency.medianMs) / Z_99;
      return Math.min(latency.medianMs * Math.exp(sigma * normal), MAX_LATENCY_MS);
    }
  }
}

/** FNV-1a, to give every (image, path) its own random stream from one seed. */
function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * The list of behaviours in force; the first entry whose image matches wins. It also keeps, per
 * image and declared path, how many requests were answered (for error shares) and a random stream
 * (for latency draws): separate streams keep one path's latencies the same for a seed however
 * requests to other paths interleave with it.
 */
export class BehaviourBook {
  private entries: readonly { behaviour: ImageBehaviour; pattern: RegExp }[] = [];
  private readonly states = new Map<string, AnswerState>();
  private readonly seed: number;

  constructor(behaviours: readonly ImageBehaviour[] = [], options: BehaviourBookOptions = {}) {
    this.seed = options.seed ?? 1;
    this.replace(behaviours);
  }

  /** Replaces the whole list, and starts counting requests and drawing latencies afresh. */
  replace(behaviours: readonly ImageBehaviour[]): void {
    this.entries = behaviours.map((behaviour) => ({ behaviour, pattern: globToRegExp(behaviour.image) }));
    this.states.clear();
  }

  /** The list in force. */
  list(): readonly ImageBehaviour[] {
    return this.entries.map((e) => e.behaviour);
  }

  /** What an image does: the first matching entry, else the default. */
  forImage(image: string): ResolvedBehaviour {
    const found = this.entries.find((e) => e.pattern.test(image))?.behaviour;
    const health: HttpAnswer = {
      status: 200,
      body: JSON.stringify({ status: 'ok', image }),
      latency: { kind: 'fixed', ms: 0 },
    };
    const http: Record<string, HttpAnswer> = { '/health': health, ...(found?.http ?? {}) };
    const declared = (path: string): [string, HttpAnswer] | undefined => {
      const exact = http[path];
      if (exact !== undefined) return [path, exact];
      for (const [pattern, answer] of Object.entries(http))
        if (pattern.includes('*') && globToRegExp(pattern).test(path)) return [pattern, answer];
      return undefined;
    };
    return {
      ready: found?.ready ?? DEFAULT_READINESS,
      run: found?.run ?? DEFAULT_RUN,
      logs: found?.logs,
      pull:
        found?.pull === undefined
          ? undefined
          : { message: found.pull.message === '' ? notFoundMessage(image) : found.pull.message },
      crash: found?.crash,
      respond: (path) => {
        const match = declared(path);
        if (match === undefined) return undefined;
        const [pattern, answer] = match;
        if (answer.errors === undefined && answer.latency.kind === 'fixed')
          return { status: answer.status, body: answer.body, latencyMs: answer.latency.ms };
        // A glob path counts as one: the share holds over all the paths it matches together.
        const state = this.stateOf(`${image}\n${pattern}`);
        state.served += 1;
        const latencyMs = drawLatency(answer.latency, state.random);
        const { errors } = answer;
        if (
          errors !== undefined &&
          errorsAmong(state.served, errors.rate) > errorsAmong(state.served - 1, errors.rate)
        )
          return { status: errors.status, body: errors.body, latencyMs };
        return { status: answer.status, body: answer.body, latencyMs };
      },
    };
  }

  private stateOf(key: string): AnswerState {
    let state = this.states.get(key);
    if (state === undefined) {
      state = { served: 0, random: new SeededRandom((this.seed ^ hashText(key)) >>> 0) };
      this.states.set(key, state);
    }
    return state;
  }
}

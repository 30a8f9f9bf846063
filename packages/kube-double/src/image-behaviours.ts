import { DURATION_FORMAT, parseDuration } from '@dreamscape/core';
import { load as loadYaml } from 'js-yaml';
import { isJsonObject } from './json-value.js';

/** When a pod running an image becomes Ready. */
export type Readiness =
  | { readonly kind: 'after'; readonly ms: number }
  /** Never Ready; the Deployment hits its progress deadline after progressDeadlineSeconds. */
  | { readonly kind: 'never' }
  /** Never Ready, and the Deployment reports ProgressDeadlineExceeded at once. */
  | { readonly kind: 'deadline' };

/** How the service proxy answers one path for an image. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  /** Real milliseconds before the answer (not scaled: clients time these with real clocks). */
  readonly latencyMs: number;
}

/**
 * How a container of a run-to-completion pod (a Job's, or any pod whose restartPolicy is Never or
 * OnFailure) ends: after `durationMs` of simulated time, with `exitCode`.
 */
export interface RunToCompletion {
  readonly exitCode: number;
  readonly durationMs: number;
}

/** The default: exit 0 after 1 s. */
export const DEFAULT_RUN: RunToCompletion = { exitCode: 0, durationMs: 1000 };

/** One entry of the behaviours document. */
export interface ImageBehaviour {
  /** An exact image reference, or a glob where `*` matches any run of characters. */
  readonly image: string;
  readonly ready: Readiness;
  /** How a run-to-completion container ends. */
  readonly run: RunToCompletion;
  /** Answers by request path (exact, or a glob); these overlay the default `/health`. */
  readonly http: Readonly<Record<string, HttpAnswer>>;
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

function parseAnswer(value: unknown, where: string): HttpAnswer {
  if (!isJsonObject(value)) fail(where, 'expected {status, body, latency}');
  const status = value.status ?? 200;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599)
    fail(`${where}.status`, `expected an HTTP status code, got ${JSON.stringify(status)}`);
  const body =
    value.body === undefined ? '' : typeof value.body === 'string' ? value.body : JSON.stringify(value.body);
  const latencyMs = value.latency === undefined ? 0 : parseDurationField(value.latency, `${where}.latency`);
  return { status, body, latencyMs };
}

/**
 * Parses the behaviours document (already decoded from YAML or JSON): a list of
 * `{image, ready?, http?}`. Throws an Error naming the entry and field that is wrong.
 */
export function parseBehaviours(document: unknown): ImageBehaviour[] {
  if (!Array.isArray(document))
    fail('document', 'expected a list of {image, ready, http, exitCode, duration} entries');
  return document.map((entry: unknown, i) => {
    const where = `entry ${i}`;
    if (!isJsonObject(entry)) fail(where, 'expected an object with an image field');
    if (typeof entry.image !== 'string' || entry.image === '')
      fail(`${where}.image`, 'expected an image reference or glob');
    const http: Record<string, HttpAnswer> = {};
    if (entry.http !== undefined) {
      if (!isJsonObject(entry.http))
        fail(`${where}.http`, 'expected a map of path to {status, body, latency}');
      for (const [path, answer] of Object.entries(entry.http)) {
        if (!path.startsWith('/')) fail(`${where}.http`, `paths start with "/", got ${JSON.stringify(path)}`);
        http[path] = parseAnswer(answer, `${where}.http.${path}`);
      }
    }
    const exitCode = entry.exitCode ?? DEFAULT_RUN.exitCode;
    if (typeof exitCode !== 'number' || !Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255)
      fail(`${where}.exitCode`, `expected an exit code from 0 to 255, got ${JSON.stringify(exitCode)}`);
    const durationMs =
      entry.duration === undefined
        ? DEFAULT_RUN.durationMs
        : parseDurationField(entry.duration, `${where}.duration`);
    return {
      image: entry.image,
      ready: parseReadiness(entry.ready, where),
      run: { exitCode, durationMs },
      http,
    };
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
  /** The answer for a path, or undefined when nothing answers it (404). */
  answer(path: string): HttpAnswer | undefined;
}

/** The list of behaviours in force; the first entry whose image matches wins. */
export class BehaviourBook {
  private entries: readonly { behaviour: ImageBehaviour; pattern: RegExp }[] = [];

  constructor(behaviours: readonly ImageBehaviour[] = []) {
    this.replace(behaviours);
  }

  /** Replaces the whole list. */
  replace(behaviours: readonly ImageBehaviour[]): void {
    this.entries = behaviours.map((behaviour) => ({ behaviour, pattern: globToRegExp(behaviour.image) }));
  }

  /** The list in force. */
  list(): readonly ImageBehaviour[] {
    return this.entries.map((e) => e.behaviour);
  }

  /** What an image does: the first matching entry, else the default. */
  forImage(image: string): ResolvedBehaviour {
    const found = this.entries.find((e) => e.pattern.test(image))?.behaviour;
    const health: HttpAnswer = { status: 200, body: JSON.stringify({ status: 'ok', image }), latencyMs: 0 };
    const http: Record<string, HttpAnswer> = { '/health': health, ...(found?.http ?? {}) };
    return {
      ready: found?.ready ?? DEFAULT_READINESS,
      run: found?.run ?? DEFAULT_RUN,
      answer: (path) => {
        const exact = http[path];
        if (exact !== undefined) return exact;
        for (const [pattern, answer] of Object.entries(http))
          if (pattern.includes('*') && globToRegExp(pattern).test(path)) return answer;
        return undefined;
      },
    };
  }
}

import { ActionError, type Clock } from '@dreamscape/core';
import { SEVERITIES, type Severity } from './finding.js';
import type { BaselineFinding } from './baseline.js';
import {
  FAIL_ON,
  THRESHOLDS,
  type BaselineReport,
  type FailOn,
  type FindingStatus,
  type PolicyResult,
  type Threshold,
} from './policy.js';
import { SCANNERS, type ScanReport, type ScannerName } from './scan-report.js';

/**
 * The scan verdict that travels with an image: what was scanned (by digest), under which policy,
 * what was found and what the policy decided. action-scan attaches it to the image in the registry;
 * action-deploy reads it back. Versioned by `schema`; a reader refuses a schema it does not know.
 */

/** The version of the verdict document this code writes and reads. */
export const VERDICT_SCHEMA = 1;
/** The artifact type (and payload media type) of a verdict attached to an image. */
export const VERDICT_ARTIFACT_TYPE = 'application/vnd.dreamscape.scan-verdict.v1+json';
/** The largest verdict document read: a scan with tens of thousands of findings stays below it. */
export const VERDICT_MAX_BYTES = 4 * 1024 * 1024;

const FINDING_STATUSES: readonly FindingStatus[] = [
  'blocking',
  'known',
  'allowed',
  'waived',
  'ignored-unfixed',
];
const BASELINE_STATES = ['new', 'known'] as const;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** One vulnerability in one package, with the policy's decision. */
export interface VerdictFinding {
  readonly id: string;
  readonly package: string;
  readonly installedVersion: string;
  /** The versions that fix it (`1.2.3, 1.3.0`), absent when none is known. */
  readonly fixedVersion?: string;
  readonly severity: Severity;
  readonly status: FindingStatus;
  /** Against the image running in the target environment, when there was one to compare with. */
  readonly baseline?: 'new' | 'known';
}

/** A waiver that covered at least one finding. */
export interface VerdictWaiver {
  readonly id: string;
  /** Absent when the waiver covers every package. */
  readonly package?: string;
  readonly reason: string;
  readonly owner: string;
  /** `YYYY-MM-DD`: the waiver holds through the end of that day (UTC). */
  readonly expires: string;
  /** The findings it waived. */
  readonly findings: readonly string[];
}

/** The scanner that produced the findings. */
export interface VerdictScanner {
  readonly name: ScannerName;
  readonly version: string;
  /** The vulnerability database, when the scanner says which. */
  readonly database?: { readonly version?: string; readonly updatedAt?: string };
}

/** The verdict document (`schema: 1`). */
export interface ScanVerdict {
  readonly schema: typeof VERDICT_SCHEMA;
  /** `registry/repository@sha256:...`: the image scanned, by digest. */
  readonly image: string;
  readonly result: 'pass' | 'fail';
  readonly policy: {
    readonly threshold: Threshold;
    readonly ignoreUnfixed: boolean;
    /** How the verdict was enforced by the scan step, e.g. `fail-build` or `report-only`. */
    readonly failOn: string;
    /** Which findings fail it: `threshold` (every one at or above it) or `new`. Absent: `threshold`. */
    readonly gate?: FailOn;
  };
  /** With `gate: new`: what runs now and what changed against it, or why nothing was compared. */
  readonly baseline?: BaselineReport;
  /** Per severity: every finding (`before`), and those neither waived nor ignored (`after`). */
  readonly counts: {
    readonly before: Readonly<Record<Severity, number>>;
    readonly after: Readonly<Record<Severity, number>>;
  };
  /** One entry per finding and affected package, most severe first. */
  readonly findings: readonly VerdictFinding[];
  readonly waivers: readonly VerdictWaiver[];
  readonly scanner: VerdictScanner;
  /** When the verdict was made (ISO 8601, UTC). */
  readonly createdAt: string;
}

/** What {@link buildVerdict} needs. */
export interface BuildVerdictOptions {
  /** `registry/repository@sha256:...` */
  readonly image: string;
  readonly report: ScanReport;
  readonly policy: PolicyResult;
  /** How the verdict is enforced, e.g. `fail-build` or `report-only`. */
  readonly failOn: string;
  readonly database?: { readonly version?: string | undefined; readonly updatedAt?: string | undefined };
  readonly clock: Clock;
}

/** A verdict document that cannot be used (refused by {@link parseVerdict} or {@link buildVerdict}). */
export class VerdictError extends ActionError {
  /** Where the document came from, e.g. `127.0.0.1:5000/app@sha256:... (referrer sha256:...)`. */
  readonly source: string;

  constructor(
    source: string,
    problem: string,
    options: { readonly cause?: unknown; readonly hint?: string } = {},
  ) {
    super(`The scan verdict ${source} is not usable: ${problem}`, {
      hint:
        options.hint ?? 'It was written by another version of action-scan, or altered; scan the image again.',
      cause: options.cause,
    });
    this.name = 'VerdictError';
    this.source = source;
  }
}

/** Builds the verdict document from a scan report and the policy's result. */
export function buildVerdict(o: BuildVerdictOptions): ScanVerdict {
  if (!isDigestReference(o.image))
    throw new VerdictError(
      o.image,
      "the image must be named by digest ('registry/repository@sha256:<hex>').",
      {
        hint: 'Resolve the tag to its digest before making the verdict.',
      },
    );
  if (o.failOn.trim() === '') throw new VerdictError(o.image, 'the fail-on mode is empty.');
  const findings: VerdictFinding[] = [];
  for (const e of o.policy.evaluated)
    for (const p of e.finding.packages)
      findings.push({
        id: e.finding.id,
        package: p.name,
        installedVersion: p.version,
        ...(p.fixedVersions.length === 0 ? {} : { fixedVersion: p.fixedVersions.join(', ') }),
        severity: e.finding.severity,
        status: e.status,
        ...(e.baseline === undefined ? {} : { baseline: e.baseline }),
      });
  const waivers: VerdictWaiver[] = o.policy.waivers.applied.map(({ waiver: w, findings: ids }) => ({
    id: w.id,
    ...(w.package === undefined ? {} : { package: w.package }),
    reason: w.reason,
    owner: w.owner,
    expires: w.expires,
    findings: [...ids],
  }));
  const database = {
    ...(o.database?.version === undefined ? {} : { version: o.database.version }),
    ...(o.database?.updatedAt === undefined ? {} : { updatedAt: o.database.updatedAt }),
  };
  return {
    schema: VERDICT_SCHEMA,
    image: o.image,
    result: o.policy.verdict,
    policy: {
      threshold: o.policy.threshold,
      ignoreUnfixed: o.policy.ignoreUnfixed,
      failOn: o.failOn,
      ...(o.policy.failOn === 'threshold' ? {} : { gate: o.policy.failOn }),
    },
    ...(o.policy.baseline === undefined ? {} : { baseline: o.policy.baseline }),
    counts: { before: { ...o.policy.counts.before }, after: { ...o.policy.counts.after } },
    findings,
    waivers,
    scanner: {
      name: o.report.scanner,
      version: o.report.scannerVersion,
      ...(Object.keys(database).length === 0 ? {} : { database }),
    },
    createdAt: new Date(o.clock.now()).toISOString(),
  };
}

/** The verdict as the bytes attached to the image (UTF-8 JSON). */
export function serializeVerdict(verdict: ScanVerdict): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(verdict), 'utf8'));
}

/**
 * Reads a verdict document, strictly: at most {@link VERDICT_MAX_BYTES}, JSON, `schema` 1, every
 * field present with its type and no field this version does not know. `source` names the document
 * in errors.
 */
export function parseVerdict(bytes: Uint8Array | string, source: string): ScanVerdict {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.length;
  if (size > VERDICT_MAX_BYTES)
    throw new VerdictError(
      source,
      `it is ${size} bytes, more than the ${VERDICT_MAX_BYTES} a verdict may have.`,
    );
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new VerdictError(source, 'it is not JSON.', { cause: error });
  }
  const fail = (problem: string): VerdictError => new VerdictError(source, problem);
  const top = record(json, 'the document', fail);
  if (top.schema !== VERDICT_SCHEMA)
    throw new VerdictError(
      source,
      `schema ${top.schema === undefined ? 'missing' : JSON.stringify(top.schema)} is not supported (this version reads schema ${VERDICT_SCHEMA}).`,
      { hint: 'A newer action-scan wrote it; update the action that reads it.' },
    );
  only(
    top,
    [
      'schema',
      'image',
      'result',
      'policy',
      'baseline',
      'counts',
      'findings',
      'waivers',
      'scanner',
      'createdAt',
    ],
    'the document',
    fail,
  );
  const image = text(top, 'image', 'the document', fail);
  if (!isDigestReference(image)) throw fail(`'image' (${JSON.stringify(image)}) is not named by digest.`);
  const result = oneOf(top, 'result', ['pass', 'fail'] as const, 'the document', fail);

  const p = record(top.policy, "'policy'", fail);
  only(p, ['threshold', 'ignoreUnfixed', 'failOn', 'gate'], "'policy'", fail);
  const policy = {
    threshold: oneOf(p, 'threshold', THRESHOLDS, "'policy'", fail),
    ignoreUnfixed: bool(p, 'ignoreUnfixed', "'policy'", fail),
    failOn: text(p, 'failOn', "'policy'", fail),
    ...(p.gate === undefined ? {} : { gate: oneOf(p, 'gate', FAIL_ON, "'policy'", fail) }),
  };
  const baseline = top.baseline === undefined ? undefined : parseBaseline(top.baseline, fail);

  const c = record(top.counts, "'counts'", fail);
  only(c, ['before', 'after'], "'counts'", fail);
  const counts = {
    before: severityCounts(c.before, "'counts.before'", fail),
    after: severityCounts(c.after, "'counts.after'", fail),
  };

  if (!Array.isArray(top.findings)) throw fail("'findings' is not a list.");
  const findings = top.findings.map((entry: unknown, i): VerdictFinding => {
    const where = `finding ${i + 1}`;
    const f = record(entry, where, fail);
    only(
      f,
      ['id', 'package', 'installedVersion', 'fixedVersion', 'severity', 'status', 'baseline'],
      where,
      fail,
    );
    const fixed = f.fixedVersion === undefined ? undefined : text(f, 'fixedVersion', where, fail);
    return {
      id: text(f, 'id', where, fail),
      package: text(f, 'package', where, fail),
      installedVersion: text(f, 'installedVersion', where, fail, true),
      ...(fixed === undefined ? {} : { fixedVersion: fixed }),
      severity: oneOf(f, 'severity', SEVERITIES, where, fail),
      status: oneOf(f, 'status', FINDING_STATUSES, where, fail),
      ...(f.baseline === undefined ? {} : { baseline: oneOf(f, 'baseline', BASELINE_STATES, where, fail) }),
    };
  });

  if (!Array.isArray(top.waivers)) throw fail("'waivers' is not a list.");
  const waivers = top.waivers.map((entry: unknown, i): VerdictWaiver => {
    const where = `waiver ${i + 1}`;
    const w = record(entry, where, fail);
    only(w, ['id', 'package', 'reason', 'owner', 'expires', 'findings'], where, fail);
    const pkg = w.package === undefined ? undefined : text(w, 'package', where, fail);
    const expires = text(w, 'expires', where, fail);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(expires))
      throw fail(`${where}: 'expires' (${JSON.stringify(expires)}) is not YYYY-MM-DD.`);
    if (!Array.isArray(w.findings) || !w.findings.every((x): x is string => typeof x === 'string'))
      throw fail(`${where}: 'findings' is not a list of identifiers.`);
    return {
      id: text(w, 'id', where, fail),
      ...(pkg === undefined ? {} : { package: pkg }),
      reason: text(w, 'reason', where, fail),
      owner: text(w, 'owner', where, fail),
      expires,
      findings: w.findings,
    };
  });

  const s = record(top.scanner, "'scanner'", fail);
  only(s, ['name', 'version', 'database'], "'scanner'", fail);
  let database: { version?: string; updatedAt?: string } | undefined;
  if (s.database !== undefined) {
    const d = record(s.database, "'scanner.database'", fail);
    only(d, ['version', 'updatedAt'], "'scanner.database'", fail);
    database = {
      ...(d.version === undefined ? {} : { version: text(d, 'version', "'scanner.database'", fail) }),
      ...(d.updatedAt === undefined
        ? {}
        : { updatedAt: timestamp(d, 'updatedAt', "'scanner.database'", fail) }),
    };
  }
  const scanner: VerdictScanner = {
    name: oneOf(s, 'name', SCANNERS, "'scanner'", fail),
    version: text(s, 'version', "'scanner'", fail),
    ...(database === undefined ? {} : { database }),
  };

  return {
    schema: VERDICT_SCHEMA,
    image,
    result,
    policy,
    ...(baseline === undefined ? {} : { baseline }),
    counts,
    findings,
    waivers,
    scanner,
    createdAt: timestamp(top, 'createdAt', 'the document', fail),
  };
}

/** The `baseline` of a verdict: what was compared with, or why nothing was. */
function parseBaseline(value: unknown, fail: Fail): BaselineReport {
  const b = record(value, "'baseline'", fail);
  const status = oneOf(b, 'status', ['found', 'none'] as const, "'baseline'", fail);
  if (status === 'none') {
    only(b, ['status', 'reason'], "'baseline'", fail);
    return { status, reason: text(b, 'reason', "'baseline'", fail) };
  }
  only(b, ['status', 'image', 'source', 'verdictCreatedAt', 'new', 'known', 'fixed'], "'baseline'", fail);
  const image = text(b, 'image', "'baseline'", fail);
  if (!isDigestReference(image))
    throw fail(`'baseline.image' (${JSON.stringify(image)}) is not named by digest.`);
  if (!Array.isArray(b.fixed)) throw fail("'baseline.fixed' is not a list.");
  const fixed = b.fixed.map((entry: unknown, i): BaselineFinding => {
    const where = `fixed finding ${i + 1}`;
    const f = record(entry, where, fail);
    only(f, ['id', 'package', 'installedVersion', 'severity'], where, fail);
    return {
      id: text(f, 'id', where, fail),
      package: text(f, 'package', where, fail),
      installedVersion: text(f, 'installedVersion', where, fail, true),
      severity: oneOf(f, 'severity', SEVERITIES, where, fail),
    };
  });
  return {
    status,
    image,
    source: text(b, 'source', "'baseline'", fail),
    verdictCreatedAt: timestamp(b, 'verdictCreatedAt', "'baseline'", fail),
    new: count(b, 'new', "'baseline'", fail),
    known: count(b, 'known', "'baseline'", fail),
    fixed,
  };
}

function count(value: Record<string, unknown>, key: string, where: string, fail: Fail): number {
  const n = value[key];
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw fail(`${where}: '${key}' is not a count.`);
  return n;
}

/** `registry/repository@sha256:<64 hex>` */
function isDigestReference(image: string): boolean {
  const at = image.lastIndexOf('@');
  return at > 0 && DIGEST.test(image.slice(at + 1));
}

type Fail = (problem: string) => VerdictError;

function record(value: unknown, where: string, fail: Fail): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw fail(`${where} is not an object.`);
  return value as Record<string, unknown>;
}

function only(value: Record<string, unknown>, keys: readonly string[], where: string, fail: Fail): void {
  for (const key of Object.keys(value))
    if (!keys.includes(key))
      throw fail(`${where} has the unknown field '${key}' (known: ${keys.join(', ')}).`);
}

function text(
  value: Record<string, unknown>,
  key: string,
  where: string,
  fail: Fail,
  allowEmpty = false,
): string {
  const v = value[key];
  if (typeof v !== 'string' || (!allowEmpty && v === ''))
    throw fail(`${where}: '${key}' is ${v === undefined ? 'missing' : 'not a non-empty string'}.`);
  return v;
}

function bool(value: Record<string, unknown>, key: string, where: string, fail: Fail): boolean {
  const v = value[key];
  if (typeof v !== 'boolean') throw fail(`${where}: '${key}' is not true or false.`);
  return v;
}

function oneOf<T extends string>(
  value: Record<string, unknown>,
  key: string,
  allowed: readonly T[],
  where: string,
  fail: Fail,
): T {
  const v = value[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw fail(
      `${where}: '${key}' is ${v === undefined ? 'missing' : JSON.stringify(v)}, not one of ${allowed.join(', ')}.`,
    );
  return v as T;
}

function timestamp(value: Record<string, unknown>, key: string, where: string, fail: Fail): string {
  const v = text(value, key, where, fail);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(Date.parse(v)))
    throw fail(`${where}: '${key}' (${JSON.stringify(v)}) is not an ISO 8601 time.`);
  return v;
}

function severityCounts(value: unknown, where: string, fail: Fail): Record<Severity, number> {
  const v = record(value, where, fail);
  only(v, SEVERITIES, where, fail);
  const counts = {} as Record<Severity, number>;
  for (const s of SEVERITIES) counts[s] = count(v, s, where, fail);
  return counts;
}

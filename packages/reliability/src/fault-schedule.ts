import type { FaultRule } from '@dreamscape/kube-double';
import type { RandomSource } from './random-source.js';

/** The kinds of fault a schedule mixes. */
export const FAULT_KINDS = ['error', 'latency', 'conflict', 'drop-watch', 'hang'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The fault rules of one run, with the seed the double draws its decisions from. */
export interface FaultSchedule {
  /** Seed for `setFaults(rules, seed)`: the same seed and request sequence give the same faults. */
  readonly seed: number;
  readonly rules: readonly FaultRule[];
  /** The kind of each rule, in order (for telling which of them fired). */
  readonly kinds: readonly FaultKind[];
  /** One short line per rule, for the run's log line. */
  readonly description: readonly string[];
}

/** What a schedule may touch, and how hard. */
export interface FaultScheduleOptions {
  /** Highest share of matching requests an error or conflict rule affects. Default 0.2. */
  readonly maxRate?: number;
  /** Share of schedules with a hanging request (each hangs one request at most). Default 0.15. */
  readonly hangShare?: number;
}

const WRITE_VERBS = ['create', 'update', 'patch', 'delete'] as const;
const READ_VERBS = ['get', 'list'] as const;
/** Resources a release reads and writes, as RBAC names them. */
const RESOURCES = [
  'services',
  'deployments',
  'deployments/scale',
  'secrets',
  'leases',
  'endpoints',
  'configmaps',
  'horizontalpodautoscalers',
  'namespaces',
  'selfsubjectaccessreviews',
] as const;
/** Discovery and version requests kubectl makes before its own calls (non-resource paths). */
const PATHS = ['/version', '/api', '/apis', '/api/v1', '/apis/apps/v1'] as const;

/**
 * A random fault schedule for one release run: one to three kinds of fault among 5xx/429 errors,
 * latency, 409 conflicts, dropped watches and a hanging request. Rates stay low (5 % to `maxRate`)
 * and a hang fires once at most, so a run can always end; the double never applies faults to its
 * `/_double/*` inspection endpoints.
 */
export function faultSchedule(random: RandomSource, options: FaultScheduleOptions = {}): FaultSchedule {
  const maxRate = options.maxRate ?? 0.2;
  const rate = (): number => random.between(0.05, Math.max(0.05, maxRate));
  const kinds: FaultKind[] = random.sample(
    FAULT_KINDS.filter((k) => k !== 'hang'),
    random.int(1, 3),
  );
  if (random.chance(options.hangShare ?? 0.15)) kinds.push('hang');
  const rules: FaultRule[] = [];
  const ruleKinds: FaultKind[] = [];
  const description: string[] = [];
  const add = (kind: FaultKind, rule: FaultRule, text: string): void => {
    rules.push(rule);
    ruleKinds.push(kind);
    description.push(text);
  };

  for (const kind of kinds) {
    switch (kind) {
      case 'error': {
        const status = random.pick([500, 500, 503, 429, 504] as const);
        if (random.chance(0.2)) {
          const r = rate();
          add('error', { paths: [...PATHS], rate: r, error: status }, `${status} on discovery ${pct(r)}`);
          break;
        }
        const verbs = random.sample([...READ_VERBS, ...WRITE_VERBS, 'proxy'], random.int(1, 4));
        const resources = random.chance(0.5) ? random.sample(RESOURCES, random.int(1, 4)) : undefined;
        const r = rate();
        add(
          'error',
          { verbs, ...(resources === undefined ? {} : { resources }), rate: r, error: status },
          `${status} on ${verbs.join('/')}${resources === undefined ? '' : ` ${resources.join(',')}`} ${pct(r)}`,
        );
        break;
      }
      case 'latency': {
        const ms = random.int(20, 400);
        const r = random.between(0.1, 0.6);
        add('latency', { rate: r, latency: `${ms}ms` }, `latency ${ms}ms ${pct(r)}`);
        break;
      }
      case 'conflict': {
        const verbs = random.sample(['update', 'patch'], random.int(1, 2));
        const resources = random.chance(0.5)
          ? random.sample(['services', 'deployments', 'secrets', 'leases'], random.int(1, 2))
          : undefined;
        const r = rate();
        add(
          'conflict',
          { verbs, ...(resources === undefined ? {} : { resources }), rate: r, conflict: true },
          `409 on ${verbs.join('/')}${resources === undefined ? '' : ` ${resources.join(',')}`} ${pct(r)}`,
        );
        break;
      }
      case 'drop-watch': {
        const ms = random.int(200, 2000);
        const r = random.between(0.3, 1);
        add(
          'drop-watch',
          { verbs: ['watch'], rate: r, dropWatch: `${ms}ms` },
          `watch dropped after ${ms}ms ${pct(r)}`,
        );
        break;
      }
      case 'hang': {
        // Most hangs hit a health probe (bounded by the check's timeout); the rest a read or a write,
        // which the client gives up on after its request timeout.
        const verb = random.weighted<string>([
          ['proxy', 5],
          ['get', 2],
          ['list', 1],
          ['patch', 1],
          ['update', 1],
        ]);
        const r = rate();
        add('hang', { verbs: [verb], rate: r, limit: 1, hang: true }, `one ${verb} hangs ${pct(r)}`);
        break;
      }
    }
  }
  return { seed: random.int(1, 2 ** 31 - 1), rules, kinds: ruleKinds, description };
}

function pct(rate: number): string {
  return `${Math.round(rate * 100)}%`;
}

/** How big the suite runs, from the environment. */
export interface ReliabilitySettings {
  /** Release runs under faults (`DS_RELIABILITY_RUNS`, default 30). */
  readonly runs: number;
  /** Seed of the first chain of runs (`DS_RELIABILITY_SEED`); random when not given. */
  readonly seed: number;
  /** Whether the seed was given (a replay) or drawn. */
  readonly seedGiven: boolean;
  /** Runs on one cluster, one after the other (`DS_RELIABILITY_CHAIN`, default 10). */
  readonly chainLength: number;
  /** Chains running at the same time, each on its own cluster (`DS_RELIABILITY_CONCURRENCY`, default 1). */
  readonly concurrency: number;
}

/** Reads `DS_RELIABILITY_RUNS`, `DS_RELIABILITY_SEED`, `DS_RELIABILITY_CHAIN` and `DS_RELIABILITY_CONCURRENCY`. */
export function reliabilitySettings(
  env: Readonly<Record<string, string | undefined>>,
  random: () => number = Math.random,
): ReliabilitySettings {
  const runs = positive(env, 'DS_RELIABILITY_RUNS', 30);
  const chainLength = positive(env, 'DS_RELIABILITY_CHAIN', 10);
  const concurrency = positive(env, 'DS_RELIABILITY_CONCURRENCY', 1);
  const seedText = env.DS_RELIABILITY_SEED ?? '';
  const seedGiven = seedText !== '';
  const seed = seedGiven ? positive(env, 'DS_RELIABILITY_SEED', 1) : 1 + Math.floor(random() * 2_000_000_000);
  return { runs, seed, seedGiven, chainLength, concurrency };
}

/** The chains the runs are split into: `{seed, runs}` each, seeds counting up from the first. */
export function chainsOf(settings: ReliabilitySettings): { seed: number; runs: number }[] {
  const chains: { seed: number; runs: number }[] = [];
  for (let left = settings.runs, i = 0; left > 0; left -= settings.chainLength, i++)
    chains.push({ seed: settings.seed + i, runs: Math.min(left, settings.chainLength) });
  return chains;
}

function positive(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^[1-9]\d{0,9}$/.test(text))
    throw new Error(`${name} must be a positive integer, not ${JSON.stringify(text)}`);
  return Number(text);
}

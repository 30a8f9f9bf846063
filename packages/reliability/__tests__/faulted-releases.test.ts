import { afterAll, describe, expect, it } from '@jest/globals';
import { repoRoot } from '@dreamscape/testkit';
import {
  chainsOf,
  concurrencyLimit,
  countOutcome,
  newPart,
  reliabilitySettings,
  renderSummary,
  reproduceCommand,
  runChain,
  tallyDir,
  writePart,
} from '../src/index.js';

const settings = reliabilitySettings(process.env);
const chains = chainsOf(settings);
const lane = concurrencyLimit(settings.concurrency);
const part = newPart('faulted releases');
const started = Date.now();

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

say(
  `faulted releases: ${settings.runs} runs in ${chains.length} chain(s), ${settings.concurrency} at a time, seed ${settings.seed}${settings.seedGiven ? ' (given)' : ' (drawn; replay with DS_RELIABILITY_SEED)'}`,
);

afterAll(() => {
  part.durationMs = Date.now() - started;
  writePart(tallyDir(repoRoot), part);
  say(renderSummary([part]));
});

describe('deploys and rollbacks under seeded fault schedules on the kube-double', () => {
  it.concurrent.each(chains)(
    'chain $seed ($runs runs): every run ends with an allowed result, the live color intact, no violation',
    async ({ seed, runs }) => {
      const report = await lane(() => runChain({ seed, runs, log: say }));
      for (const run of report.runs) {
        part.runs++;
        countOutcome(part, `${run.action}:${run.result ?? 'no-result'}`);
        part.violations += run.violations.length;
        if (run.problems.length > 0) {
          part.unconverged++;
          part.failures.push(
            `chain ${seed} run ${run.index} (seed ${run.seed}, ${run.kind}): ${run.problems.join('; ')} — reproduce: ${reproduceCommand(seed, run.index)}`,
          );
        }
        if (run.violations.length > 0)
          part.failures.push(
            `chain ${seed} run ${run.index} (seed ${run.seed}): ${run.violations.join('; ')} — reproduce: ${reproduceCommand(seed, run.index)}`,
          );
      }
      if (report.closing.problems.length > 0) {
        part.unconverged++;
        part.failures.push(
          `chain ${seed} did not converge: ${report.closing.problems.join('; ')} — reproduce: ${reproduceCommand(seed, runs)}`,
        );
      }
      expect(report.runs.flatMap((r) => [...r.problems, ...r.violations])).toEqual([]);
      expect(report.closing.problems).toEqual([]);
      expect(report.violations).toBe(0);
    },
    // A chain may wait for others before it starts (jest starts up to 5 concurrent tests).
    (settings.chainLength + 2) * 150_000 * Math.ceil(5 / settings.concurrency),
  );
});

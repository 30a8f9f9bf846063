/**
 * Prints the reliability suite's summary from the parts its test files wrote under
 * `.tmp/reliability`: a table with one row per part, the problems found with how to reproduce
 * them, and last the line `reliability: runs=<n> cases=<n> violations=<n> unconverged=<n> bad_inputs=<n> leaks=<n>`.
 * Exits 1 when a part is missing or reported a problem. With `--reset`, forgets earlier parts instead.
 *
 *     node --import ./scripts/ts-register.mjs packages/reliability/bin/summary.ts [--reset]
 */
import { repoRoot } from '@dreamscape/testkit';
import { readParts, renderSummary, resetParts, tallyDir } from '../src/index.js';

const PARTS = ['bad inputs', 'faulted releases', 'rollback kills', 'secret hygiene', 'state space'];
const dir = tallyDir(repoRoot);

if (process.argv.includes('--reset')) {
  resetParts(dir);
} else {
  const parts = readParts(dir);
  const missing = PARTS.filter((name) => !parts.some((p) => p.name === name));
  process.stdout.write(`\n## Reliability\n\n${renderSummary(parts)}\n`);
  if (missing.length > 0) process.stdout.write(`(parts that did not report: ${missing.join(', ')})\n`);
  const bad = parts.some(
    (p) => p.violations + p.unconverged + p.leaks + p.badInputsMissed > 0 || p.failures.length > 0,
  );
  process.exitCode = bad || missing.length > 0 ? 1 : 0;
}

import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  countOutcome,
  newPart,
  readParts,
  renderSummary,
  resetParts,
  totalsLine,
  writePart,
} from '../src/tally.js';

function part(name: string, fill: Partial<ReturnType<typeof newPart>>): ReturnType<typeof newPart> {
  return { ...newPart(name), ...fill };
}

describe('the reliability tally', () => {
  it('adds up the parts in the last line of the summary', () => {
    const a = part('faulted releases', { runs: 30, violations: 1, unconverged: 2, durationMs: 61_000 });
    countOutcome(a, 'deploy:promoted');
    countOutcome(a, 'deploy:promoted');
    countOutcome(a, 'rollback:failed');
    const b = part('bad inputs', { runs: 50, badInputs: 49, badInputsMissed: 1, leaks: 0 });
    const c = part('secret hygiene', { runs: 4, leaks: 3, failures: ['action-build: password\nin a file'] });
    const d = part('state space', { runs: 32, cases: 16 });
    const summary = renderSummary([a, b, c, d]);
    const lines = summary.split('\n');
    expect(lines.at(-1)).toBe(
      'reliability: runs=116 cases=16 violations=1 unconverged=2 bad_inputs=49 leaks=3',
    );
    expect(totalsLine([a, b, c, d])).toBe(lines.at(-1));
    expect(summary).toContain(
      '| faulted releases | 30 |  | deploy:promoted 2, rollback:failed 1 | 1 | 2 |  | 0 | 61 s |',
    );
    expect(summary).toContain('| bad inputs | 50 |  |  | 0 | 0 | 49/50 | 0 | 0 s |');
    expect(summary).toContain('| state space | 32 | 16 |  | 0 | 0 |  | 0 | 0 s |');
    // A problem stays on one line of the list.
    expect(summary).toContain('- secret hygiene: action-build: password in a file');
  });

  it('writes parts where the summary reads them, one per name, and forgets them on reset', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ds-tally-')), 'parts');
    expect(readParts(dir)).toEqual([]);
    writePart(dir, part('rollback kills', { runs: 1 }));
    writePart(dir, part('rollback kills', { runs: 19 }));
    writePart(dir, part('bad inputs', { runs: 2 }));
    expect(readParts(dir).map((p) => [p.name, p.runs])).toEqual([
      ['bad inputs', 2],
      ['rollback kills', 19],
    ]);
    resetParts(dir);
    expect(readParts(dir)).toEqual([]);
  });
});

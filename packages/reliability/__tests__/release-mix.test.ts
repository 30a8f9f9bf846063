import { describe, expect, it } from '@jest/globals';
import { RandomSource } from '../src/random-source.js';
import {
  actionOf,
  ALLOWED_RESULTS,
  pickRunKind,
  resultWithoutFaults,
  RUN_KINDS,
} from '../src/release-mix.js';

describe('the mix of release runs', () => {
  it('draws every kind, deploys more often than rollbacks', () => {
    const r = new RandomSource(5);
    const kinds = Array.from({ length: 1000 }, () => pickRunKind(r));
    expect([...new Set(kinds)].sort()).toEqual([...RUN_KINDS].sort());
    expect(kinds.filter((k) => actionOf(k) === 'deploy').length).toBeGreaterThan(500);
  });

  it('knows which action each kind drives and how a run without faults ends', () => {
    expect(actionOf('rollback-to')).toBe('rollback');
    expect(actionOf('deploy-never-ready')).toBe('deploy');
    expect(resultWithoutFaults('deploy')).toBe('promoted');
    expect(resultWithoutFaults('redeploy')).toBe('promoted');
    expect(resultWithoutFaults('deploy-failing-after-switch')).toBe('rolled-back');
    expect(resultWithoutFaults('deploy-never-ready')).toBe('failed');
    expect(resultWithoutFaults('rollback')).toBeUndefined();
    for (const kind of RUN_KINDS) {
      const natural = resultWithoutFaults(kind);
      if (natural !== undefined) expect(ALLOWED_RESULTS[actionOf(kind)]).toContain(natural);
    }
  });
});

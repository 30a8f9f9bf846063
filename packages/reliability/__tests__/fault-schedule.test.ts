import { describe, expect, it } from '@jest/globals';
import { parseFaultRules } from '@dreamscape/kube-double';
import { FAULT_KINDS, faultSchedule } from '../src/fault-schedule.js';
import { RandomSource } from '../src/random-source.js';

const schedules = Array.from({ length: 400 }, (_, i) => faultSchedule(new RandomSource(i + 1)));

describe('faultSchedule', () => {
  it('gives the same schedule for the same seed', () => {
    expect(faultSchedule(new RandomSource(77))).toEqual(faultSchedule(new RandomSource(77)));
    expect(faultSchedule(new RandomSource(77))).not.toEqual(faultSchedule(new RandomSource(78)));
  });

  it('writes rules the kube-double accepts, one kind and one line per rule', () => {
    for (const s of schedules) {
      expect(() => parseFaultRules(s.rules)).not.toThrow();
      expect(s.kinds).toHaveLength(s.rules.length);
      expect(s.description).toHaveLength(s.rules.length);
      expect(s.rules.length).toBeGreaterThanOrEqual(1);
      expect(s.rules.length).toBeLessThanOrEqual(4);
    }
  });

  it('mixes every kind of fault over many runs', () => {
    const seen = new Set(schedules.flatMap((s) => s.kinds));
    expect([...seen].sort()).toEqual([...FAULT_KINDS].sort());
  });

  it('keeps runs able to end: low rates, a hang fires once at most and never on a watch', () => {
    for (const s of schedules)
      s.rules.forEach((rule, i) => {
        const kind = s.kinds[i];
        if (kind === 'error' || kind === 'conflict' || kind === 'hang') {
          expect(rule.rate).toBeGreaterThanOrEqual(0.05);
          expect(rule.rate).toBeLessThanOrEqual(0.2);
        }
        if (kind === 'hang') {
          expect(rule).toMatchObject({ hang: true, limit: 1 });
          expect(rule.verbs).not.toContain('watch');
        }
        if (kind === 'drop-watch') expect(rule.verbs).toEqual(['watch']);
        expect(JSON.stringify(rule)).not.toContain('/_double');
      });
  });

  it('honours a lower maximum rate', () => {
    const s = faultSchedule(new RandomSource(3), { maxRate: 0.05 });
    for (const [i, rule] of s.rules.entries())
      if (s.kinds[i] === 'error' || s.kinds[i] === 'conflict') expect(rule.rate).toBe(0.05);
  });
});

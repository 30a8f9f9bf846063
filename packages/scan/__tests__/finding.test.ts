import { describe, expect, it } from '@jest/globals';
import { atOrAbove, combineFixStates, compareSeverity, SEVERITIES } from '../src/index.js';

describe('severity and fix-state rules', () => {
  it('orders severities most severe first', () => {
    expect([...SEVERITIES].reverse().sort(compareSeverity)).toEqual([...SEVERITIES]);
    expect(atOrAbove('critical', 'high')).toBe(true);
    expect(atOrAbove('medium', 'high')).toBe(false);
    // Unknown severity never reaches a threshold.
    expect(atOrAbove('unknown', 'low')).toBe(false);
  });

  it('lets a known fix win over every other state', () => {
    expect(combineFixStates('unknown', 'fixed')).toBe('fixed');
    expect(combineFixStates('wont-fix', 'not-fixed')).toBe('wont-fix');
    expect(combineFixStates('not-fixed', 'unknown')).toBe('not-fixed');
  });
});

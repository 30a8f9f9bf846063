import { describe, expect, it } from '@jest/globals';
import { ApiError } from '../src/api-status.js';
import {
  formatLabelSelector,
  fromLabelSelectorObject,
  matchesLabels,
  parseLabelSelector,
} from '../src/label-selector.js';

const labels = { app: 'web', tier: 'front', version: '3' };

describe('parseLabelSelector and matchesLabels', () => {
  it.each([
    ['app=web', true],
    ['app==web', true],
    ['app=api', false],
    ['app!=api', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['tier in (front, back)', true],
    ['tier in (back)', false],
    ['tier notin (back)', true],
    ['tier notin (front,back)', false],
    ['missing notin (x)', true],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['version>2', true],
    ['version<3', false],
    ['app=web,tier in (front),!canary', true],
    ['app=web,tier=back', false],
    ['', true],
  ])('%s matches: %s', (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it.each(['app=', '=web', 'app in front', 'app===web', 'a b'])('refuses %j with a 400', (selector) => {
    if (selector === 'app=') {
      // An empty value is allowed (it selects labels set to "").
      expect(matchesLabels(parseLabelSelector(selector), { app: '' })).toBe(true);
      return;
    }
    let caught: unknown;
    try {
      parseLabelSelector(selector);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ApiError);
    expect((caught as ApiError).status.code).toBe(400);
  });
});

describe('LabelSelector objects', () => {
  it('combines matchLabels and matchExpressions', () => {
    const selector = fromLabelSelectorObject({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['front'] },
        { key: 'canary', operator: 'DoesNotExist' },
        { key: 'version', operator: 'Exists' },
        { key: 'zone', operator: 'NotIn', values: ['a'] },
      ],
    });
    expect(selector).toBeDefined();
    expect(matchesLabels(selector ?? [], labels)).toBe(true);
    expect(matchesLabels(selector ?? [], { ...labels, canary: 'yes' })).toBe(false);
    expect(formatLabelSelector(selector ?? [])).toBe('app=web,!canary,tier=front,version,zone!=a');
  });

  it('is undefined when absent', () => {
    expect(fromLabelSelectorObject(undefined)).toBeUndefined();
  });
});

import { describe, expect, it } from '@jest/globals';
import {
  checkDuration,
  durationAccepted,
  formatDuration,
  formatDurationLimit,
  MAX_DURATION_MS,
  parseDuration,
} from '../src/index.js';

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1.5s', 1500],
    ['45', 45_000],
    ['2m30s', 150_000],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'abc', '5 m', '10x', 's', '-5s', '5m junk'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it.each([
    ['a 400-digit number of seconds', '9'.repeat(400)],
    ['a 400-digit number of milliseconds', `${'9'.repeat(400)}ms`],
    ['one millisecond beyond the cap', `${MAX_DURATION_MS + 1}ms`],
  ])('refuses %s rather than returning Infinity or an overflowing timer', (_what, text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('accepts the cap itself (7 days)', () => {
    expect(parseDuration(`${MAX_DURATION_MS}ms`)).toBe(MAX_DURATION_MS);
    expect(parseDuration('168h')).toBe(MAX_DURATION_MS);
  });

  it('checks bounds exactly at the boundary, and says why a value is refused', () => {
    const bounds = { minMs: 100, maxMs: 600_000 };
    expect(checkDuration('100ms', bounds)).toEqual({ ok: true, ms: 100 });
    expect(checkDuration('10m', bounds)).toEqual({ ok: true, ms: 600_000 });
    expect(checkDuration('99ms', bounds)).toEqual({ ok: false, reason: 'shorter than 100ms' });
    expect(checkDuration('10m1ms', bounds)).toEqual({ ok: false, reason: 'longer than 10m' });
    expect(checkDuration('9'.repeat(400), bounds)).toEqual({ ok: false, reason: 'longer than 10m' });
    expect(checkDuration('Infinity', bounds)).toEqual({ ok: false, reason: 'not a duration' });
    expect(checkDuration('1e999', bounds)).toEqual({ ok: false, reason: 'not a duration' });
    expect(checkDuration('-1s', bounds)).toEqual({ ok: false, reason: 'not a duration' });
  });

  it('never accepts more than the cap, even when a bound asks for more', () => {
    expect(checkDuration('169h', { maxMs: Number.MAX_SAFE_INTEGER })).toEqual({
      ok: false,
      reason: 'longer than 168h',
    });
    expect(checkDuration('9'.repeat(400))).toEqual({ ok: false, reason: 'longer than 168h' });
  });

  it('describes the accepted range in whole units', () => {
    expect(durationAccepted({ minMs: 100, maxMs: 300_000 })).toMatch(/, from 100ms to 5m$/);
    expect(durationAccepted({ minMs: 0, maxMs: 6 * 3_600_000 })).toMatch(/, at most 6h$/);
    expect(durationAccepted()).toMatch(/, at most 168h$/);
    expect(formatDurationLimit(90_000)).toBe('90s');
    expect(formatDurationLimit(1500)).toBe('1500ms');
  });

  it('formats for people', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(12_340)).toBe('12.3s');
    expect(formatDuration(245_000)).toBe('4m05s');
    expect(formatDuration(3_720_000)).toBe('1h02m');
  });
});

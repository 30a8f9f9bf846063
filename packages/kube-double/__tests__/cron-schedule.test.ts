import { describe, expect, it } from '@jest/globals';
import { cronScheduleError } from '../src/cron-schedule.js';

describe('cronScheduleError', () => {
  it.each([
    '*/5 * * * *',
    '30 2 * * *',
    '0 9-17 * * MON-FRI',
    '0 0 1,15 jan,jul ?',
    '@daily',
    '@every 1h30m',
  ])('accepts %s', (schedule) => {
    expect(cronScheduleError(schedule)).toBeUndefined();
  });

  it.each([
    ['every day', 'expected exactly 5 fields, found 2: [every day]'],
    ['61 * * * *', 'end of range (61) above maximum (59): 61'],
    ['* 25 * * *', 'end of range (25) above maximum (23): 25'],
    ['* * 0 * *', 'beginning of range (0) below minimum (1): 0'],
    ['5-2 * * * *', 'beginning of range (5) beyond end of range (2): 5-2'],
    ['foo * * * *', 'failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax'],
    ['*/0 * * * *', 'step of range should be a positive number: */0'],
    ['@sometimes', 'unrecognized descriptor: @sometimes'],
  ])('refuses %s with the real parser`s words', (schedule, message) => {
    expect(cronScheduleError(schedule)).toBe(message);
  });
});

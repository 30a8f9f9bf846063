import { describe, expect, it } from '@jest/globals';
import {
  InputError,
  inputsFrom,
  inputsFromEnv,
  readBoolean,
  readDuration,
  readEnum,
  readInteger,
  readKeyValues,
  readList,
  readString,
  readYaml,
} from '../src/index.js';

const src = inputsFrom({
  yes: 'true',
  no: 'FALSE',
  bad: 'maybe',
  dur: '1h30m',
  durbad: '5 minutes',
  n: '7',
  kind: 'BuildAH',
  list: 'a, b,,c',
  lines: 'one\n# comment\n\ntwo,three',
  kv: 'A=1\nB_2=x=y',
  kvbad: '=nokey',
  yaml: '- name: a\n  port: 80',
  yamlbad: '- name: [a',
});

describe('input readers', () => {
  it('reads strings, with required and defaults', () => {
    expect(readString(src, 'missing', { default: 'd' })).toBe('d');
    expect(() => readString(src, 'missing', { required: true })).toThrow("Input 'missing' is required");
  });

  it('reads booleans and names the accepted values', () => {
    expect(readBoolean(src, 'yes', false)).toBe(true);
    expect(readBoolean(src, 'no', true)).toBe(false);
    expect(readBoolean(src, 'missing', true)).toBe(true);
    expect(() => readBoolean(src, 'bad', true)).toThrow(
      `Input 'bad' has an invalid value "maybe". Accepted: true or false.`,
    );
  });

  it('reads durations with bounds', () => {
    expect(readDuration(src, 'dur', 0)).toBe(5_400_000);
    expect(() => readDuration(src, 'durbad', 0)).toThrow(/Input 'durbad'.*a duration such as/);
    expect(() => readDuration(src, 'dur', 0, { maxMs: 60_000 })).toThrow(
      'Input \'dur\' has an invalid value "1h30m": longer than 1m. Accepted: a duration such as 500ms, 30s, 5m, 1h30m (a bare number is seconds), at most 1m.',
    );
  });

  it('never reads an unbounded duration: a 400-digit value is refused, naming the input and the range', () => {
    const huge = inputsFrom({ wait: '9'.repeat(400) });
    expect(() => readDuration(huge, 'wait', 0)).toThrow(
      /^Input 'wait' has an invalid value "9+…": longer than 168h\. Accepted: .*, at most 168h\.$/,
    );
    expect(() => readDuration(huge, 'wait', 0, { minMs: 1000, maxMs: 6 * 3_600_000 })).toThrow(
      /longer than 6h\. Accepted: .*, from 1s to 6h\.$/,
    );
  });

  it('reads integers and enums', () => {
    expect(readInteger(src, 'n', 1, { min: 1, max: 10 })).toBe(7);
    expect(() => readInteger(src, 'n', 1, { max: 5 })).toThrow('an integer ≤ 5');
    expect(readEnum(src, 'kind', ['auto', 'buildx', 'buildah'] as const, 'auto')).toBe('buildah');
    expect(() => readEnum(src, 'bad', ['a', 'b'] as const, 'a')).toThrow("Accepted: 'a', 'b'.");
  });

  it('reads lists and key=value lines', () => {
    expect(readList(src, 'list')).toEqual(['a', 'b', 'c']);
    expect(readList(src, 'lines')).toEqual(['one', 'two,three']);
    expect(readKeyValues(src, 'kv')).toEqual([
      ['A', '1'],
      ['B_2', 'x=y'],
    ]);
    expect(() => readKeyValues(src, 'kvbad')).toThrow(/Input 'kvbad'.*no "=" after a key/);
  });

  it('reads YAML and reports the line of a syntax error', () => {
    expect(readYaml(src, 'yaml', 'a list')).toEqual([{ name: 'a', port: 80 }]);
    expect(readYaml(src, 'missing', 'a list')).toBeUndefined();
    const e = (() => {
      try {
        readYaml(src, 'yamlbad', 'a list of checks');
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toMatch(
      /Input 'yamlbad'.*YAML error: .* at line 1.*Accepted: a list of checks/,
    );
  });

  it('reads INPUT_* variables as the runner sets them', () => {
    const env = inputsFromEnv({ 'INPUT_BUILD-ARGS': ' x=1 ', INPUT_MY_INPUT: 'v' });
    expect(env('build-args')).toBe('x=1');
    expect(env('my input')).toBe('v');
  });
});

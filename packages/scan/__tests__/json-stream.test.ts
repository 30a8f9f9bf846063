import { describe, expect, it } from '@jest/globals';
import { JsonStreamError, visitJson, type JsonPath, type JsonSource } from '../src/index.js';
import { scannerFixture as fixture } from '@dreamscape/testkit';

/** A source that hands out at most `step` bytes a call, to cross every window boundary. */
function trickle(text: string, step: number): JsonSource {
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  return {
    read(into, offset, length) {
      const n = Math.min(step, length, bytes.length - at);
      bytes.copy(into, offset, at, at + n);
      at += n;
      return n;
    },
  };
}

function collect(input: Uint8Array | JsonSource, patterns: string[][]): [JsonPath, unknown][] {
  const seen: [JsonPath, unknown][] = [];
  visitJson(input, patterns, (path, value) => seen.push([path, value]));
  return seen;
}

describe('visitJson', () => {
  const doc = JSON.stringify({
    skip: { deep: ['x', { y: '}]"' }] },
    'we\\ird"key': 1,
    list: [{ a: 1, b: 'é ünïcode \\" \n' }, { a: 2 }, 3, null, true, 'str'],
    tail: -1.5e3,
  });

  it('visits only the selected values, in order, with their paths', () => {
    expect(collect(Buffer.from(doc), [['list', '*'], ['tail']])).toEqual([
      [['list', 0], { a: 1, b: 'é ünïcode \\" \n' }],
      [['list', 1], { a: 2 }],
      [['list', 2], 3],
      [['list', 3], null],
      [['list', 4], true],
      [['list', 5], 'str'],
      [['tail'], -1500],
    ]);
    expect(collect(Buffer.from(doc), [['we\\ird"key']])).toEqual([[['we\\ird"key'], 1]]);
  });

  it.each([1, 2, 3, 7, 64])('gives the same values when read %i bytes at a time', (step) => {
    const whole = collect(Buffer.from(doc), [['list', '*'], ['skip'], ['tail']]);
    expect(collect(trickle(doc, step), [['list', '*'], ['skip'], ['tail']])).toEqual(whole);
  });

  it('reads a real report through a tiny window exactly as JSON.parse sees it', () => {
    const text = fixture('trivy-image-debian-buster.json');
    const expected = (JSON.parse(text) as { Results: { Vulnerabilities: unknown[] }[] }).Results[0]
      ?.Vulnerabilities;
    const seen = collect(trickle(text, 5), [['Results', '*', 'Vulnerabilities', '*']]);
    expect(seen.map(([, v]) => v)).toEqual(expected);
  });

  it.each([
    [['a'], 'the first member'],
    [['c'], 'the last member'],
    [['b'], 'a middle member'],
    [['a', 'b'], 'the first two members'],
    [['a', 'b', 'c'], 'every member'],
    [['nested'], 'nothing (omit applies to top-level members only)'],
  ])('omits %j (%s) from selected objects before parsing', (omit) => {
    const text = '{"list": [ {"a": 1, "b": {"nested": "x, y"}, "c": [1,{"a":2}]} , {"c" : "only"}, {}, 5 ]}';
    for (const step of [2, 1000]) {
      const seen: unknown[] = [];
      visitJson(trickle(text, step), [['list', '*']], (_p, v) => seen.push(v), undefined, { omit });
      const expected = (JSON.parse(text) as { list: unknown[] }).list.map((v) => {
        if (typeof v !== 'object' || v === null) return v;
        const copy: Record<string, unknown> = { ...(v as Record<string, unknown>) };
        for (const k of omit) Reflect.deleteProperty(copy, k);
        return copy;
      });
      expect(seen).toEqual(expected);
    }
  });

  it.each([
    ['{"a": [1, 2', 'the document ends inside a value'],
    ['{"a" 1}', "':' was expected"],
    ['{"a": 1 "b": 2}', "',' or '}' was expected"],
    ['{"a": "open', 'unterminated string'],
    ['{"a": 1} trailing', 'unexpected data after the document'],
    ['"just a string"', 'an object or an array was expected'],
    ['{"list": [tru]}', 'invalid JSON'],
  ])('reports %j as not well-formed: %s', (text, message) => {
    const run = () => collect(trickle(text, 3), [['list', '*']]);
    expect(run).toThrow(JsonStreamError);
    expect(run).toThrow(message);
  });

  it('says at which byte', () => {
    try {
      collect(Buffer.from('{"a": 1 "b": 2}'), [['a']]);
    } catch (error) {
      expect((error as JsonStreamError).offset).toBe(8);
    }
    expect.assertions(1);
  });
});

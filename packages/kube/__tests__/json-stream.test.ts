import { describe, expect, it } from '@jest/globals';
import { JsonObjectStream } from '../src/index.js';

describe('JsonObjectStream', () => {
  it('splits indented objects that arrive in arbitrary pieces, braces in strings included', () => {
    const events = [
      {
        type: 'ADDED',
        object: { metadata: { name: 'a', annotations: { note: 'has } and { and "quotes" \\ inside' } } },
      },
      { type: 'MODIFIED', object: { status: { conditions: [{ type: 'Available' }] } } },
    ];
    const text = events.map((e) => JSON.stringify(e, null, 4)).join('\n');
    const stream = new JsonObjectStream();
    const out: unknown[] = [];
    for (let i = 0; i < text.length; i += 7) out.push(...stream.push(text.slice(i, i + 7)));
    expect(out).toEqual(events);
  });

  it('keeps a partial object until it completes, and forgets it on reset', () => {
    const stream = new JsonObjectStream();
    expect(stream.push('{"a": {"b"')).toEqual([]);
    expect(stream.push(': 1}}{"c"')).toEqual([{ a: { b: 1 } }]);
    stream.reset();
    expect(stream.push('{"d": 2}')).toEqual([{ d: 2 }]);
  });
});

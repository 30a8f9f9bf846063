import { describe, expect, it } from '@jest/globals';
import {
  BehaviourBook,
  globToRegExp,
  parseBehaviours,
  parseBehavioursText,
} from '../src/image-behaviours.js';

describe('image behaviours', () => {
  const book = new BehaviourBook(
    parseBehavioursText(
      [
        '- image: "*@sha256:bad*"',
        '  ready: never',
        '  http:',
        '    /health: { status: 500, body: "down", latency: 0s }',
        '- image: "registry.example/web:*"',
        '  ready: 2s',
        '  http:',
        '    /api/*: { status: 202, body: { queued: true } }',
        '- image: "*"',
        '  ready: 1.5',
      ].join('\n'),
    ),
  );

  it('lets the first matching entry win, globs matching any run of characters', () => {
    expect(book.forImage('registry.example/web@sha256:bad123').ready).toEqual({ kind: 'never' });
    expect(book.forImage('registry.example/web:1.2').ready).toEqual({ kind: 'after', ms: 2000 });
    expect(book.forImage('other:1').ready).toEqual({ kind: 'after', ms: 1500 });
  });

  it('answers /health with 200 naming the image unless told otherwise, and 404 for unknown paths', () => {
    const web = book.forImage('registry.example/web:1.2');
    expect(web.answer('/health')).toEqual({
      status: 200,
      body: '{"status":"ok","image":"registry.example/web:1.2"}',
      latencyMs: 0,
    });
    expect(web.answer('/api/orders')).toEqual({ status: 202, body: '{"queued":true}', latencyMs: 0 });
    expect(web.answer('/nope')).toBeUndefined();
    expect(book.forImage('x@sha256:bad').answer('/health')).toEqual({
      status: 500,
      body: 'down',
      latencyMs: 0,
    });
  });

  it('defaults to Ready after 1 s with no entries', () => {
    expect(new BehaviourBook().forImage('anything').ready).toEqual({ kind: 'after', ms: 1000 });
  });

  it('treats everything but * literally in globs', () => {
    expect(globToRegExp('a.b*').test('a.bc')).toBe(true);
    expect(globToRegExp('a.b*').test('axbc')).toBe(false);
    expect(globToRegExp('web:1.?').test('web:1.2')).toBe(false);
  });

  it.each([
    [{ image: 'x' }, 'expected a list'],
    [[{ ready: '1s' }], 'entry 0.image'],
    [[{ image: 'x', ready: 'later' }], 'entry 0.ready'],
    [[{ image: 'x', http: { health: {} } }], 'paths start with "/"'],
    [[{ image: 'x', http: { '/h': { status: 99 } } }], 'entry 0.http./h.status'],
    [[{ image: 'x', http: { '/h': { latency: 'slow' } } }], 'entry 0.http./h.latency'],
  ])('refuses %j', (document, message) => {
    expect(() => parseBehaviours(document)).toThrow(message);
  });
});

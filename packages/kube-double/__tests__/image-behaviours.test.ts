import { describe, expect, it } from '@jest/globals';
import {
  BehaviourBook,
  globToRegExp,
  parseBehaviours,
  parseBehavioursText,
  type ConcreteAnswer,
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
    expect(web.respond('/health')).toEqual({
      status: 200,
      body: '{"status":"ok","image":"registry.example/web:1.2"}',
      latencyMs: 0,
    });
    expect(web.respond('/api/orders')).toEqual({ status: 202, body: '{"queued":true}', latencyMs: 0 });
    expect(web.respond('/nope')).toBeUndefined();
    expect(book.forImage('x@sha256:bad').respond('/health')).toEqual({
      status: 500,
      body: 'down',
      latencyMs: 0,
    });
  });

  it('defaults to Ready after 1 s with no entries', () => {
    expect(new BehaviourBook().forImage('anything').ready).toEqual({ kind: 'after', ms: 1000 });
  });

  it('keeps the lines a container prints, up to 1000 of up to 4096 characters; none declared is undefined', () => {
    const longest = Array.from({ length: 1000 }, (_, i) => `${String(i)}:`.padEnd(4096, 'x'));
    const logs = new BehaviourBook(
      parseBehavioursText(
        ['- image: "migrate:*"', '  exitCode: 1', '  logs: ["applying 0001", "ERROR: boom", ""]'].join('\n'),
      ).concat(parseBehaviours([{ image: 'chatty:1', logs: longest }])),
    );
    expect(logs.forImage('migrate:2').logs).toEqual(['applying 0001', 'ERROR: boom', '']);
    expect(logs.forImage('chatty:1').logs).toEqual(longest);
    expect(logs.forImage('other:1').logs).toBeUndefined();
    expect(book.forImage('registry.example/web:1.2').logs).toBeUndefined();
  });

  it('refuses more than 1000 lines, or a line longer than 4096 characters', () => {
    const many = [{ image: 'x', logs: Array.from({ length: 1001 }, () => 'x') }];
    expect(() => parseBehaviours(many)).toThrow(
      'image behaviours: entry 0.logs: expected a list of at most 1000 lines (strings)',
    );
    const long = [{ image: 'x', logs: ['ok', 'x'.repeat(4097)] }];
    expect(() => parseBehaviours(long)).toThrow(
      'image behaviours: entry 0.logs[1]: expected at most 4096 characters, got 4097',
    );
  });

  it('reads an image that cannot be pulled: never Ready, with the runtime message given or a "not found" one', () => {
    const failing = new BehaviourBook(
      parseBehaviours([
        { image: 'web:missing', pull: 'fail' },
        { image: 'web:private', pull: { message: '403 Forbidden' }, ready: 'deadline' },
      ]),
    );
    const missing = failing.forImage('web:missing');
    expect(missing.ready).toEqual({ kind: 'never' });
    expect(missing.pull?.message).toBe(
      'rpc error: code = NotFound desc = failed to pull and unpack image "web:missing": failed to resolve reference "web:missing": web:missing: not found',
    );
    expect(failing.forImage('web:private')).toMatchObject({
      ready: { kind: 'deadline' },
      pull: { message: '403 Forbidden' },
    });
    expect(failing.forImage('web:1').pull).toBeUndefined();
  });

  it('reads a crash loop: exit code 1 after 1 s by default, and the same ending for a run-to-completion container', () => {
    const crashing = new BehaviourBook(
      parseBehaviours([
        { image: 'api:1', crash: {} },
        { image: 'api:2', crash: { exitCode: 3, message: 'DATABASE_URL is not set', after: '5s' } },
      ]),
    );
    expect(crashing.forImage('api:1')).toMatchObject({
      ready: { kind: 'never' },
      crash: { exitCode: 1, message: undefined, afterMs: 1000 },
      run: { exitCode: 1, durationMs: 1000 },
    });
    expect(crashing.forImage('api:2')).toMatchObject({
      crash: { exitCode: 3, message: 'DATABASE_URL is not set', afterMs: 5000 },
      run: { exitCode: 3, durationMs: 5000, message: 'DATABASE_URL is not set' },
    });
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

  it.each([
    [
      [{ image: 'x', http: { '/h': { errors: { rate: 1.5 } } } }],
      'entry 0.http./h.errors.rate: expected a share from 0 to 1, got 1.5',
    ],
    [[{ image: 'x', http: { '/h': { errors: { rate: -0.1 } } } }], 'entry 0.http./h.errors.rate'],
    [[{ image: 'x', http: { '/h': { errors: {} } } }], 'entry 0.http./h.errors.rate'],
    [
      [{ image: 'x', http: { '/h': { errors: { rate: 0.1, status: 700 } } } }],
      'entry 0.http./h.errors.status',
    ],
    [
      [{ image: 'x', http: { '/h': { errors: { rate: 0.1, ratio: 2 } } } }],
      'entry 0.http./h.errors.ratio: unknown field',
    ],
    [
      [{ image: 'x', http: { '/h': { latency: { median: '200ms', p99: '100ms' } } } }],
      'entry 0.http./h.latency.p99: expected at least the median, got "100ms"',
    ],
    [
      [{ image: 'x', http: { '/h': { latency: { median: 0, p99: '1s' } } } }],
      'entry 0.http./h.latency.median',
    ],
    [
      [{ image: 'x', http: { '/h': { latency: '61s' } } }],
      'entry 0.http./h.latency: expected at most 60s, got "61s"',
    ],
    [
      [{ image: 'x', http: { '/h': { latency: { min: '1s', max: '2m' } } } }],
      'entry 0.http./h.latency.max: expected at most 60s',
    ],
    [
      [{ image: 'x', http: { '/h': { latency: { median: '1s', p99: 90 } } } }],
      'entry 0.http./h.latency.p99: expected at most 60s',
    ],
    [
      [{ image: 'x', http: { '/h': { latency: { min: '2s', max: '1s' } } } }],
      'entry 0.http./h.latency.max: expected at least min',
    ],
    [[{ image: 'x', http: { '/h': { latency: { min: '1s' } } } }], 'entry 0.http./h.latency.max: missing'],
    [
      [{ image: 'x', http: { '/h': { latency: { mean: '1s' } } } }],
      'entry 0.http./h.latency.mean: unknown field',
    ],
    [
      [{ image: 'x', http: { '/h': { latency: { min: '1s', max: '2s', p99: '3s' } } } }],
      'entry 0.http./h.latency: expected either',
    ],
    [[{ image: 'x', logs: 'ERROR: boom' }], 'entry 0.logs: expected a list of at most 1000 lines (strings)'],
    [[{ image: 'x', logs: ['ok', 5] }], 'entry 0.logs[1]: expected a string, got 5'],
    [[{ image: 'x', logs: [{ line: 'a' }] }], 'entry 0.logs[0]: expected a string, got {"line":"a"}'],
    [
      [{ image: 'x', logs: ['one', 'two\nthree'] }],
      'entry 0.logs[1]: expected one line, without line breaks',
    ],
    [
      [{ image: 'x', log: ['a'] }],
      'entry 0.log: unknown field; expected {image, ready, http, exitCode, duration, logs, pull, crash}',
    ],
    [[{ image: 'x', pull: 'sometimes' }], 'entry 0.pull: expected `fail` or {message}, got "sometimes"'],
    [[{ image: 'x', pull: { reason: 'x' } }], 'entry 0.pull.reason: unknown field'],
    [[{ image: 'x', pull: { message: '' } }], 'entry 0.pull.message: expected a message'],
    [
      [{ image: 'x', pull: 'fail', crash: {} }],
      'entry 0: expected pull or crash, not both: a container that cannot be pulled never runs',
    ],
    [
      [{ image: 'x', pull: 'fail', ready: '2s' }],
      'entry 0.ready: a container with pull is never Ready; expected never or deadline, got "2s"',
    ],
    [
      [{ image: 'x', crash: { exitCode: 256 } }],
      'entry 0.crash.exitCode: expected an exit code from 0 to 255',
    ],
    [[{ image: 'x', crash: { after: 'soon' } }], 'entry 0.crash.after: expected'],
    [
      [{ image: 'x', crash: { message: 'x'.repeat(4097) } }],
      'entry 0.crash.message: expected at most 4096 bytes',
    ],
    [[{ image: 'x', crash: {}, exitCode: 2 }], 'entry 0.exitCode: crash says how the container ends'],
  ])('refuses %j naming the field', (document, message) => {
    expect(() => parseBehaviours(document)).toThrow(`image behaviours: ${message}`);
  });
});

/** `n` requests to one path of one image, in order. */
function serve(book: BehaviourBook, image: string, path: string, n: number): ConcreteAnswer[] {
  const resolved = book.forImage(image);
  return Array.from({ length: n }, () => {
    const answer = resolved.respond(path);
    if (answer === undefined) throw new Error(`nothing answers ${path}`);
    return answer;
  });
}

/** The 1-based positions of the requests answered with `status`. */
function positionsOf(answers: readonly ConcreteAnswer[], status: number): number[] {
  return answers.flatMap((a, i) => (a.status === status ? [i + 1] : []));
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

describe('error shares', () => {
  it('answers exactly floor(n * rate) of the first n requests with the error, evenly spread', () => {
    const book = new BehaviourBook(
      parseBehaviours([{ image: 'web:*', http: { '/api': { body: 'ok', errors: { rate: 0.05 } } } }]),
    );
    const answers = serve(book, 'web:1', '/api', 1000);
    const errors = positionsOf(answers, 500);
    expect(errors).toHaveLength(50);
    expect(errors.slice(0, 3)).toEqual([20, 40, 60]);
    expect(answers[19]).toEqual({ status: 500, body: 'internal server error', latencyMs: 0 });
    expect(answers[18]).toEqual({ status: 200, body: 'ok', latencyMs: 0 });
    for (let n = 1; n <= 1000; n++)
      expect([n, positionsOf(answers.slice(0, n), 500).length]).toEqual([n, Math.floor(n * 0.05)]);
  });

  it('keeps a rate of 1/3 exact, with the declared status and body', () => {
    const book = new BehaviourBook(
      parseBehaviours([
        { image: 'web:*', http: { '/api': { errors: { rate: 1 / 3, status: 503, body: { busy: true } } } } },
      ]),
    );
    const answers = serve(book, 'web:1', '/api', 1000);
    expect(positionsOf(answers, 503)).toHaveLength(333);
    expect(positionsOf(answers, 503).slice(0, 3)).toEqual([3, 6, 9]);
    expect(answers[2]?.body).toBe('{"busy":true}');
    for (let n = 1; n <= 1000; n++)
      expect([n, positionsOf(answers.slice(0, n), 503).length]).toEqual([n, Math.floor(n / 3)]);
  });

  it('counts each path and each image on its own, and afresh after replace()', () => {
    const document = parseBehaviours([
      { image: 'web:*', http: { '/a': { errors: { rate: 0.5 } }, '/b': { errors: { rate: 0.5 } } } },
    ]);
    const book = new BehaviourBook(document);
    const statuses = (image: string, path: string): number[] =>
      serve(book, image, path, 1).map((a) => a.status);
    expect(statuses('web:1', '/a')).toEqual([200]);
    expect(statuses('web:1', '/b')).toEqual([200]);
    expect(statuses('web:2', '/a')).toEqual([200]);
    expect(statuses('web:1', '/a')).toEqual([500]);
    expect(statuses('web:1', '/b')).toEqual([500]);
    expect(statuses('web:2', '/a')).toEqual([500]);
    book.replace(document);
    expect(statuses('web:1', '/a')).toEqual([200]);
    expect(statuses('web:1', '/a')).toEqual([500]);
  });

  it('counts the paths a glob matches together', () => {
    const book = new BehaviourBook(
      parseBehaviours([{ image: '*', http: { '/api/*': { errors: { rate: 0.5 } } } }]),
    );
    const resolved = book.forImage('web:1');
    expect(['/api/a', '/api/b', '/api/c', '/api/d'].map((p) => resolved.respond(p)?.status)).toEqual([
      200, 500, 200, 500,
    ]);
  });

  it.each([
    [29, 100],
    [1, 3],
    [3, 10],
  ])('keeps a rate of %i/%i exact where binary fractions fall short (0.29 * 100 < 29)', (num, den) => {
    const book = new BehaviourBook(
      parseBehaviours([{ image: '*', http: { '/h': { errors: { rate: num / den } } } }]),
    );
    const errors = positionsOf(serve(book, 'x', '/h', 1000), 500);
    for (let n = 1; n <= 1000; n++)
      expect([n, errors.filter((p) => p <= n).length]).toEqual([n, Math.floor((n * num) / den)]);
  });

  it('never errs at rate 0 and always at rate 1', () => {
    const book = new BehaviourBook(
      parseBehaviours([
        { image: '*', http: { '/never': { errors: { rate: 0 } }, '/always': { errors: { rate: 1 } } } },
      ]),
    );
    expect(positionsOf(serve(book, 'x', '/never', 100), 500)).toEqual([]);
    expect(positionsOf(serve(book, 'x', '/always', 100), 500)).toHaveLength(100);
  });
});

describe('latency distributions', () => {
  const document = parseBehaviours([
    {
      image: '*',
      http: {
        '/uniform': { latency: { min: '100ms', max: '300ms' } },
        '/tail': { latency: { median: '50ms', p99: '800ms' }, errors: { rate: 0.1 } },
        '/fixed': { latency: 0.25 },
      },
    },
  ]);
  const latencies = (book: BehaviourBook, path: string, n: number): number[] =>
    serve(book, 'web:1', path, n).map((a) => a.latencyMs);

  it('keeps a fixed latency as declared', () => {
    expect(latencies(new BehaviourBook(document), '/fixed', 3)).toEqual([250, 250, 250]);
  });

  it('draws uniform latencies between min and max, spread over the range', () => {
    const drawn = latencies(new BehaviourBook(document), '/uniform', 5000);
    expect(Math.min(...drawn)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...drawn)).toBeLessThanOrEqual(300);
    expect(Math.min(...drawn)).toBeLessThan(110);
    expect(Math.max(...drawn)).toBeGreaterThan(290);
  });

  it('draws log-normal latencies whose median and p99 are the declared ones', () => {
    const drawn = latencies(new BehaviourBook(document, { seed: 7 }), '/tail', 20_000).sort((a, b) => a - b);
    expect(quantile(drawn, 0.5)).toBeGreaterThan(45);
    expect(quantile(drawn, 0.5)).toBeLessThan(55);
    expect(quantile(drawn, 0.99)).toBeGreaterThan(720);
    expect(quantile(drawn, 0.99)).toBeLessThan(880);
  });

  it('caps drawn latencies at 60 s', () => {
    const wide = parseBehaviours([{ image: '*', http: { '/h': { latency: { median: '1s', p99: '60s' } } } }]);
    const drawn = latencies(new BehaviourBook(wide), '/h', 20_000);
    expect(Math.max(...drawn)).toBe(60_000);
  });

  it('draws the same latencies for the same seed, whatever other paths are served in between', () => {
    const one = new BehaviourBook(document, { seed: 3 });
    const other = new BehaviourBook(document, { seed: 3 });
    latencies(other, '/uniform', 17);
    expect(latencies(one, '/tail', 100)).toEqual(latencies(other, '/tail', 100));
    expect(latencies(new BehaviourBook(document, { seed: 4 }), '/tail', 100)).not.toEqual(
      latencies(new BehaviourBook(document, { seed: 3 }), '/tail', 100),
    );
    const replaced = new BehaviourBook(document, { seed: 3 });
    const first = latencies(replaced, '/tail', 10);
    replaced.replace(document);
    expect(latencies(replaced, '/tail', 10)).toEqual(first);
  });
});

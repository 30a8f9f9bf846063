import { describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import { InputError } from '@dreamscape/core';
import {
  CHECK_DEFAULTS,
  checksFor,
  parseHealthChecks,
  type HealthCheck,
  type PrometheusCheck,
  type ServiceCheck,
  type UrlCheck,
} from '../src/index.js';

const SERVICES = ['web', 'api'];
const F = 'a duration such as 500ms, 30s, 5m, 1h30m (a bare number is seconds)';

function parse(yaml: string, services: readonly string[] = SERVICES): HealthCheck[] {
  return parseHealthChecks(load(yaml), services);
}

/** The reason part of the InputError thrown for `value` (between the value and "Accepted:"). */
function reasonFor(value: unknown, services: readonly string[] = SERVICES): string {
  let error: unknown;
  try {
    parseHealthChecks(value, services);
  } catch (e) {
    error = e;
  }
  if (!(error instanceof InputError)) throw new Error(`expected an InputError, got ${String(error)}`);
  expect(error.input).toBe('health-checks');
  const m = /^Input 'health-checks' has an invalid value .*?: (check .*|the document: .*)\. Accepted: /s.exec(
    error.message,
  );
  if (m === null) throw new Error(`unexpected message: ${error.message}`);
  return m[1] as string;
}

describe('parseHealthChecks', () => {
  it('is empty when the input is not set', () => {
    expect(parseHealthChecks(undefined, SERVICES)).toEqual([]);
    expect(parseHealthChecks(null, SERVICES)).toEqual([]);
    expect(parseHealthChecks([], SERVICES)).toEqual([]);
  });

  it('reads every field of a service check', () => {
    const [check] = parse(`
- name: web
  service: web
  port: http
  path: /health?full=1
  interval: 500ms
  timeout: 2s
  successes: 2
  failures: 1
  when: pre-switch
  expect-status: [200, 3xx]
  expect-body: /ok|ready/i
`) as [ServiceCheck];
    expect(check).toMatchObject({
      kind: 'service',
      name: 'web',
      service: 'web',
      port: 'http',
      path: '/health?full=1',
      intervalMs: 500,
      timeoutMs: 2000,
      successes: 2,
      failures: 1,
      when: 'pre-switch',
    });
    expect(check.expectStatus.text).toBe('200, 3xx');
    expect([200, 201, 301, 399, 404].map((s) => check.expectStatus.matches(s))).toEqual([
      true,
      false,
      true,
      true,
      false,
    ]);
    expect(check.expectBody?.text).toBe('/ok|ready/i');
    expect(check.expectBody?.matches('status: READY')).toBe(true);
    expect(check.expectBody?.matches('starting')).toBe(false);
  });

  it('fills in the defaults', () => {
    const [check] = parse('- {name: web, service: web}') as [ServiceCheck];
    expect(check).toMatchObject({
      kind: 'service',
      port: undefined,
      path: '/',
      intervalMs: CHECK_DEFAULTS.intervalMs,
      timeoutMs: CHECK_DEFAULTS.timeoutMs,
      successes: CHECK_DEFAULTS.successes,
      failures: CHECK_DEFAULTS.failures,
      when: 'both',
      expectBody: undefined,
    });
    expect(CHECK_DEFAULTS).toMatchObject({ intervalMs: 2000, timeoutMs: 5000, successes: 3, failures: 0 });
    expect(check.expectStatus.text).toBe('2xx');
    expect([199, 200, 299, 300].map((s) => check.expectStatus.matches(s))).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });

  it('reads a numeric port (number or digits), a bare number of seconds, and trims the Service name', () => {
    const checks = parse(`
- {name: a, service: " web ", port: 8080, interval: 2}
- {name: b, service: web, port: "9090"}
`) as ServiceCheck[];
    expect(checks.map((c) => [c.service, c.port])).toEqual([
      ['web', 8080],
      ['web', 9090],
    ]);
    expect(checks[0]?.intervalMs).toBe(2000);
  });

  it('ignores a g flag, which would make the regex remember where it last matched', () => {
    const [check] = parse('- {name: web, service: web, expect-body: "/ok/g"}') as [ServiceCheck];
    expect([1, 2, 3].map(() => check.expectBody?.matches('ok'))).toEqual([true, true, true]);
  });

  it('takes a plain expect-body as a substring', () => {
    const [check] = parse('- {name: web, service: web, expect-body: "a.b"}') as [ServiceCheck];
    expect(check.expectBody?.text).toBe('"a.b"');
    expect(check.expectBody?.matches('xx a.b yy')).toBe(true);
    expect(check.expectBody?.matches('axb')).toBe(false);
  });

  it('reads a url check', () => {
    const [check] = parse(`
- name: site
  url: https://shop.example.test/health
  expect-status: 204
  when: post-switch
`) as [UrlCheck];
    expect(check).toMatchObject({
      kind: 'url',
      url: 'https://shop.example.test/health',
      when: 'post-switch',
    });
    expect(check.expectStatus.matches(204)).toBe(true);
    expect(check.expectStatus.matches(200)).toBe(false);
  });

  it('reads every form of a prometheus source', () => {
    const checks: HealthCheck[] = parse(`
- {name: a, prometheus: "http://prom:9090/", query: "sum(rate(x[1m]))", max: 0.05}
- {name: b, prometheus: prometheus, query: up, min: 1}
- {name: c, prometheus: {service: prometheus, port: web}, query: up, min: 1, max: 3}
- {name: d, prometheus: {url: "https://prom.test"}, query: up, max: 0}
`);
    expect(checks.map((c) => c.kind)).toEqual(['prometheus', 'prometheus', 'prometheus', 'prometheus']);
    const proms = checks as PrometheusCheck[];
    expect(proms.map((c) => [c.source, c.query, c.max, c.min])).toEqual([
      [{ url: 'http://prom:9090/' }, 'sum(rate(x[1m]))', 0.05, undefined],
      [{ service: 'prometheus', port: undefined }, 'up', undefined, 1],
      [{ service: 'prometheus', port: 'web' }, 'up', 3, 1],
      [{ url: 'https://prom.test' }, 'up', 0, undefined],
    ]);
  });

  it('accepts any Service when the overlay list is empty', () => {
    expect(parseHealthChecks([{ name: 'x', service: 'anything' }], [])).toHaveLength(1);
  });

  it('names the input, the value, the check, the field and what is accepted', () => {
    let checkError: unknown;
    try {
      parseHealthChecks([{ name: 'web', service: 'web', successes: 0 }], SERVICES);
    } catch (e) {
      checkError = e;
    }
    expect(checkError).toBeInstanceOf(InputError);
    expect((checkError as InputError).value).toBe('[{"name":"web","service":"web","successes":0}]');
    expect((checkError as Error).message).toMatch(
      /^Input 'health-checks' has an invalid value "\[\{\\"name\\":\\"web\\",\\"service\\":\\"web\\",\\"successes\\":0\}\]": check 'web': `successes` is 0; expected an integer from 1 to 1000\. Accepted: a YAML list of checks/,
    );
    let error: unknown;
    try {
      parseHealthChecks('web', SERVICES);
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).toBe(
      'Input \'health-checks\' has an invalid value "web": the document: is not a list. Accepted: a YAML list of checks; each has a `name` and one of `service` (with `port`, `path`), `url`, or `prometheus` (with `query` and `max`/`min`), plus optional `interval`, `timeout`, `successes`, `failures`, `when`, `expect-status`, `expect-body`.',
    );
  });

  it.each<[string, unknown, string]>([
    ['a mapping instead of a list', { name: 'web' }, 'the document: is not a list'],
    ['a check that is not a mapping', ['web'], 'check 1: is not a mapping'],
    ['a check without a name', [{ name: 'a', service: 'web' }, { service: 'web' }], 'check 2: has no `name`'],
    ['a blank name', [{ name: '  ', service: 'web' }], 'check 1: has no `name`'],
    [
      'a name used twice',
      [
        { name: 'a', service: 'web' },
        { name: 'a', service: 'api' },
      ],
      "check 'a': the name is used twice",
    ],
    ['no target', [{ name: 'a' }], "check 'a': needs one of `service`, `url` or `prometheus`"],
    [
      'two targets',
      [{ name: 'a', service: 'web', url: 'http://x' }],
      "check 'a': has service and url; choose one",
    ],
    [
      'an unknown field',
      [{ name: 'a', service: 'web', paht: '/' }],
      "check 'a': unknown field `paht` for a service check (allowed: name, interval, timeout, successes, failures, when, service, port, path, expect-status, expect-body)",
    ],
    [
      'a field of another kind',
      [{ name: 'a', url: 'http://x', query: 'up' }],
      "check 'a': unknown field `query` for a url check (allowed: name, interval, timeout, successes, failures, when, url, expect-status, expect-body)",
    ],
    [
      'a Service not in the overlay',
      [{ name: 'a', service: 'db' }],
      "check 'a': Service 'db' is not in the overlay (its Services: web, api)",
    ],
    ['an empty service', [{ name: 'a', service: '' }], "check 'a': `service` must be a non-empty string"],
    [
      'an interval that is not a duration',
      [{ name: 'a', service: 'web', interval: 'soon' }],
      `check 'a': \`interval\` is "soon" (not a duration); expected ${F}, from 100ms to 10m`,
    ],
    [
      'a zero timeout',
      [{ name: 'a', service: 'web', timeout: '0s' }],
      `check 'a': \`timeout\` is "0s" (shorter than 100ms); expected ${F}, from 100ms to 5m`,
    ],
    [
      'a zero interval, which would poll the service as fast as it answers',
      [{ name: 'a', service: 'web', interval: 0 }],
      `check 'a': \`interval\` is 0 (shorter than 100ms); expected ${F}, from 100ms to 10m`,
    ],
    [
      'an interval just below its minimum',
      [{ name: 'a', service: 'web', interval: '99ms' }],
      `check 'a': \`interval\` is "99ms" (shorter than 100ms); expected ${F}, from 100ms to 10m`,
    ],
    [
      'an interval just above its maximum',
      [{ name: 'a', service: 'web', interval: '10m1ms' }],
      `check 'a': \`interval\` is "10m1ms" (longer than 10m); expected ${F}, from 100ms to 10m`,
    ],
    [
      'a 400-digit interval (Infinity to JavaScript)',
      [{ name: 'a', service: 'web', interval: '9'.repeat(400) }],
      `check 'a': \`interval\` is "${'9'.repeat(99)}… (longer than 10m); expected ${F}, from 100ms to 10m`,
    ],
    [
      'a 400-digit timeout in milliseconds',
      [{ name: 'a', service: 'web', timeout: `${'9'.repeat(400)}ms` }],
      `check 'a': \`timeout\` is "${'9'.repeat(99)}… (longer than 5m); expected ${F}, from 100ms to 5m`,
    ],
    [
      'an Infinity interval (YAML .inf)',
      [{ name: 'a', service: 'web', interval: Infinity }],
      `check 'a': \`interval\` is Infinity (not a duration); expected ${F}, from 100ms to 10m`,
    ],
    [
      'an interval of 1e999',
      [{ name: 'a', service: 'web', interval: '1e999' }],
      `check 'a': \`interval\` is "1e999" (not a duration); expected ${F}, from 100ms to 10m`,
    ],
    [
      'a negative timeout',
      [{ name: 'a', service: 'web', timeout: -5 }],
      `check 'a': \`timeout\` is -5 (not a duration); expected ${F}, from 100ms to 5m`,
    ],
    [
      'zero successes',
      [{ name: 'a', service: 'web', successes: 0 }],
      "check 'a': `successes` is 0; expected an integer from 1 to 1000",
    ],
    [
      'successes as text',
      [{ name: 'a', service: 'web', successes: '3' }],
      'check \'a\': `successes` is "3"; expected an integer from 1 to 1000',
    ],
    [
      'negative failures',
      [{ name: 'a', service: 'web', failures: -1 }],
      "check 'a': `failures` is -1; expected an integer from 0 to 1000",
    ],
    [
      'fractional failures',
      [{ name: 'a', service: 'web', failures: 1.5 }],
      "check 'a': `failures` is 1.5; expected an integer from 0 to 1000",
    ],
    [
      'too many failures',
      [{ name: 'a', service: 'web', failures: 1001 }],
      "check 'a': `failures` is 1001; expected an integer from 0 to 1000",
    ],
    [
      'an unknown phase',
      [{ name: 'a', service: 'web', when: 'after' }],
      'check \'a\': `when` is "after"; expected pre-switch, post-switch, both',
    ],
    [
      'a port name with capitals',
      [{ name: 'a', service: 'web', port: 'HTTP' }],
      'check \'a\' `port`: is "HTTP"; expected a port number or a port name',
    ],
    [
      'a port number out of range',
      [{ name: 'a', service: 'web', port: 70000 }],
      "check 'a' `port`: is 70000; expected a port number or a port name",
    ],
    [
      'a quoted port number out of range',
      [{ name: 'a', service: 'web', port: '70000' }],
      'check \'a\' `port`: is "70000"; expected a port number or a port name',
    ],
    [
      'port zero, quoted',
      [{ name: 'a', service: 'web', port: '0' }],
      'check \'a\' `port`: is "0"; expected a port number or a port name',
    ],
    [
      'a relative path',
      [{ name: 'a', service: 'web', path: 'health' }],
      'check \'a\': `path` is "health"; expected an absolute path such as /health',
    ],
    [
      'a path that climbs out',
      [{ name: 'a', service: 'web', path: '/a/../b' }],
      'check \'a\': `path` is "/a/../b"; expected an absolute path such as /health',
    ],
    [
      'a path with a space',
      [{ name: 'a', service: 'web', path: '/a b' }],
      'check \'a\': `path` is "/a b"; expected an absolute path such as /health',
    ],
    [
      'a url that is not http',
      [{ name: 'a', url: 'ftp://x/health' }],
      "check 'a': `url` must be an http:// or https:// address",
    ],
    [
      'a status out of range',
      [{ name: 'a', service: 'web', 'expect-status': 600 }],
      "check 'a': `expect-status` has 600; expected a status such as 200, a class such as 2xx, or a list",
    ],
    [
      'a status word in a list',
      [{ name: 'a', service: 'web', 'expect-status': [200, 'ok'] }],
      'check \'a\': `expect-status` has "ok"; expected a status such as 200, a class such as 2xx, or a list',
    ],
    [
      'an empty expect-body',
      [{ name: 'a', service: 'web', 'expect-body': '' }],
      "check 'a': `expect-body` must be a non-empty string or /regex/",
    ],
    [
      'a prometheus check without bounds',
      [{ name: 'p', prometheus: 'prometheus', query: 'up' }],
      "check 'p': a prometheus check needs `max`, `min` or both",
    ],
    [
      'a prometheus check without a query',
      [{ name: 'p', prometheus: 'prometheus', max: 1 }],
      "check 'p': `query` must be a non-empty string",
    ],
    [
      'a bound that is not a number',
      [{ name: 'p', prometheus: 'prometheus', query: 'up', max: '1' }],
      'check \'p\' `max`: is "1"; expected a number',
    ],
    [
      'a prometheus source of the wrong type',
      [{ name: 'p', prometheus: 9090, query: 'up', max: 1 }],
      "check 'p': `prometheus` must be a URL, a Service name, or {service, port} / {url}",
    ],
    [
      'a prometheus mapping without service or url',
      [{ name: 'p', prometheus: { host: 'prom' }, query: 'up', max: 1 }],
      "check 'p': `prometheus` needs `service` (and `port`) or `url`",
    ],
    [
      'a bad prometheus port',
      [{ name: 'p', prometheus: { service: 'prom', port: 'Web!' }, query: 'up', max: 1 }],
      'check \'p\' `prometheus.port`: is "Web!"; expected a port number or a port name',
    ],
  ])('refuses %s', (_what, value, reason) => {
    expect(reasonFor(value)).toBe(reason);
  });

  it('refuses an expect-body regex that does not compile, saying why', () => {
    expect(reasonFor([{ name: 'a', service: 'web', 'expect-body': '/(/' }])).toMatch(
      /^check 'a': `expect-body` is not a valid regular expression: SyntaxError: /,
    );
  });
});

describe('checksFor', () => {
  it('runs "both" checks in each phase and the others in theirs only', () => {
    const checks = parse(`
- {name: always, service: web}
- {name: before, service: web, when: pre-switch}
- {name: after, service: web, when: post-switch}
`);
    expect(checksFor(checks, 'pre-switch').map((c) => c.name)).toEqual(['always', 'before']);
    expect(checksFor(checks, 'post-switch').map((c) => c.name)).toEqual(['always', 'after']);
  });
});

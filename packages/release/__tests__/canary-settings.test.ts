import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '@dreamscape/kube';
import { load } from 'js-yaml';
import {
  canaryRoutingObject,
  DEFAULT_CANARY_PAUSE_MS,
  expandCanaryQuery,
  parseCanarySettings,
} from '../src/canary-settings.js';

const SERVICES = ['web', 'api'];
const parse = (yaml: string): ReturnType<typeof parseCanarySettings> =>
  parseCanarySettings(load(yaml), SERVICES);
const refusal = (yaml: string): string => {
  try {
    parse(yaml);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('parseCanarySettings', () => {
  it('reads steps with a default pause, per-step pauses, approval, analysis and a tester header', () => {
    const settings = parse(`
router: nginx
steps: [10, {weight: 50, pause: approval}, {weight: 100, pause: 5s}]
failure-limit: 1
header: X-Canary
analysis:
  - name: errors
    prometheus: http://127.0.0.1:9090
    query: sum(rate(http_requests_total{{{ canary }},code=~"5.."}[30s]))
    max: 0.5
`);
    expect(settings.router).toBe('nginx');
    expect(settings.steps).toEqual([
      { weight: 10, pause: { kind: 'duration', ms: DEFAULT_CANARY_PAUSE_MS } },
      { weight: 50, pause: { kind: 'approval' } },
      { weight: 100, pause: { kind: 'duration', ms: 5000 } },
    ]);
    expect(settings.failureLimit).toBe(1);
    expect(settings.header).toBe('X-Canary');
    expect(settings.analysis?.map((c) => c.name)).toEqual(['errors']);
  });

  it.each([
    [
      'weights that do not increase',
      'router: nginx\nsteps: [10, 50, 50, 100]',
      "step 3: weight 50 does not increase on step 2's 50",
    ],
    [
      'a weight above 100',
      'router: nginx\nsteps: [10, 150]',
      'step 2: weight is 150; expected a whole number from 1 to 100',
    ],
    ['a weight of 0', 'router: nginx\nsteps: [0, 100]', 'step 1: weight is 0'],
    [
      'steps that stop short of 100',
      'router: nginx\nsteps: [10, 50]',
      '`steps`: end at 50; the last step is 100',
    ],
    ['no steps', 'router: nginx\nsteps: []', '`steps`: must be a list of weights'],
    [
      'an unknown router',
      'router: istio\nsteps: [100]',
      '`router`: is "istio"; expected nginx, gateway-api, service',
    ],
    [
      'an unknown setting',
      'router: nginx\nsteps: [100]\nmax-weight: 50',
      '`max-weight`: is not a canary setting',
    ],
    ['a pause too short', 'router: nginx\nsteps: [100]\npause: 10ms', '`pause`: is "10ms" (shorter than 1s)'],
    [
      'a pause that is not one',
      'router: nginx\nsteps: [{weight: 100, pause: soon}]',
      'step 1 `pause`: is "soon" (not a duration)',
    ],
    [
      'a failure limit out of range',
      'router: nginx\nsteps: [100]\nfailure-limit: 99',
      '`failure-limit`: is 99',
    ],
    ['a header with spaces', 'router: nginx\nsteps: [100]\nheader: "X Canary"', '`header`: is "X Canary"'],
    [
      'an ingress for another router',
      'router: gateway-api\nsteps: [100]\ningress: web',
      '`ingress`: only the nginx router uses an Ingress',
    ],
    [
      'a query without the canary placeholder',
      'router: nginx\nsteps: [100]\nanalysis:\n  - name: errors\n    prometheus: http://127.0.0.1:9090\n    query: sum(rate(http_requests_total[1m]))\n    max: 1',
      "analysis check 'errors': its query has no {{ canary }}",
    ],
    [
      'an analysis check naming a Service outside the release',
      'router: nginx\nsteps: [100]\nanalysis:\n  - name: smoke\n    service: payments',
      "Service 'payments' is not in the overlay",
    ],
  ])('refuses %s, naming the input and the field', (_what, yaml, reason) => {
    const message = refusal(yaml);
    expect(message).toContain('canary');
    expect(message).toContain(reason);
  });

  it('refuses a document that is not a mapping', () => {
    expect(refusal('[10, 100]')).toContain('the document: is not a mapping');
  });
});

describe('canaryRoutingObject', () => {
  const ingress = (name: string, canary = false): KubeObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, ...(canary ? { annotations: { 'nginx.ingress.kubernetes.io/canary': 'true' } } : {}) },
  });
  const route = (name: string): KubeObject => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name },
  });

  it("finds the overlay's only Ingress, or the one named", () => {
    const nginx = parse('router: nginx\nsteps: [100]');
    expect(canaryRoutingObject(nginx, [ingress('web'), ingress('web-canary', true)])?.metadata.name).toBe(
      'web',
    );
    const named = parse('router: nginx\nsteps: [100]\ningress: b');
    expect(canaryRoutingObject(named, [ingress('a'), ingress('b')])?.metadata.name).toBe('b');
    expect(canaryRoutingObject(parse('router: service\nsteps: [100]'), [])).toBeUndefined();
  });

  it('refuses a router whose object is not in the overlay, saying what the overlay has', () => {
    expect(() => canaryRoutingObject(parse('router: nginx\nsteps: [100]'), [route('web')])).toThrow(
      'the nginx router splits traffic through an Ingress of the overlay, and it has none',
    );
    expect(() =>
      canaryRoutingObject(parse('router: gateway-api\nsteps: [100]\nroute: api'), [route('web')]),
    ).toThrow('the overlay has no HTTPRoute named api (its HTTPRoutes: web)');
    expect(() =>
      canaryRoutingObject(parse('router: nginx\nsteps: [100]'), [ingress('a'), ingress('b')]),
    ).toThrow('the overlay has 2 Ingresses (a, b): name one with `ingress`');
  });
});

describe('expandCanaryQuery', () => {
  it("expands each side's placeholder to its label matchers", () => {
    expect(
      expandCanaryQuery('sum(rate(x{{{ canary }},code="500"}[1m])) / sum(rate(x{{{ stable }}}[1m]))', {
        namespace: 'shop',
        canary: 'green',
        stable: 'blue',
      }),
    ).toBe(
      'sum(rate(x{namespace="shop",color="green",code="500"}[1m])) / sum(rate(x{namespace="shop",color="blue"}[1m]))',
    );
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { CommandError } from '@dreamscape/core';
import {
  KubectlError,
  isKubectlError,
  loggedStatusCode,
  parseKubectlStderr,
  stripKlog,
} from '../src/index.js';

// Every sample is what kubectl 1.32.3 really printed (see fixtures/stderr).
const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/stderr/${name}.txt`, import.meta.url), 'utf8');

describe('parseKubectlStderr on real kubectl output', () => {
  it.each([
    [
      'not-found',
      'NotFound',
      'NotFound',
      404,
      'Error from server (NotFound): deployments.apps "missing" not found',
    ],
    ['forbidden', 'Forbidden', 'Forbidden', 403, undefined],
    [
      'unauthorized',
      'Unauthorized',
      undefined,
      401,
      'error: You must be logged in to the server (Unauthorized)',
    ],
    ['stale-rv', 'Conflict', 'Conflict', 409, undefined],
    [
      'already-exists',
      'AlreadyExists',
      'AlreadyExists',
      409,
      'Error from server (AlreadyExists): error when creating "STDIN": deployments.apps "web" already exists',
    ],
    ['apply-conflict', 'Conflict', undefined, undefined, undefined],
    [
      'invalid',
      'Invalid',
      undefined,
      422,
      'The Deployment "invalid" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ],
    [
      'json-patch-test-failed',
      'Invalid',
      undefined,
      422,
      'The request is invalid: : testing value /spec/selector/dreamscape.io~1color failed: test failed',
    ],
    ['unavailable', 'ServiceUnavailable', 'ServiceUnavailable', 503, undefined],
    ['request-timeout', 'Timeout', undefined, undefined, undefined],
    [
      'connection-refused',
      'Unreachable',
      undefined,
      undefined,
      'The connection to the server 127.0.0.1:18099 was refused - did you specify the right host or port?',
    ],
    ['raw-connection-refused', 'Unreachable', undefined, undefined, undefined],
    [
      'unknown-resource',
      'UnknownResource',
      undefined,
      undefined,
      'error: the server doesn\'t have a resource type "widgets"',
    ],
    [
      'raw-500',
      'InternalError',
      'InternalError',
      500,
      'Error from server (InternalError): an error on the server ("plain body 500") has prevented the request from succeeding',
    ],
    ['raw-502', 'InternalError', 'InternalError', 502, undefined],
    [
      'raw-503',
      'ServiceUnavailable',
      'ServiceUnavailable',
      503,
      'Error from server (ServiceUnavailable): the server is currently unable to handle the request',
    ],
    ['raw-404', 'NotFound', 'NotFound', 404, undefined],
  ] as const)('%s → %s', (name, reason, serverReason, statusCode, message) => {
    const parsed = parseKubectlStderr(fixture(name));
    expect(parsed.reason).toBe(reason);
    expect(parsed.serverReason).toBe(serverReason);
    expect(parsed.statusCode).toBe(statusCode);
    if (message !== undefined) expect(parsed.message).toBe(message);
    expect(parsed.message).not.toMatch(/^[IEWF]\d{4} /m);
  });

  it('collapses the same failure repeated for every object into one line with a count', () => {
    const line = 'Error from server (NotFound): namespaces "dreamscape-dev" not found';
    const parsed = parseKubectlStderr(`${line}\n${line}\n${line}\n`);
    expect(parsed).toMatchObject({ reason: 'NotFound', message: `${line} (3 times)` });
  });

  it('reads the client-side preconditions of kubectl scale', () => {
    expect(parseKubectlStderr('error: Expected resource version to be 1, was 1017\n').reason).toBe(
      'Conflict',
    );
    expect(parseKubectlStderr('error: Expected replicas to be 2, was 3\n').reason).toBe('PreconditionFailed');
  });

  it('keeps the whole multi-line apply conflict advice', () => {
    const parsed = parseKubectlStderr(fixture('apply-conflict'));
    expect(parsed.message).toMatch(
      /^error: Apply failed with 1 conflict: conflict with "kubectl-client-side-apply"/,
    );
    expect(parsed.message).toContain('--force-conflicts');
  });

  it('drops klog lines and the JSON objects they print, keeping the final message', () => {
    expect(stripKlog(fixture('raw-status503'))).toBe(
      'Error from server (ServiceUnavailable): no endpoints available for service "web"',
    );
    expect(stripKlog(fixture('raw-ok'))).toBe('');
  });

  it('reads the status code from the -v=6 request log, in both log formats', () => {
    expect(loggedStatusCode(fixture('raw-502'))).toBe(502);
    expect(loggedStatusCode(fixture('raw-ok'))).toBe(200);
    expect(
      loggedStatusCode(
        'I0101 00:00:00.000000 1 round_trippers.go:632] "Response" verb="GET" url="http://x/y" status="504 Gateway Timeout" milliseconds=3',
      ),
    ).toBe(504);
    expect(loggedStatusCode('error: something')).toBeUndefined();
  });
});

describe('KubectlError', () => {
  const failure = (over: Partial<ConstructorParameters<typeof CommandError>[0]> = {}) =>
    new CommandError({
      tool: '/usr/local/bin/kubectl',
      args: ['get', 'deployments.apps', 'missing', '--kubeconfig=/secret/path'],
      exitCode: 1,
      signal: null,
      stdout: '',
      stderrTail: fixture('not-found'),
      timedOut: false,
      cancelled: false,
      ...over,
    });

  it('says which command failed with kubectl’s message, without the global flags', () => {
    const e = KubectlError.from(failure(), { command: 'kubectl get deployments.apps missing' });
    expect(e.message).toBe(
      'kubectl get deployments.apps missing failed (exit code 1): Error from server (NotFound): deployments.apps "missing" not found',
    );
    expect(e).toBeInstanceOf(CommandError);
    expect(e.reason).toBe('NotFound');
    expect(e.statusCode).toBe(404);
    expect(isKubectlError(e, 'NotFound')).toBe(true);
    expect(isKubectlError(e, 'Conflict')).toBe(false);
  });

  it('a kill by our timeout is Timeout, a cancellation Cancelled, whatever stderr said', () => {
    expect(KubectlError.from(failure({ timedOut: true, exitCode: null })).reason).toBe('Timeout');
    expect(KubectlError.from(failure({ cancelled: true, exitCode: null })).reason).toBe('Cancelled');
  });

  it('gives a hint for reasons a user can act on', () => {
    const e = KubectlError.from(failure({ stderrTail: fixture('unauthorized') }));
    expect(e.reason).toBe('Unauthorized');
    expect(e.describe()).toContain('Hint: The cluster refused the credentials');
  });
});

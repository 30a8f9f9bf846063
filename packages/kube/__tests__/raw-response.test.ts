import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { rawResponseFromFailure } from '../src/index.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/stderr/${name}.txt`, import.meta.url), 'utf8');

describe('rawResponseFromFailure (real kubectl get --raw -v=6 output)', () => {
  it.each([
    ['raw-500', 500, 'plain body 500', 'InternalError'],
    ['raw-502', 502, 'plain body 502', 'InternalError'],
    ['raw-503', 503, 'plain body 503', 'ServiceUnavailable'],
    ['raw-404', 404, 'plain body 404', 'NotFound'],
    ['raw-status503', 503, 'no endpoints available for service "web"', 'ServiceUnavailable'],
  ])('%s → %d %s', (name, status, body, reason) => {
    expect(rawResponseFromFailure(fixture(name))).toEqual({ ok: false, status, body, reason });
  });

  it('no answer at all has no status', () => {
    const r = rawResponseFromFailure(fixture('raw-connection-refused'));
    expect(r.status).toBeUndefined();
    expect(r.reason).toBe('Unreachable');
    expect(r.body).toContain('was refused');
  });
});

import { describe, expect, it } from '@jest/globals';
import type { Clock } from '@dreamscape/core';
import {
  AuthorizationCache,
  basicAuthorization,
  parseTokenResponse,
  parseWwwAuthenticate,
  repositoryScope,
} from '../src/index.js';

describe('parseWwwAuthenticate', () => {
  it('reads the GHCR Bearer challenge', () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:octo-org/app:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:octo-org/app:pull' },
      },
    ]);
  });

  it('reads a Basic challenge', () => {
    expect(parseWwwAuthenticate('Basic realm="Registry Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
  });

  it('keeps commas and escaped quotes inside quoted values, and splits several challenges', () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.example/token",scope="repository:a:pull,push", error="insufficient_scope", Basic realm="say \\"hi\\""',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          scope: 'repository:a:pull,push',
          error: 'insufficient_scope',
        },
      },
      { scheme: 'basic', params: { realm: 'say "hi"' } },
    ]);
  });

  it('accepts unquoted values, odd spacing and case', () => {
    expect(parseWwwAuthenticate('BEARER  Realm = https://r/token ,  Service=reg')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://r/token', service: 'reg' } },
    ]);
  });

  it('survives junk without looping', () => {
    expect(parseWwwAuthenticate('')).toEqual([]);
    // A token68 credential (`abc==`) is not a parameter list; what matters is the challenge after it.
    const challenges = parseWwwAuthenticate('Negotiate abc==, Basic realm="x"');
    expect(challenges.map((c) => c.scheme)).toEqual(['negotiate', 'basic']);
    expect(challenges[1]?.params).toEqual({ realm: 'x' });
    expect(parseWwwAuthenticate('=,=,"')).toEqual([]);
  });
});

describe('token responses and Basic values', () => {
  it('reads token or access_token and the lifetime', () => {
    expect(parseTokenResponse('{"token":"t1","expires_in":300}')).toEqual({
      token: 't1',
      expiresInSeconds: 300,
    });
    expect(parseTokenResponse('{"access_token":"t2"}')).toEqual({ token: 't2', expiresInSeconds: 60 });
    expect(parseTokenResponse('{"token":""}')).toBeUndefined();
    expect(parseTokenResponse('not json')).toBeUndefined();
  });

  it('encodes Basic credentials and scopes', () => {
    expect(basicAuthorization({ username: 'alice', password: 'p:w' })).toBe(
      `Basic ${Buffer.from('alice:p:w').toString('base64')}`,
    );
    expect(repositoryScope('octo-org/app')).toBe('repository:octo-org/app:pull');
    expect(repositoryScope('octo-org/app', ['pull', 'push'])).toBe('repository:octo-org/app:pull,push');
  });
});

describe('AuthorizationCache', () => {
  it('keeps a token per scope until shortly before it expires', () => {
    let now = 0;
    const clock: Clock = { now: () => now, sleep: () => Promise.resolve() };
    const cache = new AuthorizationCache(clock);
    cache.setBearer('ghcr.io', 'repository:a:pull', 'tok-a', 60);
    expect(cache.get('ghcr.io', 'repository:a:pull')).toBe('Bearer tok-a');
    expect(cache.get('ghcr.io', 'repository:b:pull')).toBeUndefined();
    expect(cache.get('other.io', 'repository:a:pull')).toBeUndefined();
    now = 49_999;
    expect(cache.get('ghcr.io', 'repository:a:pull')).toBe('Bearer tok-a');
    now = 50_000;
    expect(cache.get('ghcr.io', 'repository:a:pull')).toBeUndefined();
  });

  it('uses Basic credentials for every scope of a registry until forgotten', () => {
    const cache = new AuthorizationCache({ now: () => 0, sleep: () => Promise.resolve() });
    cache.setBasic('reg', 'Basic abc');
    expect(cache.get('reg', 'repository:x:pull')).toBe('Basic abc');
    cache.forget('reg', 'repository:x:pull');
    expect(cache.get('reg', 'repository:y:pull')).toBeUndefined();
  });
});

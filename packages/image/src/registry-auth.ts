import type { Clock } from '@dreamscape/core';

/**
 * Registry authentication as the distribution spec describes it: a request without (or with stale)
 * credentials gets `401` and a `WWW-Authenticate` challenge, either `Basic realm="..."` (send
 * `user:password`) or `Bearer realm="...",service="...",scope="..."` (get a token from the realm,
 * anonymously or with Basic credentials, then send `Authorization: Bearer <token>`). GHCR uses the
 * Bearer flow, with `service=ghcr.io` and scopes like `repository:owner/app:pull`.
 */

/** A username and password (or token) for one registry. Same shape as the builders' credentials. */
export interface RegistryLogin {
  /** `ghcr.io`, `127.0.0.1:5000`, ... as in image references. */
  readonly registry: string;
  readonly username: string;
  readonly password: string;
}

/** One challenge of a `WWW-Authenticate` header. */
export interface AuthChallenge {
  /** Lowercased: `basic`, `bearer`, ... */
  readonly scheme: string;
  /** Parameters with lowercased names: `realm`, `service`, `scope`, `error`, ... */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;

/**
 * Parses a `WWW-Authenticate` header (RFC 9110 §11.6.1) into its challenges, in order. Quoted values
 * may contain commas and escaped quotes. Unparseable trailing text is ignored rather than fatal:
 * the caller decides what to do when no usable challenge is found.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let pos = 0;
  const skip = (chars: RegExp): void => {
    while (pos < header.length && chars.test(header.charAt(pos))) pos++;
  };
  const token = (): string | undefined => {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(header);
    if (m === null) return undefined;
    pos = TOKEN.lastIndex;
    return m[0];
  };
  // Lenient: an unquoted value runs to the next comma or space, so `realm=https://r/token` works
  // although ':' and '/' are not token characters.
  const bare = (): string => {
    const start = pos;
    while (pos < header.length && !/[\s,]/.test(header.charAt(pos))) pos++;
    return header.slice(start, pos);
  };
  const quoted = (): string => {
    let value = '';
    pos++;
    while (pos < header.length && header.charAt(pos) !== '"') {
      if (header.charAt(pos) === '\\' && pos + 1 < header.length) pos++;
      value += header.charAt(pos);
      pos++;
    }
    pos++;
    return value;
  };

  while (pos < header.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (scheme === undefined) {
      pos++; // not a token (stray '=' of a token68 value, ...): step over it
      continue;
    }
    const params: Record<string, string> = {};
    skip(/\s/);
    for (;;) {
      const start = pos;
      const name = token();
      skip(/\s/);
      if (name === undefined || header.charAt(pos) !== '=') {
        pos = start; // the next challenge's scheme, or nothing
        break;
      }
      pos++;
      skip(/\s/);
      params[name.toLowerCase()] = header.charAt(pos) === '"' ? quoted() : bare();
      skip(/\s/);
      if (header.charAt(pos) !== ',') break;
      // After a comma comes either another parameter (`name=`) or the next challenge.
      const comma = pos;
      pos++;
      skip(/[\s,]/);
      const next = token();
      skip(/\s/);
      const isParam = next !== undefined && header.charAt(pos) === '=';
      pos = comma + 1;
      skip(/[\s,]/);
      if (!isParam) break;
    }
    challenges.push({ scheme: scheme.toLowerCase(), params });
  }
  return challenges;
}

/** The `Authorization` value for Basic credentials. */
export function basicAuthorization(login: Pick<RegistryLogin, 'username' | 'password'>): string {
  return `Basic ${Buffer.from(`${login.username}:${login.password}`, 'utf8').toString('base64')}`;
}

/** `repository:<name>:<actions>` */
export function repositoryScope(repository: string, actions: readonly string[] = ['pull']): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/** The `token` endpoint's answer, as the distribution token spec defines it. */
export interface TokenResponse {
  readonly token: string;
  /** Seconds; the spec's default is 60. */
  readonly expiresInSeconds: number;
}

/** Reads a token endpoint's JSON (`token` or `access_token`, `expires_in`); undefined when unusable. */
export function parseTokenResponse(body: string): TokenResponse | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const record = json as Record<string, unknown>;
  const token =
    typeof record.token === 'string' && record.token !== ''
      ? record.token
      : typeof record.access_token === 'string'
        ? record.access_token
        : '';
  if (token === '') return undefined;
  const expires = typeof record.expires_in === 'number' && record.expires_in > 0 ? record.expires_in : 60;
  return { token, expiresInSeconds: expires };
}

/**
 * `Authorization` values cached per registry and scope. Bearer tokens expire (kept until 10 s before
 * their `expires_in`); a Basic value is kept for the registry as a whole, for every scope.
 */
export class AuthorizationCache {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();

  constructor(private readonly clock: Clock) {}

  /** The value to send for `scope` on `registry`, if one is known and fresh. */
  get(registry: string, scope: string): string | undefined {
    for (const key of [`${registry}|${scope}`, `${registry}|*`]) {
      const entry = this.entries.get(key);
      if (entry === undefined) continue;
      if (entry.expiresAt > this.clock.now()) return entry.value;
      this.entries.delete(key);
    }
    return undefined;
  }

  /** Remembers a Bearer token for one scope. */
  setBearer(registry: string, scope: string, token: string, expiresInSeconds: number): void {
    const lifetime = Math.max(1, expiresInSeconds - 10) * 1000;
    this.entries.set(`${registry}|${scope}`, {
      value: `Bearer ${token}`,
      expiresAt: this.clock.now() + lifetime,
    });
  }

  /** Remembers Basic credentials for every scope of a registry. */
  setBasic(registry: string, value: string): void {
    this.entries.set(`${registry}|*`, { value, expiresAt: Number.POSITIVE_INFINITY });
  }

  /** Forgets what is cached for a scope (after the registry refused it). */
  forget(registry: string, scope: string): void {
    this.entries.delete(`${registry}|${scope}`);
    this.entries.delete(`${registry}|*`);
  }
}

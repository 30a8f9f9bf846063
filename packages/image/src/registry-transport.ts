import { InputError, readList, type InputSource } from '@dreamscape/core';

/**
 * How registries are reached, the way Docker does it: https first, always. Plain http is a fallback,
 * tried only when https gets no TLS answer at all, and only for a loopback registry (a runner's own
 * registry or mirror) or one the user lists as insecure. A listed registry is also reached over
 * https without verifying its certificate. Everything else is https with a verified certificate,
 * and credentials never travel over plain http to a registry off this machine.
 */

/** The scheme a registry's API is reached with. */
export type RegistryScheme = 'http' | 'https';

/** How a client reached a registry, and so how a builder must reach it. */
export interface RegistryTransport {
  readonly registry: string;
  readonly scheme: RegistryScheme;
  /** False for a registry listed as insecure: its certificate is not checked. */
  readonly verifyTls: boolean;
}

const HOST_PORT =
  /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:[0-9]{1,5})?$/;

/** The host of `host[:port]` or `[v6]:port`, lower-cased. */
function hostOf(registry: string): string {
  const lower = registry.toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1);
  return lower.split(':')[0] ?? '';
}

/** `localhost`, `127.x.x.x` or `[::1]`, with or without a port: a registry on this machine. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = hostOf(registry);
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Whether `registry` is in `insecure` (host and port compared without regard to case). */
export function isListedInsecure(registry: string, insecure: readonly string[]): boolean {
  const wanted = registry.toLowerCase();
  return insecure.some((r) => r.toLowerCase() === wanted);
}

/** Whether plain http may be tried for `registry` after https got no TLS answer. */
export function mayFallBackToHttp(registry: string, insecure: readonly string[]): boolean {
  return isLoopbackRegistry(registry) || isListedInsecure(registry, insecure);
}

/**
 * The `insecure-registries` input (or another of that shape): registry hosts with an optional
 * port, one per line or comma-separated, lower-cased. A scheme, a path or a CIDR range is refused
 * with the input's name, since the builders take hosts only.
 */
export function readInsecureRegistries(src: InputSource, name = 'insecure-registries'): string[] {
  const accepted = 'registry hosts with an optional port, such as registry.internal:5000 or 10.0.0.5:5000';
  const hosts: string[] = [];
  for (const item of readList(src, name)) {
    const value = item.toLowerCase();
    if (/^[a-z]+:\/\//.test(value))
      throw new InputError(name, item, accepted, { reason: 'give the host without http:// or https://' });
    if (value.includes('/'))
      throw new InputError(name, item, accepted, { reason: 'no path and no CIDR range, only a host' });
    if (!HOST_PORT.test(value)) throw new InputError(name, item, accepted);
    if (!hosts.includes(value)) hosts.push(value);
  }
  return hosts;
}

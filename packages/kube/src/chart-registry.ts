import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ActionError, CommandError, type Logger } from '@dreamscape/core';
import { isLoopbackHost, type OciChart } from './chart-source.js';
import type { HelmCli } from './helm-cli.js';

/** Credentials for the chart's registry; the password goes to helm on stdin only. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** What helm prints when it spoke TLS to a registry that answers plain HTTP. */
const PLAIN_HTTP_ANSWER = /server gave HTTP response to HTTPS client/i;

/** How a registry refused, from helm's words. */
type Refusal = 'unauthorized' | 'denied' | 'not-found' | 'https-to-loopback' | 'plain-http' | 'tls' | 'other';

function refusalOf(stderr: string, loopback: boolean): Refusal {
  const s = stderr.toLowerCase();
  if (
    /\b401\b|unauthorized|authentication required|no basic auth credentials|incorrect username or password|invalid username\/password/.test(
      s,
    )
  )
    return 'unauthorized';
  if (/\b403\b|denied|forbidden/.test(s)) return 'denied';
  if (/\b404\b|not found|manifest unknown|name unknown/.test(s)) return 'not-found';
  // helm v3.17 speaks plain HTTP to a loopback registry; one that serves HTTPS answers 400.
  if (loopback && /http:\/\/\S+/.test(s) && /400 bad request/.test(s)) return 'https-to-loopback';
  if (PLAIN_HTTP_ANSWER.test(s)) return 'plain-http';
  if (/x509|certificate|tls:/.test(s)) return 'tls';
  return 'other';
}

/**
 * Logs in when credentials are given and pulls the chart once into `destination` (a fresh
 * directory), returning the archive's path: the metadata and the render then read the same bytes,
 * even if the tag moves meanwhile. Every helm command runs with the private home of `cli`, so
 * the login lands in a registry configuration that is removed with it.
 *
 * A registry on a loopback address that answers plain HTTP where TLS was spoken ("server gave
 * HTTP response to HTTPS client") is tried once more with `--plain-http` (helm from v3.18 speaks
 * TLS to every host unless told); helm v3.17 already speaks plain HTTP to loopback registries
 * unasked. No other host is ever reached without TLS. Extra CAs come from the environment helm
 * inherits (`SSL_CERT_FILE`, `SSL_CERT_DIR`), as for any Go program.
 */
export async function pullOciChart(options: {
  readonly cli: HelmCli;
  readonly chart: OciChart;
  readonly version: string;
  readonly credentials: RegistryCredentials | undefined;
  readonly destination: string;
  readonly logger?: Logger | undefined;
}): Promise<string> {
  const { cli, chart, version, credentials } = options;
  const loopback = isLoopbackHost(chart.hostname);
  let plainHttp = false;
  /** Runs a registry command, once more with --plain-http when a loopback registry asks for it. */
  const registryRun = async (args: readonly string[], stdin?: string): Promise<void> => {
    const run = (): Promise<unknown> =>
      cli.run([...args, ...(plainHttp ? ['--plain-http'] : [])], stdin === undefined ? {} : { stdin });
    try {
      await run();
    } catch (error) {
      if (!(error instanceof CommandError) || !loopback || plainHttp) throw error;
      if (!PLAIN_HTTP_ANSWER.test(error.stderrTail)) throw error;
      options.logger?.info(
        `The registry ${chart.registry} on a loopback address answers plain HTTP: trying again with --plain-http.`,
      );
      plainHttp = true;
      await run();
    }
  };

  if (credentials !== undefined) {
    try {
      await registryRun(
        ['registry', 'login', chart.registry, `--username=${credentials.username}`, '--password-stdin'],
        credentials.password,
      );
    } catch (error) {
      throw registryError(
        cli,
        error,
        chart,
        loopback,
        `Logging in to the registry ${chart.registry} as ${credentials.username} failed`,
        true,
      );
    }
  }
  mkdirSync(options.destination, { recursive: true });
  try {
    await registryRun([
      'pull',
      chart.reference,
      `--version=${version}`,
      `--destination=${options.destination}`,
    ]);
  } catch (error) {
    throw registryError(
      cli,
      error,
      chart,
      loopback,
      `Pulling the chart ${chart.reference} version ${version} from the registry ${chart.registry} failed`,
      credentials !== undefined,
    );
  }
  const archives = readdirSync(options.destination).filter((f) => f.endsWith('.tgz'));
  const archive = archives[0];
  if (archive === undefined || archives.length > 1)
    throw new Error(`helm pull left ${archives.length} archives in ${options.destination}, expected 1`);
  return join(options.destination, archive);
}

function registryError(
  cli: HelmCli,
  error: unknown,
  chart: OciChart,
  loopback: boolean,
  what: string,
  withCredentials: boolean,
): unknown {
  if (!(error instanceof CommandError) || error.cancelled) return error;
  const said = cli.failure(error);
  const host = chart.registry;
  const hints: Record<Refusal, string> = {
    unauthorized: withCredentials
      ? `The registry ${host} refused the credentials (unauthorized): check the registry username and password (a token with read access to the chart).`
      : `The registry ${host} needs credentials (unauthorized): give the registry username and password.`,
    denied: `The registry ${host} denied access to the chart (or it does not exist there): check that the credentials may read ${chart.reference}.`,
    'not-found': `The registry ${host} has no chart ${chart.reference} at that version (not found): check chart and chart-version (helm push prints both).`,
    'https-to-loopback': `helm v3.17 reaches a registry on a loopback address (localhost, 127.0.0.1, ::1) over plain HTTP; ${host} answered 400, as a registry serving HTTPS does. Serve that registry over plain HTTP, or reach it by a name that is not a loopback address.`,
    'plain-http': `The registry ${host} answers plain HTTP; charts are pulled over TLS from every registry that is not on a loopback address.`,
    tls: `helm does not trust the certificate of ${host}: add its CA to the runner's trust store, or point SSL_CERT_FILE at a bundle that holds it.`,
    other: `Check that the registry ${host} is reachable from the runner and serves ${chart.reference}.`,
  };
  return new ActionError(`${what}: ${said}`, {
    cause: error,
    hint: hints[refusalOf(said, loopback)],
  });
}

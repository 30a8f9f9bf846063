import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ActionError, type CommandRunner, type HttpClient, type Logger } from '@dreamscape/core';
import { Kubectl } from './kubectl.js';
import { KubeApiError, ProxyApi } from './proxy-api.js';

/** Options of {@link openClusterSession}. */
export interface ClusterSessionOptions {
  readonly runner: CommandRunner;
  readonly http: HttpClient;
  readonly logger: Logger;
  /** The kubeconfig to use; undefined: kubectl's default (`KUBECONFIG`, then `~/.kube/config`). */
  readonly kubeconfig: string | undefined;
  /** The run's temporary directory: kubectl's discovery cache and private HOME go below it. */
  readonly tempDir: string;
  /** The field manager every write is made under. */
  readonly fieldManager: string;
}

/**
 * kubectl for what only kubectl does (kustomize, rollout, diff), and the API client every read and
 * write of the run goes through, over one `kubectl proxy` carrying kubectl's own credentials.
 */
export interface ClusterSession {
  readonly kubectl: Kubectl;
  readonly api: ProxyApi;
  /** `http://127.0.0.1:PORT` of the proxy: health checks reach Services through it. */
  readonly proxyBaseUrl: string;
}

/** Which kubeconfig a run uses, in the words its errors use. */
export function kubeconfigSource(kubeconfig: string | undefined): string {
  return kubeconfig === undefined ? 'the default kubeconfig' : `the kubeconfig ${kubeconfig}`;
}

/**
 * Whether kubectl has credentials to use: the given kubeconfig (the input, or KUBECONFIG), or
 * `~/.kube/config`. A pull request from a fork, say, has none.
 */
export function hasKubeconfig(kubeconfig: string | undefined): boolean {
  return kubeconfig !== undefined || existsSync(join(homedir(), '.kube', 'config'));
}

/** The kubectl driver of a run, without a proxy (rendering, and plans made with no cluster). */
export function runKubectl(options: Omit<ClusterSessionOptions, 'http'>): Kubectl {
  return new Kubectl({
    runner: options.runner,
    logger: options.logger,
    ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
    cacheDir: join(options.tempDir, 'kubectl'),
    fieldManager: options.fieldManager,
  });
}

/**
 * Checks the kubectl's version (`Kubectl.requireSupportedVersion`), starts one `kubectl proxy`, runs `body` with the session, and stops the proxy however `body` ends:
 * a run's API calls take milliseconds each, not a kubectl process per call. An API server that cannot
 * be reached (kubectl proxy answers 502/503 with no Status body) becomes an error naming the
 * kubeconfig.
 */
export async function withClusterSession<T>(
  options: ClusterSessionOptions & { readonly kubectl?: Kubectl },
  body: (session: ClusterSession) => Promise<T>,
): Promise<T> {
  const kubectl = options.kubectl ?? runKubectl(options);
  // Before the first cluster call: an unsupported kubectl is refused before anything is read or written.
  await kubectl.requireSupportedVersion();
  const proxy = await kubectl.startProxy();
  try {
    const api = new ProxyApi({
      baseUrl: proxy.baseUrl,
      http: options.http,
      logger: options.logger,
      fieldManager: options.fieldManager,
    });
    return await body({ kubectl, api, proxyBaseUrl: proxy.baseUrl });
  } catch (error) {
    throw unreachableCluster(error, options.kubeconfig);
  } finally {
    await proxy.close();
  }
}

/**
 * kubectl proxy answers 502/503 without a Status body when the API server cannot be reached, and 500
 * with the dial error as its body when nothing listens there any more (an API server gone mid-run).
 */
export function unreachableCluster(error: unknown, kubeconfig: string | undefined): unknown {
  if (
    error instanceof KubeApiError &&
    (error.reason === 'HTTP502' ||
      error.reason === 'HTTP503' ||
      (error.reason === 'HTTP500' && /\bdial tcp\b|connection refused|no such host/.test(error.message)))
  )
    return new ActionError(
      `The cluster could not be reached with ${kubeconfigSource(kubeconfig)}: ${error.message}`,
      {
        hint: 'Check the `kubeconfig` input (or KUBECONFIG) and that the API server is reachable from the runner.',
        cause: error,
      },
    );
  return error;
}

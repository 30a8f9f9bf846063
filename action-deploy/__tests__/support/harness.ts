import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKubeDouble, type BehaviourEntry, type KubeDouble } from '@dreamscape/kube-double';
import {
  pathWithPinnedKubectl,
  runActionBundle,
  type ActionRunOptions,
  type ActionRunResult,
} from '@dreamscape/testkit';

export const actionDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const repoRoot = join(actionDir, '..');
export const OVERLAYS = 'examples/dreamscape/k8s/overlays';
export const SERVICES = ['gateway', 'auth', 'user', 'voyage', 'payment', 'ai', 'panorama'] as const;

/** A digest per service and version, so every version is a different image. */
export function digest(service: string, version: string): string {
  return `sha256:${Buffer.from(`${service}@${version}`).toString('hex').padEnd(64, 'a').slice(0, 64)}`;
}

/** The `images` input as action-build's build records would give it. */
export function buildRecords(version: string, services: readonly string[] = SERVICES): string {
  return JSON.stringify(
    Object.fromEntries(
      services.map((s) => [
        s,
        {
          image: `ghcr.io/dreamscape/${s}@${digest(s, version)}`,
          digest: digest(s, version),
          tags: [],
          platforms: [],
          labels: {},
          builder: 'buildah',
          revision: version,
        },
      ]),
    ),
  );
}

/** Health checks of every service's /health through the preview and live Services. */
export function healthChecks(services: readonly string[] = SERVICES, extra = ''): string {
  return (
    services
      .map(
        (s) =>
          `- name: ${s}\n  service: ${s}\n  port: http\n  path: /health\n  interval: 200ms\n  successes: 2`,
      )
      .join('\n') + extra
  );
}

/** A double with the namespaces the example overlays use, and the pinned kubectl on PATH. */
export async function startCluster(
  behaviours: BehaviourEntry[] = [{ image: '*', ready: '1s' }],
): Promise<{ double: KubeDouble; path: string }> {
  const double = await startKubeDouble({ behaviours, namespaces: [] });
  return { double, path: await pathWithPinnedKubectl() };
}

/** Runs action-deploy's bundle as the runner would. */
export function deploy(
  cluster: { double: KubeDouble; path: string },
  inputs: Record<string, string>,
  options: Partial<ActionRunOptions> & { runId?: string } = {},
): Promise<ActionRunResult> {
  return runActionBundle(actionDir, {
    ...options,
    inputs: {
      environment: 'dev',
      app: 'dreamscape',
      overlay: `${OVERLAYS}/dev`,
      'verify-window': '1s',
      'rollout-timeout': '30s',
      'lock-timeout': '10s',
      ...inputs,
    },
    env: {
      GITHUB_WORKSPACE: repoRoot,
      GITHUB_REPOSITORY: 'dreamscape/platform',
      GITHUB_SHA: 'c0ffee0000000000000000000000000000000000',
      GITHUB_RUN_ID: options.runId ?? '100',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_ACTOR: 'octocat',
      KUBECONFIG: cluster.double.kubeconfigPath,
      PATH: cluster.path,
      ...(options.env ?? {}),
    },
    timeoutMs: options.timeoutMs ?? 180_000,
  });
}

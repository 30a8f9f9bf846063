import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FetchHttpClient, MemoryLogger, ProcessCommandRunner, systemClock } from '@dreamscape/core';
import { Kubectl, ProxyApi, type KubectlProxy } from '@dreamscape/kube';
import { startKubeDouble, type BehaviourEntry, type KubeDouble } from '@dreamscape/kube-double';
import { resolveKubectl } from '@dreamscape/testkit';

/** A kube-double with the real kubectl, a running proxy and an API client over it. */
export interface TestCluster {
  readonly double: KubeDouble;
  readonly kubectl: Kubectl;
  readonly proxy: KubectlProxy;
  readonly api: ProxyApi;
  readonly logger: MemoryLogger;
  readonly http: FetchHttpClient;
  close(): Promise<void>;
}

export async function startTestCluster(
  options: { namespaces?: string[]; behaviours?: BehaviourEntry[]; timeScale?: number } = {},
): Promise<TestCluster> {
  const kubectlPath = await resolveKubectl();
  const double = await startKubeDouble({
    namespaces: options.namespaces ?? ['shop'],
    behaviours: options.behaviours ?? [{ image: '*', ready: '1s' }],
    timeScale: options.timeScale ?? 1,
  });
  const logger = new MemoryLogger();
  const kubectl = new Kubectl({
    runner: new ProcessCommandRunner({ logger }),
    logger,
    kubectlPath,
    kubeconfig: double.kubeconfigPath,
    cacheDir: mkdtempSync(join(tmpdir(), 'ds-release-kubectl-')),
  });
  const proxy = await kubectl.startProxy();
  const http = new FetchHttpClient();
  const api = new ProxyApi({ baseUrl: proxy.baseUrl, http, logger });
  return {
    double,
    kubectl,
    proxy,
    api,
    logger,
    http,
    close: async () => {
      await proxy.close();
      await double.close();
    },
  };
}

export const clock = systemClock;

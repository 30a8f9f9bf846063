import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActionError, FetchHttpClient, MemoryLogger, ProcessCommandRunner } from '@dreamscape/core';
import { startKubeDouble, type KubeDouble } from '@dreamscape/kube-double';
import { resolveKubectl } from '@dreamscape/testkit';
import {
  hasKubeconfig,
  KubeApiError,
  Kubectl,
  kubeconfigSource,
  unreachableCluster,
  withClusterSession,
  type ConfigMap,
} from '../src/index.js';

let double: KubeDouble;
let kubectlPath: string;

beforeAll(async () => {
  kubectlPath = await resolveKubectl();
  double = await startKubeDouble({ namespaces: ['session'] });
});
afterAll(async () => {
  await double.close();
});

function options(logger: MemoryLogger, kubeconfig: string): Parameters<typeof withClusterSession>[0] {
  const runner = new ProcessCommandRunner({ logger });
  const tempDir = mkdtempSync(join(tmpdir(), 'cluster-session-'));
  return {
    runner,
    http: new FetchHttpClient(),
    logger,
    kubeconfig,
    tempDir,
    fieldManager: 'dreamscape',
    kubectl: new Kubectl({ runner, logger, kubectlPath, kubeconfig, cacheDir: join(tempDir, 'kubectl') }),
  };
}

describe('withClusterSession', () => {
  it('carries reads and writes over one kubectl proxy, under the field manager, and stops the proxy after', async () => {
    const logger = new MemoryLogger();
    let proxyBaseUrl = '';
    const name = await withClusterSession(options(logger, double.kubeconfigPath), async (session) => {
      proxyBaseUrl = session.proxyBaseUrl;
      expect(session.proxyBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await session.api.applyServerSide([
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'settings', namespace: 'session' },
          data: { a: '1' },
        },
      ]);
      const read = await session.api.get<ConfigMap>({
        kind: 'ConfigMap',
        name: 'settings',
        namespace: 'session',
      });
      const fields = (read?.metadata as { managedFields?: { manager: string }[] } | undefined)?.managedFields;
      return fields?.map((f) => f.manager);
    });
    expect(name).toEqual(['dreamscape']);
    await expect(fetch(`${proxyBaseUrl}/api`)).rejects.toThrow();
  }, 60_000);

  it('names the kubeconfig when the API server cannot be reached', async () => {
    const other = await startKubeDouble({ namespaces: ['gone'] });
    const error = await withClusterSession(
      options(new MemoryLogger(), other.kubeconfigPath),
      async (session) => {
        await other.close();
        return session.api.list('configmaps', { namespace: 'gone' });
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect((error as ActionError).message).toMatch(
      new RegExp(`^The cluster could not be reached with the kubeconfig ${other.kubeconfigPath}: `),
    );
    expect((error as ActionError).cause).toBeInstanceOf(KubeApiError);
  }, 60_000);
});

describe('unreachableCluster', () => {
  it('leaves every other error as it is', () => {
    const notFound = new KubeApiError(
      'GET',
      '/api/v1/namespaces/x',
      404,
      'NotFound',
      'namespaces "x" not found',
    );
    expect(unreachableCluster(notFound, undefined)).toBe(notFound);
    const plain = new Error('boom');
    expect(unreachableCluster(plain, undefined)).toBe(plain);
  });

  it('says which kubeconfig was used', () => {
    const bad = new KubeApiError('GET', '/version', 502, 'HTTP502', 'Bad Gateway');
    expect((unreachableCluster(bad, undefined) as Error).message).toMatch(/with the default kubeconfig: /);
    expect(kubeconfigSource('/k/config')).toBe('the kubeconfig /k/config');
    expect(hasKubeconfig('/k/config')).toBe(true);
  });
});

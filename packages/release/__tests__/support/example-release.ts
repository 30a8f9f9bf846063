import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseYamlText, ProcessCommandRunner } from '@dreamscape/core';
import type { ImagePin } from '@dreamscape/kube';
import { digest, OVERLAYS, repoRoot, SERVICES } from '@dreamscape/testkit';
import {
  executeRelease,
  parseHealthChecks,
  preflightRelease,
  renderRelease,
  settleRelease,
  type DeploySource,
  type ReleaseOutcome,
} from '../../src/index.js';
import type { TestCluster } from './cluster.js';

/** The example's pins at a version: every service, or the ones named. */
export function examplePins(version: string, services: readonly string[] = SERVICES): ImagePin[] {
  return services.map((s) => ({ name: `ghcr.io/dreamscape/${s}`, digest: digest(s, version) }));
}

/** The example's dev overlay as a deploy source. */
export function exampleSource(images: readonly ImagePin[]): DeploySource {
  return {
    overlay: join(repoRoot, OVERLAYS, 'dev'),
    images,
    app: 'dreamscape',
    environment: 'dev',
    namespace: undefined,
    renderer: 'kubectl',
    workspace: repoRoot,
    allowRemoteHosts: [],
    allowClusterObjects: [],
  };
}

export const CHECKS_TEXT = SERVICES.map(
  (s) =>
    `- name: ${s}\n  service: ${s}\n  port: http\n  path: /health\n  interval: 200ms\n  timeout: 30s\n  successes: 2`,
).join('\n');

/** Renders, settles, preflights and releases the example as action-deploy does, without the bundle. */
export async function deployExample(
  cluster: TestCluster,
  images: readonly ImagePin[],
  strategy: 'blue-green' | 'rolling' = 'blue-green',
): Promise<ReleaseOutcome> {
  const { api, kubectl, logger, http } = cluster;
  const tools = {
    kubectl,
    runner: new ProcessCommandRunner({ logger }),
    logger,
    tempDir: mkdtempSync(join(tmpdir(), 'ds-use-case-')),
  };
  const source = exampleSource(images);
  const release = await settleRelease(await renderRelease(source, tools), source, {
    ...tools,
    api,
    mode: 'deploy',
  });
  const checked = await preflightRelease({
    api,
    logger,
    release,
    strategy,
    mode: 'deploy',
    kubeconfigSource: 'the test kubeconfig',
  });
  return executeRelease(
    { ...release, plan: checked.plan },
    {
      strategy,
      previous: 'keep',
      checks: parseHealthChecks(
        parseYamlText(CHECKS_TEXT, 'checks'),
        release.plan.services.map((s) => s.name),
      ),
      checksText: CHECKS_TEXT,
      rolloutTimeoutMs: 60_000,
      verifyWindowMs: 500,
      lockWaitMs: 10_000,
      lockTtlMs: 30_000,
    },
    {
      api,
      kubectl,
      http,
      proxyBaseUrl: cluster.proxy.baseUrl,
      logger,
      run: { holderId: 'dreamscape/platform#1', sha: 'c0ffee', runId: '1', runUrl: '', actor: 'octocat' },
    },
  );
}

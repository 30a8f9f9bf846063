import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActionError, ProcessCommandRunner } from '@dreamscape/core';
import type { Deployment } from '@dreamscape/kube';
import { digest, realWrites, SERVICES } from '@dreamscape/testkit';
import {
  ingressUrl,
  preflightRelease,
  renderRelease,
  settleRelease,
  type RenderTools,
} from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { deployExample, examplePins, exampleSource } from './support/example-release.js';

// The deploy use cases action-deploy's main calls, run in process against the API double with the
// real kubectl: render, settle on the cluster, preflight, release.

let cluster: TestCluster;
let tools: RenderTools;
beforeAll(async () => {
  cluster = await startTestCluster({
    namespaces: [],
    behaviours: [{ image: '*', ready: '200ms', http: { '/health': { status: 200, body: 'ok' } } }],
  });
  tools = {
    kubectl: cluster.kubectl,
    runner: new ProcessCommandRunner({ logger: cluster.logger }),
    logger: cluster.logger,
    tempDir: mkdtempSync(join(tmpdir(), 'ds-deploy-release-')),
  };
}, 60_000);
afterAll(async () => {
  await cluster.close();
});

function liveImage(service: string, color: string): string | undefined {
  const d = cluster.double
    .objects('deployments', 'dreamscape-dev')
    .find((o) => (o as Deployment).metadata.name === `${service}-${color}`) as Deployment | undefined;
  return d?.spec?.template?.spec?.containers?.[0]?.image;
}

describe('the deploy use cases', () => {
  it('renderRelease pins the images and plans every Service of the overlay', async () => {
    const { rendered, plan } = await renderRelease(exampleSource(examplePins('v1')), tools);
    expect(plan.namespace).toBe('dreamscape-dev');
    expect(plan.deployments.map((d) => d.name).sort()).toEqual([...SERVICES].sort());
    expect(rendered.unpinned).toEqual([]);
    expect(rendered.images).toContain(`ghcr.io/dreamscape/gateway@${digest('gateway', 'v1')}`);
    expect(ingressUrl(rendered.objects)).toMatch(/^https:\/\/\S+$/);
  }, 60_000);

  it('a plan preflight of a namespace that does not exist writes nothing and says what it could not validate', async () => {
    cluster.double.clearLogs();
    const source = exampleSource(examplePins('v1'));
    const release = await settleRelease(await renderRelease(source, tools), source, {
      ...tools,
      api: cluster.api,
      mode: 'plan',
    });
    const checked = await preflightRelease({
      api: cluster.api,
      logger: cluster.logger,
      release,
      strategy: 'blue-green',
      mode: 'plan',
      kubeconfigSource: 'the test kubeconfig',
    });
    expect(checked.namespaceExists).toBe(false);
    expect(checked.colors.candidate).toBe('blue');
    expect(checked.unchecked).toBeGreaterThan(0);
    expect(realWrites(cluster.double)).toEqual([]);
  }, 60_000);

  it('releases to blue, then green; a partial release keeps the digests the others run now', async () => {
    const first = await deployExample(cluster, examplePins('v1'));
    expect(first).toMatchObject({ result: 'promoted', activeColor: 'blue', revision: 1 });

    // Only the gateway was rebuilt: the other services keep the v1 digests live in blue.
    const second = await deployExample(cluster, examplePins('v2', ['gateway']));
    expect(second).toMatchObject({ result: 'promoted', activeColor: 'green', revision: 2 });
    expect(liveImage('gateway', 'green')).toBe(`ghcr.io/dreamscape/gateway@${digest('gateway', 'v2')}`);
    expect(liveImage('auth', 'green')).toBe(`ghcr.io/dreamscape/auth@${digest('auth', 'v1')}`);
    expect(cluster.logger.text()).toContain("auth/auth: not in 'images', keeps the digest it runs now");
  }, 180_000);

  it('a deploy preflight refuses a strategy change the live state does not allow, before any write', async () => {
    cluster.double.clearLogs();
    const source = exampleSource(examplePins('v3'));
    const release = await renderRelease(source, tools);
    const error = await preflightRelease({
      api: cluster.api,
      logger: cluster.logger,
      release,
      strategy: 'rolling',
      mode: 'deploy',
      kubeconfigSource: 'the test kubeconfig',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect((error as ActionError).message).toMatch(
      /dreamscape in dev is released blue-green \(revision 2 was released blue-green\); this run asks for 'rolling'/,
    );
    expect(realWrites(cluster.double)).toEqual([]);
  }, 60_000);
});

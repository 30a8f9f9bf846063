import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildRecords,
  deploy,
  digest,
  healthChecks,
  realWrites,
  startCluster,
  type ExampleCluster,
} from '@dreamscape/testkit';

let cluster: ExampleCluster;
beforeAll(async () => {
  cluster = await startCluster();
  const v1 = await deploy(cluster, { images: buildRecords('v1'), 'health-checks': healthChecks() });
  expect(v1.outputs.result).toBe('promoted');
}, 120_000);
afterAll(async () => {
  await cluster.double.close();
});

describe('action-deploy plan mode (the pull-request check)', () => {
  it('reports the live color, where the release goes and the server-side diff, writing nothing', async () => {
    cluster.double.clearLogs();
    const r = await deploy(cluster, { images: buildRecords('v2'), mode: 'plan' });
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({ result: 'planned', 'plan-errors': '0' });
    const plan = r.outputs.plan ?? '';
    expect(plan).toContain('### 📝 Deploy plan: dreamscape → dev (`dreamscape-dev`)');
    expect(plan).toContain('Ready to deploy: live color **blue**, the release goes to **green**.');
    expect(plan).toMatch(/\| gateway \| blue \| green \| `dreamscape\/gateway@sha256:676174657761` \|/);
    expect(plan).toMatch(/Server-side diff \(\d+ lines\)/);
    expect(plan).toContain(`+        image: ghcr.io/dreamscape/gateway@${digest('gateway', 'v2')}`);
    expect(r.summary).toContain(plan.split('\n')[0] ?? '');
    expect(realWrites(cluster.double)).toEqual([]);
  }, 60_000);

  it('without cluster credentials: render and lint only, and problems fail the check', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ds-home-'));
    const offline = await deploy(
      cluster,
      { images: buildRecords('v2'), mode: 'plan' },
      { env: { KUBECONFIG: undefined, HOME: home } },
    );
    expect(offline.errors).toEqual([]);
    expect(offline.outputs.plan).toContain('No cluster credentials were given');
    expect(offline.stdout).not.toContain('kubectl proxy');

    const unpinned = await deploy(
      cluster,
      { images: '', mode: 'plan' },
      { env: { KUBECONFIG: undefined, HOME: home } },
    );
    expect(unpinned.exitCode).toBe(1);
    expect(unpinned.outputs['plan-errors']).toBe('7');
    expect(unpinned.outputs.plan).toContain('is not pinned by digest');
    expect(unpinned.errors.join('\n')).toContain('The plan found 7 problems that would stop this deploy');
  }, 60_000);

  it('flags a selector change on a live colored Deployment as immutable', async () => {
    const r = await deploy(cluster, {
      overlay: 'action-deploy/__tests__/fixtures/selector-change-overlay',
      images: buildRecords('v2'),
      mode: 'plan',
    });
    expect(r.exitCode).toBe(1);
    expect(r.outputs.plan).toMatch(/Deployment\/gateway-blue.*selector would change.*immutable/);
  }, 60_000);
});

describe('action-deploy with only some images given', () => {
  it('keeps the digest the environment runs for every service not given', async () => {
    const onlyGateway = JSON.stringify({
      gateway: { image: `ghcr.io/dreamscape/gateway@${digest('gateway', 'v9')}` },
    });
    const r = await deploy(cluster, { images: onlyGateway, 'health-checks': healthChecks() });
    expect(r.errors).toEqual([]);
    expect(r.outputs.result).toBe('promoted');
    expect(r.stdout).toContain(
      `auth/auth: not in 'images', keeps the digest it runs now (ghcr.io/dreamscape/auth@${digest('auth', 'v1')})`,
    );
    const release = JSON.parse(r.outputs.release ?? '{}') as { images: Record<string, string> };
    expect(release.images['gateway/gateway']).toBe(`ghcr.io/dreamscape/gateway@${digest('gateway', 'v9')}`);
    expect(release.images['auth/auth']).toBe(`ghcr.io/dreamscape/auth@${digest('auth', 'v1')}`);
    expect(cluster.double.violations()).toEqual([]);
  }, 120_000);
});

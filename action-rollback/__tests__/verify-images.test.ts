import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  deploy,
  healthChecks,
  pushTestImage,
  realWrites,
  rollback,
  SERVICES,
  startCluster,
  startRegistry,
  type ExampleCluster,
  type RunningRegistry,
} from '@dreamscape/testkit';

let cluster: ExampleCluster;
let registry: RunningRegistry;
const pushed: Record<string, Record<string, string>> = {};

/** `images` lines pinning every example service to the image pushed for `version`. */
function images(version: string): string {
  return SERVICES.map(
    (s) => `ghcr.io/dreamscape/${s}=${registry.host}/dreamscape/${s}@${pushed[version]?.[s] ?? ''}`,
  ).join('\n');
}

beforeAll(async () => {
  registry = await startRegistry();
  for (const version of ['v1', 'v2']) {
    pushed[version] = {};
    for (const s of SERVICES) {
      const image = await pushTestImage(registry, `dreamscape/${s}`, version, {
        content: `${s} ${version}\n`,
      });
      pushed[version][s] = image.digest;
    }
  }
  cluster = await startCluster();
  for (const version of ['v1', 'v2']) {
    const r = await deploy(cluster, { images: images(version), 'health-checks': healthChecks() });
    expect(r.outputs.result).toBe('promoted');
  }
}, 180_000);
afterAll(async () => {
  await cluster.double.close();
  await registry.close();
});

describe('action-rollback checks that the target images are still in the registry', () => {
  it('goes ahead when every image is there', async () => {
    const r = await rollback(cluster, { to: '1', 'verify-images': 'true' });
    expect(r.errors).toEqual([]);
    expect(r.outputs.result).toBe('rolled-back');
    expect(r.stdout).toContain(`All ${SERVICES.length} images of revision 1 are in their registries.`);
  }, 60_000);

  it('refuses, writing nothing, when an image of the target revision is gone', async () => {
    const gone = pushed.v2?.payment ?? '';
    const deleted = await fetch(`${registry.url}/v2/dreamscape/payment/manifests/${gone}`, {
      method: 'DELETE',
    });
    expect(deleted.status).toBe(202);
    cluster.double.clearLogs();
    const r = await rollback(cluster, { to: '2', 'verify-images': 'true' });
    expect(r.exitCode).toBe(1);
    expect(r.errors.join('\n')).toContain(
      `Revision 2 runs 1 image that the registry no longer holds: ${registry.host}/dreamscape/payment@${gone}. Nothing was changed.`,
    );
    expect(realWrites(cluster.double)).toEqual([]);
  }, 60_000);
});

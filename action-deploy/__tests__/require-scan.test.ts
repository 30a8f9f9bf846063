import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FetchHttpClient, MemoryLogger } from '@dreamscape/core';
import { RegistryClient, registryReferrers } from '@dreamscape/image';
import { attachVerdict, SEVERITIES, type ScanVerdict } from '@dreamscape/scan';
import {
  deploy,
  findSecretLeaks,
  pushTestImage,
  realWrites,
  rollback,
  runKubectl,
  startCluster,
  startRegistry,
  type ActionRunResult,
  type ExampleCluster,
  type RunningRegistry,
} from '@dreamscape/testkit';

// require-scan: before any write, every image the release runs must have a passing verdict attached
// to its digest in the registry (action-scan attaches it), recent enough, from an allowed scanner.
// Verdicts are attached here through the same library action-scan uses, dated as each case needs.

const NS = 'scanned';
const CI = { username: 'ci', password: 'verdict-reader-secret-2b7e' };
const DAY = 24 * 3_600_000;

let cluster: ExampleCluster;
let registry: RunningRegistry;

beforeAll(async () => {
  registry = await startRegistry({ auth: { mode: 'htpasswd', users: { [CI.username]: CI.password } } });
  cluster = await startCluster([{ image: '*', ready: '200ms', exitCode: 0, duration: '200ms' }]);
  expect(
    (await runKubectl(['create', 'namespace', NS], { kubeconfig: cluster.double.kubeconfigPath })).exitCode,
  ).toBe(0);
}, 60_000);

afterAll(async () => {
  await cluster.double.close();
  await registry.close();
});

function store(): ReturnType<typeof registryReferrers> {
  const client = new RegistryClient({
    http: new FetchHttpClient(),
    logger: new MemoryLogger(),
    logins: [{ registry: registry.host, ...CI }],
  });
  return registryReferrers(client);
}

/** A fresh image of the payment service, pushed to the test registry, by digest. */
async function image(name: string): Promise<string> {
  const pushed = await pushTestImage(registry, 'dreamscape/payment', name, {
    credentials: CI,
    content: `${name}\n`,
  });
  return `${registry.host}/dreamscape/payment@${pushed.digest}`;
}

function verdict(ref: string, o: { result: 'pass' | 'fail'; ageMs: number; critical?: number }): ScanVerdict {
  const zero = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as ScanVerdict['counts']['after'];
  const after = { ...zero, critical: o.critical ?? 0 };
  return {
    schema: 1,
    image: ref,
    result: o.result,
    policy: { threshold: 'high', ignoreUnfixed: false, failOn: 'fail-build' },
    counts: { before: after, after },
    findings:
      (o.critical ?? 0) > 0
        ? [
            {
              id: 'CVE-2026-0001',
              package: 'openssl',
              installedVersion: '3.0.1',
              severity: 'critical',
              status: 'blocking',
            },
          ]
        : [],
    waivers: [],
    scanner: { name: 'trivy', version: '0.74.0' },
    createdAt: new Date(Date.now() - o.ageMs).toISOString(),
  };
}

function release(ref: string, runId: string, requireScan = true): Promise<ActionRunResult> {
  return deploy(
    cluster,
    {
      overlay: '',
      chart: 'examples/dreamscape/charts/payment',
      app: 'payment',
      environment: 'prod',
      namespace: NS,
      images: `ghcr.io/dreamscape/payment=${ref}`,
      set: 'migration.enabled=false',
      ...(requireScan
        ? {
            'require-scan': 'true',
            'scan-registry': registry.host,
            'registry-username': CI.username,
            'registry-password': CI.password,
          }
        : {}),
      'verify-window': '300ms',
    },
    { runId },
  );
}

describe('require-scan', () => {
  const refused: [string, (ref: string) => Promise<void>, RegExp][] = [
    [
      'an image with no verdict',
      () => Promise.resolve(),
      /missing: no scan verdict is attached to this digest/,
    ],
    [
      'an image whose newest verdict fails',
      async (ref) => {
        await attachVerdict(store(), verdict(ref, { result: 'pass', ageMs: 2 * DAY }));
        await attachVerdict(store(), verdict(ref, { result: 'fail', ageMs: DAY, critical: 1 }));
      },
      /failing: its newest verdict fails \(1 critical; trivy 0\.74\.0/,
    ],
    [
      'an image whose verdict is older than scan-max-age',
      async (ref) => {
        await attachVerdict(store(), verdict(ref, { result: 'pass', ageMs: 8 * DAY }));
      },
      /too-old: its newest verdict is 8d( \S+)* old, more than scan-max-age 7d/,
    ],
  ];

  it.each(refused)(
    'refuses %s before any write',
    async (what, prepare, message) => {
      const ref = await image(what.replace(/\W+/g, '-'));
      await prepare(ref);
      const before = realWrites(cluster.double).length;
      const r = await release(ref, `refused-${String(what.length)}`);
      expect(r.exitCode).not.toBe(0);
      expect(r.errors.join('\n')).toMatch(/require-scan refused 1 of 1 image; nothing was written/);
      expect(r.errors.join('\n')).toMatch(message);
      expect(r.errors.join('\n')).toContain(ref);
      expect(realWrites(cluster.double).length).toBe(before);
      expect(findSecretLeaks(r, { password: CI.password })).toEqual([]);
    },
    120_000,
  );

  it('accepts an image with a fresh passing verdict, and deploys it', async () => {
    const ref = await image('passing');
    await attachVerdict(store(), verdict(ref, { result: 'pass', ageMs: 60_000 }));
    const r = await release(ref, 'accepted');
    expect(r.errors).toEqual([]);
    expect(r.outputs.result).toBe('promoted');
    expect(r.stdout).toContain(`✓ ${ref}: passed (trivy 0.74.0, threshold high`);
    expect(r.stdout).toContain('require-scan: all 1 images have a passing verdict.');
    expect(findSecretLeaks(r, { password: CI.password })).toEqual([]);
  }, 120_000);

  it('a rollback with require-scan refuses a target whose image has no verdict before any write, and takes it once scanned', async () => {
    const unscanned = await image('unscanned');
    const first = await release(unscanned, 'unscanned', false);
    expect([first.outputs.result, first.errors]).toEqual(['promoted', []]);
    const scanned = await image('scanned-again');
    await attachVerdict(store(), verdict(scanned, { result: 'pass', ageMs: 60_000 }));
    expect((await release(scanned, 'scanned-again')).outputs.result).toBe('promoted');

    const back = (runId: string): Promise<ActionRunResult> =>
      rollback(
        cluster,
        {
          app: 'payment',
          environment: 'prod',
          'require-scan': 'true',
          'registry-username': CI.username,
          'registry-password': CI.password,
        },
        { runId },
      );
    const before = realWrites(cluster.double).length;
    const refused = await back('rollback-refused');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.errors.join('\n')).toMatch(/require-scan refused 1 of 1 image; nothing was written/);
    expect(refused.errors.join('\n')).toContain(`${unscanned}: missing`);
    expect(realWrites(cluster.double).length).toBe(before);

    await attachVerdict(store(), verdict(unscanned, { result: 'pass', ageMs: 60_000 }));
    const accepted = await back('rollback-accepted');
    expect(accepted.errors).toEqual([]);
    expect(accepted.outputs.result).toBe('rolled-back');
    expect(findSecretLeaks(accepted, { password: CI.password })).toEqual([]);
  }, 180_000);
});

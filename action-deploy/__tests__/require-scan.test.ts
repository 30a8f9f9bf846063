import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FetchHttpClient, MemoryLogger } from '@dreamscape/core';
import { RegistryClient, registryReferrers } from '@dreamscape/image';
import { attachVerdict, SEVERITIES, type ScanVerdict } from '@dreamscape/scan';
import {
  deploy,
  findSecretLeaks,
  freePort,
  pushTestImage,
  realWrites,
  rollback,
  runKubectl,
  SERVICES,
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

/** A fresh image of a service (the payment service unless named), pushed to the test registry, by digest. */
async function image(name: string, repository = 'dreamscape/payment'): Promise<string> {
  const pushed = await pushTestImage(registry, repository, name, {
    credentials: CI,
    content: `${name}\n`,
  });
  return `${registry.host}/${repository}@${pushed.digest}`;
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

function release(
  ref: string,
  runId: string,
  requireScan = true,
  more: Record<string, string> = {},
): Promise<ActionRunResult> {
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
      ...more,
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
    expect(r.summary).toContain('require-scan: 1 image, each with a passing verdict.');
    expect(r.summary).toContain(`| \`${ref}\` | ✅ passing |`);
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

  describe('with a third-party image (scan-exempt)', () => {
    // The payment chart's migration Job runs a vendor's migration tool, as real charts do, from a
    // registry no verdict of ours can be attached to. That registry does not answer here: a verdict
    // read from it is `unreadable`, so a deploy that goes through has read none.
    let own: string;
    let vendorHost: string;
    let vendor: string;

    beforeAll(async () => {
      own = await image('with-vendor-migration');
      await attachVerdict(store(), verdict(own, { result: 'pass', ageMs: 60_000 }));
      vendorHost = `127.0.0.1:${String(await freePort())}`;
      vendor = `${vendorHost}/vendor/migrate@sha256:${'4'.repeat(64)}`;
    }, 60_000);

    function withVendor(runId: string, exempt: string | undefined): Promise<ActionRunResult> {
      return release(own, runId, true, {
        images: `ghcr.io/dreamscape/payment=${own}\n${vendorHost}/vendor/migrate=${vendor}`,
        set: `migration.image.repository=${vendorHost}/vendor/migrate,migration.image.tag=v4.18.1`,
        ...(exempt === undefined ? {} : { 'scan-exempt': exempt }),
      });
    }

    it('is refused without an exemption, and with an entry for another digest, before any write', async () => {
      for (const [runId, exempt] of [
        ['vendor-none', undefined],
        ['vendor-other-digest', `${vendorHost}/vendor/migrate@sha256:${'5'.repeat(64)}`],
        ['vendor-other-path', `${vendorHost}/vendors/*`],
      ] as const) {
        const before = realWrites(cluster.double).length;
        const r = await withVendor(runId, exempt);
        expect([runId, r.exitCode === 0]).toEqual([runId, false]);
        const errors = r.errors.join('\n');
        expect(errors).toMatch(/require-scan refused 1 of 2 images; nothing was written/);
        expect(errors).toContain(`- ${vendor}: unreadable: its verdict could not be read`);
        expect(errors).not.toContain(`${own}:`);
        expect(r.stdout).toContain(
          'name an image you do not build and cannot attach a verdict to (a third-party image) in scan-exempt',
        );
        expect(realWrites(cluster.double).length).toBe(before);
      }
    }, 180_000);

    it('is deployed when scan-exempt names it, listed as exempt, its verdict not read, the own image still judged', async () => {
      const r = await withVendor('vendor-exempt', `redis\n${vendorHost}/vendor/*`);
      expect(r.errors).toEqual([]);
      expect(r.outputs.result).toBe('promoted');
      expect(r.stdout).toContain(`✓ ${own}: passed (trivy 0.74.0, threshold high`);
      expect(r.stdout).toContain(
        `– ${vendor}: exempt: exempted by scan-exempt entry '${vendorHost}/vendor/*'; no verdict was read`,
      );
      expect(r.stdout).toContain(
        'require-scan: 1 of 2 images have a passing verdict; 1 exempted by scan-exempt.',
      );
      // The job summary lists both, the exempted one with its entry, for whoever reviews the run.
      expect(r.summary).toContain('#### 🔍 Scan verdicts');
      expect(r.summary).toContain(
        'require-scan: 1 image with a passing verdict; 1 image exempted by scan-exempt, asked no verdict.',
      );
      expect(r.summary).toContain(`| \`${own}\` | ✅ passing |`);
      expect(r.summary).toContain(
        `| \`${vendor}\` | ➖ exempt | — | — | — | exempted by scan-exempt entry '${vendorHost}/vendor/*'; no verdict was read |`,
      );
      const job = cluster.double
        .objects('jobs', NS)
        .map((j) => j as { spec: { template: { spec: { containers: { image: string }[] } } } })
        .find((j) => j.spec.template.spec.containers[0]?.image === vendor);
      expect(job).toBeDefined();
      expect(findSecretLeaks(r, { password: CI.password })).toEqual([]);
    }, 180_000);

    it('refuses an entry that is a tag or would exempt everything, naming the input, before any write', async () => {
      for (const [entry, reason] of [
        ['redis:7', /a tag is not accepted/],
        ['*', /it would exempt every image: set require-scan: false instead/],
        [`${vendorHost}/vendor/mig*`, /'\*' is accepted only as the whole last component/],
        [
          `${registry.host}/*`,
          /it covers every image under 127\.0\.0\.1:\d+, where your own images and their verdicts are \(scan-registry\)/,
        ],
        [
          `${registry.host}/dreamscape/*`,
          /it covers every image under 127\.0\.0\.1:\d+\/dreamscape, where your own images and their verdicts are \(scan-registry and the repository's owner\)/,
        ],
      ] as const) {
        const before = realWrites(cluster.double).length;
        const r = await withVendor(`bad-${String(entry.length)}-${entry.slice(-3)}`, entry);
        expect([entry, r.exitCode === 0]).toEqual([entry, false]);
        expect(r.errors.join('\n')).toContain(
          `Input 'scan-exempt' has an invalid value ${JSON.stringify(entry)}`,
        );
        expect(r.errors.join('\n')).toMatch(reason);
        expect(realWrites(cluster.double).length).toBe(before);
      }
    }, 180_000);
  });

  describe('in plan mode', () => {
    /** The example app's seven services, each image in the test registry, by digest. */
    let pins: Record<(typeof SERVICES)[number], string>;
    const PASSING = ['gateway', 'auth', 'user', 'panorama'] as const;

    beforeAll(async () => {
      pins = Object.fromEntries(
        await Promise.all(SERVICES.map(async (s) => [s, await image(`plan-${s}`, `dreamscape/${s}`)])),
      ) as typeof pins;
      for (const s of PASSING)
        await attachVerdict(store(), verdict(pins[s], { result: 'pass', ageMs: 60_000 }));
      // voyage has none.
      await attachVerdict(store(), verdict(pins.payment, { result: 'fail', ageMs: DAY, critical: 1 }));
      await attachVerdict(store(), verdict(pins.ai, { result: 'pass', ageMs: 8 * DAY }));
    }, 60_000);

    /** A plan of the example overlay (dev) with every image pinned as `images` says. */
    function plan(
      images: Record<string, string>,
      runId: string,
      o: { requireScan?: boolean; offline?: boolean; exempt?: string } = {},
    ): Promise<ActionRunResult> {
      return deploy(
        cluster,
        {
          images: Object.entries(images)
            .map(([s, ref]) => `ghcr.io/dreamscape/${s}=${ref}`)
            .join('\n'),
          mode: 'plan',
          ...(o.requireScan === false
            ? {}
            : {
                'require-scan': 'true',
                'scan-registry': registry.host,
                'registry-username': CI.username,
                'registry-password': CI.password,
                ...(o.exempt === undefined ? {} : { 'scan-exempt': o.exempt }),
              }),
        },
        {
          runId,
          ...(o.offline === true
            ? { env: { KUBECONFIG: undefined, HOME: mkdtempSync(join(tmpdir(), 'ds-home-')) } }
            : {}),
        },
      );
    }

    /** The plan's row for an image: `| `ref` | status | age | scanner | threshold | fix |`, its cells trimmed. */
    function row(markdown: string, ref: string): string[] {
      const line = markdown.split('\n').find((l) => l.startsWith(`| \`${ref}\` |`));
      expect(line).toBeDefined();
      return (line ?? '')
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim());
    }

    it('lists each image with what a deploy would decide, fails on none of them and writes nothing', async () => {
      cluster.double.clearLogs();
      const r = await plan(pins, 'plan-online');
      expect(r.errors).toEqual([]);
      expect(r.exitCode).toBe(0);
      expect(r.outputs).toMatchObject({ result: 'planned', 'plan-errors': '0' });
      const markdown = r.outputs.plan ?? '';
      expect(markdown).toContain(
        '**A deploy would refuse 3 of 7 images for their scan verdicts (require-scan; see Scan verdicts below).**',
      );
      expect(markdown).toContain('#### 🔍 Scan verdicts');
      expect(markdown).toContain(
        "Each image's newest verdict is judged as a deploy judges it: passing, at most 7d old, from trivy or grype, made with threshold critical or stricter.",
      );
      for (const s of PASSING) {
        const [, status, age, scanner, threshold, fix] = row(markdown, pins[s]);
        expect([status, scanner, threshold, fix]).toEqual(['✅ passing', 'trivy 0.74.0', 'high', '']);
        expect(age).toMatch(/^\d+m( \d+s)?$/);
      }
      expect(row(markdown, pins.voyage).slice(1)).toEqual([
        '❌ missing',
        '—',
        '—',
        '—',
        'no scan verdict is attached to this digest: scan it with action-scan (attach-verdict) before deploying',
      ]);
      const failing = row(markdown, pins.payment);
      expect(failing.slice(1, 5)).toEqual(['❌ failing', failing[2], 'trivy 0.74.0', 'high']);
      expect(failing[2]).toMatch(/^1d( \d+[ms])*$/);
      expect(failing[5]).toMatch(
        /^its newest verdict fails \(1 critical; trivy 0\.74\.0, threshold high, \S+\): fix or waive the findings, rebuild and scan again$/,
      );
      const old = row(markdown, pins.ai);
      expect(old.slice(1, 5)).toEqual(['❌ too-old', old[2], 'trivy 0.74.0', 'high']);
      expect(old[2]).toMatch(/^8d( \d+[ms])*$/);
      expect(old[5]).toMatch(
        /^its newest verdict is 8d( \S+)* old, more than scan-max-age 7d \(.*\): scan it again$/,
      );
      expect(markdown).toContain(
        'Scan each refused image with action-scan (its verdict is attached to the digest); name an image you do not build and cannot attach a verdict to (a third-party image) in scan-exempt; or set require-scan: false for this environment.',
      );
      expect(r.summary).toContain(markdown);
      expect(r.stdout).toContain(
        '::warning::require-scan: a deploy would refuse 3 images of this release (see Scan verdicts in the plan).',
      );
      expect(realWrites(cluster.double)).toEqual([]);
      expect(findSecretLeaks(r, { password: CI.password })).toEqual([]);

      // The same plan without require-scan reads no verdict and says nothing of them.
      const off = await plan(pins, 'plan-off', { requireScan: false });
      expect(off.errors).toEqual([]);
      expect(off.outputs.plan).not.toContain('Scan verdicts');
      expect(off.stdout).not.toContain('Scan verdicts');
    }, 180_000);

    it('without cluster credentials judges the pinned images too, and shows an unreachable registry as unreadable', async () => {
      const closed = `127.0.0.1:${String(await freePort())}`;
      const unreachable = `${closed}/dreamscape/ai@sha256:${'0'.repeat(64)}`;
      const r = await plan({ ...pins, ai: unreachable }, 'plan-offline', { offline: true });
      expect(r.errors).toEqual([]);
      expect(r.exitCode).toBe(0);
      expect(r.outputs).toMatchObject({ result: 'planned', 'plan-errors': '0' });
      const markdown = r.outputs.plan ?? '';
      expect(markdown).toContain('No cluster credentials were given');
      expect(r.stdout).not.toContain('kubectl proxy');
      expect(markdown).toContain('**A deploy would refuse 3 of 7 images');
      expect(row(markdown, pins.gateway)[1]).toBe('✅ passing');
      expect(row(markdown, pins.voyage)[1]).toBe('❌ missing');
      expect(row(markdown, pins.payment)[1]).toBe('❌ failing');
      const [, status, age, scanner, threshold, fix] = row(markdown, unreachable);
      expect([status, age, scanner, threshold]).toEqual(['❌ unreadable', '—', '—', '—']);
      expect(fix).toMatch(/^its verdict could not be read: .*127\.0\.0\.1:\d+/);
      expect(findSecretLeaks(r, { password: CI.password })).toEqual([]);
    }, 180_000);

    it('lists an image scan-exempt names as exempt, with its entry, and counts it out of the refusals', async () => {
      const exempt = `${registry.host}/dreamscape/voyage`;
      const r = await plan(pins, 'plan-exempt', { offline: true, exempt });
      expect(r.errors).toEqual([]);
      expect(r.outputs).toMatchObject({ result: 'planned', 'plan-errors': '0' });
      const markdown = r.outputs.plan ?? '';
      expect(markdown).toContain('**A deploy would refuse 2 of 7 images');
      expect(markdown).toContain(
        "**A deploy would refuse 2 of 7 images.** Apart from the 1 exempted by scan-exempt, each image's newest verdict is judged as a deploy judges it: passing, at most 7d old,",
      );
      expect(row(markdown, pins.voyage).slice(1)).toEqual([
        '➖ exempt',
        '—',
        '—',
        '—',
        `exempted by scan-exempt entry '${exempt}'; no verdict was read`,
      ]);
      expect(row(markdown, pins.payment)[1]).toBe('❌ failing');
      expect(row(markdown, pins.gateway)[1]).toBe('✅ passing');
    }, 180_000);
  });
});

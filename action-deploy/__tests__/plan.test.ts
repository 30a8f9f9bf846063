import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger } from '@dreamscape/core';
import { commentBody, stickyMarker } from '@dreamscape/github';
import { parseManifests, pinnedImages, type Kubectl } from '@dreamscape/kube';
import {
  planBlueGreen,
  planWithoutCluster,
  type BlueGreenPlan,
  type LiveColors,
  type PlanWithoutCluster,
} from '@dreamscape/release';
import { judgeVerdict, SEVERITIES, type ScanRequirement, type ScanVerdict } from '@dreamscape/scan';
import {
  buildRecords,
  deploy,
  digest,
  healthChecks,
  realWrites,
  startCluster,
  type ExampleCluster,
} from '@dreamscape/testkit';
import {
  machinePaths,
  MAX_PLAN_LENGTH,
  readableDiff,
  renderOfflinePlan,
  renderPlan,
  type PlannedScan,
} from '../src/plan-report.js';

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
    expect(plan).toMatch(/Server-side diff \(\d+ objects, [\d,]+ lines\)/);
    expect(plan).toContain(
      [
        'diff apps/v1 Deployment dreamscape-dev/gateway-green',
        '--- live apps/v1 Deployment dreamscape-dev/gateway-green',
        '+++ merged apps/v1 Deployment dreamscape-dev/gateway-green',
        '@@ -0,0 +1,',
      ].join('\n'),
    );
    expect(plan).toContain(`+        image: ghcr.io/dreamscape/gateway@${digest('gateway', 'v2')}`);
    expect(plan).not.toMatch(/\/tmp|LIVE-|MERGED-/);
    expect(plan).not.toContain('cut to stay within');
    expect(r.summary).toContain(plan.split('\n')[0] ?? '');
    expect(realWrites(cluster.double)).toEqual([]);
  }, 60_000);

  // Without images, and with broken selectors: plan-offline.test.ts.
  it('without cluster credentials: render and lint only, and the cluster’s checks are not checked', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ds-home-'));
    const offlinePlan = await deploy(
      cluster,
      { images: buildRecords('v2'), mode: 'plan' },
      { env: { KUBECONFIG: undefined, HOME: home } },
    );
    expect(offlinePlan.errors).toEqual([]);
    expect(offlinePlan.outputs).toMatchObject({ 'plan-errors': '0', 'not-checked': '1' });
    expect(offlinePlan.outputs.plan).toContain('No cluster credentials were given');
    expect(offlinePlan.stdout).not.toContain('kubectl proxy');
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

/** The manifests of a one-service app, for reports whose diff a fake kubectl gives. */
const MANIFESTS = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web@sha256:${'a'.repeat(64)}
          ports: [{ name: http, containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /health, port: http } }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
`;
const RUNNER_TEMP = '/home/runner/work/_temp';
const COLORS: LiveColors = {
  active: 'blue',
  candidate: 'green',
  services: new Map([
    ['web', 'blue'],
    ['web-preview', 'green'],
  ]),
  legacy: new Set(),
};

/** One object's part of a diff exactly as kubectl (GNU diff -u -N over its LIVE and MERGED directories) prints it. */
function kubectlDiffOf(file: string, body: readonly string[], tmp = '/tmp'): string {
  const live = `${tmp}/LIVE-1671512372/${file}`;
  const merged = `${tmp}/MERGED-4203933253/${file}`;
  return [
    `diff -u -N ${live} ${merged}`,
    `--- ${live}\t2026-12-06 21:06:08.105357081 +0000`,
    `+++ ${merged}\t2026-12-06 21:06:08.109357081 +0000`,
    `@@ -0,0 +1,${body.length} @@`,
    ...body.map((l) => `+${l}`),
    '',
  ].join('\n');
}

/** A new colored Deployment of about 2,500 characters. */
function deploymentLines(i: number): string[] {
  const lines = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: web-${i}-green`,
    '  namespace: shop',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    `      - image: ghcr.io/acme/web-${i}@sha256:${'b'.repeat(64)}`,
    '        env:',
  ];
  for (let e = 0; e < 30; e++) lines.push(`        - { name: SETTING_${e}, value: "${'x'.repeat(40)}" }`);
  return lines;
}

function fakeKubectl(diff: string): Pick<Kubectl, 'diffServerSide'> {
  return { diffServerSide: () => Promise.resolve({ changed: diff !== '', diff }) };
}

/** A plan as made without cluster credentials. */
function offline(plan: BlueGreenPlan, text: string, o: { requireScan?: boolean } = {}): PlanWithoutCluster {
  return planWithoutCluster(
    { plan, rendered: pinnedImages(parseManifests(text, 'test'), [], 'test') },
    { requireScan: o.requireScan ?? false },
  );
}

function shopPlan(): BlueGreenPlan {
  return planBlueGreen(parseManifests(MANIFESTS, 'test'), {
    app: 'shop',
    environment: 'production',
    manifestText: MANIFESTS,
  });
}

describe('the plan report', () => {
  it('names each object in the diff headers instead of kubectl’s temporary files', async () => {
    const diff = [
      kubectlDiffOf('apps.v1.Deployment.shop.web-green', ['kind: Deployment']),
      kubectlDiffOf('v1.Service.shop.web-preview', ['kind: Service'], RUNNER_TEMP),
      kubectlDiffOf('networking.k8s.io.v1.Ingress.shop.web', ['kind: Ingress']),
      kubectlDiffOf('v1.Namespace..shop', ['kind: Namespace']),
      kubectlDiffOf('monitoring.coreos.com.v1.ServiceMonitor.shop.web.metrics', ['kind: ServiceMonitor']),
    ].join('');
    const report = await renderPlan({
      plan: shopPlan(),
      kubectl: fakeKubectl(diff),
      namespaceExists: true,
      colors: COLORS,
      logger: new MemoryLogger(),
      runnerTemp: RUNNER_TEMP,
    });
    expect(report.markdown).toContain(
      [
        '<details><summary>Server-side diff (5 objects, 25 lines)</summary>',
        '',
        '```diff',
        'diff apps/v1 Deployment shop/web-green',
        '--- live apps/v1 Deployment shop/web-green',
        '+++ merged apps/v1 Deployment shop/web-green',
        '@@ -0,0 +1,1 @@',
        '+kind: Deployment',
        'diff v1 Service shop/web-preview',
        '--- live v1 Service shop/web-preview',
        '+++ merged v1 Service shop/web-preview',
        '@@ -0,0 +1,1 @@',
        '+kind: Service',
        'diff networking.k8s.io/v1 Ingress shop/web',
        '--- live networking.k8s.io/v1 Ingress shop/web',
        '+++ merged networking.k8s.io/v1 Ingress shop/web',
        '@@ -0,0 +1,1 @@',
        '+kind: Ingress',
        'diff v1 Namespace shop',
        '--- live v1 Namespace shop',
        '+++ merged v1 Namespace shop',
        '@@ -0,0 +1,1 @@',
        '+kind: Namespace',
        'diff monitoring.coreos.com/v1 ServiceMonitor shop/web.metrics',
        '--- live monitoring.coreos.com/v1 ServiceMonitor shop/web.metrics',
        '+++ merged monitoring.coreos.com/v1 ServiceMonitor shop/web.metrics',
        '@@ -0,0 +1,1 @@',
        '+kind: ServiceMonitor',
        '```',
        '',
        '</details>',
      ].join('\n'),
    );
    expect(report.markdown).not.toContain('cut to stay within');
  });

  it('replaces other temporary paths, keeps the objects’ own lines, and counts them to find the headers', () => {
    const paths = machinePaths(RUNNER_TEMP);
    const diff = [
      'diff -u -N /tmp/LIVE-1/v1.ConfigMap.shop.settings /tmp/MERGED-2/v1.ConfigMap.shop.settings',
      '--- /tmp/LIVE-1/v1.ConfigMap.shop.settings\t2026-12-06 21:06:08.105357081 +0000',
      '+++ /tmp/MERGED-2/v1.ConfigMap.shop.settings\t2026-12-06 21:06:08.109357081 +0000',
      '@@ -1,4 +1,4 @@',
      ' data:',
      '--- a removed line that looks like a header',
      `+  kubeconfig: ${RUNNER_TEMP}/kubeconfig-123`,
      '   cache: /tmp/cache',
      '   mountPath: /tmp',
      'warning: a note from /tmp/dreamscape-deploy-x/kubectl written outside any object',
    ].join('\n');
    expect(readableDiff(diff, paths).sections).toEqual([
      [
        'diff v1 ConfigMap shop/settings',
        '--- live v1 ConfigMap shop/settings',
        '+++ merged v1 ConfigMap shop/settings',
        '@@ -1,4 +1,4 @@',
        ' data:',
        '--- a removed line that looks like a header',
        '+  kubeconfig: <temporary path>',
        '   cache: /tmp/cache',
        '   mountPath: /tmp',
        'warning: a note from <temporary path> written outside any object',
      ].join('\n'),
    ]);
  });

  it('cuts whole object diffs from the end to fit a comment, says what was cut, and logs the full plan', async () => {
    const objects = 200;
    const diff = Array.from({ length: objects }, (_, i) =>
      kubectlDiffOf(
        `apps.v1.Deployment.shop.web-${i}-green`,
        deploymentLines(i),
        i % 2 === 0 ? '/tmp' : RUNNER_TEMP,
      ),
    ).join('');
    expect(diff.length).toBeGreaterThan(500_000);
    const logger = new MemoryLogger();
    const report = await renderPlan({
      plan: shopPlan(),
      kubectl: fakeKubectl(diff),
      namespaceExists: true,
      colors: COLORS,
      logger,
      runnerTemp: RUNNER_TEMP,
    });
    const { markdown } = report;

    expect(markdown.length).toBeLessThanOrEqual(MAX_PLAN_LENGTH);
    const body = commentBody(stickyMarker('plan/production'), markdown);
    expect(body).toBe(`${stickyMarker('plan/production')}\n${markdown}`); // not cut again by the comment
    expect(body.length).toBeLessThanOrEqual(65_536);

    const { sections } = readableDiff(diff, machinePaths(RUNNER_TEMP));
    const shown = sections.filter((s) => markdown.includes(`${s}\n`)).length;
    expect(shown).toBeGreaterThan(10);
    expect(shown).toBeLessThan(objects);
    // The first objects, whole, then the fence: nothing cut mid-object or mid-line.
    expect(markdown).toContain(`\`\`\`diff\n${sections.slice(0, shown).join('\n')}\n\`\`\`\n`);
    const cutCharacters = sections.slice(shown).reduce((n, s) => n + s.length + 1, 0);
    expect(markdown).toContain(
      `\n</details>\n\n… ${objects - shown} more object diffs (${cutCharacters.toLocaleString('en-US')} characters) cut to stay within GitHub's 65,536-character comment limit; the full plan is in the job log.\n`,
    );
    expect(markdown).toContain(
      `Server-side diff (200 objects, ${(diff.split('\n').length - 1).toLocaleString('en-US')} lines)`,
    );

    for (const text of [markdown, logger.text()]) {
      expect(text).not.toContain('/tmp');
      expect(text).not.toContain(RUNNER_TEMP);
      expect(text).not.toMatch(/LIVE-|MERGED-|2026-12-06/);
    }
    // The job log has every object.
    expect(logger.text()).toContain(
      'diff apps/v1 Deployment shop/web-199-green\n--- live apps/v1 Deployment shop/web-199-green',
    );
    expect(logger.text()).toContain(`+        - { name: SETTING_29, value: "${'x'.repeat(40)}" }`);
  });

  it('cuts findings from the end when they alone would not fit', () => {
    const text = Array.from(
      { length: 400 },
      (_, i) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: service-${i}, namespace: shop }
spec:
  selector: { matchLabels: { app: service-${i} } }
  template:
    metadata: { labels: { app: service-${i} } }
    spec: { containers: [{ name: app, image: "ghcr.io/acme/service-${i}:latest" }] }
`,
    ).join('---\n');
    const plan = planBlueGreen(parseManifests(text, 'test'), {
      app: 'shop',
      environment: 'production',
      manifestText: text,
    });
    expect(plan.findings.length).toBeGreaterThan(400);
    const { markdown } = renderOfflinePlan(offline(plan, text));
    expect(markdown.length).toBeLessThanOrEqual(MAX_PLAN_LENGTH);
    expect(markdown).toMatch(
      /\n\n… [\d,]+ more findings \([\d,]+ characters\) cut to stay within GitHub's 65,536-character comment limit\.\n/,
    );
    expect(markdown).toContain('No cluster credentials were given');
  });
});

describe('the plan report with require-scan', () => {
  const NOW = Date.parse('2026-12-07T12:00:00Z');
  const REQUIREMENT: ScanRequirement = {
    maxAgeMs: 7 * 24 * 3_600_000,
    scanners: ['trivy', 'grype'],
    threshold: 'critical',
  };
  const WEB = `ghcr.io/acme/web@sha256:${'a'.repeat(64)}`;
  const API = `ghcr.io/acme/api@sha256:${'b'.repeat(64)}`;

  function passing(image: string): ScanVerdict {
    const zero = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as ScanVerdict['counts']['after'];
    return {
      schema: 1,
      image,
      result: 'pass',
      policy: { threshold: 'high', ignoreUnfixed: false, failOn: 'fail-build' },
      counts: { before: zero, after: zero },
      findings: [],
      waivers: [],
      scanner: { name: 'trivy', version: '0.74.0' },
      createdAt: new Date(NOW - 3 * 3_600_000).toISOString(),
    };
  }

  function scanned(missing: boolean): PlannedScan {
    return {
      checks: [
        judgeVerdict(WEB, passing(WEB), REQUIREMENT, NOW),
        judgeVerdict(API, missing ? undefined : passing(API), REQUIREMENT, NOW),
      ],
      requirement: REQUIREMENT,
      now: NOW,
    };
  }

  it('says what a deploy would refuse, lists every image, and counts no refusal as a plan error', async () => {
    const report = await renderPlan({
      plan: shopPlan(),
      kubectl: fakeKubectl(''),
      namespaceExists: true,
      colors: COLORS,
      logger: new MemoryLogger(),
      scan: scanned(true),
    });
    expect(report).toMatchObject({ errors: 0, scanRefusals: 1 });
    const lines = report.markdown.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      '### 📝 Deploy plan: shop → production (`shop`)',
      '',
      '**A deploy would refuse 1 of 2 images for their scan verdicts (require-scan; see Scan verdicts below).**',
      '',
      'The manifests are ready: live color **blue**, the release goes to **green**.',
    ]);
    expect(report.markdown).toContain(
      [
        '#### 🔍 Scan verdicts',
        '',
        "**A deploy would refuse 1 of 2 images.** Each image's newest verdict is judged as a deploy judges it: passing, at most 7d old, from trivy or grype, made with threshold critical or stricter.",
        '',
        '| Image | Status | Verdict age | Scanner | Threshold | Refusal and fix |',
        '|---|---|---|---|---|---|',
        `| \`${WEB}\` | ✅ passing | 3h | trivy 0.74.0 | high |  |`,
        `| \`${API}\` | ❌ missing | — | — | — | no scan verdict is attached to this digest: scan it with action-scan (attach-verdict) before deploying |`,
        '',
        'Scan each refused image with action-scan (its verdict is attached to the digest); name an image you do not build and cannot attach a verdict to (a third-party image) in scan-exempt; or set require-scan: false for this environment.',
        '',
      ].join('\n'),
    );
  });

  it('says a deploy would accept them all when none is refused, and nothing without require-scan', async () => {
    const accepted = await renderPlan({
      plan: shopPlan(),
      kubectl: fakeKubectl(''),
      namespaceExists: true,
      colors: COLORS,
      logger: new MemoryLogger(),
      scan: scanned(false),
    });
    expect(accepted.scanRefusals).toBe(0);
    expect(accepted.markdown).toContain(
      'Ready to deploy: live color **blue**, the release goes to **green**.',
    );
    expect(accepted.markdown).toContain('A deploy would accept all 2 images: passing, at most 7d old');
    expect(accepted.markdown).not.toContain('would refuse');
    expect(accepted.markdown).not.toContain('Scan each refused image');

    const off = await renderPlan({
      plan: shopPlan(),
      kubectl: fakeKubectl(''),
      namespaceExists: true,
      colors: COLORS,
      logger: new MemoryLogger(),
    });
    expect(off.scanRefusals).toBe(0);
    expect(off.markdown).not.toMatch(/scan/i);
  });

  it('is in the plan without a cluster too', () => {
    const report = renderOfflinePlan(offline(shopPlan(), MANIFESTS, { requireScan: true }), {
      runnerTemp: RUNNER_TEMP,
      scan: scanned(true),
    });
    expect(report).toMatchObject({ errors: 0, scanRefusals: 1 });
    expect(report.markdown).toContain('**A deploy would refuse 1 of 2 images for their scan verdicts');
    expect(report.markdown).toContain(`| \`${API}\` | ❌ missing |`);
    expect(report.markdown).toContain('No cluster credentials were given');
  });
});

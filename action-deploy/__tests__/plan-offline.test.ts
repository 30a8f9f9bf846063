import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseYamlText } from '@dreamscape/core';
import { parseManifests, pinnedImages } from '@dreamscape/kube';
import { planBlueGreen, planWithoutCluster, type PlanWithoutCluster } from '@dreamscape/release';
import {
  deploy,
  digest,
  freePort,
  pathWithPinnedKubectl,
  realWrites,
  repoRoot,
  runActionBundle,
  SERVICES,
  startCluster,
  type ActionRunResult,
  type ExampleCluster,
} from '@dreamscape/testkit';
import { MAX_NOT_CHECKED_ROWS, renderOfflinePlan } from '../src/plan-report.js';

// The pull-request check as pr-checks.yml runs it: action-deploy `mode: plan` for every environment
// overlay of the repository, with no KUBECONFIG secret and no `images`. The example app is the
// repository: examples/dreamscape, whose overlays name every image by tag.

const EXAMPLE = join(repoRoot, 'examples', 'dreamscape');
/** The services in the order the rendered manifests list them. */
const RENDERED = [...SERVICES].sort();

/** The environments and overlays directory pr-checks.yml plans by default. */
function prChecksDefaults(): { environments: string[]; overlaysDir: string } {
  const file = join(repoRoot, '.github', 'workflows', 'pr-checks.yml');
  const workflow = parseYamlText(readFileSync(file, 'utf8'), file) as {
    on: { workflow_call: { inputs: Record<string, { default: string }> } };
  };
  const inputs = workflow.on.workflow_call.inputs;
  return {
    environments: JSON.parse(inputs.environments?.default ?? '[]') as string[],
    overlaysDir: inputs['overlays-dir']?.default ?? '',
  };
}
const { environments: ENVIRONMENTS, overlaysDir: OVERLAYS_DIR } = prChecksDefaults();

/** The tag each overlay gives every image (its `images:` newTag). */
const TAG: Readonly<Record<string, string>> = { dev: 'dev', staging: 'staging', prod: 'stable' };

let path: string;
beforeAll(async () => {
  path = await pathWithPinnedKubectl();
});

/** action-deploy's bundle in plan mode, without any cluster credentials, in `workspace`. */
function planWithoutCredentials(
  environment: string,
  inputs: Record<string, string> = {},
  workspace = EXAMPLE,
): Promise<ActionRunResult> {
  return runActionBundle(join(repoRoot, 'action-deploy'), {
    inputs: {
      mode: 'plan',
      overlay: `${OVERLAYS_DIR}/${environment}`,
      environment,
      app: 'dreamscape',
      ...inputs,
    },
    env: {
      GITHUB_WORKSPACE: workspace,
      GITHUB_REPOSITORY: 'dreamscape/platform',
      GITHUB_SHA: 'c0ffee0000000000000000000000000000000000',
      GITHUB_RUN_ID: '300',
      GITHUB_SERVER_URL: 'https://github.com',
      KUBECONFIG: undefined,
      HOME: mkdtempSync(join(tmpdir(), 'ds-home-')),
      PATH: path,
    },
  });
}

/** The rows of the plan's Not checked table. */
function notCheckedRows(markdown: string): string[] {
  const start = markdown.indexOf('#### ⏭️ Not checked');
  expect(start).toBeGreaterThanOrEqual(0);
  const lines = markdown.slice(start).split('\n');
  const header = lines.indexOf('| Not checked | Why |');
  expect(header).toBeGreaterThan(0);
  const rows: string[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line);
  }
  return rows;
}

const NO_DIGEST =
  'no digest given: a deploy will need it, from `images` or the digest the environment runs now';
const NO_CLUSTER_ROW =
  '| the cluster: live colors, the server-side dry run and diff (validation, admission, immutable fields), live selectors, the strategy on record, permissions | no cluster credentials (`kubeconfig`) |';

function digestRow(service: string, tag: string): string {
  return `| digest of \`ghcr.io/dreamscape/${service}:${tag}\` (Deployment/${service}) | ${NO_DIGEST} |`;
}

describe('plan mode without cluster credentials or images (the pull-request check)', () => {
  it('plans the environments pr-checks.yml plans, from the example overlays', () => {
    expect(ENVIRONMENTS).toEqual(['dev', 'staging', 'prod']);
    expect(OVERLAYS_DIR).toBe('k8s/overlays');
  });

  it.each(ENVIRONMENTS)(
    '%s: succeeds, and lists every image without a digest and the cluster as not checked',
    async (environment) => {
      const tag = TAG[environment] ?? '';
      const r = await planWithoutCredentials(environment);
      expect(r.errors).toEqual([]);
      expect(r.exitCode).toBe(0);
      expect(r.outputs).toMatchObject({ result: 'planned', 'plan-errors': '0', 'not-checked': '8' });
      const plan = r.outputs.plan ?? '';
      expect(plan).toContain(
        `### 📝 Deploy plan: dreamscape → ${environment} (\`dreamscape-${environment}\`)`,
      );
      expect(plan).toContain(
        'No problem found in what could be checked here; 8 checks are left to a deploy (see Not checked below).',
      );
      expect(plan).not.toContain('is not pinned by digest');
      expect(notCheckedRows(plan)).toEqual([...RENDERED.map((s) => digestRow(s, tag)), NO_CLUSTER_ROW]);
      // The job summary says the same, and the log says it once.
      expect(r.summary).toContain(plan);
      expect(r.stdout).toContain(
        '::notice::The plan could not make 8 checks: left to a deploy, not failed (see Not checked in the plan).',
      );
      expect(r.stdout).not.toContain('kubectl proxy');
    },
    60_000,
  );

  it('fails on a selector that breaks, naming it, and still lists the images as not checked', async () => {
    // The change under review: the user Deployment's pod labels no longer match its selector.
    const workspace = mkdtempSync(join(tmpdir(), 'ds-pr-'));
    cpSync(join(EXAMPLE, 'k8s'), join(workspace, 'k8s'), { recursive: true });
    const file = join(workspace, 'k8s', 'base', 'user', 'deployment.yaml');
    const manifest = readFileSync(file, 'utf8');
    const template = manifest.indexOf('  template:');
    const broken = `${manifest.slice(0, template)}${manifest
      .slice(template)
      .replace('app.kubernetes.io/name: user', 'app.kubernetes.io/name: users')}`;
    expect(broken).not.toBe(manifest);
    writeFileSync(file, broken);

    const r = await planWithoutCredentials('staging', {}, workspace);
    expect(r.exitCode).toBe(1);
    expect(r.outputs).toMatchObject({ result: 'planned', 'plan-errors': '1', 'not-checked': '8' });
    expect(r.errors).toEqual(['The plan found 1 problem that would stop this deploy (see the plan).']);
    const plan = r.outputs.plan ?? '';
    expect(plan).toContain('**1 problem would stop this deploy.**');
    expect(plan).toMatch(
      /\| ❌ \| `Deployment\/user` \| its selector \{app\.kubernetes\.io\/name=user\} does not match its pod labels \{[^}]*app\.kubernetes\.io\/name=users[^}]*\} \|/,
    );
    expect(notCheckedRows(plan)).toContain(digestRow('user', 'staging'));
    expect(plan).not.toContain('is not pinned by digest');
    expect(r.summary).toContain(plan);
  }, 60_000);

  it('pins the images given by digest and lists only the others as not checked', async () => {
    const gateway = `ghcr.io/dreamscape/gateway@${digest('gateway', 'pr-7')}`;
    const auth = `ghcr.io/dreamscape/auth@${digest('auth', 'pr-7')}`;
    const r = await planWithoutCredentials('prod', {
      images: `ghcr.io/dreamscape/gateway=${gateway}\nghcr.io/dreamscape/auth=${auth}`,
    });
    expect(r.errors).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.outputs).toMatchObject({ 'plan-errors': '0', 'not-checked': '6' });
    const plan = r.outputs.plan ?? '';
    expect(plan).toMatch(
      /\| gateway \| \? \| the idle color \| `dreamscape\/gateway@sha256:676174657761` \|/,
    );
    expect(plan).toMatch(/\| auth \| \? \| the idle color \| `dreamscape\/auth@sha256:617574684070` \|/);
    expect(notCheckedRows(plan)).toEqual([
      ...RENDERED.filter((s) => s !== 'gateway' && s !== 'auth').map((s) => digestRow(s, 'stable')),
      NO_CLUSTER_ROW,
    ]);
  }, 60_000);

  it('with require-scan, judges the verdicts of the pinned images and lists the others as not checked', async () => {
    // A registry nobody listens on: the pinned image's verdict is read, and cannot be.
    const closed = `127.0.0.1:${String(await freePort())}`;
    const gateway = `${closed}/dreamscape/gateway@${digest('gateway', 'pr-7')}`;
    const r = await planWithoutCredentials('dev', {
      images: `ghcr.io/dreamscape/gateway=${gateway}`,
      'require-scan': 'true',
      'scan-registry': closed,
    });
    expect(r.errors).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.outputs).toMatchObject({ 'plan-errors': '0', 'not-checked': '13' });
    const plan = r.outputs.plan ?? '';
    expect(plan).toContain('**A deploy would refuse 1 of 1 image for their scan verdicts');
    expect(plan).toMatch(
      new RegExp(`\\| \`${gateway.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\` \\| ❌ unreadable \\|`),
    );
    expect(plan).toContain(
      'The verdicts of 6 images given no digest were not read (a verdict is attached to a digest): see Not checked.',
    );
    const others = RENDERED.filter((s) => s !== 'gateway');
    expect(notCheckedRows(plan)).toEqual([
      ...others.map((s) => digestRow(s, 'dev')),
      ...others.map(
        (s) =>
          `| scan verdict of \`ghcr.io/dreamscape/${s}:dev\` | no digest given: a verdict is attached to a digest |`,
      ),
      NO_CLUSTER_ROW,
    ]);
  }, 60_000);
});

describe('a deploy of a tag-based overlay without images', () => {
  let cluster: ExampleCluster;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster.double.close();
  });

  it('is refused as before: every image not pinned by digest is an error, and nothing is written', async () => {
    const r = await deploy(cluster, { images: '', overlay: `examples/dreamscape/${OVERLAYS_DIR}/dev` });
    expect(r.exitCode).toBe(1);
    expect(r.outputs.result).toBe('failed');
    const message = r.errors.join('\n');
    expect(message).toContain('The overlay cannot be deployed blue-green: 7 problems:');
    for (const s of SERVICES)
      expect(message).toContain(
        `- Deployment/${s}: container '${s}' runs ghcr.io/dreamscape/${s}:dev, which is not pinned by digest; pass its digest in 'images'`,
      );
    expect(realWrites(cluster.double)).toEqual([]);
  }, 90_000);
});

/** Deployments named `app-<i>`, each running `image(i)`, planned from the files alone. */
function offlineApps(
  count: number,
  image: (i: number) => string,
  o: { requireScan?: boolean } = {},
): PlanWithoutCluster {
  const text = Array.from(
    { length: count },
    (_, i) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: app-${String(i)}, namespace: shop }
spec:
  selector: { matchLabels: { app: app-${String(i)} } }
  template:
    metadata: { labels: { app: app-${String(i)} } }
    spec: { containers: [{ name: app, image: ${JSON.stringify(image(i))}, readinessProbe: { tcpSocket: { port: 80 } } }] }
`,
  ).join('---\n');
  const objects = parseManifests(text, 'test');
  return planWithoutCluster(
    {
      plan: planBlueGreen(objects, { app: 'shop', environment: 'dev', manifestText: text }),
      rendered: pinnedImages(objects, [], 'test'),
    },
    { requireScan: o.requireScan ?? false },
  );
}

describe('the Not checked section of a plan without cluster credentials', () => {
  it('shows the first rows, says how many more there are, and counts them all', () => {
    const report = renderOfflinePlan(offlineApps(60, (i) => `ghcr.io/acme/app-${String(i)}:1.0`));
    expect(report.errors).toBe(0);
    expect(report.notChecked).toHaveLength(61);
    const rows = notCheckedRows(report.markdown);
    expect(rows).toHaveLength(MAX_NOT_CHECKED_ROWS);
    expect(rows[0]).toBe(`| digest of \`ghcr.io/acme/app-0:1.0\` (Deployment/app-0) | ${NO_DIGEST} |`);
    expect(report.markdown).toContain('\n… 11 more checks not made; the job log lists them all.\n');
    expect(report.markdown).toContain(
      'No problem found in what could be checked here; 61 checks are left to a deploy (see Not checked below).',
    );
  });

  it('keeps an image name from the manifests inside its cell', () => {
    const report = renderOfflinePlan(offlineApps(1, () => 'ghcr.io/acme/a|b`c:1.0'));
    expect(notCheckedRows(report.markdown)[0]).toBe(
      `| digest of \`ghcr.io/acme/a\\|b'c:1.0\` (Deployment/app-0) | ${NO_DIGEST} |`,
    );
  });

  it('with require-scan and no image pinned, says where the verdicts went', () => {
    const report = renderOfflinePlan(
      offlineApps(2, (i) => `ghcr.io/acme/app-${String(i)}:1.0`, { requireScan: true }),
      {
        scan: {
          checks: [],
          requirement: { maxAgeMs: 7 * 24 * 3_600_000, scanners: ['trivy'], threshold: 'critical' },
          now: 0,
        },
      },
    );
    expect(report.markdown).toContain(
      '#### 🔍 Scan verdicts\n\nThe verdicts of 2 images given no digest were not read (a verdict is attached to a digest): see Not checked.\n',
    );
    expect(report.markdown).not.toContain('require-scan has nothing to judge');
    expect(notCheckedRows(report.markdown)).toContain(
      '| scan verdict of `ghcr.io/acme/app-1:1.0` | no digest given: a verdict is attached to a digest |',
    );
  });
});

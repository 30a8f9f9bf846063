import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FetchHttpClient, MemoryLogger, ProcessCommandRunner } from '@dreamscape/core';
import { startKubeDouble, type KubeDouble } from '@dreamscape/kube-double';
import { withClusterSession } from '@dreamscape/kube';
import { packManifest, ReleaseHistory } from '@dreamscape/release';
import { SCANNER_DRIVERS } from '@dreamscape/scan';
import {
  pathWithPinnedTools,
  pushTestImage,
  runActionBundle,
  startRegistry,
  writeStandInScanner,
  type ActionRunResult,
  type RunningRegistry,
} from '@dreamscape/testkit';

// `fail-on: new` through the real bundle: the running image's verdict is attached by an earlier scan
// to the real docker-registry; the scanners replay the recorded Trivy and Grype reports; the running
// image is named directly (`baseline-image`) or found in action-deploy's release history on the API
// double, read through the real kubectl proxy.

const actionDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CI = { username: 'ci', password: 'ci-push-secret-5e21' };
const NAMESPACE = 'shop-prod';

let registry: RunningRegistry;
let double: KubeDouble;
let toolsPath: string;

beforeAll(async () => {
  registry = await startRegistry({ auth: { mode: 'htpasswd', users: { [CI.username]: CI.password } } });
  double = await startKubeDouble({ namespaces: [NAMESPACE] });
  toolsPath = await pathWithPinnedTools(SYSTEM_PATH);
});

afterAll(async () => {
  await registry.close();
  await double.close();
});

let pushes = 0;
/** A fresh image of `repository`, by digest. */
async function pushed(repository: string): Promise<string> {
  pushes++;
  const image = await pushTestImage(registry, repository, `v${pushes}`, {
    credentials: CI,
    content: `${repository} ${pushes}\n`,
  });
  return `${registry.host}/${repository}@${image.digest}`;
}

/** Runs the real bundle on `image` with a stand-in scanner that replays a recorded report. */
async function scan(
  image: string,
  scanner: 'trivy' | 'grype',
  report: string,
  inputs: Record<string, string> = {},
): Promise<ActionRunResult> {
  const standIn = writeStandInScanner({
    name: scanner,
    version: SCANNER_DRIVERS[scanner].pinnedVersion,
    report,
  });
  const root = mkdtempSync(join(tmpdir(), 'ds-action-scan-new-'));
  const workspace = join(root, 'workspace');
  mkdirSync(workspace);
  return runActionBundle(actionDir, {
    inputs: {
      image,
      scanner,
      'registry-username': CI.username,
      'registry-password': CI.password,
      'severity-threshold': 'critical',
      ...inputs,
    },
    env: {
      PATH: `${standIn.binDir}:${toolsPath}`,
      GITHUB_WORKSPACE: workspace,
      RUNNER_TEMP: join(root, 'runner-temp'),
      RUNNER_TOOL_CACHE: join(root, 'tool-cache'),
      GITHUB_REPOSITORY: 'dream/shop',
      GITHUB_RUN_ID: '11',
      KUBECONFIG: double.kubeconfigPath,
    },
    cwd: workspace,
  });
}

/** Scans `running` as the pipeline did before it went live: its verdict is attached, pass or fail. */
async function scannedBefore(
  running: string,
  scanner: 'trivy' | 'grype',
  report: string,
  threshold = 'critical',
) {
  const r = await scan(running, scanner, report, { 'fail-build': 'false', 'severity-threshold': threshold });
  expect(r.errors).toEqual([]);
  expect(r.outputs['verdict-attached']).toBe('true');
}

interface SarifResult {
  readonly ruleId: string;
  readonly baselineState?: string;
}
function sarifResults(r: ActionRunResult): SarifResult[] {
  const sarif = JSON.parse(readFileSync(r.outputs['sarif-file'] ?? '', 'utf8')) as {
    runs: { results: SarifResult[] }[];
  };
  return sarif.runs[0]?.results ?? [];
}

/** Records `images` as the promoted revision `revision` of shop in production, as action-deploy does. */
async function promoted(revision: number, images: Record<string, string>): Promise<void> {
  const logger = new MemoryLogger();
  await withClusterSession(
    {
      runner: new ProcessCommandRunner({ logger, baseEnv: { ...process.env, PATH: toolsPath } }),
      http: new FetchHttpClient(),
      logger,
      kubeconfig: double.kubeconfigPath,
      tempDir: mkdtempSync(join(tmpdir(), 'ds-history-')),
      fieldManager: 'dreamscape',
    },
    async ({ api }) => {
      const history = new ReleaseHistory(api, logger, {
        app: 'shop',
        environment: 'production',
        namespace: NAMESPACE,
      });
      await history.create({
        schema: 1,
        app: 'shop',
        environment: 'production',
        namespace: NAMESPACE,
        revision,
        kind: 'deploy',
        strategy: 'blue-green',
        result: 'promoted',
        color: 'blue',
        previousColor: undefined,
        previousRevision: revision - 1,
        manifestHash: `sha256:${String(revision).padStart(64, '0')}`,
        manifest: packManifest(`revision: ${revision}\n`),
        images,
        services: [{ name: 'api', deployment: 'api' }],
        replicas: { api: 2 },
        checks: '',
        commit: 'abc123',
        runId: String(revision),
        runUrl: `https://github.com/dream/shop/actions/runs/${revision}`,
        actor: 'deployer',
        reason: '',
        rollbackTo: undefined,
        rolloutRevisions: {},
        startedAt: '2026-12-01T00:00:00.000Z',
        finishedAt: '2026-12-01T00:05:00.000Z',
        message: '',
        journal: [{ step: 'started', at: '2026-12-01T00:00:00.000Z' }],
        gates: [],
      });
    },
  );
}

describe('action-scan fail-on new (dist/index.js, recorded reports, real registry)', () => {
  it('Trivy: a release that only keeps the old critical passes; judged on every finding it fails', async () => {
    const running = await pushed('shop/api');
    await scannedBefore(running, 'trivy', 'trivy-image-debian-buster.json');
    const candidate = await pushed('shop/api');

    const r = await scan(candidate, 'trivy', 'trivy-image-debian-buster.json', {
      'fail-on': 'new',
      'baseline-image': running,
    });
    expect(r.errors).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.outputs).toMatchObject({
      verdict: 'pass',
      'baseline-image': running,
      'new-findings': '0',
      'known-findings': '2',
      'fixed-findings': '0',
      'verdict-attached': 'true',
    });
    expect(r.summary).toContain('#### Against what runs now: the baseline image');
    expect(r.summary).toContain('| New | Fixed | Known |\n| ---: | ---: | ---: |\n| 0 | 0 | 2 |');
    expect(r.summary).toContain('known (runs now)');
    expect(sarifResults(r).map((x) => [x.ruleId, x.baselineState])).toEqual([
      ['CVE-2019-18224', 'unchanged'],
      ['CVE-2019-18276', 'unchanged'],
    ]);
    // The same candidate judged on every finding fails on the critical it shares with production.
    const all = await scan(candidate, 'trivy', 'trivy-image-debian-buster.json', {
      'baseline-image': running,
    });
    expect(all.exitCode).toBe(1);
    expect(all.outputs).toMatchObject({ verdict: 'fail', 'known-findings': '2' });
  });

  it('Trivy: a release that adds a critical fails, naming it new; one that fixes it says so', async () => {
    const running = await pushed('shop/web');
    await scannedBefore(running, 'trivy', 'trivy-image-alpine-310.json');
    const adds = await scan(await pushed('shop/web'), 'trivy', 'trivy-image-debian-buster.json', {
      'fail-on': 'new',
      'baseline-image': running,
    });
    expect(adds.exitCode).toBe(1);
    expect(adds.errors[0]).toContain(
      "1 new finding at or above 'critical' after waivers that the baseline image does not have: CVE-2019-18224 (critical, libidn2-0).",
    );
    expect(adds.outputs).toMatchObject({ verdict: 'fail', 'new-findings': '2', 'fixed-findings': '2' });
    expect(adds.outputs['verdict-attached']).toBe('true');
    expect(sarifResults(adds).every((x) => x.baselineState === 'new')).toBe(true);

    // Production now runs the Debian image; the next release is the Alpine one: both fixed.
    const debianRunning = await pushed('shop/web');
    await scannedBefore(debianRunning, 'trivy', 'trivy-image-debian-buster.json');
    const fixes = await scan(await pushed('shop/web'), 'trivy', 'trivy-image-alpine-310.json', {
      'fail-on': 'new',
      'baseline-image': debianRunning,
    });
    expect(fixes.errors).toEqual([]);
    expect(fixes.outputs).toMatchObject({ verdict: 'pass', 'new-findings': '2', 'fixed-findings': '2' });
    expect(fixes.summary).toContain('| CVE-2019-18224 | Critical | libidn2-0 | 2.0.5-1 |');
    expect(fixes.stdout).toContain(
      '2 vulnerabilities of the baseline image fixed: CVE-2019-18224, CVE-2019-18276.',
    );
  });

  it('Grype: the running image found in the release history; no promoted release, or no verdict, is no baseline', async () => {
    const candidate = await pushed('shop/billing');
    // Nothing promoted yet: said, and every finding judged.
    const first = await scan(candidate, 'grype', 'grype-image-alpine-java.json', {
      'fail-on': 'new',
      'severity-threshold': 'medium',
      'baseline-environment': 'production',
      'baseline-namespace': NAMESPACE,
    });
    expect(first.exitCode).toBe(1);
    expect(
      first.stdout
        .split('\n')
        .filter((l) => l.startsWith('::warning'))
        .join('\n'),
    ).toContain(
      'No baseline: nothing of shop in production (namespace shop-prod) has been promoted yet. Every finding is judged.',
    );
    expect(first.summary).toContain('> No baseline to compare with: nothing of shop in production');
    expect(first.outputs['new-findings']).toBe('');

    const running = await pushed('shop/billing');
    await promoted(1, {
      'billing/billing': running,
      'billing/proxy': `${registry.host}/shop/proxy@sha256:${'e'.repeat(64)}`,
    });
    // Promoted, but never scanned: no verdict to compare with.
    const unscanned = await scan(candidate, 'grype', 'grype-image-alpine-java.json', {
      'fail-on': 'new',
      'severity-threshold': 'medium',
      'baseline-environment': 'production',
      'baseline-namespace': NAMESPACE,
    });
    expect(unscanned.exitCode).toBe(1);
    expect(
      unscanned.stdout
        .split('\n')
        .filter((l) => l.startsWith('::warning'))
        .join('\n'),
    ).toContain(
      `No baseline: no scan verdict is attached to ${running}, which is the image running in production (revision 1).`,
    );

    await scannedBefore(running, 'grype', 'grype-image-alpine-java.json', 'medium');
    const kept = await scan(candidate, 'grype', 'grype-image-alpine-java.json', {
      'fail-on': 'new',
      'severity-threshold': 'medium',
      'baseline-environment': 'production',
      'baseline-namespace': NAMESPACE,
    });
    expect(kept.errors).toEqual([]);
    expect(kept.outputs).toMatchObject({ verdict: 'pass', 'baseline-image': running, 'known-findings': '1' });
    expect(kept.summary).toContain(
      '#### Against what runs now: the image running in production (revision 1)',
    );
    // Nothing was written to the cluster: the history is only read.
    expect(double.writes().filter((w) => w.verb !== 'create' || w.kind !== 'Secret')).toEqual([]);
    // The registry password never left the masked inputs.
    for (const r of [first, unscanned, kept])
      expect(r.stdout.replaceAll(`::add-mask::${CI.password}`, '')).not.toContain(CI.password);
  });

  it('fail-on new without a baseline input is refused before any scan, naming the inputs', async () => {
    const r = await scan(await pushed('shop/auth'), 'trivy', 'trivy-image-debian-buster.json', {
      'fail-on': 'new',
    });
    expect(r.exitCode).toBe(1);
    expect(r.errors[0]).toContain('baseline-environment');
    expect(r.errors[0]).toContain("fail-on 'new' judges findings against what runs now");
    expect(r.outputs.verdict).toBeUndefined();
  });
});

import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool } from '@dreamscape/testkit';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// gateway serves the Ingress the canary chapter splits; payment is the service of the chart chapter.
const SERVICES = ['gateway', 'payment'] as const;
const VERSIONS = ['v1', 'v2', 'v3', 'v4', 'v5'] as const;

interface DemoRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `npm run demo`'s program as the npm script does, with `args` after it. */
function runDemo(
  args: readonly string[],
  env: Record<string, string | undefined>,
  options: { interruptWhen?: (stdout: string) => boolean; interruptAfterMs?: number } = {},
): Promise<DemoRun> {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) childEnv[k] = v;
  // Its own process group, so a timeout can end it and everything it started.
  const child = spawn(
    process.execPath,
    ['--import', './scripts/ts-register.mjs', 'scripts/demo.ts', ...args],
    {
      cwd: repoRoot,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!interrupted && options.interruptWhen?.(stdout) === true) {
      interrupted = true;
      // SIGINT to the demo alone: unlike Ctrl-C in a terminal, nothing it started gets it, so
      // whatever stops afterwards was stopped by the demo itself.
      setTimeout(() => child.kill('SIGINT'), options.interruptAfterMs ?? 0);
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, 900_000);
  return new Promise((resolve) => {
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout, stderr });
    });
  });
}

/** True when nothing answers at `url` any more. */
async function gone(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch {
    return true;
  }
}

/** Processes whose environment mentions `text` (buildah finds its storage through the environment). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(text))
        found.push(`${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ')}`);
    } catch {
      // ended meanwhile, or not ours to read
    }
  }
  return found;
}

interface Results {
  ok: boolean;
  setup: { registryUrl: string; clusterUrl: string; prometheusUrl: string; storage: string };
  services: string[];
  releases: {
    step: string;
    action: string;
    exitCode: number;
    result: string;
    revision: string;
    activeColor: string;
    errors: string[];
    logFile: string;
  }[];
  builds: Record<
    (typeof VERSIONS)[number],
    Record<string, { image: string; digest: string; tags: string[] }>
  >;
  scans: { scanner: string; images: { service: string; verdict: string; attached: boolean }[] };
  live: Record<string, { color: string; image: string }>;
  violations: unknown[] | null;
  traffic: {
    sent: number;
    errors5xx: number;
    byColor: Record<string, number>;
    monitor: { requests: number; unreadyAnswers: number; routing503s: number };
  } | null;
  canary: {
    steps: number[];
    prometheus: string | null;
    query: string | null;
    releases: {
      version: string;
      step: string;
      result: string;
      revision: string;
      candidateColor: string;
      activeColor: string;
      weights: number[];
      analysed: number[];
      abortedAt: number | null;
      journal: string[];
      stepTable: string[];
    }[];
    canaryIngresses: string[];
    live: Record<string, { color: string; image: string }>;
  } | null;
  chart: {
    chart: string;
    name: string;
    version: string;
    app: string;
    environment: string;
    namespace: string;
    releases: {
      version: string;
      step: string;
      result: string;
      revision: string;
      activeColor: string;
      image: string;
      valuesDigest: string;
      jobs: { job: string; phase: string; result: string; logTail: string[] }[];
      jobTable: string[];
    }[];
    live: { color: string; image: string } | null;
    failedImageDeployments: string[];
  } | null;
  steps: { step: string; durationMs: number }[];
  summaries: string[];
}

describe('npm run demo', () => {
  it('builds, scans, deploys v1 and v2 blue-green, watches a broken v3 switch back, rolls back to revision 1, promotes v4 by canary, aborts a bad v5 canary, releases the payment chart (its failing migration stops v3), and cleans up', async () => {
    requireTool('buildah');
    requireTool('docker-registry');
    requireTool('busybox');
    requireTool('prometheus');
    const dir = mkdtempSync(join(tmpdir(), 'ds-demo-test-'));
    try {
      // No Trivy or Grype can run here (none is on this PATH): the demo replays a recorded report.
      const strayKubeconfig = join(dir, 'somebody-elses-kubeconfig');
      const workDir = join(dir, 'work');

      const run = await runDemo(['--services', SERVICES.join(','), '--work-dir', workDir], {
        PATH: process.env.PATH ?? '',
        TRIVY_CACHE_DIR: join(dir, 'no-trivy-cache'),
        GRYPE_DB_CACHE_DIR: join(dir, 'no-grype-cache'),
        KUBECONFIG: strayKubeconfig,
        DEMO_KUBECONFIG: undefined,
        DEMO_REGISTRY: undefined,
        DEMO_BASE_IMAGE: undefined,
      });
      // The whole output when it failed: jest would cut it short in a diff.
      if (run.exitCode !== 0)
        throw new Error(`The demo exited with ${String(run.exitCode)}:\n${run.stdout}\n${run.stderr}`);
      expect(run.stdout).toContain('demo: OK');
      expect(run.stdout).toContain(`KUBECONFIG is set (${strayKubeconfig}) but not used`);

      const results = JSON.parse(readFileSync(join(workDir, 'results.json'), 'utf8')) as Results;
      expect(results.ok).toBe(true);
      expect(results.services).toEqual([...SERVICES]);

      // Five builds per service, each a different image in the demo's registry.
      const host = new URL(results.setup.registryUrl).host;
      for (const service of SERVICES) {
        const digests = VERSIONS.map((v) => results.builds[v][service]?.digest);
        expect(new Set(digests).size).toBe(VERSIONS.length);
        for (const v of VERSIONS) {
          const record = results.builds[v][service];
          expect(record?.image).toBe(`${host}/dreamscape/${service}@${record?.digest ?? ''}`);
          expect(record?.tags).toEqual([`${host}/dreamscape/${service}:${v}`]);
        }
      }

      // The story, release by release.
      const [v1, v2, v3, back, v4, v5, chart1, chart3] = results.releases;
      expect(results.releases).toHaveLength(8);
      expect(v1).toMatchObject({ action: 'action-deploy', result: 'promoted', exitCode: 0, revision: '1' });
      expect(v2).toMatchObject({ action: 'action-deploy', result: 'promoted', exitCode: 0, revision: '2' });
      expect(v2?.activeColor).not.toBe(v1?.activeColor);
      expect(v3).toMatchObject({
        action: 'action-deploy',
        result: 'rolled-back',
        exitCode: 1,
        revision: '3',
      });
      expect(v3?.activeColor).toBe(v2?.activeColor);
      expect(back).toMatchObject({
        action: 'action-rollback',
        result: 'rolled-back',
        exitCode: 0,
        revision: '1',
      });
      expect(back?.activeColor).not.toBe(v2?.activeColor);
      expect(run.stdout).toMatch(/post-switch health gates failed: \w+-version .*HTTP 500/);
      expect(v4).toMatchObject({ action: 'action-deploy', result: 'promoted', exitCode: 0, revision: '5' });
      expect(v4?.activeColor).not.toBe(back?.activeColor);
      expect(v5).toMatchObject({
        action: 'action-deploy',
        result: 'rolled-back',
        exitCode: 1,
        revision: '6',
      });
      // The live color is v4's before and after v5's canary.
      expect(v5?.activeColor).toBe(v4?.activeColor);
      for (const r of results.releases)
        expect(readFileSync(r.logFile, 'utf8')).toContain(`DreamScape ${r.action}`);

      // What runs at the end is v1, as the cluster itself reported it.
      for (const service of SERVICES)
        expect(results.live[service]).toEqual({
          color: back?.activeColor,
          image: results.builds.v1[service]?.image,
        });
      expect(results.violations).toEqual([]);
      expect(run.stdout).toContain('invariant monitor: 0 violations');

      // The canary chapter, as the release records in the cluster journaled it. v4: every weight
      // written and analysed, then the switch and the canary Ingress removed.
      const canary = results.canary;
      expect(canary?.steps).toEqual([10, 50, 100]);
      expect(canary?.query).toContain('{{ canary }}');
      expect(canary?.prometheus).toBe(results.setup.prometheusUrl);
      const [c4, c5] = canary?.releases ?? [];
      expect(canary?.releases).toHaveLength(2);
      expect(c4).toMatchObject({
        version: 'v4',
        result: 'promoted',
        revision: '5',
        weights: [10, 50, 100],
        analysed: [10, 50, 100],
        abortedAt: null,
      });
      const j4 = c4?.journal ?? [];
      for (const step of [
        'canary-prepared',
        'weight-10',
        'analysed-10',
        'weight-100',
        'switched',
        'canary-removed',
      ])
        expect(j4).toContain(step);
      expect(j4.indexOf('analysed-100')).toBeLessThan(j4.indexOf('switching'));
      // v5: the first weight written, its analysis failed on the real Prometheus, nothing switched.
      expect(c5).toMatchObject({
        version: 'v5',
        result: 'rolled-back',
        revision: '6',
        weights: [10],
        analysed: [],
        abortedAt: 10,
        activeColor: c4?.activeColor,
      });
      expect(c5?.candidateColor).not.toBe(c4?.activeColor);
      expect(c5?.journal).not.toContain('switching');
      expect(v5?.errors.join('\n')).toMatch(
        /canary analysis failed at 10 %: canary-errors \(prometheus http:\/\/127\.0\.0\.1:\d+: .*color="(blue|green)".*\): value [\d.e-]+ is above max 0\.05/,
      );
      expect(run.stdout).toMatch(/v5 aborted at 10 %: Prometheus read its 5xx ratio above 5 %/);
      expect(canary?.canaryIngresses).toEqual([]);
      // What runs at the end is v4, on the color it was promoted to.
      for (const service of SERVICES)
        expect(canary?.live[service]).toEqual({
          color: v4?.activeColor,
          image: results.builds.v4[service]?.image,
        });

      // The chart chapter: the payment chart released as its own app in its own namespace, its
      // migration a pre-deploy Job. v1: the migration succeeded, then promoted. v3: the migration
      // failed, so the release failed before any pod of v3 existed, v1 live and untouched.
      const chartYaml = readFileSync(
        join(repoRoot, 'examples', 'dreamscape', 'charts', 'payment', 'Chart.yaml'),
        'utf8',
      );
      const chart = results.chart;
      expect(chart).toMatchObject({
        chart: 'charts/payment',
        name: 'payment',
        version: /^version: (\S+)$/m.exec(chartYaml)?.[1],
        app: 'payment',
        environment: 'dev',
        namespace: 'payment-dev',
        failedImageDeployments: [],
      });
      expect(chart1).toMatchObject({
        action: 'action-deploy',
        result: 'promoted',
        exitCode: 0,
        revision: '1',
      });
      expect(chart3).toMatchObject({ action: 'action-deploy', result: 'failed', exitCode: 1, revision: '2' });
      expect(chart3?.activeColor).toBe(chart1?.activeColor);
      expect(chart3?.errors.join('\n')).toMatch(/pre-deploy Job payment-migrate-r2 failed/);
      const [r1, r3] = chart?.releases ?? [];
      expect(chart?.releases).toHaveLength(2);
      expect(r1).toMatchObject({
        version: 'v1',
        result: 'promoted',
        revision: '1',
        image: results.builds.v1.payment?.image,
        jobs: [{ job: 'payment-migrate-r1', phase: 'pre-deploy', result: 'succeeded' }],
      });
      expect(r3).toMatchObject({
        version: 'v3',
        result: 'failed',
        revision: '2',
        image: results.builds.v3.payment?.image,
        jobs: [{ job: 'payment-migrate-r2', phase: 'pre-deploy', result: 'failed' }],
      });
      expect(r3?.jobs[0]?.logTail.at(-1)).toBe(
        'ERROR: column "currency" of relation "payments" does not exist',
      );
      expect(r1?.valuesDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(chart?.live).toEqual({ color: chart1?.activeColor, image: results.builds.v1.payment?.image });
      expect(run.stdout).toMatch(
        /deploy the payment chart, v1 \(action-deploy\): result promoted, revision 1, live color (blue|green)/,
      );
      expect(run.stdout).toMatch(/chart payment \d+\.\d+\.\d+: pre-deploy Job payment-migrate-r1 succeeded/);
      expect(run.stdout).toContain('| `payment-migrate-r2` | pre-deploy | ❌ failed |');
      expect(run.stdout).toContain(
        'pre-deploy Job payment-migrate-r2 failed; the last line of its pod\'s log: ERROR: column "currency" of relation "payments" does not exist',
      );
      expect(run.stdout).toContain('no Deployment runs v3, nothing switched');

      // Users' requests flowed through the Ingress during v2, v3 and the rollback: both colors
      // answered them, and none reached an unready pod or a Service without endpoints.
      const traffic = results.traffic;
      expect(traffic?.sent).toBeGreaterThan(50);
      expect(Object.keys(traffic?.byColor ?? {}).sort()).toEqual(['blue', 'green']);
      expect(traffic?.monitor).toMatchObject({ unreadyAnswers: 0, routing503s: 0 });
      expect(traffic?.monitor.requests).toBeGreaterThanOrEqual(traffic?.sent ?? Infinity);
      // How many requests v3 answered before its gate switched it back depends on timing: not asserted.
      expect(run.stdout).toContain('traffic checks: 0 requests to unready pods, 0 routing 503s');
      const report = readFileSync(join(workDir, 'summary.md'), 'utf8');
      expect(report).toContain('## Traffic');
      expect(report).toMatch(/\| Requests sent \| \d+ \|/);
      expect(report).toContain('| Requests to unready pods (invariant monitor) | 0 |');

      // No scanner here: each v1 image went through action-scan with the recorded report, said in one
      // line; the stand-in saw the digests and no download location outside this machine. Every
      // verdict passed and was attached to its image, and the v1 deploy required them.
      expect(run.stdout).toMatch(
        /scanner {4}none can run offline here \(.*\): action-scan replays the recorded Trivy report trivy-image-alpine-310\.json/,
      );
      expect(results.scans.scanner).toBe('recorded trivy-image-alpine-310.json');
      expect(results.scans.images.map((s) => [s.service, s.verdict, s.attached]).sort()).toEqual(
        [...SERVICES].sort().map((s) => [s, 'pass', true]),
      );
      expect(run.stdout).toContain('the v1 deploy requires these verdicts (require-scan)');
      const logs = readdirSync(join(workDir, 'logs'))
        .map((f) => readFileSync(join(workDir, 'logs', f), 'utf8'))
        .join('\n');
      expect(logs).toContain(`require-scan: all ${String(SERVICES.length)} images have a passing verdict.`);
      const trivy = {
        calls: () =>
          readFileSync(join(workDir, 'recorded-trivy', 'calls.jsonl'), 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as { args: string[]; env: Record<string, string> }),
      };
      const scans = trivy
        .calls()
        .filter((c) => c.args[0] === 'image' && !c.args.includes('--download-db-only'));
      expect(scans.map((c) => c.args.at(-1)).sort()).toEqual(
        SERVICES.map((s) => results.builds.v1[s]?.image).sort(),
      );
      const calls = trivy.calls().filter((c) => c.args[0] !== '--version');
      expect(calls.length).toBeGreaterThanOrEqual(scans.length);
      for (const c of calls) expect(c.env.TRIVY_DB_REPOSITORY).toMatch(/^127\.0\.0\.1:/);

      // One Markdown file with every job summary, the releases and the timings.
      expect(run.stdout).toContain(`Job summaries: ${join(workDir, 'summary.md')}`);
      const summary = readFileSync(join(workDir, 'summary.md'), 'utf8');
      for (const service of SERVICES) {
        for (const v of ['v1', 'v2', 'v3']) expect(summary).toContain(`## action-build: ${service} ${v}`);
        expect(summary).toContain(`## action-scan: ${service} v1`);
        expect(summary).toContain(results.builds.v1[service]?.digest ?? '?');
      }
      for (const title of [
        '## action-deploy: deploy v1 to dev',
        '## action-deploy: deploy v2 blue-green',
        '## action-deploy: deploy broken v3',
        '## action-rollback: roll back to revision 1',
        '## action-deploy: deploy v4 by canary',
        '## action-deploy: deploy bad v5 by canary',
        '## action-deploy: deploy the payment chart, v1',
        '## action-deploy: deploy the payment chart, v3 whose migration fails',
      ])
        expect(summary).toContain(title);
      // The canary chapter, with the rows of each step as action-deploy's job summary has them.
      const chapter = summary.slice(summary.indexOf('## Canary'), summary.indexOf('## Helm chart'));
      expect(chapter).toContain('### v4: deploy v4 by canary');
      expect(chapter).toMatch(/\| 10 % \| .* \| ✅ canary-errors: .* \| ➡️ next step \|/);
      expect(chapter).toMatch(/\| 50 % \| .* \| ➡️ next step \|/);
      expect(chapter).toMatch(/\| 100 % \| .* \| ✅ promote \|/);
      expect(chapter).toContain('### v5: deploy bad v5 by canary');
      expect(chapter).toMatch(/\| 10 % \| .* \| ❌ canary-errors: .*is above max 0\.05 \| ↩️ abort \|/);
      expect(chapter).toContain('No canary Ingress was left.');
      // The Helm chart section, with the Job rows of action-deploy's summaries and the failed
      // migration's last log lines.
      const chartSection = summary.slice(summary.indexOf('## Helm chart'), summary.indexOf('## Timings'));
      expect(chartSection).toContain('`charts/payment` (`payment` ');
      expect(chartSection).toContain('### payment v1: deploy the payment chart, v1');
      expect(chartSection).toMatch(/\| `payment-migrate-r1` \| pre-deploy \| ✅ succeeded \|/);
      expect(chartSection).toContain('### payment v3: deploy the payment chart, v3 whose migration fails');
      expect(chartSection).toMatch(/\| `payment-migrate-r2` \| pre-deploy \| ❌ failed \|/);
      expect(chartSection).toContain('ERROR: column "currency" of relation "payments" does not exist');
      expect(chartSection).toMatch(/no Deployment runs the image whose migration failed/);
      expect(summary).toMatch(/\| Chart \| `payment` \S+ from `charts\/payment` /);
      expect(summary).toMatch(
        /\| deploy the payment chart, v3 whose migration fails \| `action-deploy` \| \*\*failed\*\* \| 2 \|/,
      );
      expect(summary).toMatch(/\| deploy bad v5 by canary \| `action-deploy` \| \*\*rolled-back\*\* \| 6 \|/);
      expect(summary).toMatch(/\| deploy broken v3 \| `action-deploy` \| \*\*rolled-back\*\* \| 3 \|/);
      expect(summary).toMatch(
        /\| roll back to revision 1 \| `action-rollback` \| \*\*rolled-back\*\* \| 1 \|/,
      );
      expect(summary).toContain('| Step | Outcome | Time |');
      expect(summary).toContain('Invariant monitor: 0 violation(s)');
      expect(run.stdout).toMatch(/Timings\n(.*\d+\.\ds.*\n)+\s+total\s+\d+\.\ds/);
      expect(results.steps.map((s) => s.step)).toEqual(
        expect.arrayContaining([
          'build v1 (action-build, buildah, push)',
          'deploy v1 to dev (action-deploy)',
          'deploy broken v3 (action-deploy)',
          'roll back to revision 1 (action-rollback)',
          'deploy v4 by canary (action-deploy)',
          'deploy bad v5 by canary (action-deploy)',
          'deploy the payment chart, v1 (action-deploy)',
          'deploy the payment chart, v3 whose migration fails (action-deploy)',
          'check what runs from the chart',
        ]),
      );

      // Nothing left running or lying around.
      expect(await gone(`${results.setup.registryUrl}/v2/`)).toBe(true);
      expect(await gone(`${results.setup.clusterUrl}/version`)).toBe(true);
      expect(await gone(`${results.setup.prometheusUrl}/-/ready`)).toBe(true);
      expect(existsSync(results.setup.storage)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);

  it('interrupted in the middle of a build: stops the build, the registry and the cluster, and removes its storage', async () => {
    requireTool('buildah');
    requireTool('docker-registry');
    const dir = mkdtempSync(join(tmpdir(), 'ds-demo-test-'));
    try {
      const run = await runDemo(
        ['--services', 'gateway', '--work-dir', join(dir, 'work')],
        { DEMO_KUBECONFIG: undefined, DEMO_REGISTRY: undefined },
        // action-build is running buildah a few seconds after it starts.
        { interruptWhen: (out) => out.includes('▶ build v1'), interruptAfterMs: 4000 },
      );
      if (run.exitCode !== 130)
        throw new Error(
          `The demo exited with ${String(run.exitCode)}, not 130:\n${run.stdout}\n${run.stderr}`,
        );
      expect(run.stdout).toContain('SIGINT: stopping the actions, the registry and the cluster');
      const registry = /registry {3}docker-registry (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout)?.[1];
      const cluster = /cluster {4}kube-double (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout)?.[1];
      const storage = /vfs storage in (\S+),/.exec(run.stdout)?.[1];
      expect([registry, cluster, storage].every((x) => x !== undefined)).toBe(true);
      expect(await gone(`${registry ?? ''}/v2/`)).toBe(true);
      expect(await gone(`${cluster ?? ''}/version`)).toBe(true);
      expect(existsSync(storage ?? '')).toBe(false);
      // No builder or action left behind: no process still has the storage in its environment.
      expect(processesMentioning(storage ?? '')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('without prometheus on PATH: names it and how to install it, and starts nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-demo-test-'));
    try {
      // Every other tool the demo needs, and no prometheus.
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      for (const tool of ['buildah', 'docker-registry', 'busybox', 'git', 'sh'])
        symlinkSync(requireTool(tool), join(bin, tool));
      const run = await runDemo(['--services', 'gateway', '--work-dir', join(dir, 'work')], {
        PATH: bin,
        DEMO_KUBECONFIG: undefined,
        DEMO_REGISTRY: undefined,
      });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain("The demo needs 'prometheus', which is not on PATH");
      expect(run.stderr).toContain('scripts/install-system-deps.sh');
      expect(run.stdout).not.toMatch(/registry {3}docker-registry/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses an unknown service before starting anything', async () => {
    const run = await runDemo(['--services', 'gateway,billing'], {});
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("--services 'gateway,billing' names unknown services: billing");
    expect(run.stdout).toBe('');
  }, 60_000);
});

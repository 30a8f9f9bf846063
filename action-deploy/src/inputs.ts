import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  defaultAppName,
  InputError,
  readKubeconfig,
  RELEASE_NAME,
  RELEASE_NAME_ACCEPTED,
  readBoolean,
  readDuration,
  readEnum,
  readList,
  readString,
  readWorkspacePath,
  readYaml,
  type InputSource,
} from '@dreamscape/core';
import { findOnPath, RENDERERS, type HelmChoice, type ImagePin, type Renderer } from '@dreamscape/kube';
import { parseImagesInput } from '@dreamscape/image';
import {
  exemptionCoveringAll,
  readScanRequirement,
  SCAN_EXEMPT_FORMAT,
  type ScanRequirement,
} from '@dreamscape/scan';
import { parseAllowedClusterObjects, type AllowedClusterObject } from '@dreamscape/release';

const NAME = RELEASE_NAME;
const NAME_ACCEPTED = RELEASE_NAME_ACCEPTED;
const CANARY_ACCEPTED =
  'a YAML mapping with `router` and `steps` (and optional `pause`, `analysis`, `failure-limit`, `header`, `ingress`, `route`), given only with strategy canary';
const RENDERER_ACCEPTED =
  "'kubectl' (the default: kubectl kustomize of the kubectl the action runs), or 'kustomize' when a kustomize binary is on PATH";

/** A Helm chart as the release source (`chart` and the inputs that go with it). */
export interface ChartInputs {
  /** As given: a chart folder or `.tgz` in the workspace, or `oci://host/path/chart`. */
  readonly chart: string;
  readonly version: string | undefined;
  /** Values files (workspace paths as given), in order. */
  readonly values: readonly string[];
  /** `key=value` entries, each one `--set`. */
  readonly set: readonly string[];
  /** `pinned` (helm v3.17.2 required) or `path` (the helm on PATH, whatever its version). */
  readonly helm: HelmChoice;
  /** Credentials of the chart's OCI registry. */
  readonly registry: { readonly username: string; readonly password: string } | undefined;
}

/** Everything action-deploy was asked to do, validated once. */
export interface DeployInputs {
  /** The overlay directory; '' when the release source is a chart. */
  readonly overlay: string;
  /** The chart, when the release source is one (exactly one of overlay and chart). */
  readonly chart: ChartInputs | undefined;
  /** How long one pre-deploy or post-deploy Job may run. */
  readonly jobTimeoutMs: number;
  /** A failed post-deploy Job: `report` (the release stays live) or `switch-back`. */
  readonly postDeployFailure: 'report' | 'switch-back';
  /** `require-scan`: what every image's verdict must be, and the registry the credentials go to. */
  readonly scan: (ScanRequirement & { readonly registry: string }) | undefined;
  /** `registry-username` / `registry-password`: for an `oci://` chart's registry and `scan-registry`. */
  readonly registryCredentials: { readonly username: string; readonly password: string } | undefined;
  readonly images: readonly ImagePin[];
  readonly environment: string;
  readonly app: string;
  readonly namespace: string | undefined;
  readonly strategy: 'blue-green' | 'canary' | 'rolling';
  /** The canary YAML, decoded (checked against the overlay once it is rendered); strategy canary only. */
  readonly canary: unknown;
  /** The health-checks YAML, decoded (validated against the overlay's Services later). */
  readonly healthChecks: unknown;
  readonly healthChecksText: string;
  readonly rolloutTimeoutMs: number;
  readonly verifyWindowMs: number;
  readonly previous: 'keep' | 'scale-down';
  readonly lockTimeoutMs: number;
  readonly lockTtlMs: number;
  readonly kubeconfig: string | undefined;
  readonly githubToken: string;
  /** `promote` / `abort` continue or stop a canary paused for approval (ADR 10). */
  readonly mode: 'deploy' | 'plan' | 'promote' | 'abort';
  readonly environmentUrl: string;
  /** `kubectl` renders with `kubectl kustomize`; `kustomize` with the kustomize binary on PATH. */
  readonly renderer: Renderer;
  /** The workspace every file the overlay reaches must stay inside. */
  readonly workspace: string;
  /** Cluster-scoped objects the release may apply besides its own Namespace (`Kind/name`, `Kind/*`). */
  readonly allowClusterObjects: readonly AllowedClusterObject[];
  /** Hosts kustomize may fetch remote resources and bases from; none by default. */
  readonly allowRemoteHosts: readonly string[];
}

/** Reads and validates the inputs; `env` gives the runner's context (`GITHUB_WORKSPACE`, `KUBECONFIG`, `GITHUB_REPOSITORY`). */
export function readInputs(
  src: InputSource,
  env: Readonly<Record<string, string | undefined>>,
): DeployInputs {
  const workspace = env.GITHUB_WORKSPACE ?? process.cwd();
  const overlayInput = readString(src, 'overlay');
  const chartInput = readString(src, 'chart');
  if ((overlayInput === '') === (chartInput === ''))
    throw new InputError(
      overlayInput === '' ? 'overlay' : 'chart',
      overlayInput === '' ? '' : chartInput,
      'exactly one release source: `overlay` (a kustomize overlay directory) or `chart` (a Helm chart folder, .tgz or oci:// reference)',
      { reason: overlayInput === '' ? 'neither is given' : 'both are given' },
    );
  const overlay = overlayInput === '' ? '' : readOverlay(overlayInput, workspace);
  const scan = readBoolean(src, 'require-scan', false) ? readScanSettings(src, env) : undefined;
  const registryCredentials = readCredentials(src, chartInput.startsWith('oci://') || scan !== undefined);
  const chart =
    chartInput === '' ? undefined : readChart(src, chartInput, registryCredentials, scan?.registry);
  if (chart === undefined)
    for (const name of ['chart-version', 'values', 'set'])
      if (readString(src, name) !== '')
        throw new InputError(name, readString(src, name), `a value only with the \`chart\` input`, {
          reason: 'the release source is an overlay',
        });

  const environment = readString(src, 'environment', { required: true });
  if (!NAME.test(environment)) throw new InputError('environment', environment, NAME_ACCEPTED);
  const app = readString(src, 'app', { default: defaultAppName(env) });
  if (!NAME.test(app)) throw new InputError('app', app, NAME_ACCEPTED);
  const namespace = readString(src, 'namespace') || undefined;
  if (chart !== undefined && namespace === undefined)
    throw new InputError('namespace', '', 'the namespace the chart is released into', {
      reason:
        'a chart is rendered for one namespace (`--namespace`), so `namespace` is required with `chart`',
    });
  if (namespace !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(namespace))
    throw new InputError(
      'namespace',
      namespace,
      'a Kubernetes namespace name (lowercase letters, digits, dashes)',
    );

  const kubeconfig = readKubeconfig(src, env, workspace);

  const healthChecksText = readString(src, 'health-checks');
  const strategy = readEnum(src, 'strategy', ['blue-green', 'canary', 'rolling'] as const, 'blue-green');
  const canary = readYaml(src, 'canary', CANARY_ACCEPTED);
  if (strategy === 'canary' && canary === undefined)
    throw new InputError('canary', '', CANARY_ACCEPTED, {
      reason: 'strategy canary needs its steps and router in the `canary` input',
    });
  if (strategy !== 'canary' && canary !== undefined)
    throw new InputError('canary', readString(src, 'canary'), CANARY_ACCEPTED, {
      reason: `the canary input is read only with strategy canary, and strategy is ${strategy}`,
    });
  const mode = readEnum(src, 'mode', ['deploy', 'plan', 'promote', 'abort'] as const, 'deploy');
  const postDeployFailure = readEnum(
    src,
    'post-deploy-failure',
    ['report', 'switch-back'] as const,
    'report',
  );
  if (postDeployFailure === 'switch-back' && strategy === 'rolling')
    throw new InputError('post-deploy-failure', postDeployFailure, "'report' with strategy rolling", {
      reason: 'a rolling release has no previous color to switch back to',
    });
  if (mode === 'promote' && strategy !== 'canary')
    throw new InputError('mode', mode, MODE_ACCEPTED, {
      reason: `promote continues a paused canary, so it needs strategy canary and the paused run's canary input (strategy is ${strategy})`,
    });
  if (mode === 'abort' && strategy === 'rolling')
    throw new InputError('mode', mode, MODE_ACCEPTED, {
      reason: 'abort stops a blue-green or canary release in progress, and strategy is rolling',
    });
  return {
    overlay,
    chart,
    scan,
    registryCredentials,
    jobTimeoutMs: readDuration(src, 'job-timeout', 600_000, { minMs: 1000, maxMs: 6 * 3_600_000 }),
    postDeployFailure,
    images: parseImagesInput(readString(src, 'images')),
    environment,
    app,
    namespace,
    strategy,
    canary,
    healthChecks: readYaml(src, 'health-checks', 'a YAML list of health checks'),
    healthChecksText,
    rolloutTimeoutMs: readDuration(src, 'rollout-timeout', 300_000, { minMs: 1000, maxMs: 6 * 3_600_000 }),
    verifyWindowMs: readDuration(src, 'verify-window', 60_000, { minMs: 0, maxMs: 6 * 3_600_000 }),
    previous: readEnum(src, 'previous', ['keep', 'scale-down'] as const, 'keep'),
    lockTimeoutMs: readDuration(src, 'lock-timeout', 300_000, { minMs: 0, maxMs: 6 * 3_600_000 }),
    lockTtlMs: readDuration(src, 'lock-ttl', 60_000, { minMs: 3000, maxMs: 3_600_000 }),
    kubeconfig,
    githubToken: readString(src, 'github-token'),
    mode,
    environmentUrl: readString(src, 'environment-url'),
    renderer: readRenderer(src, env.PATH ?? ''),
    workspace,
    allowClusterObjects: parseAllowedClusterObjects(readString(src, 'allow-cluster-objects')),
    allowRemoteHosts: readRemoteHosts(src),
  };
}

/** `overlay`: a directory of the workspace with a kustomization. */
function readOverlay(value: string, workspace: string): string {
  const overlay = readWorkspacePath('overlay', value, workspace, 'directory');
  if (
    !['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((f) => existsSync(resolve(overlay, f)))
  )
    throw new InputError('overlay', value, 'a directory holding a kustomization.yaml', {
      reason: `${overlay} has no kustomization.yaml`,
    });
  return overlay;
}

/**
 * `chart` and what goes with it. Paths are checked (inside the workspace, links followed) and the
 * values parsed when the chart is rendered, before helm runs. An `oci://` chart gets the
 * credentials only when they are not `scan-registry`'s, or it lives there: credentials meant for
 * the verdicts' registry never go to another host.
 */
function readChart(
  src: InputSource,
  chart: string,
  credentials: { readonly username: string; readonly password: string } | undefined,
  scanRegistry: string | undefined,
): ChartInputs {
  const host = /^oci:\/\/([^/]+)\//.exec(chart)?.[1]?.toLowerCase();
  const helm = readEnum(src, 'helm', ['pinned', 'path'] as const, 'pinned');
  return {
    chart,
    version: readString(src, 'chart-version') || undefined,
    values: readList(src, 'values'),
    set: readList(src, 'set', { commas: false }),
    helm,
    registry:
      chart.startsWith('oci://') && (scanRegistry === undefined || host === scanRegistry)
        ? credentials
        : undefined,
  };
}

/** `registry-username` and `registry-password`: both or neither, and only where something uses them. */
function readCredentials(
  src: InputSource,
  used: boolean,
): { readonly username: string; readonly password: string } | undefined {
  const username = readString(src, 'registry-username');
  const password = readString(src, 'registry-password');
  if ((username === '') !== (password === ''))
    throw new InputError(
      username === '' ? 'registry-username' : 'registry-password',
      '',
      'both registry-username and registry-password, or neither',
    );
  if (username !== '' && !used)
    throw new InputError(
      'registry-username',
      username,
      'credentials only with an oci:// chart or with require-scan',
      { reason: 'nothing would use them' },
    );
  return username === '' ? undefined : { username, password };
}

/**
 * `require-scan`'s settings, and `scan-registry`, where the credentials go when verdicts are read.
 * A `scan-exempt` entry covering all of `scan-registry`, or the repository owner's namespace in it,
 * is refused: it would exempt the team's own images, which is `require-scan: false` by another name.
 */
function readScanSettings(
  src: InputSource,
  env: Readonly<Record<string, string | undefined>>,
): ScanRequirement & { readonly registry: string } {
  const registry = readString(src, 'scan-registry', { default: 'ghcr.io' }).toLowerCase();
  if (!/^[a-z0-9.-]+(:[0-9]{1,5})?$/.test(registry))
    throw new InputError(
      'scan-registry',
      registry,
      'a registry host, such as ghcr.io or registry.example.com:5000',
    );
  const requirement = readScanRequirement(src);
  const owner = (env.GITHUB_REPOSITORY_OWNER ?? env.GITHUB_REPOSITORY?.split('/')[0] ?? '').toLowerCase();
  for (const own of owner === '' ? [registry] : [registry, `${registry}/${owner}`]) {
    const entry = exemptionCoveringAll(own, requirement.exempt ?? []);
    if (entry !== undefined)
      throw new InputError('scan-exempt', entry.text, SCAN_EXEMPT_FORMAT, {
        reason: `it covers every image under ${own}, where your own images and their verdicts are (scan-registry${own === registry ? '' : " and the repository's owner"}): name the third-party repositories, or set require-scan: false`,
      });
  }
  return { ...requirement, registry };
}

const MODE_ACCEPTED =
  "'deploy', 'plan', 'promote' (strategy canary: continue a canary paused for approval) or 'abort' (stop the blue-green or canary release in progress)";

const HOST = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** `allow-remote-hosts`: host names, one per line (or comma-separated), exactly as URLs name them. */
function readRemoteHosts(src: InputSource): string[] {
  const hosts = readList(src, 'allow-remote-hosts').map((h) => h.toLowerCase());
  for (const host of hosts)
    if (!HOST.test(host))
      throw new InputError(
        'allow-remote-hosts',
        host,
        'host names kustomize may fetch remote resources and bases from, one per line, such as github.com (no scheme, port, path or wildcard)',
      );
  return hosts;
}

/** `kubectl` unless `kustomize` is asked for, which needs a kustomize on PATH. */
function readRenderer(src: InputSource, path: string): Renderer {
  const value = readString(src, 'renderer', { default: 'kubectl' });
  const renderer = RENDERERS.find((r) => r === value.toLowerCase());
  if (renderer === undefined) throw new InputError('renderer', value, RENDERER_ACCEPTED);
  if (renderer === 'kustomize' && findOnPath('kustomize', path) === undefined)
    throw new InputError('renderer', value, RENDERER_ACCEPTED, {
      reason: 'there is no kustomize executable on PATH',
    });
  return renderer;
}

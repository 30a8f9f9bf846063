import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { ActionError, CommandError, InputError, type CommandRunner, type Logger } from '@dreamscape/core';
import { readChartArchive, withSubchartArchives } from './chart-archive.js';
import { chartNotices, type ChartFileEntry } from './chart-notices.js';
import { pullOciChart, type RegistryCredentials } from './chart-registry.js';
import {
  CHART_LIMITS,
  chartMetadata,
  resolveChartSource,
  type ChartMetadata,
  type ChartSource,
  type ChartSourceKind,
  type OciChart,
} from './chart-source.js';
import { readChartValues, type ChartValues } from './chart-values.js';
import { checkHelmVersion, HELM_INSTALL_HINT, HelmCli, type HelmChoice } from './helm-cli.js';
import { findOnPath, pinnedImages, validatePins, type ImagePin, type RenderedOverlay } from './kustomize.js';
import { formatManifests, ManifestError, parseManifests } from './manifests.js';
import { pinPodImages } from './pod-image-pins.js';

export { HELM_CHOICES, HELM_VERSION, type HelmChoice } from './helm-cli.js';
export { CHART_LIMITS, type ChartSourceKind } from './chart-source.js';
export { VALUES_LIMITS, valuesDigest } from './chart-values.js';
export { NO_RELEASE_SECRET_NOTICE } from './chart-notices.js';
export type { RegistryCredentials } from './chart-registry.js';

/** Options of {@link renderChart}. */
export interface RenderChartOptions {
  /**
   * The chart as the user gave it: a directory (holding Chart.yaml) or a `.tgz` inside the
   * workspace, relative to it; or `oci://host[:port]/path/name`.
   */
  readonly chart: string;
  /**
   * The chart version (`chart-version`): required with an `oci://` chart (an exact version, never
   * a range); with a local chart, when given, it must be the version in its Chart.yaml.
   */
  readonly version?: string;
  /** Values files, workspace paths, in order (later ones win, as with helm's `-f`). */
  readonly valuesFiles: readonly string[];
  /** `key=value` entries, each passed as one `--set` (never `--set-file`). */
  readonly set: readonly string[];
  /** The release name templates see as `.Release.Name`: the app name. */
  readonly releaseName: string;
  /** `.Release.Namespace`; helm does not put it on objects that do not template it. */
  readonly namespace: string;
  readonly images: readonly ImagePin[];
  /** Which helm may render; default `pinned`. */
  readonly helm?: HelmChoice;
  /** The PATH searched for `helm`; default the process's. */
  readonly path?: string;
  readonly runner: CommandRunner;
  readonly logger?: Logger;
  /** Where helm's private home (config, cache, registry login, the pulled chart) is made, then removed. */
  readonly tempDir: string;
  /** Every local file the chart and values reach must resolve, links followed, inside it. */
  readonly workspace: string;
  /** Credentials for an `oci://` chart's registry. */
  readonly registry?: RegistryCredentials;
  readonly signal?: AbortSignal;
}

/** The chart a release was rendered from, as recorded. */
export interface ChartInfo {
  readonly name: string;
  readonly version: string;
  readonly appVersion?: string;
  readonly source: ChartSourceKind;
  /** The chart input as given: workspace-relative for a local chart, the `oci://` reference otherwise. */
  readonly reference: string;
  /**
   * `sha256:<hex>` over the values files' bytes (in order) and the set entries: the same values
   * give the same digest from one deploy to the next.
   */
  readonly valuesDigest: string;
}

/** What {@link renderChart} produced: the same as a kustomize render, plus the chart. */
export interface RenderedChart extends RenderedOverlay {
  readonly chart: ChartInfo;
  /**
   * How this render differs from `helm install` of the chart (templates that call `lookup`, CRDs
   * in `crds/`, no Helm release Secret), already logged at info; the caller decides what else to do.
   */
  readonly notices: string[];
}

const RELEASE_NAME = /^[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const CHART_VERSION = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const VERSION_ACCEPTED =
  'an exact semantic version such as 1.4.2 (required with an oci:// chart; with a local chart, the version in its Chart.yaml, or nothing)';

/**
 * Renders a Helm chart with `helm template` and pins its images by digest, giving what
 * {@link renderOverlay} gives for a kustomize overlay.
 *
 * Before helm runs, every input is checked (an {@link InputError} naming `chart`, `chart-version`,
 * `values`, `set`, `app` or `namespace`): a local chart and everything it links to must be inside
 * the workspace, an archive a `.tgz` of at most 10 MiB, values files YAML mappings inside the
 * workspace of at most 1 MiB, set entries `key=value`; chart URLs and `repo/name` references are
 * refused. Then the helm on PATH is checked (`pinned`: exactly {@link HELM_VERSION}). An `oci://`
 * chart is pulled once (after `helm registry login` when credentials are given), and the pulled
 * archive is what is read and rendered. Every helm command runs with HELM_CONFIG_HOME,
 * HELM_CACHE_HOME, HELM_DATA_HOME and HELM_REGISTRY_CONFIG in a fresh directory under `tempDir`,
 * removed afterwards; the render itself runs with {@link OFFLINE_RENDER_ENV}.
 *
 * `helm template <releaseName> <chart> --namespace --include-crds --values... --set...` keeps test
 * hooks and every other hook in its output (the release decides what hooks are). Images of the
 * pod specs of Pods and workload kinds are pinned ({@link pinPodImages}); a pin that reaches no
 * image is an error. `text` is the pinned objects as a YAML stream, which parses back to `objects`.
 */
export async function renderChart(options: RenderChartOptions): Promise<RenderedChart> {
  const { workspace, logger } = options;
  if (!RELEASE_NAME.test(options.releaseName))
    throw new InputError(
      'app',
      options.releaseName,
      'a Helm release name: lowercase letters, digits and dashes, at most 53 characters',
    );
  if (!NAMESPACE.test(options.namespace))
    throw new InputError(
      'namespace',
      options.namespace,
      'a Kubernetes namespace name (lowercase letters, digits, dashes)',
    );
  validatePins(options.images);
  const source = resolveChartSource(options.chart, workspace);
  const version = checkVersion(options.version, source);
  const values = readChartValues(options.valuesFiles, options.set, workspace);
  const credentials = source.kind === 'oci' ? checkCredentials(options.registry, source) : undefined;
  const tool = findOnPath('helm', options.path);
  if (tool === undefined)
    throw new ActionError('There is no helm on PATH to render the chart with.', { hint: HELM_INSTALL_HINT });
  if (credentials !== undefined) logger?.setSecret(credentials.password);

  const home = mkdtempSync(join(options.tempDir, 'dreamscape-helm-'));
  try {
    const cli = new HelmCli({
      tool,
      runner: options.runner,
      home,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(credentials === undefined ? {} : { secrets: [credentials.password] }),
    });
    const helmVersion = await checkHelmVersion(cli, options.helm ?? 'pinned');
    const chart = await locate(cli, source, version, credentials, home, logger);
    const notices = chartNotices(chart.files);
    // Returned, not logged: the caller says them once (not again when it renders with more pins).

    const text = await template(cli, options, source.reference, chart.path, writeValues(home, values));
    let objects;
    try {
      objects = parseManifests(text, `helm template ${source.reference}`);
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      // An alias is refused in every rendered manifest; the parser's own words speak of kustomize.
      if (/YAML alias/.test(error.message))
        throw new ActionError(
          `The manifests helm rendered from the chart ${source.reference} use a YAML alias (*name)${error.documentIndex === undefined ? '' : ` in document ${error.documentIndex}`}: refused, since an alias can stand for more values than memory holds.`,
          {
            cause: error,
            hint: 'Write the repeated values out in the template instead of a YAML anchor (&name) and alias.',
          },
        );
      throw new ActionError(
        `The manifests helm rendered from the chart ${source.reference} cannot be read: ${error.message}`,
        {
          cause: error,
          hint: 'Run helm template locally with the same values and check the document named.',
        },
      );
    }
    pinPodImages(objects, options.images);
    const { images, unpinned } = pinnedImages(objects, options.images, `the chart ${source.reference}`);
    return {
      objects,
      text: formatManifests(objects),
      images,
      unpinned,
      renderer: `helm template (${helmVersion})`,
      chart: {
        name: chart.metadata.name,
        version: chart.metadata.version,
        ...(chart.metadata.appVersion === undefined ? {} : { appVersion: chart.metadata.appVersion }),
        source: source.kind,
        reference: source.reference,
        valuesDigest: values.digest,
      },
      notices,
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function checkVersion(version: string | undefined, source: ChartSource): string | undefined {
  if (version === undefined || version === '') {
    if (source.kind === 'oci')
      throw new InputError('chart-version', '', VERSION_ACCEPTED, {
        reason: `the chart ${source.reference} is in a registry, where a release names the exact version it deploys`,
      });
    return undefined;
  }
  if (!CHART_VERSION.test(version)) throw new InputError('chart-version', version, VERSION_ACCEPTED);
  if (source.kind === 'directory' && source.metadata.version !== version)
    throw versionMismatch(version, source.reference, source.metadata.version);
  return version;
}

function versionMismatch(asked: string, reference: string, found: string): InputError {
  return new InputError('chart-version', asked, VERSION_ACCEPTED, {
    reason: `the chart ${reference} is version ${found}, not ${asked}`,
    hint: `Set chart-version to ${found}, or leave it out for a chart in the repository.`,
  });
}

function checkCredentials(
  registry: RegistryCredentials | undefined,
  chart: OciChart,
): RegistryCredentials | undefined {
  if (registry === undefined) return undefined;
  if (!/^[^\s\0]+$/.test(registry.username) || registry.password === '' || /[\r\n\0]/.test(registry.password))
    throw new ActionError(
      `The credentials for the registry ${chart.registry} are incomplete or malformed: the username must be one word and the password one non-empty line.`,
      { hint: 'Give both the registry username and password (or token), or neither for a public chart.' },
    );
  return registry;
}

/** The archive or directory helm renders, its metadata and its files (for the notices). */
interface LocatedChart {
  readonly path: string;
  readonly metadata: ChartMetadata;
  readonly files: readonly ChartFileEntry[];
}

async function locate(
  cli: HelmCli,
  source: ChartSource,
  version: string | undefined,
  credentials: RegistryCredentials | undefined,
  home: string,
  logger: Logger | undefined,
): Promise<LocatedChart> {
  if (source.kind === 'directory')
    return { path: source.path, metadata: source.metadata, files: withSubchartArchives(source.files) };
  let path = source.kind === 'oci' ? '' : source.path;
  if (source.kind === 'oci') {
    path = await pullOciChart({
      cli,
      chart: source,
      version: version ?? '',
      credentials,
      destination: join(home, 'pulled'),
      logger,
    });
    const size = statSync(path).size;
    if (size > CHART_LIMITS.archiveBytes)
      throw new InputError('chart', source.reference, 'a chart archive of at most 10 MiB', {
        reason: `version ${version ?? ''} is ${size} bytes`,
      });
  }
  const metadata = await showChart(cli, path, source.reference);
  if (version !== undefined && metadata.version !== version)
    throw versionMismatch(version, source.reference, metadata.version);
  // An archive's files are read in memory for the notices; unreadable, helm says why when it renders.
  const files = (readChartArchive(readFileSync(path)) ?? []).map((f) => ({
    path: f.path,
    read: () => f.content,
  }));
  return { path, metadata, files };
}

/** `helm show chart`: the Chart.yaml helm itself reads from an archive. */
async function showChart(cli: HelmCli, path: string, reference: string): Promise<ChartMetadata> {
  let stdout: string;
  try {
    stdout = (await cli.run(['show', 'chart', path], { offline: true })).stdout;
  } catch (error) {
    if (!(error instanceof CommandError) || error.cancelled) throw error;
    throw new ActionError(`helm cannot read the chart ${reference}: ${cli.failure(error)}`, {
      cause: error,
      hint: 'Check the archive with helm show chart; it should be what helm package made.',
    });
  }
  let metadata: ChartMetadata | undefined;
  try {
    metadata = chartMetadata(load(stdout));
  } catch {
    metadata = undefined;
  }
  if (metadata === undefined)
    throw new ActionError(`helm show chart ${reference} printed no chart name and version.`, {
      hint: 'Check the chart with helm show chart.',
    });
  return metadata;
}

/** Copies of the checked values files, in order: helm reads exactly the bytes that were digested. */
function writeValues(home: string, values: ChartValues): string[] {
  const dir = join(home, 'values');
  mkdirSync(dir, { recursive: true });
  return values.files.map((f, i) => {
    const path = join(dir, `${i + 1}.yaml`);
    writeFileSync(path, f.content);
    return path;
  });
}

async function template(
  cli: HelmCli,
  options: RenderChartOptions,
  reference: string,
  chartPath: string,
  valuesPaths: readonly string[],
): Promise<string> {
  // `--flag=value` throughout: no value can be taken for a flag of its own.
  const args = [
    'template',
    options.releaseName,
    chartPath,
    `--namespace=${options.namespace}`,
    '--include-crds',
    ...valuesPaths.map((p) => `--values=${p}`),
    ...options.set.map((s) => `--set=${s}`),
  ];
  try {
    const result = await cli.run(args, { offline: true });
    if (result.stdoutTruncated)
      throw new ActionError(`helm template rendered more from the chart ${reference} than can be kept.`, {
        hint: 'A release of that size is not deployed in one piece; split the chart.',
      });
    return result.stdout;
  } catch (error) {
    if (!(error instanceof CommandError) || error.cancelled) throw error;
    throw new ActionError(
      `Rendering the chart ${reference} with helm template failed: ${cli.failure(error)}`,
      {
        cause: error,
        hint: 'Run helm template locally with the same values files and set entries to see the error in context.',
      },
    );
  }
}

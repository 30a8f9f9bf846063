import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { load, YAMLException } from 'js-yaml';
import { InputError, previewValue } from '@dreamscape/core';
import type { ChartFileEntry } from './chart-notices.js';

/** Where a chart comes from. */
export type ChartSourceKind = 'directory' | 'archive' | 'oci';

/** A chart directory in the workspace, checked: it and everything it links to are inside. */
export interface DirectoryChart {
  readonly kind: 'directory';
  /** The path as given, relative to the workspace (`charts/web`, `.` for the workspace itself). */
  readonly reference: string;
  /** The real path (links followed), which helm is given. */
  readonly path: string;
  /** Every file of the chart, by its path inside the chart (`templates/service.yaml`). */
  readonly files: readonly ChartFileEntry[];
  /** Its Chart.yaml, read. */
  readonly metadata: ChartMetadata;
}

/** A chart archive in the workspace, checked: a regular `.tgz` inside the workspace. */
export interface ArchiveChart {
  readonly kind: 'archive';
  /** The path as given, relative to the workspace. */
  readonly reference: string;
  /** The real path (links followed), which helm is given. */
  readonly path: string;
}

/** A chart in an OCI registry. */
export interface OciChart {
  readonly kind: 'oci';
  /** `oci://host[:port]/path/name`, as given. */
  readonly reference: string;
  /** `host[:port]`, what `helm registry login` is given. */
  readonly registry: string;
  /** The host without port or brackets, lowercase. */
  readonly hostname: string;
}

/** Where the `chart` input points, checked. */
export type ChartSource = DirectoryChart | ArchiveChart | OciChart;

/** A chart's name and versions, from its Chart.yaml. */
export interface ChartMetadata {
  readonly name: string;
  readonly version: string;
  readonly appVersion?: string;
}

/** What a chart input may be, bounded. */
export const CHART_LIMITS = {
  /** Bytes of a chart archive (`.tgz`), in the workspace or pulled from a registry. */
  archiveBytes: 10 * 1024 * 1024,
  /** Files, directories and links walked in a chart directory (subcharts included). */
  entries: 10_000,
  /** Bytes of a Chart.yaml. */
  chartYamlBytes: 1024 * 1024,
} as const;

const CHART_ACCEPTED =
  'a chart directory (holding Chart.yaml) or a .tgz chart archive inside the workspace, or an OCI reference oci://host[:port]/path/name with chart-version';
const VENDOR_HINT =
  'Vendor the chart into the repository (helm pull --untar) or push it to an OCI registry (helm push) and give oci://host/path/name with chart-version.';
/** `host[:port]`: a DNS name, an IPv4 address or a bracketed IPv6 address. */
const REGISTRY =
  /^(?<host>(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(?<port>\d{1,5}))?$/i;
/** An OCI repository path: lowercase components separated by `/`, as the distribution spec allows. */
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
/** `repo/name` as `helm repo add` names charts: refused rather than looked up in a repository. */
const REPOSITORY_CHART = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/**
 * Checks the `chart` input before helm sees it, and says where the chart is. A local chart must
 * resolve (links followed) inside the workspace: a directory must hold Chart.yaml and every link
 * in it must resolve inside the workspace too (helm follows links when it loads a directory); an
 * archive must be a regular `.tgz`/`.tar.gz` file of at most {@link CHART_LIMITS}`.archiveBytes`.
 * An `oci://` reference must be `oci://host[:port]/path` without tag or digest. Chart URLs
 * (`https://`...) and repository references (`repo/name`) are refused: rendering never downloads
 * from a chart repository.
 */
export function resolveChartSource(chart: string, workspace: string): ChartSource {
  const refuse = (reason: string, hint = VENDOR_HINT): InputError =>
    new InputError('chart', chart, CHART_ACCEPTED, { reason, hint });
  if (chart.trim() === '' || /[\r\n\0]/.test(chart))
    throw refuse(chart.trim() === '' ? 'no chart was given' : 'it holds a line break or NUL');
  if (/^oci:\/\//i.test(chart)) return ociChart(chart, refuse);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(chart))
    throw refuse(
      'chart URLs are refused: rendering never downloads from a chart repository, whose charts are not pinned by digest',
    );

  const root = resolve(workspace);
  const lexical = resolve(root, chart);
  const reference = relative(root, lexical) || '.';
  if (isOutside(reference))
    throw refuse(`it leads outside the workspace ${root}`, 'Keep the chart inside the repository.');
  if (!existsSync(lexical)) {
    if (REPOSITORY_CHART.test(chart))
      throw refuse(
        `${reference} does not exist in the workspace, and if it names a chart of a repository, repository references (repo/name) are refused: rendering never downloads from a chart repository`,
      );
    throw refuse(`${lexical} does not exist`, 'Check the path: it is read relative to the workspace.');
  }
  const confinement = new Confinement(realpathSync(root), chart);
  const path = confinement.inside(lexical, 'the chart');
  const stat = statSync(path);
  if (stat.isDirectory()) {
    if (!existsSync(join(path, 'Chart.yaml')))
      throw refuse(
        `the directory ${reference} holds no Chart.yaml`,
        'Point the chart input at the directory that holds Chart.yaml (helm create makes one).',
      );
    const files = confinement.walk(path);
    const metadata = readChartYaml(join(path, 'Chart.yaml'), `${reference}/Chart.yaml`, refuse);
    return { kind: 'directory', reference, path, files, metadata };
  }
  if (!stat.isFile())
    throw refuse(
      `${reference} is neither a directory nor a regular file`,
      'Give a chart directory or a .tgz.',
    );
  if (!/\.(tgz|tar\.gz)$/.test(lexical))
    throw refuse(
      `${reference} is a file whose name does not end in .tgz or .tar.gz`,
      'Give a chart directory, or an archive made by helm package.',
    );
  if (stat.size > CHART_LIMITS.archiveBytes)
    throw refuse(
      `${reference} is ${stat.size} bytes, more than the ${CHART_LIMITS.archiveBytes} a chart archive may have`,
      'Package the chart without large files (.helmignore them).',
    );
  return { kind: 'archive', reference, path };
}

function ociChart(chart: string, refuse: (reason: string, hint?: string) => InputError): OciChart {
  const rest = chart.slice('oci://'.length);
  const slash = rest.indexOf('/');
  const registry = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  const host = REGISTRY.exec(registry)?.groups?.['host'];
  if (host === undefined || registry.includes('@'))
    throw refuse(
      `${previewValue(registry)} is not a registry host[:port]`,
      'Write oci://host[:port]/path/name, for example oci://ghcr.io/acme/charts/web.',
    );
  if (/[@:]/.test(path))
    throw refuse(
      'an OCI chart reference carries no tag or digest here',
      'Give the chart version in chart-version, and the reference without it (oci://host/path/name).',
    );
  if (!REPOSITORY.test(path))
    throw refuse(
      `${previewValue(path)} is not an OCI repository path (lowercase letters, digits, ., _, - and /)`,
      'Write oci://host[:port]/path/name, for example oci://ghcr.io/acme/charts/web.',
    );
  return { kind: 'oci', reference: chart, registry, hostname: host.replace(/^\[|\]$/g, '').toLowerCase() };
}

/** Whether a registry host is this machine: where helm v3.17 speaks plain HTTP unasked. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return (
    h === 'localhost' ||
    h === '::1' ||
    /^127(?:\.\d{1,3}){3}$/.test(h) ||
    /^::ffff:127(?:\.\d{1,3}){3}$/.test(h)
  );
}

function isOutside(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/** Reads Chart.yaml's name, version and appVersion, refusing one helm could not load either. */
function readChartYaml(
  file: string,
  shown: string,
  refuse: (reason: string, hint?: string) => InputError,
): ChartMetadata {
  const size = statSync(file).size;
  if (size > CHART_LIMITS.chartYamlBytes)
    throw refuse(`${shown} is ${size} bytes, more than the ${CHART_LIMITS.chartYamlBytes} it may have`);
  let doc: unknown;
  try {
    doc = load(readFileSync(file, 'utf8'));
  } catch (error) {
    const why =
      error instanceof YAMLException
        ? `${error.reason}${error.mark === undefined ? '' : ` at line ${error.mark.line + 1}`}`
        : String(error);
    throw refuse(`${shown} is not valid YAML (${why.slice(0, 200)})`, 'Fix Chart.yaml.');
  }
  const metadata = chartMetadata(doc);
  if (metadata === undefined)
    throw refuse(
      `${shown} has no name and version`,
      'A Chart.yaml needs at least apiVersion, name and version.',
    );
  return metadata;
}

/** The name, version and appVersion of a parsed Chart.yaml, or undefined without name and version. */
export function chartMetadata(doc: unknown): ChartMetadata | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const d = doc as Record<string, unknown>;
  const scalar = (v: unknown): string | undefined =>
    typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
  const name = scalar(d['name']);
  const version = scalar(d['version']);
  if (name === undefined || name === '' || version === undefined || version === '') return undefined;
  const appVersion = scalar(d['appVersion']);
  return { name, version, ...(appVersion === undefined ? {} : { appVersion }) };
}

/** The walk of a chart directory: every link resolved and checked, subdirectories and links followed. */
class Confinement {
  private entries = 0;

  constructor(
    private readonly workspace: string,
    private readonly chart: string,
  ) {}

  /** The real path, or a refusal naming what leads outside the workspace. */
  inside(path: string, what: string): string {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      throw this.refuse(`${what} is a symbolic link that resolves to nothing`);
    }
    if (isOutside(relative(this.workspace, real)))
      throw this.refuse(
        `${what} resolves to ${real}, outside the workspace ${this.workspace}; a chart is read only from files inside the workspace (symbolic links followed)`,
      );
    return real;
  }

  /** Every file under the chart directory, by its path inside the chart, links checked and followed. */
  walk(root: string): ChartFileEntry[] {
    const files: ChartFileEntry[] = [];
    const seen = new Set<string>();
    const visit = (dir: string, prefix: string): void => {
      if (seen.has(dir)) return; // a link back up: helm walks it once too
      seen.add(dir);
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (++this.entries > CHART_LIMITS.entries)
          throw this.refuse(`the chart directory holds more than ${CHART_LIMITS.entries} entries`);
        const path = join(dir, entry.name);
        const inChart = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
        const real = lstatSync(path).isSymbolicLink() ? this.inside(path, `${inChart} in the chart`) : path;
        const stat = statSync(real);
        if (stat.isDirectory()) visit(real, inChart);
        else if (stat.isFile()) files.push({ path: inChart, read: () => readFileSync(real) });
      }
    };
    visit(root, '');
    return files;
  }

  private refuse(reason: string): InputError {
    return new InputError('chart', this.chart, CHART_ACCEPTED, {
      reason,
      hint: 'Keep the chart and every file it links to inside the repository.',
    });
  }
}

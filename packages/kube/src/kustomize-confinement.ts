import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { loadAll, YAML11_SCHEMA, YAMLException } from 'js-yaml';
import { ActionError, previewName, previewValue } from '@dreamscape/core';

/** Where rendering may read from ([ADR 6](../../../docs/adr/0006-render-and-release-confinement.md)). */
export interface RenderConfinement {
  /** Every file and directory a kustomization reaches must resolve, links followed, inside it. */
  readonly workspace: string;
  /** Hosts remote resources and bases may be fetched from (`github.com`); none by default. */
  readonly allowRemoteHosts?: readonly string[];
  /** The input that names the overlay, for messages. Default `overlay`. */
  readonly overlayInput?: string;
  /** The input that lists the allowed hosts, for messages. Default `allow-remote-hosts`. */
  readonly hostsInput?: string;
}

/** What the walk may read before it gives up: a kustomization tree is small, a hostile one is not. */
export const CONFINEMENT_LIMITS = {
  /** Kustomization files walked (the overlay, its bases, components, generator directories). */
  kustomizations: 200,
  /** References checked in all of them together. */
  references: 10_000,
  /** Bytes of one kustomization or generator/transformer configuration file. */
  fileBytes: 1024 * 1024,
} as const;

/** What {@link checkKustomizationTree} found: all of it allowed. */
export interface KustomizationTree {
  /** The kustomization directories walked, real paths, overlay first. */
  readonly kustomizations: readonly string[];
  /** The remote targets kept because their host is allowed, as written. */
  readonly remote: readonly string[];
}

/**
 * The environment of a render that fetches nothing: git refuses every transport (GIT_ALLOW_PROTOCOL
 * names none that exists) and HTTP goes to a proxy on a port nobody listens on (loopback addresses
 * skip the proxy and stay on the machine). A second line behind {@link checkKustomizationTree}.
 */
export const OFFLINE_RENDER_ENV: Readonly<Record<string, string>> = {
  GIT_ALLOW_PROTOCOL: 'dreamscape-render-is-offline',
  GIT_TERMINAL_PROMPT: '0',
  HTTP_PROXY: 'http://127.0.0.1:9',
  HTTPS_PROXY: 'http://127.0.0.1:9',
  http_proxy: 'http://127.0.0.1:9',
  https_proxy: 'http://127.0.0.1:9',
  NO_PROXY: '',
  no_proxy: '',
};

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const FUNCTION_ANNOTATIONS = ['config.kubernetes.io/function', 'config.k8s.io/function'];

/** How a reference is used: a directory is walked when it holds a kustomization. */
type Use = 'resource' | 'file' | 'plugin';

/** One path-like string of a kustomization, with where it was written. */
interface Reference {
  readonly field: string;
  readonly value: string;
  readonly use: Use;
}

/** A reference kustomize would fetch instead of reading from disk. */
interface RemoteTarget {
  /** Lowercase host, `''` for `file://` and anything without one. */
  readonly host: string;
  readonly scheme: string;
}

/**
 * Walks the kustomization tree of an overlay before anything renders it, and refuses (an
 * ActionError naming the overlay input) every reference that kustomize would read from outside
 * the workspace or fetch from a host not in `allowRemoteHosts`: `resources`, `bases` and
 * `components` entries, file references (`patches`, `crds`, `configurations`, `openapi`,
 * `replacements`, generator `files`/`envs`), generator and transformer configurations, and
 * `helmCharts` (never rendered). Paths are resolved with symbolic links followed; reads are
 * bounded by {@link CONFINEMENT_LIMITS}.
 */
export function checkKustomizationTree(
  overlayDir: string,
  confinement: RenderConfinement,
): KustomizationTree {
  const walk = new Walk(confinement);
  walk.run(overlayDir);
  return { kustomizations: walk.visited, remote: walk.remote };
}

class Walk {
  readonly visited: string[] = [];
  readonly remote: string[] = [];
  private readonly workspace: string;
  private readonly hosts: ReadonlySet<string>;
  private readonly overlayInput: string;
  private readonly hostsInput: string;
  private references = 0;

  constructor(private readonly c: RenderConfinement) {
    this.workspace = realpathSync(resolve(c.workspace));
    this.hosts = new Set((c.allowRemoteHosts ?? []).map((h) => h.toLowerCase()));
    this.overlayInput = c.overlayInput ?? 'overlay';
    this.hostsInput = c.hostsInput ?? 'allow-remote-hosts';
  }

  run(overlayDir: string): void {
    const start = this.inside(resolve(overlayDir), `the overlay ${overlayDir}`);
    const queue = [start];
    const seen = new Set<string>();
    for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
      if (seen.has(dir)) continue;
      seen.add(dir);
      if (seen.size > CONFINEMENT_LIMITS.kustomizations)
        throw this.refuse(
          `it reaches more than ${CONFINEMENT_LIMITS.kustomizations} kustomizations`,
          'Check the overlay for a base that includes itself through a link, or split the release.',
        );
      const name = KUSTOMIZATION_FILES.find((f) => existsSync(join(dir, f)));
      if (name === undefined) continue; // kustomize itself says what is missing
      const file = this.inside(join(dir, name), this.show(join(dir, name)));
      this.visited.push(dir);
      const where = this.show(file);
      const doc = this.readYaml(file, where)[0];
      if (doc === undefined) continue; // an empty file: kustomize reads nothing from it
      const { refs, inline } = kustomizationReferences(doc, (field) => this.refuseHelm(file, field));
      for (const ref of refs) {
        const next = this.check(dir, where, ref);
        if (next !== undefined) queue.push(next);
      }
      // Inline generator and transformer configurations read files relative to this kustomization.
      for (const i of inline) {
        const at = `${where}: ${i.field}`;
        this.checkPluginConfig(dir, this.parseYaml(i.text, at), at);
      }
    }
  }

  /** Checks one reference; returns a directory to walk next, if it is one. */
  private check(dir: string, where: string, ref: Reference): string | undefined {
    if (++this.references > CONFINEMENT_LIMITS.references)
      throw this.refuse(
        `it holds more than ${CONFINEMENT_LIMITS.references} references`,
        'Split the release.',
      );
    const at = `${where}: ${ref.field} entry ${previewValue(ref.value)}`;
    const local = isAbsolute(ref.value) ? ref.value : resolve(dir, ref.value);
    const remote = remoteTarget(ref.value, () => existsSync(local));
    if (remote !== undefined) {
      if (remote.scheme === 'file')
        throw this.refuse(
          `${at} is a file:// repository, which kustomize would clone with git; rendering reads only the workspace`,
          'Refer to the directory by a relative path inside the workspace.',
        );
      if (remote.host === '' || !this.hosts.has(remote.host))
        throw this.refuse(
          `${at} is a remote target${remote.host === '' ? '' : ` on host ${previewName(remote.host)}`}; remote resources and bases are refused unless their host is listed in '${this.hostsInput}'`,
          `Copy what it points at into the repository, or add ${remote.host === '' ? 'its host' : previewName(remote.host)} to '${this.hostsInput}' (one host per line) to let kustomize fetch it. Allowed now: ${this.hosts.size === 0 ? 'none' : [...this.hosts].join(', ')}.`,
        );
      this.remote.push(ref.value);
      return undefined;
    }
    // Kustomize reports a missing path itself, with its context; there is nothing to read.
    if (!existsSync(local)) return undefined;
    const real = this.inside(local, at);
    const isDir = statSync(real).isDirectory();
    if (isDir && ref.use !== 'file') return real;
    if (!isDir && ref.use === 'plugin')
      this.checkPluginConfig(dir, this.readYaml(real, `${at} (${this.show(real)})`), at);
    return undefined;
  }

  /** Generator and transformer configurations name files too, and may ask for functions. */
  private checkPluginConfig(dir: string, docs: readonly unknown[], at: string): void {
    for (const doc of docs) {
      if (!isRecord(doc)) continue;
      const metadata = isRecord(doc['metadata']) ? doc['metadata'] : {};
      const annotations = isRecord(metadata['annotations']) ? metadata['annotations'] : {};
      const fn = FUNCTION_ANNOTATIONS.find((a) => a in annotations);
      if (fn !== undefined)
        throw this.refuse(
          `${at} configures a KRM function (${fn}), a program kustomize would run; plugins are never enabled`,
          'Render what the function generates into the repository instead.',
        );
      if (typeof doc['kind'] === 'string' && doc['kind'].startsWith('HelmChart'))
        throw this.refuse(
          `${at} configures ${previewName(doc['kind'])}, which downloads and inflates a chart; helm is never enabled`,
          'Render the chart into the repository (helm template) and list the result in resources.',
        );
      for (const ref of pluginReferences(doc)) this.check(dir, at, ref);
    }
  }

  private refuseHelm(file: string, field: string): never {
    throw this.refuse(
      `${this.show(file)}: ${field} would download and inflate Helm charts; helm is never enabled when rendering`,
      'Render the chart into the repository (helm template) and list the result in resources.',
    );
  }

  /** The real path, or a refusal when it leaves the workspace. */
  private inside(path: string, what: string): string {
    const real = realpathSync(path);
    const rel = relative(this.workspace, real);
    if (rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))) return real;
    throw this.refuse(
      `${what} resolves to ${real}, outside the workspace ${this.workspace}; rendering reads only files inside the workspace (symbolic links followed)`,
      'Keep every base, component, patch and generated file inside the repository.',
    );
  }

  /** The documents of a kustomization or configuration file (`at` names it in messages). */
  private readYaml(file: string, at: string): [Record<string, unknown>, ...unknown[]] | [] {
    const size = statSync(file).size;
    if (size > CONFINEMENT_LIMITS.fileBytes)
      throw this.refuse(
        `${this.show(file)} is ${size} bytes, more than the ${CONFINEMENT_LIMITS.fileBytes} a kustomization may have`,
        'Split it.',
      );
    return this.parseYaml(readFileSync(file, 'utf8'), at);
  }

  /**
   * Parses a kustomization or a generator/transformer configuration, refusing what it cannot read:
   * kustomize's YAML reader accepts forms js-yaml refuses (a repeated key, where the last wins; an
   * unknown tag), so skipping such a file would let kustomize follow references the walk never saw.
   * YAML 1.1, as kustomize reads it: `<<` merge keys are followed.
   */
  private parseYaml(text: string, at: string): [Record<string, unknown>, ...unknown[]] | [] {
    let docs: unknown[];
    try {
      docs = loadAll(text, { schema: YAML11_SCHEMA });
    } catch (error) {
      const why =
        error instanceof YAMLException
          ? `${error.reason.slice(0, 200)}${error.mark === undefined ? '' : ` at line ${error.mark.line + 1}`}`
          : String(error).slice(0, 200);
      throw this.refuse(
        `${at} is not YAML the confinement check can read (${why}); it is refused rather than skipped, since kustomize might read it differently`,
        'Fix the YAML: no repeated keys, no custom tags.',
      );
    }
    const [first, ...rest] = docs;
    if (first === undefined) return [];
    if (!isRecord(first))
      throw this.refuse(
        `${at} is not a mapping (its first document is ${first === null ? 'empty' : Array.isArray(first) ? 'a list' : `a ${typeof first} value`})`,
        'A kustomization or a generator/transformer configuration is a YAML mapping.',
      );
    return [first, ...rest];
  }

  private show(path: string): string {
    const rel = relative(this.workspace, path);
    return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  }

  private refuse(message: string, hint: string): ActionError {
    return new ActionError(`'${this.overlayInput}': ${message}.`, { hint });
  }
}

/**
 * Every path-like entry of a kustomization (or component), and its inline generator and transformer
 * configurations; `helm` is called for a Helm field.
 */
function kustomizationReferences(
  k: Record<string, unknown>,
  helm: (field: string) => never,
): { refs: Reference[]; inline: { field: string; text: string }[] } {
  for (const field of ['helmCharts', 'helmChartInflationGenerator', 'helmGlobals'])
    if (k[field] !== undefined && k[field] !== null) helm(field);
  const refs: Reference[] = [];
  const inline: { field: string; text: string }[] = [];
  const strings = (field: string, use: Use, skipInline = false): void => {
    for (const [i, v] of listOf(k[field]).entries())
      if (typeof v === 'string' && !(skipInline && isInline(v)))
        refs.push({ field: `${field}[${i}]`, value: v, use });
  };
  const paths = (field: string): void => {
    for (const [i, v] of listOf(k[field]).entries())
      if (isRecord(v) && typeof v['path'] === 'string')
        refs.push({ field: `${field}[${i}].path`, value: v['path'], use: 'file' });
  };
  strings('resources', 'resource');
  strings('bases', 'resource');
  strings('components', 'resource');
  strings('crds', 'file');
  strings('configurations', 'file');
  strings('patchesStrategicMerge', 'file', true);
  paths('patches');
  paths('patchesJson6902');
  paths('replacements');
  for (const field of ['generators', 'transformers', 'validators'])
    for (const [i, v] of listOf(k[field]).entries())
      if (typeof v === 'string') {
        if (isInline(v)) inline.push({ field: `${field}[${i}]`, text: v });
        else refs.push({ field: `${field}[${i}]`, value: v, use: 'plugin' });
      }
  const openapi = k['openapi'];
  if (isRecord(openapi) && typeof openapi['path'] === 'string')
    refs.push({ field: 'openapi.path', value: openapi['path'], use: 'file' });
  for (const field of ['configMapGenerator', 'secretGenerator'])
    for (const [i, g] of listOf(k[field]).entries())
      if (isRecord(g)) refs.push(...generatorFiles(g, `${field}[${i}]`));
  return { refs, inline };
}

/** The files a built-in generator or transformer configuration reads. */
function pluginReferences(doc: Record<string, unknown>): Reference[] {
  const refs: Reference[] = [];
  if (typeof doc['path'] === 'string') refs.push({ field: 'path', value: doc['path'], use: 'file' });
  for (const [i, v] of listOf(doc['paths']).entries())
    if (typeof v === 'string') refs.push({ field: `paths[${i}]`, value: v, use: 'file' });
  for (const [i, v] of listOf(doc['replacements']).entries())
    if (isRecord(v) && typeof v['path'] === 'string')
      refs.push({ field: `replacements[${i}].path`, value: v['path'], use: 'file' });
  refs.push(...generatorFiles(doc, ''));
  return refs;
}

/** `files` (`key=path` or `path`), `envs` and `env` of a ConfigMap or Secret generator. */
function generatorFiles(g: Record<string, unknown>, prefix: string): Reference[] {
  const at = (f: string): string => (prefix === '' ? f : `${prefix}.${f}`);
  const refs: Reference[] = [];
  for (const [i, v] of listOf(g['files']).entries())
    if (typeof v === 'string') {
      const eq = v.indexOf('=');
      refs.push({ field: at(`files[${i}]`), value: eq < 0 ? v : v.slice(eq + 1), use: 'file' });
    }
  for (const [i, v] of listOf(g['envs']).entries())
    if (typeof v === 'string') refs.push({ field: at(`envs[${i}]`), value: v, use: 'file' });
  if (typeof g['env'] === 'string') refs.push({ field: at('env'), value: g['env'], use: 'file' });
  return refs;
}

/**
 * Whether kustomize would fetch `value` rather than read it from disk, and from which host. The
 * forms kustomize's remote loader and its git repository specs accept: a URL with any scheme
 * (`https://`, `http://`, `ssh://`, `git://`, `file://`), a forced getter (`git::`), `gh:`, scp-like
 * `git@host:org/repo`, and `host/org/repo`. The last is remote whether or not such a local path
 * exists when its first segment names a host (`github.com`, `gitlab.example.com:8443`, an IPv4
 * address): kustomize tries a directory as a repository spec before it looks on disk. A first
 * segment that only has a dot (`k8s.d/base`) is remote with a `//` path, a `?ref=`, `.git` or
 * `_git`, or when no such local path exists. Anything else is a local path.
 */
export function remoteTarget(value: string, existsLocally: () => boolean): RemoteTarget | undefined {
  const v = value.trim();
  const forced = /^([a-z][a-z0-9+.-]*)::(.*)$/is.exec(v);
  if (forced !== null) {
    const inner = remoteTarget(forced[2] ?? '', () => false);
    return { host: inner?.host ?? '', scheme: inner?.scheme ?? (forced[1] ?? '').toLowerCase() };
  }
  if (/^gh:/i.test(v)) return { host: 'github.com', scheme: 'https' };
  const url = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/is.exec(v);
  if (url !== null) return { host: hostOf(url[2] ?? ''), scheme: (url[1] ?? '').toLowerCase() };
  const scp = /^(?:[^@/\s]+@)?([^/:\s]+):(?!\/)/.exec(v);
  if (scp !== null) return { host: hostOf(scp[1] ?? ''), scheme: 'ssh' };
  const first = v.split('/')[0] ?? '';
  // A repository spec needs a path after the host (`github.com/org/repo`); `app.yaml` is a file.
  if (/^[^.][^/]*\.[^/]*$/.test(first) && v.includes('/')) {
    const marked = v.includes('//') || v.includes('?') || /\.git(\/|$)|_git\//.test(v);
    if (marked || HOST_NAME.test(first.slice(first.lastIndexOf('@') + 1)) || !existsLocally())
      return { host: hostOf(first), scheme: 'https' };
  }
  return undefined;
}

/** A host name ending in a top-level domain (letters), or an IPv4 address; a port may follow. */
const HOST_NAME = /^(?:(?:[a-z0-9-]+\.)+[a-z]{2,63}|\d{1,3}(?:\.\d{1,3}){3})(?::\d*)?$/i;

/** The host of an authority: without user info and port, lowercased. */
function hostOf(authority: string): string {
  const noUser = authority.slice(authority.lastIndexOf('@') + 1);
  const bracket = /^\[([^\]]*)\]/.exec(noUser);
  if (bracket !== null) return (bracket[1] ?? '').toLowerCase();
  return (noUser.split(':')[0] ?? '').toLowerCase();
}

function isInline(value: string): boolean {
  return value.includes('\n') || /^\s*[{[]/.test(value);
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

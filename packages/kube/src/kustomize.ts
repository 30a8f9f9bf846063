import { accessSync, constants, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative, resolve } from 'node:path';
import { dump } from 'js-yaml';
import { ActionError, CommandError, previewValue, type CommandRunner, type Logger } from '@dreamscape/core';
import type { Kubectl } from './kubectl.js';
import { containerImages, type KubeObject } from './kube-object.js';
import { parseManifests } from './manifests.js';
import { checkKustomizationTree, OFFLINE_RENDER_ENV } from './kustomize-confinement.js';

/** One image to pin: containers whose image name is `name` get `newName@digest` (or `name@digest`). */
export interface ImagePin {
  /** The image name as it appears in the rendered manifests, without tag or digest. */
  readonly name: string;
  /** A different repository to use (for example the GHCR path the image was pushed to). */
  readonly newName?: string;
  /** `sha256:<64 hex>`. */
  readonly digest: string;
}

/** What renders an overlay: `kubectl kustomize`, or the standalone `kustomize build`. */
export const RENDERERS = ['kubectl', 'kustomize'] as const;
/** One of {@link RENDERERS}. */
export type Renderer = (typeof RENDERERS)[number];

/** Options of {@link renderOverlay}. */
export interface RenderOverlayOptions {
  /** The user's kustomization directory (an overlay such as `k8s/overlays/prod`). Never modified. */
  readonly overlayDir: string;
  readonly images?: readonly ImagePin[];
  /** Puts every namespaced object into this namespace. */
  readonly namespace?: string;
  /** Renders with its `kubectl kustomize` unless `renderer` is `kustomize`. */
  readonly kubectl: Kubectl;
  /**
   * `kubectl` (default): `kubectl kustomize` of the kubectl given, so the kustomize version is the
   * one built into that kubectl wherever it runs. `kustomize`: `kustomize build` of the `kustomize`
   * on PATH (needs `runner`); an error when there is none.
   */
  readonly renderer?: Renderer;
  /** Runs `kustomize build` when `renderer` is `kustomize`. */
  readonly runner?: CommandRunner;
  /** The PATH searched for `kustomize`; default the process's. */
  readonly path?: string;
  readonly logger?: Logger;
  /** Where the generated overlay goes (the runner temp). Default the OS temp directory. */
  readonly tempDir?: string;
  /**
   * The directory every file the overlay reaches must resolve inside (links followed), checked
   * before kustomize runs. Default the current directory.
   */
  readonly workspace?: string;
  /** Hosts remote resources and bases may be fetched from; none by default (ADR 6). */
  readonly allowRemoteHosts?: readonly string[];
}

/** What {@link renderOverlay} produced. */
export interface RenderedOverlay {
  readonly objects: KubeObject[];
  /** The rendered multi-document YAML exactly as kustomize printed it. */
  readonly text: string;
  /** Every distinct container image reference in the rendered objects, in order. */
  readonly images: string[];
  /** The images in `images` that are not pinned by digest; the caller decides whether that is an error. */
  readonly unpinned: string[];
  /** `kubectl kustomize` or `kustomize build`. */
  readonly renderer: string;
}

const DIGEST = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/;
const PINNED = /@sha(256|512):[a-f0-9]+$/;
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** Whether an image reference carries a digest. */
export function isPinnedByDigest(image: string): boolean {
  return PINNED.test(image);
}

/** The absolute path of an executable on PATH, or undefined. */
export function findOnPath(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Refuses pins that cannot be applied: a name with a tag, digest or whitespace, or a digest that is
 * not `sha256:` (or `sha512:`) and lowercase hex.
 */
export function validatePins(pins: readonly ImagePin[]): void {
  for (const pin of pins) {
    if (pin.name.trim() === '' || /[@\s]/.test(pin.name)) {
      throw new ActionError(`Image pin name ${JSON.stringify(pin.name)} is not an image name.`, {
        hint: 'Give the image name without tag or digest, as it appears in the manifests (for example ghcr.io/acme/web).',
      });
    }
    if (!DIGEST.test(pin.digest)) {
      throw new ActionError(`Image pin ${pin.name} has an invalid digest ${JSON.stringify(pin.digest)}.`, {
        hint: 'A digest looks like sha256: followed by 64 lowercase hex characters.',
      });
    }
  }
}

/**
 * The kustomization that pins images and sets the namespace on top of the user's overlay. It only
 * references the overlay as a directory resource, which kustomize allows outside the kustomization
 * root (its load restrictor only limits files), so the user's files are never touched.
 */
export function generatedKustomization(
  overlayPath: string,
  pins: readonly ImagePin[],
  namespace: string | undefined,
): string {
  const doc: Record<string, unknown> = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [overlayPath],
  };
  if (namespace !== undefined) doc['namespace'] = namespace;
  if (pins.length > 0) {
    doc['images'] = pins.map((p) => ({
      name: p.name,
      ...(p.newName === undefined ? {} : { newName: p.newName }),
      digest: p.digest,
    }));
  }
  return dump(doc, { noRefs: true, lineWidth: -1 });
}

/** The `kustomize` on PATH and the runner to run it, or an error that says how to get one. */
function standaloneKustomize(options: RenderOverlayOptions): { tool: string; runner: CommandRunner } {
  if (options.runner === undefined)
    throw new Error('renderOverlay: the kustomize renderer needs a runner to run kustomize build.');
  const tool = findOnPath('kustomize', options.path);
  if (tool === undefined)
    throw new ActionError(
      'renderer: kustomize asks for the standalone kustomize, but there is no kustomize on PATH.',
      {
        hint: 'Install kustomize on the runner before this step, or leave renderer at its default, kubectl, to render with kubectl kustomize.',
      },
    );
  return { tool, runner: options.runner };
}

/**
 * Renders a kustomize overlay, pinning images by digest and optionally overriding the namespace
 * through a generated overlay in a temporary directory. Fails when a pin matches no image in the
 * rendered manifests, naming the pin and listing the images that are there.
 */
export async function renderOverlay(options: RenderOverlayOptions): Promise<RenderedOverlay> {
  const overlayDir = resolve(options.overlayDir);
  if (!existsSync(overlayDir) || !statSync(overlayDir).isDirectory()) {
    throw new ActionError(`The kustomize overlay ${options.overlayDir} is not a directory.`);
  }
  if (!KUSTOMIZATION_FILES.some((f) => existsSync(join(overlayDir, f)))) {
    throw new ActionError(`The overlay ${options.overlayDir} has no kustomization.yaml.`, {
      hint: 'Point the overlay input at a directory with a kustomization.yaml, for example k8s/overlays/prod.',
    });
  }
  // Before kustomize reads anything: every reference inside the workspace, nothing remote unless allowed.
  const allowRemoteHosts = options.allowRemoteHosts ?? [];
  const tree = checkKustomizationTree(overlayDir, {
    workspace: options.workspace ?? process.cwd(),
    allowRemoteHosts,
  });
  if (tree.remote.length > 0)
    // As written in a kustomization: quoted, so that a newline cannot start a workflow command.
    options.logger?.info(
      `Remote targets fetched from allowed hosts: ${tree.remote.map((r) => previewValue(r)).join(', ')}.`,
    );
  const offline = allowRemoteHosts.length === 0;
  const pins = options.images ?? [];
  validatePins(pins);
  const kustomize = options.renderer === 'kustomize' ? standaloneKustomize(options) : undefined;
  const renderer = kustomize === undefined ? 'kubectl kustomize' : 'kustomize build';

  let renderDir = overlayDir;
  let generated: string | undefined;
  if (pins.length > 0 || options.namespace !== undefined) {
    generated = mkdtempSync(join(options.tempDir ?? tmpdir(), 'dreamscape-overlay-'));
    let target = relative(generated, overlayDir);
    if (target === '') target = '.';
    writeFileSync(
      join(generated, 'kustomization.yaml'),
      generatedKustomization(target, pins, options.namespace),
    );
    renderDir = generated;
  }

  let text: string;
  try {
    if (kustomize !== undefined) {
      const result = await kustomize.runner.run({
        tool: kustomize.tool,
        args: ['build', renderDir],
        ...(offline ? { env: OFFLINE_RENDER_ENV } : {}),
      });
      for (const line of result.stderr.split('\n'))
        if (line.trim() !== '') options.logger?.warning(`kustomize: ${line}`);
      text = result.stdout;
    } else {
      // The kustomize built into kubectl renders: an unsupported kubectl is refused before it does.
      await options.kubectl.requireSupportedVersion();
      text = await options.kubectl.kustomize(renderDir, { offline });
    }
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    const message = (
      ('kubectlMessage' in error ? String(error.kubectlMessage) : '') || error.stderrTail
    ).trim();
    const through =
      generated === undefined ? '' : ` (through the generated overlay ${generated} that pins images)`;
    throw new ActionError(
      `Rendering the kustomize overlay ${options.overlayDir} with ${renderer} failed${through}: ${message}`,
      {
        cause: error,
        hint: 'Run the same kustomize build locally on the overlay to see the error in context.',
      },
    );
  } finally {
    if (generated !== undefined) rmSync(generated, { recursive: true, force: true });
  }

  const objects = parseManifests(text, `${renderer} ${options.overlayDir}`);
  const { images, unpinned } = pinnedImages(objects, pins, options.overlayDir);
  return { objects, text, images, unpinned, renderer };
}

/**
 * The distinct container images of rendered objects, in order, and those among them not pinned by
 * digest, once every pin is checked to have reached an image (`newName@digest`, or `name@digest`,
 * is among them). Fails naming each pin that matches no image and listing the images that are
 * there; `renderedFrom` names what was rendered (an overlay directory, a chart).
 */
export function pinnedImages(
  objects: readonly KubeObject[],
  pins: readonly ImagePin[],
  renderedFrom: string,
): { images: string[]; unpinned: string[] } {
  const images = [...new Set(objects.flatMap((o) => containerImages(o)))];
  const unmatched = pins.filter((p) => !images.includes(`${p.newName ?? p.name}@${p.digest}`));
  if (unmatched.length > 0) {
    const names = unmatched.map((p) => p.name).join(', ');
    throw new ActionError(
      `Image ${unmatched.length === 1 ? 'pin' : 'pins'} ${names} ${unmatched.length === 1 ? 'matches' : 'match'} no container image in the manifests rendered from ${renderedFrom}. Images found: ${images.length === 0 ? '(none)' : images.join(', ')}.`,
      { hint: 'The pin name must be the image name used in the manifests, without tag or digest.' },
    );
  }
  return { images, unpinned: images.filter((i) => !isPinnedByDigest(i)) };
}

import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ActionError, MemoryLogger, ProcessCommandRunner } from '@dreamscape/core';
import { resolveKubectl } from '@dreamscape/testkit';
import {
  Kubectl,
  containerImages,
  findOnPath,
  generatedKustomization,
  isDeployment,
  isPinnedByDigest,
  renderOverlay,
  type ImagePin,
} from '../src/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const examples = join(repo, 'examples/dreamscape/k8s/overlays');
const fixtures = fileURLToPath(new URL('./fixtures/overlays/', import.meta.url));
const SERVICES = ['gateway', 'auth', 'user', 'voyage', 'payment', 'ai', 'panorama'];
let kubectlPath: string;
beforeAll(async () => {
  kubectlPath = await resolveKubectl();
});

const digestOf = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

function kubectl(logger = new MemoryLogger()): Kubectl {
  return new Kubectl({
    runner: new ProcessCommandRunner({ logger }),
    logger,
    kubectlPath,
    cacheDir: mkdtempSync(join(tmpdir(), 'kube-kustomize-')),
  });
}

/** A fingerprint of every file under a directory, to prove nothing was edited. */
function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

function tempEntries(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('dreamscape-overlay-'));
}

describe('renderOverlay with the example overlays', () => {
  it.each(['dev', 'staging', 'prod'])('%s renders and pins every service image by digest', async (env) => {
    const overlayDir = join(examples, env);
    const before = treeHash(join(examples, '..'));
    const tempDir = mkdtempSync(join(tmpdir(), 'kube-render-'));
    const pins: ImagePin[] = SERVICES.map((s) => ({
      name: `ghcr.io/dreamscape/${s}`,
      digest: digestOf(`${env}/${s}`),
    }));

    const plain = await renderOverlay({ overlayDir, kubectl: kubectl() });
    expect(plain.unpinned).toHaveLength(SERVICES.length);
    expect(plain.images.every((i) => !isPinnedByDigest(i))).toBe(true);

    const pinned = await renderOverlay({ overlayDir, images: pins, kubectl: kubectl(), tempDir });
    expect(pinned.renderer).toBe('kubectl kustomize');
    expect(pinned.unpinned).toEqual([]);
    expect([...pinned.images].sort()).toEqual(pins.map((p) => `${p.name}@${p.digest}`).sort());
    const deployments = pinned.objects.filter(isDeployment);
    expect(deployments).toHaveLength(SERVICES.length);
    for (const d of deployments) {
      for (const image of containerImages(d)) expect(image).toMatch(/@sha256:[a-f0-9]{64}$/);
    }
    // The namespace of the overlay survives when none is forced.
    expect(new Set(pinned.objects.map((o) => o.metadata.namespace))).toEqual(
      new Set([undefined, `dreamscape-${env}`]),
    );
    expect(pinned.text).toContain(pins[0]!.digest);
    expect(treeHash(join(examples, '..'))).toBe(before);
    expect(tempEntries(tempDir)).toEqual([]);
  });

  it('overrides the namespace through the generated overlay', async () => {
    const rendered = await renderOverlay({
      overlayDir: join(examples, 'staging'),
      namespace: 'preview-42',
      kubectl: kubectl(),
    });
    const namespaced = rendered.objects.filter((o) => o.kind !== 'Namespace');
    expect(new Set(namespaced.map((o) => o.metadata.namespace))).toEqual(new Set(['preview-42']));
  });
});

describe('renderOverlay', () => {
  it('reads a patch file of the user overlay through the generated overlay (load restrictions hold)', async () => {
    const digest = digestOf('web');
    const rendered = await renderOverlay({
      overlayDir: join(fixtures, 'patched'),
      images: [{ name: 'ghcr.io/acme/web', digest }],
      kubectl: kubectl(),
    });
    const [web] = rendered.objects;
    expect(web?.['spec']).toMatchObject({ replicas: 3 });
    // Document order: kustomize sorts keys, so `containers` comes before `initContainers`.
    expect(rendered.images).toEqual([
      `ghcr.io/acme/web@${digest}`,
      'docker.io/library/busybox:1.36',
      'acme/migrate:1.0',
    ]);
    expect(rendered.unpinned).toEqual(['docker.io/library/busybox:1.36', 'acme/migrate:1.0']);
    expect(rendered.objects[0]?.metadata.namespace).toBe('shop');
  });

  it('moves an image to a new repository with newName', async () => {
    const digest = digestOf('migrate');
    const rendered = await renderOverlay({
      overlayDir: join(fixtures, 'base'),
      images: [{ name: 'acme/migrate', newName: 'ghcr.io/acme/migrate', digest }],
      kubectl: kubectl(),
    });
    expect(rendered.images).toContain(`ghcr.io/acme/migrate@${digest}`);
    expect(rendered.unpinned).toEqual(['acme/web:1.0', 'docker.io/library/busybox:1.36']);
  });

  it('refuses a pin that matches no image, naming it and listing the images found', async () => {
    const tempDir = mkdtempSync(join(tmpdir(), 'kube-render-'));
    await expect(
      renderOverlay({
        overlayDir: join(fixtures, 'patched'),
        images: [
          { name: 'ghcr.io/acme/web', digest: digestOf('a') },
          { name: 'acme/web', digest: digestOf('b') },
        ],
        kubectl: kubectl(),
        tempDir,
      }),
    ).rejects.toThrow(
      `Image pin acme/web matches no container image in the manifests rendered from ${join(fixtures, 'patched')}. Images found: ghcr.io/acme/web@${digestOf('a')}, docker.io/library/busybox:1.36, acme/migrate:1.0.`,
    );
    expect(tempEntries(tempDir)).toEqual([]);
  });

  it('refuses a digest that is not one', async () => {
    await expect(
      renderOverlay({
        overlayDir: join(fixtures, 'base'),
        images: [{ name: 'acme/web', digest: 'latest' }],
        kubectl: kubectl(),
      }),
    ).rejects.toThrow('Image pin acme/web has an invalid digest "latest".');
  });

  it('shows kustomize’s message and the overlay path when rendering fails', async () => {
    const overlayDir = join(fixtures, 'broken');
    const error = (await renderOverlay({
      overlayDir,
      images: [{ name: 'x', digest: digestOf('x') }],
      kubectl: kubectl(),
    }).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain(
      `Rendering the kustomize overlay ${overlayDir} with kubectl kustomize failed`,
    );
    expect(error.message).toContain('does-not-exist.yaml');
    expect(error.message).toMatch(/error: accumulating resources/);
  });

  it('says when the directory is not a kustomization', async () => {
    await expect(renderOverlay({ overlayDir: fixtures, kubectl: kubectl() })).rejects.toThrow(
      `The overlay ${fixtures} has no kustomization.yaml.`,
    );
  });

  it('names an image as the overlay renders it: after its own images: newName', async () => {
    // The storefront overlay maps storefront/frontend to ghcr.io/storefront-example/frontend.
    const overlayDir = join(repo, 'examples/storefront/k8s/overlays/prod');
    const digest = digestOf('frontend');
    await expect(
      renderOverlay({ overlayDir, images: [{ name: 'storefront/frontend', digest }], kubectl: kubectl() }),
    ).rejects.toThrow(
      /^Image pin storefront\/frontend matches no container image in the manifests rendered from/,
    );
    const rendered = await renderOverlay({
      overlayDir,
      images: [{ name: 'ghcr.io/storefront-example/frontend', digest }],
      kubectl: kubectl(),
    });
    expect(rendered.images).toContain(`ghcr.io/storefront-example/frontend@${digest}`);
  });
});

describe('the renderer', () => {
  const FIXED = [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: rendered-by-the-standalone-kustomize',
    '',
  ].join('\n');

  /** A directory holding a stand-in `kustomize` that records its argv and prints FIXED. */
  function standInKustomize(): { bin: string; argv: string } {
    const bin = mkdtempSync(join(tmpdir(), 'kube-kustomize-bin-'));
    const argv = join(bin, 'argv.log');
    writeFileSync(join(bin, 'kustomize'), `#!/bin/sh\necho "$@" >> '${argv}'\ncat <<'EOF'\n${FIXED}EOF\n`);
    chmodSync(join(bin, 'kustomize'), 0o755);
    return { bin, argv };
  }

  it('is kubectl kustomize unless asked, even with a kustomize on PATH', async () => {
    const { bin, argv } = standInKustomize();
    const path = `${bin}:${process.env['PATH'] ?? ''}`;
    const logger = new MemoryLogger();
    const runner = new ProcessCommandRunner({ logger, baseEnv: { ...process.env, PATH: path } });
    const originalPath = process.env['PATH'];
    process.env['PATH'] = path;
    try {
      expect(findOnPath('kustomize')).toBe(join(bin, 'kustomize'));
      const rendered = await renderOverlay({
        overlayDir: join(fixtures, 'base'),
        kubectl: kubectl(),
        runner,
        logger,
      });
      expect(rendered.renderer).toBe('kubectl kustomize');
      expect(rendered.images).toEqual(['acme/web:1.0', 'docker.io/library/busybox:1.36', 'acme/migrate:1.0']);
      const explicit = await renderOverlay({
        overlayDir: join(fixtures, 'base'),
        kubectl: kubectl(),
        runner,
        renderer: 'kubectl',
        path,
      });
      expect(explicit.renderer).toBe('kubectl kustomize');
      expect(explicit.text).toBe(rendered.text);
      expect(existsSync(argv)).toBe(false);
    } finally {
      process.env['PATH'] = originalPath;
    }
  });

  it('is the kustomize on PATH with renderer: kustomize', async () => {
    const { bin, argv } = standInKustomize();
    const logger = new MemoryLogger();
    const rendered = await renderOverlay({
      overlayDir: join(fixtures, 'base'),
      kubectl: kubectl(),
      runner: new ProcessCommandRunner({ logger }),
      renderer: 'kustomize',
      path: `${bin}:${process.env['PATH'] ?? ''}`,
      logger,
    });
    expect(rendered.renderer).toBe('kustomize build');
    expect(rendered.text).toBe(FIXED);
    expect(rendered.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ConfigMap/rendered-by-the-standalone-kustomize',
    ]);
    expect(readFileSync(argv, 'utf8')).toBe(`build ${join(fixtures, 'base')}\n`);
  });

  it('says so when renderer: kustomize finds no kustomize on PATH', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'kube-kustomize-empty-'));
    const tempDir = mkdtempSync(join(tmpdir(), 'kube-render-'));
    const error = (await renderOverlay({
      overlayDir: join(fixtures, 'base'),
      images: [{ name: 'acme/web', digest: digestOf('web') }],
      tempDir,
      kubectl: kubectl(),
      runner: new ProcessCommandRunner({ logger: new MemoryLogger() }),
      renderer: 'kustomize',
      path: empty,
    }).catch((e: unknown) => e)) as ActionError;
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toBe(
      'renderer: kustomize asks for the standalone kustomize, but there is no kustomize on PATH.',
    );
    expect(error.hint).toBe(
      'Install kustomize on the runner before this step, or leave renderer at its default, kubectl, to render with kubectl kustomize.',
    );
    expect(tempEntries(tempDir)).toEqual([]);
  });
});

describe('generatedKustomization', () => {
  it('references the overlay as a directory and pins by digest', () => {
    expect(
      generatedKustomization(
        '../k8s/overlays/prod',
        [{ name: 'a/b', newName: 'ghcr.io/a/b', digest: 'sha256:00' }],
        'x',
      ),
    ).toBe(
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        '  - ../k8s/overlays/prod',
        'namespace: x',
        'images:',
        '  - name: a/b',
        '    newName: ghcr.io/a/b',
        '    digest: sha256:00',
        '',
      ].join('\n'),
    );
  });
});

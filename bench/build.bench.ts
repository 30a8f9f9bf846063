/**
 * action-build benchmark: a cold build (empty layer cache) of the gateway example against a cached
 * rebuild of the same unchanged service, both through the bundled action as the runner runs it and
 * pushed to a real registry; plus the bundle's start-up time to its first log line.
 *
 * Last line: `build: cold=<s> cached=<s> ratio=<cached/cold> startup_ms=<ms> bundle_kb=<kb>`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildahStorage, ensureBaseImage, runActionBundle, startRegistry } from '@dreamscape/testkit';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const actionDir = join(root, 'action-build');
const entry = join(actionDir, 'dist', 'index.js');

/** Milliseconds from spawning `node <file>` to its first byte on stdout; the median of `runs`. */
async function firstLineMs(file: string, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, [file], {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { PATH: process.env.PATH ?? '' },
      });
      child.stdout.once('data', () => {
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        child.kill();
      });
      child.on('close', () => {
        resolve();
      });
    });
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

const work = mkdtempSync(join(tmpdir(), 'ds-bench-build-'));
const registry = await startRegistry();
try {
  const storage = buildahStorage(work);
  const baseImage = await ensureBaseImage({
    root: storage.root,
    runroot: storage.runroot,
    storageDriver: 'vfs',
  });
  const run = async (label: string, extra: Record<string, string> = {}): Promise<number> => {
    const result = await runActionBundle(actionDir, {
      inputs: {
        image: `${registry.host}/dreamscape/gateway`,
        context: 'examples/dreamscape/services/gateway',
        target: 'runtime',
        'build-args': `BASE_IMAGE=${baseImage}\nVERSION=1.0.0`,
        tags: 'type=raw,value=bench',
        builder: 'buildah',
        push: 'true',
        username: '',
        password: '',
        ...extra,
      },
      env: {
        GITHUB_WORKSPACE: root,
        GITHUB_REPOSITORY: 'dreamscape/platform',
        GITHUB_SHA: 'f'.repeat(40),
        ...storage.env,
      },
      timeoutMs: 600_000,
    });
    if (result.exitCode !== 0) throw new Error(`${label} build failed:\n${result.stdout}\n${result.stderr}`);
    console.log(`${label}: ${(result.durationMs / 1000).toFixed(2)} s  ${result.outputs.image ?? ''}`);
    return result.durationMs / 1000;
  };
  const cold = await run('cold build (empty layer cache)');
  const cached = await run('cached rebuild (unchanged service)');
  // For reference: the same rebuild with reuse turned off, so only buildah's layer cache helps.
  const layersOnly = await run('rebuild with reuse off (layer cache only)', { reuse: 'false' });
  const nodeMs = await firstLineMs(join(root, 'scripts', 'bench-hello.mjs'), 15);
  const startupMs = await firstLineMs(entry, 15);
  console.log(`layer cache only: ${(layersOnly / cold).toFixed(3)} of cold`);
  console.log(`node itself to its first line: ${nodeMs.toFixed(0)} ms (machine-dependent baseline)`);
  const bundleKb = Math.round(statSync(entry).size / 1024);
  console.log(
    `build: cold=${cold.toFixed(2)} cached=${cached.toFixed(2)} ratio=${(cached / cold).toFixed(3)} startup_ms=${startupMs.toFixed(0)} bundle_kb=${bundleKb}`,
  );
} finally {
  await registry.close();
  rmSync(work, { recursive: true, force: true });
}

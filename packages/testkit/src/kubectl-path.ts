import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveHelm } from './helm.js';
import { resolveKubectl } from './kubectl.js';

/**
 * A PATH for a child process (an action bundle, the demo) whose `kubectl` is the pinned upstream
 * kubectl, ahead of whatever else is on PATH.
 */
export async function pathWithPinnedKubectl(path = process.env.PATH ?? ''): Promise<string> {
  const kubectl = await resolveKubectl();
  const dir = mkdtempSync(join(tmpdir(), 'ds-kubectl-bin-'));
  symlinkSync(kubectl, join(dir, 'kubectl'));
  return `${dir}:${path}`;
}

/**
 * A PATH for a child process whose `kubectl` and `helm` are the pinned ones (kubectl v1.32.3,
 * helm v3.17.2), linked into one directory ahead of whatever else is on PATH.
 */
export async function pathWithPinnedTools(path = process.env.PATH ?? ''): Promise<string> {
  const [kubectl, helm] = await Promise.all([resolveKubectl(), resolveHelm()]);
  const dir = mkdtempSync(join(tmpdir(), 'ds-tools-bin-'));
  symlinkSync(kubectl, join(dir, 'kubectl'));
  symlinkSync(helm, join(dir, 'helm'));
  return `${dir}:${path}`;
}

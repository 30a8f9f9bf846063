import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveHelm } from './helm.js';
import { resolveKubectl, type KubectlChoice } from './kubectl.js';

/**
 * A PATH for a child process (an action bundle, the demo) whose `kubectl` is the pinned upstream
 * kubectl (v1.32.3, or the tested one of `choice.minor`), ahead of whatever else is on PATH.
 */
export async function pathWithPinnedKubectl(
  path = process.env.PATH ?? '',
  choice: KubectlChoice = {},
): Promise<string> {
  const kubectl = await resolveKubectl(choice);
  const dir = mkdtempSync(join(tmpdir(), 'ds-kubectl-bin-'));
  symlinkSync(kubectl, join(dir, 'kubectl'));
  return `${dir}:${path}`;
}

/**
 * A PATH for a child process whose `kubectl` and `helm` are the pinned ones (kubectl v1.32.3, or the
 * tested one of `choice.minor`; helm v3.17.2 whatever the kubectl), linked into one directory ahead
 * of whatever else is on PATH.
 */
export async function pathWithPinnedTools(
  path = process.env.PATH ?? '',
  choice: KubectlChoice = {},
): Promise<string> {
  const [kubectl, helm] = await Promise.all([resolveKubectl(choice), resolveHelm()]);
  const dir = mkdtempSync(join(tmpdir(), 'ds-tools-bin-'));
  symlinkSync(kubectl, join(dir, 'kubectl'));
  symlinkSync(helm, join(dir, 'helm'));
  return `${dir}:${path}`;
}

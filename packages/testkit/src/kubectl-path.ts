import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

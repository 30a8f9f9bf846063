import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWorkspacePath } from '../src/index.js';

const ws = mkdtempSync(join(tmpdir(), 'ds-ws-'));
mkdirSync(join(ws, 'app'));
writeFileSync(join(ws, 'app', 'Dockerfile'), 'FROM scratch\n');

describe('readWorkspacePath', () => {
  it('resolves paths inside the workspace', () => {
    expect(readWorkspacePath('context', 'app', ws, 'directory')).toBe(join(ws, 'app'));
    expect(readWorkspacePath('dockerfile', './app/Dockerfile', ws, 'file')).toBe(
      join(ws, 'app', 'Dockerfile'),
    );
  });

  it('refuses paths that climb out of the workspace', () => {
    expect(() => readWorkspacePath('context', '../../etc', ws, 'directory')).toThrow(
      /Input 'context' has an invalid value "..\/..\/etc": the path leads outside the workspace/,
    );
    expect(() => readWorkspacePath('dockerfile', '/etc/passwd', ws, 'file')).toThrow(
      'leads outside the workspace',
    );
  });

  it('refuses links that lead out of the workspace, and follows those that stay inside', () => {
    const outside = mkdtempSync(join(tmpdir(), 'ds-outside-'));
    writeFileSync(join(outside, 'Dockerfile'), 'FROM scratch\n');
    symlinkSync(outside, join(ws, 'elsewhere'));
    symlinkSync(join(outside, 'Dockerfile'), join(ws, 'Dockerfile.out'));
    symlinkSync(join(ws, 'app'), join(ws, 'app-link'));
    expect(() => readWorkspacePath('context', 'elsewhere', ws, 'directory')).toThrow(
      /Input 'context' has an invalid value "elsewhere": the path leads outside the workspace through a symbolic link/,
    );
    expect(() => readWorkspacePath('dockerfile', 'elsewhere/Dockerfile', ws, 'file')).toThrow(
      'through a symbolic link',
    );
    expect(() => readWorkspacePath('dockerfile', 'Dockerfile.out', ws, 'file')).toThrow(
      'through a symbolic link',
    );
    expect(readWorkspacePath('context', 'app-link', ws, 'directory')).toBe(join(ws, 'app-link'));
  });

  it('names missing paths and the wrong kind', () => {
    expect(() => readWorkspacePath('context', 'nope', ws, 'directory')).toThrow(
      /Input 'context'.*nope does not exist/,
    );
    expect(() => readWorkspacePath('dockerfile', 'app', ws, 'file')).toThrow(/is a directory/);
  });
});

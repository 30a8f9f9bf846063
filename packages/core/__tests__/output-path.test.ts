import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, readOutputPath } from '../src/index.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'ds-output-path-')));
const workspace = join(base, 'work', 'repo');
const runnerTemp = join(base, 'work', '_temp');
const outside = join(base, 'home');
for (const dir of [workspace, runnerTemp, outside]) mkdirSync(dir, { recursive: true });
mkdirSync(join(workspace, 'reports'));
symlinkSync(outside, join(workspace, 'ssh'));
symlinkSync(join(outside, 'authorized_keys'), join(workspace, 'dangling.sarif'));
symlinkSync(join(workspace, 'reports'), join(workspace, 'reports-link'));
const roots = { workspace, runnerTemp };

function refusal(value: string): InputError {
  try {
    readOutputPath('sarif-file', value, roots);
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error(`${value} was accepted`);
}

describe('readOutputPath', () => {
  it.each([
    ['a new file in the workspace', 'results.sarif', join(workspace, 'results.sarif')],
    [
      'a file in a directory not made yet',
      'out/scan/results.sarif',
      join(workspace, 'out/scan/results.sarif'),
    ],
    [
      'an absolute path in the runner temp directory',
      join(runnerTemp, 'x.sarif'),
      join(runnerTemp, 'x.sarif'),
    ],
    ['a link that stays inside', 'reports-link/a.sarif', join(workspace, 'reports-link/a.sarif')],
    ['.. that lands back inside', 'reports/../b.sarif', join(workspace, 'b.sarif')],
  ])('accepts %s', (_name, value, expected) => {
    expect(readOutputPath('sarif-file', value, roots)).toBe(expected);
  });

  it.each([
    [
      'climbing out with ..',
      '../../../home/x.sarif',
      'the path leads outside the workspace and the runner temp directory',
    ],
    [
      'an absolute path elsewhere',
      '/etc/cron.d/x',
      'the path leads outside the workspace and the runner temp directory',
    ],
    [
      'through a link to a directory outside',
      'ssh/authorized_keys',
      `through a symbolic link (to ${join(outside, 'authorized_keys')})`,
    ],
    [
      'a dangling link that would create a file outside',
      'dangling.sarif',
      'a symbolic link that cannot be resolved',
    ],
  ])('refuses %s, naming the input and what is accepted', (_name, value, reason) => {
    const error = refusal(value);
    expect(error.input).toBe('sarif-file');
    expect(error.message).toContain(`Input 'sarif-file' has an invalid value ${JSON.stringify(value)}: `);
    expect(error.message).toContain(reason);
    expect(error.message).toContain(
      `Accepted: a path inside the workspace (${workspace}) or the runner temp directory (${runnerTemp}).`,
    );
  });
});

describe('readOutputPath without RUNNER_TEMP', () => {
  it('accepts only the workspace, never the system temp directory', () => {
    const onlyWorkspace = { workspace, runnerTemp: undefined };
    expect(readOutputPath('sarif-file', 'results.sarif', onlyWorkspace)).toBe(
      join(workspace, 'results.sarif'),
    );
    for (const value of [join(runnerTemp, 'x.sarif'), join(tmpdir(), 'x.sarif')]) {
      expect(() => readOutputPath('sarif-file', value, onlyWorkspace)).toThrow(
        /Input 'sarif-file'.*RUNNER_TEMP is not set/s,
      );
    }
  });
});

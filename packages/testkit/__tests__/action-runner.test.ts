import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { runActionBundle } from '../src/action-runner.js';

/** An "action" that starts a long-lived child (as action-deploy starts kubectl proxy) and records its pid. */
function actionWithChild(): { dir: string; pidFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ds-runner-test-'));
  const pidFile = join(dir, 'child.pid');
  mkdirSync(join(dir, 'dist'));
  writeFileSync(
    join(dir, 'dist', 'index.js'),
    [
      "const { spawn } = require('node:child_process');",
      "const { writeFileSync } = require('node:fs');",
      "const child = spawn('sleep', ['60'], { stdio: 'ignore' });",
      `writeFileSync(${JSON.stringify(pidFile)}, String(child.pid));`,
      // A run that ends normally, or hangs until it is killed.
      "if (process.env.HANG === '1') setInterval(() => {}, 1000); else child.unref();",
    ].join('\n'),
  );
  return { dir, pidFile };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  return !alive(pid);
}

describe('runActionBundle', () => {
  it('takes what a SIGKILLed action started with it, as a runner cancelling a job does', async () => {
    const { dir, pidFile } = actionWithChild();
    const run = await runActionBundle(dir, {
      env: { HANG: '1' },
      killWhen: { signal: 'SIGKILL', when: () => readFileSafe(pidFile) !== '' },
    });
    expect(run.signal).toBe('SIGKILL');
    expect(await gone(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
  });

  it('leaves nothing behind when the action exits with a child still running', async () => {
    const { dir, pidFile } = actionWithChild();
    const run = await runActionBundle(dir, {});
    expect(run.exitCode).toBe(0);
    expect(await gone(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
  });
});

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

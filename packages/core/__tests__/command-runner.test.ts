import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, MemoryLogger, ProcessCommandRunner } from '../src/index.js';

const node = process.execPath;

function runner(): { runner: ProcessCommandRunner; logger: MemoryLogger } {
  const logger = new MemoryLogger();
  return { runner: new ProcessCommandRunner({ logger }), logger };
}

describe('ProcessCommandRunner', () => {
  it('passes argv verbatim, never through a shell', async () => {
    const { runner: r } = runner();
    const hostile = 'a; echo pwned && $(id) `whoami` | cat > /tmp/x';
    const result = await r.run({
      tool: node,
      args: ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', hostile],
    });
    expect(JSON.parse(result.stdout)).toEqual([hostile]);
    expect(result.exitCode).toBe(0);
  });

  it('merges env, removes keys set to undefined, and feeds stdin', async () => {
    const { runner: r } = runner();
    const result = await r.run({
      tool: node,
      args: [
        '-e',
        'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.stringify([process.env.DS_A, process.env.HOME===undefined, s])))',
      ],
      env: { DS_A: 'one', HOME: undefined },
      stdin: 'from stdin',
    });
    expect(JSON.parse(result.stdout)).toEqual(['one', true, 'from stdin']);
  });

  it('raises CommandError with exit code and stderr tail, secrets redacted', async () => {
    const { runner: r, logger } = runner();
    logger.setSecret('hunter2-secret');
    const error = await r
      .run({
        tool: node,
        args: [
          '-e',
          'console.error("bad password hunter2-secret"); process.exit(3)',
          '--',
          '--password=hunter2-secret',
        ],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    const e = error as CommandError;
    expect(e.exitCode).toBe(3);
    expect(e.stderrTail).toContain('bad password ***');
    expect(e.message).not.toContain('hunter2-secret');
    expect(e.args).toContain('--password=***');
    expect(logger.text(true)).not.toContain('hunter2-secret');
    expect(logger.text(true)).toContain('--password=***');
  });

  it('accepts the exit codes it is told are fine', async () => {
    const { runner: r } = runner();
    const result = await r.run({ tool: node, args: ['-e', 'process.exit(1)'], okExitCodes: [0, 1] });
    expect(result.exitCode).toBe(1);
  });

  it('reports a missing program clearly', async () => {
    const { runner: r } = runner();
    const error = (await r
      .run({ tool: 'ds-no-such-tool', args: [] })
      .catch((e: unknown) => e)) as CommandError;
    expect(error).toBeInstanceOf(CommandError);
    expect(error.message).toContain('ds-no-such-tool was not found on PATH');
  });

  it('kills a program that outlives its timeout', async () => {
    const { runner: r } = runner();
    const error = (await r
      .run({ tool: node, args: ['-e', 'setTimeout(()=>{}, 60000)'], timeoutMs: 300 })
      .catch((e: unknown) => e)) as CommandError;
    expect(error.timedOut).toBe(true);
    expect(error.message).toContain('timed out');
    // Ended by the runner's signal, not by running its minute out.
    expect(error.signal).toBe('SIGTERM');
  });

  it('kills a program when cancelled', async () => {
    const { runner: r } = runner();
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 200);
    const error = (await r
      .run({ tool: node, args: ['-e', 'setTimeout(()=>{}, 60000)'], signal: controller.signal })
      .catch((e: unknown) => e)) as CommandError;
    expect(error.cancelled).toBe(true);
  });

  it('bounds captured stdout and keeps the tail of stderr', async () => {
    const { runner: r } = runner();
    const result = await r.run({
      tool: node,
      args: ['-e', 'process.stdout.write("x".repeat(100000)); process.stderr.write("a".repeat(50000)+"END")'],
      maxStdoutBytes: 1000,
      maxStderrBytes: 100,
    });
    expect(result.stdout).toHaveLength(1000);
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stderr.length).toBeLessThanOrEqual(100);
    expect(result.stderr.endsWith('END')).toBe(true);
  });

  it('retries only when asked, with backoff, and logs each retry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-retry-'));
    const counter = join(dir, 'n');
    writeFileSync(counter, '0');
    const script = `const fs=require("fs");const n=Number(fs.readFileSync(${JSON.stringify(counter)},"utf8"))+1;fs.writeFileSync(${JSON.stringify(counter)},String(n));if(n<3){console.error("transient "+n);process.exit(1)}console.log("ok")`;
    const { runner: r, logger } = runner();
    const noRetry = await r.run({ tool: node, args: ['-e', script] }).catch((e: unknown) => e);
    expect(noRetry).toBeInstanceOf(CommandError);
    expect(readFileSync(counter, 'utf8')).toBe('1');
    const result = await r.run({
      tool: node,
      args: ['-e', script],
      retry: { attempts: 3, initialDelayMs: 10 },
    });
    expect(result.stdout.trim()).toBe('ok');
    expect(result.attempts).toBe(2);
    expect(logger.entries.filter((e) => e.level === 'warning')).toHaveLength(1);
    expect(logger.text()).toContain('transient 2');
  });

  it('streams redacted lines to the callbacks', async () => {
    const { runner: r, logger } = runner();
    logger.setSecret('tok-12345');
    const lines: string[] = [];
    await r.run({
      tool: node,
      args: ['-e', 'console.log("one");console.log("two tok-12345");process.stdout.write("three")'],
      onStdoutLine: (l) => {
        lines.push(l);
      },
    });
    expect(lines).toEqual(['one', 'two ***', 'three']);
  });
});

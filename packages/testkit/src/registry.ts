import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForHttp } from './ports.js';
import { requireTool } from './tools.js';

/** Options for {@link startRegistry}. */
export interface RegistryOptions {
  /** Extra top-level YAML appended to the registry configuration (e.g. an `auth:` block). */
  readonly extraConfig?: string;
}

/** A running Debian `docker-registry` (distribution 2.8) on 127.0.0.1. */
export interface RunningRegistry {
  /** `127.0.0.1:PORT`, as it appears in image references. */
  readonly host: string;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly dataDir: string;
  /** Everything the registry printed, for failing tests to show. */
  log(): string;
  close(): Promise<void>;
}

/** Starts a real registry on a free loopback port with its storage in a temporary directory. */
export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  const bin = requireTool('docker-registry');
  const dir = mkdtempSync(join(tmpdir(), 'ds-registry-'));
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    options.extraConfig ?? '',
  ].join('\n');
  writeFileSync(join(dir, 'config.yml'), config);
  let output = '';
  const child: ChildProcess = spawn(bin, ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/v2/`);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`docker-registry did not start:\n${output}`, { cause: error });
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    dataDir: join(dir, 'data'),
    log: () => output,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          rmSync(dir, { recursive: true, force: true });
          resolve();
          return;
        }
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

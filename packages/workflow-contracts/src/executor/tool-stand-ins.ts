import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ToolCall } from './run-record.js';

/** What a stand-in executable does when a script calls it: it records its argv, prints, exits. */
export interface ToolStandIn {
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

/**
 * Programs a workflow step could reach the network with. Each gets a stand-in on PATH: one the test
 * gave, or one that records the call, says it is not allowed and exits 127, so that no run step of
 * a test ever reaches the network by these names.
 */
export const NETWORK_TOOLS = [
  'curl',
  'wget',
  'gh',
  'git',
  'docker',
  'podman',
  'buildah',
  'skopeo',
  'crane',
  'oras',
  'kubectl',
  'helm',
  'kustomize',
  'trivy',
  'grype',
  'cosign',
  'ssh',
  'scp',
  'rsync',
  'nc',
  'ncat',
  'telnet',
  'aws',
  'az',
  'gcloud',
  'npm',
  'npx',
  'pip',
  'apt-get',
] as const;

/** A folder of stand-in executables (first on PATH) and the log of their calls. */
export class ToolStandIns {
  readonly bin: string;
  private readonly log: string;
  private offset = 0;

  constructor(dir: string, tools: Readonly<Record<string, ToolStandIn>>) {
    this.bin = join(dir, 'bin');
    this.log = join(dir, 'tool-calls.jsonl');
    mkdirSync(this.bin, { recursive: true });
    writeFileSync(this.log, '');
    const names = new Set<string>([...NETWORK_TOOLS, ...Object.keys(tools)]);
    for (const name of names) {
      if (!/^[A-Za-z0-9._-]+$/.test(name))
        throw new Error(`a stand-in tool needs a plain name, got ${JSON.stringify(name)}`);
      const given = tools[name];
      const behaviour: ToolStandIn = given ?? {
        exitCode: 127,
        stderr: `${name}: no network tool runs in a workflow test, and no stand-in was given for it\n`,
      };
      const script = [
        `#!${process.execPath}`,
        "'use strict';",
        "const fs = require('node:fs');",
        `fs.appendFileSync(${JSON.stringify(this.log)}, JSON.stringify({ tool: ${JSON.stringify(name)}, argv: process.argv.slice(2), cwd: process.cwd(), allowed: ${String(given !== undefined)} }) + '\\n');`,
        `process.stdout.write(${JSON.stringify(behaviour.stdout ?? '')});`,
        `process.stderr.write(${JSON.stringify(behaviour.stderr ?? '')});`,
        `process.exitCode = ${String(behaviour.exitCode ?? 0)};`,
        '',
      ].join('\n');
      const path = join(this.bin, name);
      writeFileSync(path, script);
      chmodSync(path, 0o755);
    }
  }

  /** The calls made since the last time this was asked (steps run one at a time). */
  takeCalls(): ToolCall[] {
    if (!existsSync(this.log)) return [];
    const text = readFileSync(this.log, 'utf8');
    const fresh = text.slice(this.offset);
    this.offset = text.length;
    return fresh
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as ToolCall);
  }
}

import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildRecords,
  deploy,
  digest,
  healthChecks,
  KUBECTL_VERSIONS,
  kubectlAgents,
  liveImages,
  realWrites,
  releaseRecords,
  replicasOf,
  resolveKubectl,
  serviceColors,
  SERVICES,
  startCluster,
  type ExampleCluster,
} from '@dreamscape/testkit';

// The deploy of the example overlay, run as the runner runs it, by each tested kubectl: the oldest
// supported (1.32) and the newest tested (1.35). The rest of the suites run 1.32 only.

let cluster: ExampleCluster | undefined;
afterEach(async () => {
  await cluster?.double.close();
  cluster = undefined;
});

function allOn(c: ExampleCluster, color: string): void {
  const colors = serviceColors(c.double);
  for (const s of SERVICES) expect([s, colors[s]]).toEqual([s, color]);
}

const smoke =
  '\n- name: smoke\n  service: gateway\n  port: http\n  path: /smoke\n  when: post-switch\n  interval: 200ms';

describe.each(KUBECTL_VERSIONS)('action-deploy with kubectl $version', ({ minor, version }) => {
  it('v1 deployed, v2 promoted blue-green, v3 failing its post-switch gate switched back', async () => {
    const c = await startCluster(
      [
        {
          image: `*@${digest('gateway', 'v3')}`,
          ready: '1s',
          http: { '/health': { status: 200 }, '/smoke': { status: 503, body: 'broken' } },
        },
        { image: '*', ready: '1s', http: { '/health': { status: 200 }, '/smoke': { status: 200 } } },
      ],
      { minor },
    );
    cluster = c;
    const checks = healthChecks(SERVICES, smoke);

    const v1 = await deploy(c, { images: buildRecords('v1'), 'health-checks': checks });
    expect(v1.errors).toEqual([]);
    expect(v1.outputs).toMatchObject({ result: 'promoted', 'active-color': 'blue' });
    // The kubectl that ran is the one asked for, by its own word and by what it sent.
    expect(v1.stdout).toContain(
      `Using kubectl ${version} (the kubectl on PATH); supported: kubectl 1.32 to 1.35.`,
    );
    expect(v1.stdout).not.toContain('::warning::The kubectl on PATH');
    allOn(c, 'blue');

    const v2 = await deploy(c, { images: buildRecords('v2'), 'health-checks': checks });
    expect(v2.errors).toEqual([]);
    expect(v2.outputs).toMatchObject({ result: 'promoted', 'active-color': 'green' });
    allOn(c, 'green');
    expect(liveImages(c.double, ['gateway']).gateway).toBe(
      `ghcr.io/dreamscape/gateway@${digest('gateway', 'v2')}`,
    );

    const v3 = await deploy(c, {
      images: buildRecords('v3'),
      'health-checks': checks,
      'verify-window': '3s',
    });
    expect(v3.exitCode).toBe(1);
    expect(v3.outputs).toMatchObject({ result: 'rolled-back', 'active-color': 'green' });
    expect(v3.errors.join('\n')).toMatch(/post-switch health gates failed: smoke/);
    allOn(c, 'green');
    expect(liveImages(c.double, ['gateway']).gateway).toBe(
      `ghcr.io/dreamscape/gateway@${digest('gateway', 'v2')}`,
    );
    expect(replicasOf(c.double, 'gateway-blue')).toBe(0);
    expect(releaseRecords(c.double).map((r) => [r.revision, r.result])).toEqual([
      [3, 'rolled-back'],
      [2, 'promoted'],
      [1, 'promoted'],
    ]);

    expect(kubectlAgents(c.double)).toEqual([`kubectl/${version}`]);
    expect(c.double.violations()).toEqual([]);
    expect(c.double.errors()).toEqual([]);
  }, 300_000);
});

/**
 * A stand-in for a kubectl of another version: answers `version --client` with `reported` and runs
 * the pinned kubectl for everything else (no such kubectl is installed here).
 */
async function kubectlReporting(reported: string): Promise<string> {
  const real = await resolveKubectl();
  const dir = mkdtempSync(join(tmpdir(), 'ds-kubectl-other-'));
  writeFileSync(
    join(dir, 'kubectl'),
    [
      '#!/bin/sh',
      'for a in "$@"; do',
      '  if [ "$a" = "--client" ]; then',
      `    printf '%s\\n' '${reported}'`,
      '    exit 0',
      '  fi',
      'done',
      `exec '${real}' "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return dir;
}

const clientVersion = (gitVersion: string): string =>
  JSON.stringify({ clientVersion: { major: '1', gitVersion }, kustomizeVersion: 'v5.5.0' });

describe('action-deploy with a kubectl outside the tested range', () => {
  it('refuses a kubectl older than 1.32 before rendering or writing anything', async () => {
    const c = await startCluster();
    cluster = c;
    const bin = await kubectlReporting(clientVersion('v1.31.9'));
    const r = await deploy(
      c,
      { images: buildRecords('v1'), 'health-checks': healthChecks() },
      { env: { PATH: `${bin}:${c.path}` } },
    );
    expect(r.exitCode).toBe(1);
    expect(r.errors.join('\n')).toContain(
      'The kubectl on PATH is v1.31.9, older than the oldest supported kubectl (1.32); supported: kubectl 1.32 to 1.35.',
    );
    expect(r.stdout).not.toMatch(/kubectl kustomize: \d+ objects/);
    expect(c.double.requests()).toEqual([]);
    expect(realWrites(c.double)).toEqual([]);
  }, 120_000);

  it('refuses a kubectl whose version cannot be read, showing what it printed', async () => {
    const c = await startCluster();
    cluster = c;
    const bin = await kubectlReporting('Client Version: v1.32.3');
    const r = await deploy(
      c,
      { images: buildRecords('v1'), 'health-checks': healthChecks() },
      { env: { PATH: `${bin}:${c.path}` } },
    );
    expect(r.exitCode).toBe(1);
    expect(r.errors.join('\n')).toContain(
      'The kubectl on PATH reports the version "Client Version: v1.32.3" (kubectl version --client), which is not a kubectl version; supported: kubectl 1.32 to 1.35.',
    );
    expect(c.double.requests()).toEqual([]);
  }, 120_000);

  it('deploys with a kubectl newer than 1.35, with a warning', async () => {
    const c = await startCluster();
    cluster = c;
    const bin = await kubectlReporting(clientVersion('v1.36.0'));
    const r = await deploy(
      c,
      { images: buildRecords('v1'), 'health-checks': healthChecks() },
      { env: { PATH: `${bin}:${c.path}` } },
    );
    expect(r.errors).toEqual([]);
    expect(r.outputs.result).toBe('promoted');
    expect(r.stdout).toContain(
      '::warning::The kubectl on PATH is v1.36.0, newer than the newest tested kubectl (1.35); supported: kubectl 1.32 to 1.35. It is used, but this version was not tested.',
    );
    expect(c.double.violations()).toEqual([]);
  }, 120_000);
});

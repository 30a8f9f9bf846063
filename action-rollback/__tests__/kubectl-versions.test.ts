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
  releaseRecords,
  resolveKubectl,
  rollback,
  serviceColors,
  SERVICES,
  startCluster,
  type ExampleCluster,
} from '@dreamscape/testkit';

// action-rollback, run as the runner runs it, by each tested kubectl: the oldest supported (1.32)
// and the newest tested (1.35), after the releases action-deploy made with the same kubectl.

let cluster: ExampleCluster | undefined;
afterEach(async () => {
  await cluster?.double.close();
  cluster = undefined;
});

function allOn(c: ExampleCluster, color: string): void {
  const colors = serviceColors(c.double);
  for (const s of SERVICES) expect([s, colors[s]]).toEqual([s, color]);
}

const imagesOf = (version: string): Record<string, string> =>
  Object.fromEntries(SERVICES.map((s) => [s, `ghcr.io/dreamscape/${s}@${digest(s, version)}`]));

const smoke =
  '\n- name: smoke\n  service: gateway\n  port: http\n  path: /smoke\n  when: post-switch\n  interval: 200ms';

describe.each(KUBECTL_VERSIONS)('action-rollback with kubectl $version', ({ minor, version }) => {
  it('after v1, v2 promoted and v3 switched back by its gate: back to v1, the previous release', async () => {
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
    for (const v of ['v1', 'v2']) {
      const r = await deploy(c, { images: buildRecords(v), 'health-checks': checks });
      expect([v, r.errors, r.outputs.result]).toEqual([v, [], 'promoted']);
    }
    const v3 = await deploy(c, {
      images: buildRecords('v3'),
      'health-checks': checks,
      'verify-window': '3s',
    });
    expect(v3.outputs.result).toBe('rolled-back');
    allOn(c, 'green');
    expect(liveImages(c.double, SERVICES)).toEqual(imagesOf('v2'));

    c.double.clearLogs();
    const back = await rollback(c, { reason: 'kubectl matrix' });
    expect(back.errors).toEqual([]);
    expect(back.outputs).toMatchObject({
      result: 'rolled-back',
      'from-revision': '2',
      'to-revision': '1',
      'active-color': 'blue',
    });
    // Blue last ran the failed v3: the recorded manifest of revision 1 is applied to it again.
    expect(back.stdout).toContain('Re-apply path: blue runs another release');
    expect(back.stdout).toContain(
      `Using kubectl ${version} (the kubectl on PATH); supported: kubectl 1.32 to 1.35.`,
    );
    allOn(c, 'blue');
    expect(liveImages(c.double, SERVICES)).toEqual(imagesOf('v1'));
    expect(releaseRecords(c.double)[0]).toMatchObject({ revision: 4, kind: 'rollback', result: 'promoted' });

    // Every kubectl request of the rollback (its proxy's own included) came from that kubectl.
    expect(kubectlAgents(c.double)).toEqual([`kubectl/${version}`]);
    expect(c.double.violations()).toEqual([]);
    expect(c.double.errors()).toEqual([]);
  }, 300_000);
});

describe('action-rollback with a kubectl older than 1.32', () => {
  it('is refused before the cluster is asked anything', async () => {
    const c = await startCluster();
    cluster = c;
    const real = await resolveKubectl();
    const dir = mkdtempSync(join(tmpdir(), 'ds-kubectl-old-'));
    // A stand-in for kubectl 1.31 (none is installed): its version, then the pinned kubectl.
    writeFileSync(
      join(dir, 'kubectl'),
      [
        '#!/bin/sh',
        'for a in "$@"; do',
        `  [ "$a" = "--client" ] && { printf '%s\\n' '{"clientVersion":{"gitVersion":"v1.31.9"}}'; exit 0; }`,
        'done',
        `exec '${real}' "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const back = await rollback(c, {}, { env: { PATH: `${dir}:${c.path}` } });
    expect(back.exitCode).toBe(1);
    expect(back.outputs.result).toBe('failed');
    expect(back.errors.join('\n')).toContain(
      'The kubectl on PATH is v1.31.9, older than the oldest supported kubectl (1.32); supported: kubectl 1.32 to 1.35.',
    );
    expect(c.double.requests()).toEqual([]);
  }, 120_000);
});

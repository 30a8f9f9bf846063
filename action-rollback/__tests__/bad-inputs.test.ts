import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  buildRecords,
  deploy,
  healthChecks,
  realWrites,
  rollback,
  startCluster,
  type ExampleCluster,
} from '@dreamscape/testkit';

let cluster: ExampleCluster;
beforeAll(async () => {
  cluster = await startCluster();
  for (const version of ['v1', 'v2']) {
    const r = await deploy(cluster, { images: buildRecords(version), 'health-checks': healthChecks() });
    // The errors first: when the setup deploy fails, its reason is what the failure must show.
    expect(r.errors).toEqual([]);
    expect(r.outputs.result).toBe('promoted');
  }
}, 120_000);
afterAll(async () => {
  await cluster.double.close();
});

describe('action-rollback refuses bad input before writing anything', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'an unknown environment',
      { environment: 'qa' },
      /No release of app 'dreamscape' is recorded for environment 'qa'. Recorded: dreamscape in dev/,
    ],
    ['an unknown app', { app: 'billing' }, /No release of app 'billing' is recorded for environment 'dev'/],
    [
      'a revision that is not recorded',
      { to: '42' },
      /Revision 42 of app 'dreamscape' in 'dev' is not recorded. Recorded revisions: 2 \(promoted\), 1 \(promoted\)/,
    ],
    [
      'a revision that is not a number',
      { to: 'last' },
      /Input 'to' has an invalid value "last". Accepted: 'previous' or a revision number/,
    ],
    ['malformed checks', { 'health-checks': '- name: [x' }, /Input 'health-checks'.*YAML error/],
    [
      'a check naming an unknown Service',
      { 'health-checks': '- name: x\n  service: billing' },
      /Service 'billing' is not in the overlay/,
    ],
    ['a bad environment name', { environment: 'Dev!' }, /Input 'environment'/],
    ['a bad mode', { mode: 'force' }, /Input 'mode'/],
    [
      'a scan-exempt entry that is a tag',
      { 'require-scan': 'true', 'scan-exempt': 'redis:7' },
      /Input 'scan-exempt' has an invalid value "redis:7": a tag is not accepted/,
    ],
  ];
  it.each(cases)(
    '%s',
    async (_name, inputs, expected) => {
      cluster.double.clearLogs();
      const r = await rollback(cluster, inputs);
      expect(r.exitCode).toBe(1);
      expect(r.errors.join('\n')).toMatch(expected);
      expect(realWrites(cluster.double)).toEqual([]);
    },
    60_000,
  );

  it('an empty history', async () => {
    cluster.double.clearLogs();
    const r = await rollback(cluster, { app: 'nothing-yet' });
    expect(r.exitCode).toBe(1);
    expect(r.errors.join('\n')).toMatch(/No release of app 'nothing-yet' is recorded for environment 'dev'/);
    expect(realWrites(cluster.double)).toEqual([]);
  }, 60_000);
});

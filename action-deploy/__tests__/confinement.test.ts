import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildRecords,
  deploy,
  rollback,
  runKubectl,
  startCluster,
  type ActionRunResult,
  type ExampleCluster,
} from '@dreamscape/testkit';

// ADR 6: a release stays in its namespace unless `allow-cluster-objects` lists what it may apply
// outside, and the rule holds in plan mode and for a rollback's recorded manifest too.
const FIXTURES = 'action-deploy/__tests__/fixtures';
const SERVICES = ['gateway', 'auth'];
const CHECKS = '- name: gateway\n  service: gateway\n  path: /health\n  interval: 100ms';

let cluster: ExampleCluster;
beforeAll(async () => {
  cluster = await startCluster([{ image: '*', ready: '200ms' }]);
}, 60_000);
afterAll(async () => {
  await cluster.double.close();
});

function names(resource: string): string[] {
  return cluster.double.objects(resource).map((o) => (o.metadata as { name: string }).name);
}

function labelsOf(o: Record<string, unknown>): Record<string, string> {
  return (o.metadata as { labels?: Record<string, string> }).labels ?? {};
}

function writesOf(): string[] {
  return cluster.double.writes().map((w) => `${w.verb} ${w.kind}/${w.name}${w.dryRun ? ' (dry run)' : ''}`);
}

function clusterRoleRelease(version: string, inputs: Record<string, string> = {}): Promise<ActionRunResult> {
  return deploy(cluster, {
    overlay: `${FIXTURES}/cluster-role-overlay`,
    images: buildRecords(version, SERVICES),
    'health-checks': CHECKS,
    ...inputs,
  });
}

describe('action-deploy keeps a release in its namespace', () => {
  it('refuses a ClusterRole by default, in preflight, before any write (not even a dry run)', async () => {
    cluster.double.clearLogs();
    const r = await clusterRoleRelease('v1');
    expect(r.exitCode).toBe(1);
    const message = r.errors.join('\n');
    expect(message).toContain(
      "The overlay in 'overlay' (action-deploy/__tests__/fixtures/cluster-role-overlay)",
    );
    expect(message).toContain('ClusterRole/reliability-reader is cluster-scoped');
    expect(message).toContain(
      "list it in 'allow-cluster-objects', one Kind/name per line (ClusterRole/reliability-reader)",
    );
    expect(r.outputs.result).toBe('failed');
    expect(writesOf()).toEqual([]);
  }, 60_000);

  it('plan mode refuses it the same way, with cluster credentials and without', async () => {
    cluster.double.clearLogs();
    const online = await clusterRoleRelease('v1', { mode: 'plan' });
    expect(online.exitCode).toBe(1);
    expect(online.errors.join('\n')).toMatch(
      /'overlay'.*ClusterRole\/reliability-reader is cluster-scoped.*'allow-cluster-objects'/s,
    );
    const offline = await deploy(
      cluster,
      { overlay: `${FIXTURES}/cluster-role-overlay`, images: buildRecords('v1', SERVICES), mode: 'plan' },
      { env: { KUBECONFIG: undefined, HOME: mkdtempSync(join(tmpdir(), 'ds-home-')) } },
    );
    expect(offline.exitCode).toBe(1);
    expect(offline.errors.join('\n')).toMatch(
      /'overlay'.*ClusterRole\/reliability-reader is cluster-scoped/s,
    );
    expect(offline.stdout).not.toContain('kubectl proxy');
    expect(writesOf()).toEqual([]);
  }, 90_000);

  it("refuses a cluster-scoped kind only the server's discovery knows (a CRD installed in the cluster)", async () => {
    const crd = await runKubectl(['apply', '--server-side', '-f', '-'], {
      kubeconfig: cluster.double.kubeconfigPath,
      stdin: JSON.stringify({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'clusterwidgets.example.com' },
        spec: {
          group: 'example.com',
          scope: 'Cluster',
          names: { kind: 'ClusterWidget', plural: 'clusterwidgets', singular: 'clusterwidget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      }),
    });
    expect(crd.stderr).toBe('');
    cluster.double.clearLogs();
    const r = await deploy(cluster, {
      overlay: `${FIXTURES}/cluster-widget-overlay`,
      images: buildRecords('v1', SERVICES),
      'health-checks': CHECKS,
    });
    expect(r.exitCode).toBe(1);
    expect(r.errors.join('\n')).toMatch(
      /'overlay'.*ClusterWidget\/shared-widget is cluster-scoped.*'allow-cluster-objects'/s,
    );
    expect(writesOf()).toEqual([]);
  }, 60_000);

  it("applies a cluster-scoped object listed in allow-cluster-objects, and the release's own Namespace without listing it", async () => {
    const r = await clusterRoleRelease('v1', { 'allow-cluster-objects': 'ClusterRole/reliability-reader' });
    expect(r.errors).toEqual([]);
    expect(r.outputs.result).toBe('promoted');
    expect(names('clusterroles')).toContain('reliability-reader');
    // The overlay ships Namespace/reliability, the release's own: never refused.
    expect(names('namespaces')).toContain('reliability');
  }, 120_000);

  it('holds a rollback to the same rule: a recorded ClusterRole is refused unless listed', async () => {
    const allow = { 'allow-cluster-objects': 'ClusterRole/*' };
    const v2 = await clusterRoleRelease('v2', allow);
    expect(v2.outputs.result).toBe('promoted');

    cluster.double.clearLogs();
    for (const mode of ['rollback', 'plan']) {
      const refused = await rollback(cluster, { mode });
      expect(refused.exitCode).toBe(1);
      expect(refused.errors.join('\n')).toMatch(
        /The manifest recorded with revision 1 \(the rollback target\) reaches outside.*ClusterRole\/reliability-reader is cluster-scoped.*'allow-cluster-objects'/s,
      );
    }
    expect(writesOf()).toEqual([]);

    const done = await rollback(cluster, allow);
    expect(done.errors).toEqual([]);
    expect(done.outputs.result).toBe('rolled-back');
  }, 180_000);

  it('refuses a release record edited to name another namespace: whoever writes Secrets here cannot send a rollback into kube-system', async () => {
    // Every record but the newest now says it belongs to kube-system, as an edit of the Secret would.
    const records = cluster.double
      .objects('secrets')
      .filter((s) => (s.data as Record<string, string> | undefined)?.['release.json.gz'] !== undefined);
    const newest = Math.max(...records.map((s) => Number(labelsOf(s)['dreamscape.io/revision'])));
    expect(records.length).toBeGreaterThan(1);
    for (const secret of records) {
      if (Number(labelsOf(secret)['dreamscape.io/revision']) === newest) continue;
      const data = secret.data as Record<string, string>;
      const record = JSON.parse(
        gunzipSync(Buffer.from(data['release.json.gz']!, 'base64')).toString('utf8'),
      ) as {
        namespace: string;
      };
      record.namespace = 'kube-system';
      const edited = { ...data, 'release.json.gz': gzipSync(JSON.stringify(record)).toString('base64') };
      // As a person who may edit Secrets of the namespace would, with kubectl.
      const replaced = await runKubectl(['replace', '-f', '-'], {
        kubeconfig: cluster.double.kubeconfigPath,
        stdin: JSON.stringify({ ...secret, data: edited }),
      });
      expect(replaced.exitCode).toBe(0);
    }

    cluster.double.clearLogs();
    for (const mode of ['rollback', 'plan']) {
      const refused = await rollback(cluster, { mode, 'allow-cluster-objects': 'ClusterRole/*' });
      expect(refused.exitCode).toBe(1);
      expect(refused.errors.join('\n')).toMatch(/belongs to another release: its namespace is "kube-system"/);
    }
    expect(writesOf().filter((w) => !w.includes('Lease/'))).toEqual([]);
    expect(cluster.double.objects('clusterroles').length).toBeGreaterThan(0);
    expect(
      cluster.double.writes().filter((w) => (w as { namespace?: string }).namespace === 'kube-system'),
    ).toEqual([]);
  }, 180_000);
});

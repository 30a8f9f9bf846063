import { describe, expect, it } from '@jest/globals';
import { parseManifests, pinnedImages } from '@dreamscape/kube';
import {
  CLUSTER_CHECKS,
  notCheckedByDryRun,
  planBlueGreen,
  planWithoutCluster,
  type NotChecked,
  type PlanWithoutCluster,
} from '../src/index.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

/** A Deployment and its Service, running `image` (and `init` first, when given). */
function app(name: string, image: string, o: { init?: string; labels?: string } = {}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${o.labels ?? name} } }
    spec:
      ${o.init === undefined ? '' : `initContainers: [{ name: init, image: "${o.init}" }]`}
      containers:
        - name: ${name}
          image: "${image}"
          ports: [{ name: http, containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /health, port: http } }
---
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: { app: ${name} }
  ports: [{ name: http, port: 80, targetPort: http }]
`;
}

const CRONJOB = `apiVersion: batch/v1
kind: CronJob
metadata: { name: sync }
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{ name: sync, image: "registry.local/web:1.4.0" }]
`;

/** Renders `docs` as the deploy does (no pins) and plans them without a cluster. */
function offline(docs: readonly string[], o: { requireScan?: boolean } = {}): PlanWithoutCluster {
  const text = docs.join('---\n');
  const objects = parseManifests(text, 'test');
  return planWithoutCluster(
    {
      plan: planBlueGreen(objects, {
        app: 'shop',
        environment: 'dev',
        namespace: 'shop',
        manifestText: text,
      }),
      rendered: pinnedImages(objects, [], 'test'),
    },
    { requireScan: o.requireScan ?? false },
  );
}

function rows(notChecked: readonly NotChecked[]): string[] {
  return notChecked.map(
    (n) =>
      `${n.check} ${n.subject}${n.objects.length === 0 ? '' : ` (${n.objects.join(', ')})`}: ${n.reason}`,
  );
}

const NO_DIGEST =
  'no digest given: a deploy will need it, from `images` or the digest the environment runs now';
const CLUSTER = `cluster ${CLUSTER_CHECKS}: no cluster credentials (\`kubeconfig\`)`;

describe('planWithoutCluster', () => {
  it('leaves an image named by a tag to a deploy, once per image with every workload that runs it', () => {
    const result = offline([
      app('web', 'registry.local/web:1.4.0', { init: 'registry.local/migrate:7' }),
      app('api', `registry.local/api@${DIGEST}`),
      CRONJOB,
    ]);
    expect(result.plan.findings).toEqual([]);
    expect(rows(result.notChecked)).toEqual([
      `digest registry.local/migrate:7 (Deployment/web): ${NO_DIGEST}`,
      `digest registry.local/web:1.4.0 (Deployment/web, CronJob/sync): ${NO_DIGEST}`,
      CLUSTER,
    ]);
    expect(result.pinned).toEqual([`registry.local/api@${DIGEST}`]);
  });

  it("keeps an image named 'latest', or by no tag, an error as a deploy words it", () => {
    const result = offline([
      app('web', 'registry.local/web:latest'),
      app('api', 'registry.local:5000/api'),
      app('jobs', 'registry.local/jobs:2'),
    ]);
    expect(result.plan.findings.map((f) => `${f.level} ${f.object}: ${f.message}`)).toEqual([
      "error Deployment/web: container 'web' runs registry.local/web:latest, which is not pinned by digest (a 'latest' tag moves under you); pass its digest in 'images'",
      "error Deployment/api: container 'api' runs registry.local:5000/api, which is not pinned by digest (a 'latest' tag moves under you); pass its digest in 'images'",
    ]);
    expect(rows(result.notChecked)).toEqual([
      `digest registry.local/jobs:2 (Deployment/jobs): ${NO_DIGEST}`,
      CLUSTER,
    ]);
  });

  it('keeps every other finding: a selector that does not match its pods is still an error', () => {
    const result = offline([app('web', 'registry.local/web:1.4.0', { labels: 'website' })]);
    expect(result.plan.findings.map((f) => `${f.level} ${f.object}: ${f.message}`)).toEqual([
      'error Deployment/web: its selector {app=web} does not match its pod labels {app=website}',
      'warning Service/web: selects no Deployment of the overlay; it is applied as it is and never switched',
    ]);
    expect(rows(result.notChecked)).toEqual([
      `digest registry.local/web:1.4.0 (Deployment/web): ${NO_DIGEST}`,
      CLUSTER,
    ]);
  });

  it('with require-scan, leaves the verdict of every image without a digest to a deploy too', () => {
    const result = offline(
      [app('web', 'registry.local/web:1.4.0'), app('api', `registry.local/api@${DIGEST}`), app('ui', 'ui')],
      { requireScan: true },
    );
    expect(rows(result.notChecked)).toEqual([
      `digest registry.local/web:1.4.0 (Deployment/web): ${NO_DIGEST}`,
      'scan-verdict registry.local/web:1.4.0: no digest given: a verdict is attached to a digest',
      'scan-verdict ui: no digest given: a verdict is attached to a digest',
      CLUSTER,
    ]);
    expect(result.pinned).toEqual([`registry.local/api@${DIGEST}`]);
  });

  it('says which objects the server-side dry run could not take, and why', () => {
    expect(rows([notCheckedByDryRun('shop', 3)])).toEqual([
      'dry-run the server-side dry run of 3 objects in namespace shop: namespace shop does not exist yet: a deploy creates it, then checks them before it writes anything else',
    ]);
  });
});

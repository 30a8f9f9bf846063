/**
 * How a blue-green deploy grows with the number of services: 1, 7, 20 and 50 generated services
 * (a Deployment and a Service each, pods Ready 2 s after they start), each size on a fresh
 * kube-double, deployed through the bundled action with the real kubectl. The second deploy (a
 * switch to the other color) is timed; kubectl processes and API requests are counted.
 *
 * Wall time and kubectl calls should grow no faster than the number of services: the growth
 * factors from 1 service are printed next to the size factor.
 *
 * Last line: `deploy-scaling: s1=<s> s7=<s> s20=<s> s50=<s> growth50=<t50/t1> kubectl50=<calls>`.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeDouble } from '@dreamscape/kube-double';
import { repoRoot, resolveKubectl, runActionBundle } from '@dreamscape/testkit';

const SIZES = [1, 7, 20, 50] as const;

function digest(name: string, version: string): string {
  return `sha256:${Buffer.from(`${name}@${version}`).toString('hex').padEnd(64, 'b').slice(0, 64)}`;
}

/** A workspace with an overlay of `n` services (svc-1 … svc-n) in namespace `scale`. */
function workspace(n: number): string {
  const ws = mkdtempSync(join(tmpdir(), `ds-scale-${n}-`));
  const dir = join(ws, 'k8s');
  mkdirSync(dir, { recursive: true });
  const docs: string[] = ['apiVersion: v1\nkind: Namespace\nmetadata:\n  name: scale'];
  for (let i = 1; i <= n; i++) {
    const name = `svc-${i}`;
    docs.push(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: scale
spec:
  replicas: 1
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
        - name: app
          image: registry.local/scale/${name}:latest
          ports: [{ name: http, containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /health, port: http } }`);
    docs.push(`apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: scale
spec:
  selector: { app: ${name} }
  ports: [{ name: http, port: 80, targetPort: http }]`);
  }
  writeFileSync(join(dir, 'all.yaml'), `${docs.join('\n---\n')}\n`);
  writeFileSync(join(dir, 'kustomization.yaml'), 'resources:\n  - all.yaml\n');
  return ws;
}

const real = await resolveKubectl();
const results: { n: number; seconds: number; kubectl: number; requests: number }[] = [];
for (const n of SIZES) {
  const ws = workspace(n);
  const bin = mkdtempSync(join(tmpdir(), 'ds-scale-bin-'));
  const counter = join(bin, 'calls');
  writeFileSync(counter, '');
  writeFileSync(join(bin, 'kubectl'), `#!/bin/sh\necho x >> '${counter}'\nexec '${real}' "$@"\n`);
  chmodSync(join(bin, 'kubectl'), 0o755);
  const double = await startKubeDouble({ behaviours: [{ image: '*', ready: '2s' }] });
  try {
    const run = async (version: string) => {
      const images = Array.from(
        { length: n },
        (_, k) =>
          `registry.local/scale/svc-${k + 1}=registry.local/scale/svc-${k + 1}@${digest(`svc-${k + 1}`, version)}`,
      ).join('\n');
      const r = await runActionBundle(join(repoRoot, 'action-deploy'), {
        inputs: {
          overlay: 'k8s',
          environment: 'scale',
          app: 'scale',
          images,
          'verify-window': '0s',
          'rollout-timeout': '120s',
        },
        env: {
          GITHUB_WORKSPACE: ws,
          KUBECONFIG: double.kubeconfigPath,
          PATH: `${bin}:${process.env.PATH ?? ''}`,
          GITHUB_RUN_ID: '1',
        },
        timeoutMs: 600_000,
      });
      if (r.outputs.result !== 'promoted')
        throw new Error(`${n} services, ${version}:\n${r.stdout}\n${r.stderr}`);
      return r;
    };
    await run('v1');
    writeFileSync(counter, '');
    double.clearLogs();
    const v2 = await run('v2');
    const calls = readFileSync(counter, 'utf8')
      .split('\n')
      .filter((l) => l !== '').length;
    if (double.violations().length > 0) throw new Error(`${n} services: invariant violations`);
    results.push({ n, seconds: v2.durationMs / 1000, kubectl: calls, requests: double.requests().length });
    console.log(
      `${String(n).padStart(2)} services: ${(v2.durationMs / 1000).toFixed(2)} s, ${calls} kubectl processes, ${double.requests().length} API requests`,
    );
  } finally {
    await double.close();
  }
}
const base = results[0];
if (base === undefined) throw new Error('no results');
for (const r of results)
  console.log(
    `  ${String(r.n).padStart(2)}×services → time ×${(r.seconds / base.seconds).toFixed(2)}, kubectl ×${(r.kubectl / base.kubectl).toFixed(2)}, requests ×${(r.requests / base.requests).toFixed(2)}`,
  );
const at = (n: number) => results.find((r) => r.n === n);
console.log(
  `deploy-scaling: ${results.map((r) => `s${r.n}=${r.seconds.toFixed(2)}`).join(' ')} growth50=${((at(50)?.seconds ?? 0) / base.seconds).toFixed(2)} kubectl50=${at(50)?.kubectl ?? 0}`,
);

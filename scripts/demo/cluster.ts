import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BehaviourEntry, TrafficSummary, Violation } from '@dreamscape/kube-double';

/** Where the demo deploys. */
export interface DemoCluster {
  readonly kind: 'kube-double' | 'external';
  readonly kubeconfig: string;
  /** How the cluster is shown in the demo's header. */
  readonly description: string;
  /** The double's URL; undefined for a real cluster. */
  readonly url: string | undefined;
  /** The double's data plane (routes by Host like a load balancer); undefined for a real cluster. */
  readonly gatewayUrl: string | undefined;
  /** `127.0.0.1:PORT` of the data plane's metrics (`/metrics`), for Prometheus; undefined for a real cluster. */
  readonly metricsTarget: string | undefined;
  /** Replaces the double's image behaviours; a real cluster has none. */
  setBehaviours(entries: readonly BehaviourEntry[]): Promise<void>;
  /** The image behaviours set last (empty for a real cluster), to add an entry in front of them. */
  behaviours(): readonly BehaviourEntry[];
  /** The invariant monitor's violations; undefined for a real cluster (nothing monitors it). */
  violations(): Promise<readonly Violation[] | undefined>;
  /** The traffic monitor's counts; undefined for a real cluster. */
  traffic(): Promise<TrafficSummary | undefined>;
  close(): Promise<void>;
}

/** A real cluster reached with the given kubeconfig. */
export function externalCluster(kubeconfig: string): DemoCluster {
  if (!existsSync(kubeconfig)) throw new Error(`DEMO_KUBECONFIG names ${kubeconfig}, which does not exist.`);
  return {
    kind: 'external',
    kubeconfig,
    description: `the cluster of ${kubeconfig} (DEMO_KUBECONFIG)`,
    url: undefined,
    gatewayUrl: undefined,
    metricsTarget: undefined,
    setBehaviours: () => Promise.resolve(),
    behaviours: () => [],
    violations: () => Promise.resolve(undefined),
    traffic: () => Promise.resolve(undefined),
    close: () => Promise.resolve(),
  };
}

/**
 * Starts `kube-double serve` as its own process (the standalone double the README documents), and
 * waits for the line it prints when ready. Controller delays run `timeScale` times faster than
 * real time. The double also stops by itself if this process dies without closing it.
 */
export async function startStandaloneDouble(
  repoRoot: string,
  dir: string,
  behaviours: readonly BehaviourEntry[],
  timeScale: number,
): Promise<DemoCluster> {
  mkdirSync(dir, { recursive: true });
  const kubeconfig = join(dir, 'kubeconfig');
  const behavioursFile = join(dir, 'behaviours.json');
  writeFileSync(behavioursFile, JSON.stringify(behaviours, null, 2));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(repoRoot, 'packages', 'kube-double', 'bin', 'kube-double.js'),
      'serve',
      '--kubeconfig',
      kubeconfig,
      '--behaviours',
      behavioursFile,
      '--time-scale',
      String(timeScale),
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<{ url: string; gateway: string; metrics: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kube-double did not start within 60 s:\n${stderr}`));
    }, 60_000);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as { url: string; gateway: string; metrics: string });
      } catch (error) {
        reject(
          new Error(`kube-double printed '${line}' instead of its address:\n${stderr}`, { cause: error }),
        );
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kube-double exited with code ${String(code)} before it was ready:\n${stderr}`));
    });
  });
  const url = ready.url;
  let current = behaviours;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else
      child.once('exit', () => {
        resolve();
      });
  });
  return {
    kind: 'kube-double',
    kubeconfig,
    description: `kube-double ${url} (started by the demo, pid ${String(child.pid)})`,
    url,
    gatewayUrl: ready.gateway,
    metricsTarget: new URL(ready.metrics).host,
    async setBehaviours(entries) {
      const res = await fetch(`${url}/_double/behaviours`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(entries),
      });
      if (!res.ok) throw new Error(`kube-double refused the behaviours: ${res.status} ${await res.text()}`);
      current = entries;
    },
    behaviours: () => current,
    async violations() {
      const res = await fetch(`${url}/_double/violations`);
      if (!res.ok) throw new Error(`kube-double answered ${res.status} for its violations`);
      return (await res.json()) as Violation[];
    },
    async traffic() {
      const res = await fetch(`${url}/_double/traffic`);
      if (!res.ok) throw new Error(`kube-double answered ${res.status} for its traffic counts`);
      return (await res.json()) as TrafficSummary;
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

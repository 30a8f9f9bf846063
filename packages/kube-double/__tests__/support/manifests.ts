import { dump } from 'js-yaml';
import { runKubectl, type KubectlResult, type RunKubectlOptions } from '@dreamscape/testkit';
import type { KubeDouble } from '../../src/index.js';

/** A Deployment manifest: `app=<name>` labels, one container `web` serving port 8080 named `http`. */
export function deployment(
  name: string,
  image: string,
  options: {
    namespace?: string;
    replicas?: number;
    labels?: Record<string, string>;
    spec?: Record<string, unknown>;
  } = {},
): Record<string, unknown> {
  const labels = { app: name, ...(options.labels ?? {}) };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, ...(options.namespace === undefined ? {} : { namespace: options.namespace }), labels },
    spec: {
      replicas: options.replicas ?? 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'web', image, ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
      ...(options.spec ?? {}),
    },
  };
}

/** A Service on port 80 targeting the pods' `http` port. */
export function service(
  name: string,
  selector: Record<string, string>,
  options: { namespace?: string } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, ...(options.namespace === undefined ? {} : { namespace: options.namespace }) },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

/** A Namespace. */
export function namespace(name: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

/** Multi-document YAML, as a person would write it. */
export function yaml(...documents: readonly Record<string, unknown>[]): string {
  return documents.map((d) => dump(d)).join('---\n');
}

/** A kubectl bound to one double, each run with its own HOME and cache directory. */
export type Kubectl = (
  args: readonly string[],
  options?: Omit<RunKubectlOptions, 'kubeconfig'>,
) => Promise<KubectlResult>;

/** The pinned kubectl (or the tested one of `minor`) pointed at `double`. */
export function kubectlFor(double: KubeDouble, minor?: number): Kubectl {
  return (args, options = {}) =>
    runKubectl(args, {
      ...options,
      kubeconfig: double.kubeconfigPath,
      ...(minor === undefined ? {} : { minor }),
    });
}

/** A failure message that shows what kubectl printed. */
export function show(result: KubectlResult): string {
  return `kubectl ${result.args.join(' ')}\nexit ${String(result.exitCode)}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

/** Asserts kubectl exited 0 and returns stdout. */
export function ok(result: KubectlResult): string {
  if (result.exitCode !== 0) throw new Error(`expected success\n${show(result)}`);
  return result.stdout;
}

/** Asserts kubectl failed and returns stderr. */
export function failed(result: KubectlResult): string {
  if (result.exitCode === 0) throw new Error(`expected failure\n${show(result)}`);
  return result.stderr;
}

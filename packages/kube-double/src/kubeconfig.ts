import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { dump } from 'js-yaml';

/**
 * Writes a kubeconfig pointing at `url` over plain http with no credentials (client-go sends none
 * over http anyway), context `kube-double`, default namespace `namespace`.
 */
export function writeKubeconfig(path: string, url: string, namespace = 'default'): void {
  mkdirSync(dirname(path), { recursive: true });
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kube-double', cluster: { server: url } }],
    users: [{ name: 'kube-double', user: {} }],
    contexts: [{ name: 'kube-double', context: { cluster: 'kube-double', user: 'kube-double', namespace } }],
    'current-context': 'kube-double',
    preferences: {},
  };
  writeFileSync(path, dump(config), { mode: 0o600 });
}

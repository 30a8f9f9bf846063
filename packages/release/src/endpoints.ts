import type { KubeObject } from '@dreamscape/kube';

/** `v1 Endpoints`, as far as the per-port readiness check reads it. */
export interface Endpoints extends KubeObject {
  kind: 'Endpoints';
  subsets?: {
    addresses?: { ip: string }[];
    notReadyAddresses?: { ip: string }[];
    ports?: { name?: string; port: number }[];
  }[];
}

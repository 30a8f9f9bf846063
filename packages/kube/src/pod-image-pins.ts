import type { ImagePin } from './kustomize.js';
import type { KubeObject } from './kube-object.js';

/** Where each kind holds its pod spec. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

const CONTAINER_FIELDS = ['containers', 'initContainers'] as const;

/**
 * An image reference without its digest and tag: `ghcr.io/acme/web:1.2@sha256:…` is
 * `ghcr.io/acme/web`; a registry port (`127.0.0.1:5000/web`) is kept.
 */
export function imageName(image: string): string {
  const at = image.indexOf('@');
  const withoutDigest = at < 0 ? image : image.slice(0, at);
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(0, colon) : withoutDigest;
}

/**
 * Pins the images of every container and init container of the pod specs of Pods, Deployments,
 * StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs, in place: an image whose
 * {@link imageName} is a pin's `name` becomes `newName@digest` (or `name@digest`); the first pin of
 * a name wins. Images anywhere else (a custom resource's containers) are left as they are.
 */
export function pinPodImages(objects: readonly KubeObject[], pins: readonly ImagePin[]): void {
  if (pins.length === 0) return;
  for (const object of objects) {
    const path = POD_SPEC_PATHS[object.kind];
    if (path === undefined) continue;
    let spec: unknown = object;
    for (const key of path) spec = isRecord(spec) ? spec[key] : undefined;
    if (!isRecord(spec)) continue;
    for (const field of CONTAINER_FIELDS) {
      const containers = spec[field];
      if (!Array.isArray(containers)) continue;
      for (const container of containers as unknown[]) {
        if (!isRecord(container) || typeof container['image'] !== 'string') continue;
        const name = imageName(container['image']);
        const pin = pins.find((p) => p.name === name);
        if (pin !== undefined) container['image'] = `${pin.newName ?? pin.name}@${pin.digest}`;
      }
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import type { Logger } from '@dreamscape/core';
import type { ImagePin, KubeObject, Service } from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import { coloredName } from './colors.js';
import { selectorColor } from './switching.js';
import { isWorkload, podTemplateOf, workloadContainers } from './workload-classes.js';

/** The repository of an image reference, without tag or digest. */
function repositoryOf(image: string): string {
  return image.replace(/@.*$/, '').replace(/:[^/:]+$/, '');
}

/**
 * For images the `images` input did not give (a service that was not rebuilt, a third-party image
 * such as a redis), the digest the environment runs now: the same container of the same workload
 * (the live color's copy of a switched Deployment; the single copy of a worker, StatefulSet,
 * DaemonSet or CronJob), when its repository is the one the overlay names. Those become pins, so
 * a partial release redeploys what did not change exactly as it runs.
 */
export async function livePins(
  api: ClusterApi,
  logger: Logger,
  objects: readonly KubeObject[],
  unpinned: readonly string[],
  namespace: string,
): Promise<ImagePin[]> {
  if (unpinned.length === 0) return [];
  const workloads = objects.filter(isWorkload);
  const kinds = [...new Set(workloads.map((w) => w.kind))];
  const [services, ...lists] = await Promise.all([
    api.list<Service>('services', { namespace }),
    ...kinds.map((kind) => api.list(LIST_OF[kind] ?? kind, { namespace })),
  ]);
  const live = new Map<string, KubeObject>();
  kinds.forEach((kind, i) => {
    for (const o of lists[i]?.items ?? []) live.set(`${kind}/${o.metadata.name}`, o);
  });
  const pins = new Map<string, ImagePin>();
  for (const w of workloads) {
    let liveName = w.metadata.name;
    if (w.kind === 'Deployment') {
      const labels = podTemplateOf(w)?.metadata?.labels ?? {};
      const selecting = services.items.find((s) => {
        const sel = s.spec?.selector ?? {};
        return (
          Object.keys(sel).length > 0 &&
          Object.entries(sel).every(([k, v]) => k === 'dreamscape.io/color' || labels[k] === v)
        );
      });
      const color = selectorColor(selecting);
      if (color === 'blue' || color === 'green') liveName = coloredName(w.metadata.name, color);
    }
    const running = live.get(`${w.kind}/${liveName}`);
    if (running === undefined) continue;
    const liveImages = new Map(workloadContainers(running).map((c) => [c.name, c.image ?? '']));
    for (const c of workloadContainers(w)) {
      const image = c.image ?? '';
      if (!unpinned.includes(image)) continue;
      const current = liveImages.get(c.name) ?? '';
      const at = current.indexOf('@sha256:');
      if (at < 0 || repositoryOf(current) !== repositoryOf(image)) continue;
      const repository = repositoryOf(image);
      pins.set(repository, { name: repository, digest: current.slice(at + 1) });
      logger.notice(
        `${w.metadata.name}/${c.name}: not in 'images', keeps the digest it runs now (${current}).`,
      );
    }
  }
  return [...pins.values()];
}

/** The resource each workload kind is listed as. */
const LIST_OF: Readonly<Record<string, string>> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  CronJob: 'cronjobs',
};

import type { Logger } from '@dreamscape/core';
import type { Deployment, ImagePin, KubeObject } from '@dreamscape/kube';
import { coloredName, containersOf, selectorColor, type ClusterApi } from '@dreamscape/release';
import type { Service } from '@dreamscape/kube';

/** The repository of an image reference, without tag or digest. */
export function repositoryOf(image: string): string {
  return image.replace(/@.*$/, '').replace(/:[^/:]+$/, '');
}

/**
 * For images the `images` input did not give (a service that was not rebuilt), the digest the
 * environment runs now: the same container of the same Deployment in the live color, when its
 * repository is the one the overlay names. Those become pins, so a partial release redeploys the
 * unchanged services exactly as they run.
 */
export async function livePins(
  api: ClusterApi,
  logger: Logger,
  objects: readonly KubeObject[],
  unpinned: readonly string[],
  namespace: string,
): Promise<ImagePin[]> {
  if (unpinned.length === 0) return [];
  const [services, deployments] = await Promise.all([
    api.list<Service>('services', { namespace }),
    api.list<Deployment>('deployments', { namespace }),
  ]);
  const liveDeployments = new Map(deployments.items.map((d) => [d.metadata.name, d]));
  const pins = new Map<string, ImagePin>();
  for (const o of objects) {
    if (o.kind !== 'Deployment') continue;
    const d = o as Deployment;
    const selecting = services.items.find((s) => {
      const sel = s.spec?.selector ?? {};
      const labels = d.spec?.template?.metadata?.labels ?? {};
      return (
        Object.keys(sel).length > 0 &&
        Object.entries(sel).every(([k, v]) => k === 'dreamscape.io/color' || labels[k] === v)
      );
    });
    const color = selectorColor(selecting);
    const liveName =
      color === 'blue' || color === 'green' ? coloredName(d.metadata.name, color) : d.metadata.name;
    const live = liveDeployments.get(liveName);
    if (live === undefined) continue;
    const liveImages = new Map(containersOf(live).map((c) => [c.name, c.image ?? '']));
    for (const c of containersOf(d)) {
      const image = c.image ?? '';
      if (!unpinned.includes(image)) continue;
      const running = liveImages.get(c.name) ?? '';
      const at = running.indexOf('@sha256:');
      if (at < 0 || repositoryOf(running) !== repositoryOf(image)) continue;
      const repository = repositoryOf(image);
      pins.set(repository, { name: repository, digest: running.slice(at + 1) });
      logger.notice(
        `${d.metadata.name}/${c.name}: not in 'images', keeps the digest it runs now (${running}).`,
      );
    }
  }
  return [...pins.values()];
}

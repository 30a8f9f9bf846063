import type { KubeObject } from '@dreamscape/kube';
import { previewName, type Color } from './colors.js';
import type { ReleaseContext } from './release-context.js';

/** `v1 Endpoints`, as far as the per-port readiness check reads it. */
export interface Endpoints extends KubeObject {
  kind: 'Endpoints';
  subsets?: {
    addresses?: { ip: string }[];
    notReadyAddresses?: { ip: string }[];
    ports?: { name?: string; port: number }[];
  }[];
}

/**
 * Every port of every preview Service has Ready endpoints (a multi-port Service switches all ports
 * at once); waits up to 30 s for them. Returns what is missing, or undefined.
 */
export async function checkPreviewEndpoints(
  ctx: Pick<ReleaseContext, 'plan' | 'api' | 'clock' | 'o'>,
  candidate: Color,
): Promise<string | undefined> {
  const { plan, api, clock } = ctx;
  const deadline = clock.now() + 30_000;
  let problem: string | undefined;
  for (;;) {
    const { items } = await api.list<Endpoints>('endpoints', { namespace: plan.namespace });
    const byName = new Map(items.map((e) => [e.metadata.name, e]));
    problem = undefined;
    for (const s of plan.services) {
      const ep = byName.get(previewName(s.name));
      for (const port of s.ports) {
        const ready = (ep?.subsets ?? []).some(
          (sub) =>
            (sub.addresses ?? []).length > 0 &&
            (sub.ports ?? []).some((p) => (port.name === undefined ? true : p.name === port.name)),
        );
        if (!ready)
          problem = `${previewName(s.name)} has no Ready ${candidate} endpoint on port ${port.name ?? port.port}`;
      }
    }
    if (problem === undefined || clock.now() >= deadline) return problem;
    await clock.sleep(200, ctx.o.signal);
  }
}

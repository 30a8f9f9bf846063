import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_SERVICES } from './options.js';

/** The repository the actions see (GITHUB_WORKSPACE) and the overlay they deploy. */
export interface DemoWorkspace {
  /** A copy of examples/dreamscape: services.json, services/, k8s/, charts/. */
  readonly dir: string;
  /** The overlay to deploy, relative to `dir`. */
  readonly overlay: string;
  /** The payment service's Helm chart, relative to `dir`. */
  readonly chart: string;
}

/** Where the demo overlay lives in the workspace. */
export const DEMO_OVERLAY = 'k8s/overlays/demo';
/** The payment chart of examples/dreamscape, as the workspace holds it. */
export const DEMO_CHART = 'charts/payment';

/**
 * Copies examples/dreamscape into `<workDir>/workspace`, the repository a consumer would have, and
 * adds the overlay the demo deploys: the example's `dev` overlay with its images mapped from
 * `ghcr.io/dreamscape/<service>` to `<imagePrefix>/<service>`, which is what a team pushing to
 * another registry writes. Action-build's records then pin exactly the images the overlay names.
 * With a subset of services, the copy's base lists only those (the others have no image to pin).
 * The copy holds the payment chart (`charts/payment`), which the chart chapter releases as it is.
 */
export function prepareWorkspace(
  repoRoot: string,
  workDir: string,
  imagePrefix: string,
  services: readonly string[],
): DemoWorkspace {
  const dir = join(workDir, 'workspace');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(repoRoot, 'examples', 'dreamscape'), dir, { recursive: true });
  if (!existsSync(join(dir, DEMO_CHART, 'Chart.yaml')))
    throw new Error(`${join(dir, DEMO_CHART)} has no Chart.yaml: the chart chapter needs the payment chart.`);

  const left = ALL_SERVICES.filter((s) => !services.includes(s));
  if (left.length > 0) {
    const base = join(dir, 'k8s', 'base', 'kustomization.yaml');
    const text = readFileSync(base, 'utf8');
    const kept = text
      .split('\n')
      .filter((line) => !left.some((s) => line === `  - ${s}`))
      .join('\n');
    for (const s of services)
      if (!kept.split('\n').includes(`  - ${s}`))
        throw new Error(
          `${base} no longer lists '  - ${s}' under resources: the demo cannot select services.`,
        );
    writeFileSync(base, kept);
    const catalog = JSON.parse(readFileSync(join(dir, 'services.json'), 'utf8')) as {
      services: { name: string }[];
    };
    catalog.services = catalog.services.filter((s) => services.includes(s.name));
    writeFileSync(join(dir, 'services.json'), `${JSON.stringify(catalog, null, 2)}\n`);
  }

  // JSON is YAML: kustomize reads this as it reads the hand-written overlays.
  const overlay = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: ['../dev'],
    images: services.map((s) => ({ name: `ghcr.io/dreamscape/${s}`, newName: `${imagePrefix}/${s}` })),
  };
  mkdirSync(join(dir, DEMO_OVERLAY), { recursive: true });
  writeFileSync(
    join(dir, DEMO_OVERLAY, 'kustomization.yaml'),
    `# The dev overlay, with images from the registry this demo pushes to.\n${JSON.stringify(overlay, null, 2)}\n`,
  );
  return { dir, overlay: DEMO_OVERLAY, chart: DEMO_CHART };
}

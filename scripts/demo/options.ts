import { isAbsolute, resolve } from 'node:path';
import { ActionError } from '@dreamscape/core';

/** The seven services of examples/dreamscape, in the order services.json lists them. */
export const ALL_SERVICES = ['gateway', 'auth', 'user', 'voyage', 'payment', 'ai', 'panorama'] as const;

/** A registry the demo pushes to instead of starting its own. */
export interface ExternalRegistry {
  /** Where images go: `<prefix>/<service>`, e.g. `ghcr.io/my-org/dreamscape` or `registry.internal:5000/team`. */
  readonly prefix: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

/** What the demo was asked to do, from its command line and environment. */
export interface DemoOptions {
  /** The services to build and deploy (default all seven). */
  readonly services: readonly string[];
  /** Where the workspace, the summaries and the results go (kept after the run). */
  readonly workDir: string;
  /** Push here instead of a docker-registry the demo starts on 127.0.0.1. */
  readonly registry: ExternalRegistry | undefined;
  /** Deploy with this kubeconfig instead of to a kube-double the demo starts. */
  readonly kubeconfig: string | undefined;
  /** BASE_IMAGE build-arg; default the busybox image built locally (nothing is pulled). */
  readonly baseImage: string | undefined;
  /** KUBECONFIG was set in the environment but is not used (only DEMO_KUBECONFIG selects a cluster). */
  readonly ignoredKubeconfig: string | undefined;
  readonly help: boolean;
}

/** The text `--help` prints. */
export const USAGE = `usage: npm run demo [-- --services gateway,payment] [--work-dir DIR]

Runs the whole pipeline on this machine with the four bundled actions, as a runner runs them:
builds the example services (v1), scans them, deploys v1 to dev, deploys v2 blue-green, deploys a
broken v3 that switches back by itself, rolls back to revision 1, then releases v4 by canary
(10 → 50 → 100 %, analysed by Prometheus) and a bad v5 whose canary is aborted at 10 %, and last
releases the payment service from its Helm chart (v1 after its migration Job, then a v3 whose
migration fails and never goes live). The canary needs gateway; the chart needs payment.

  --services a,b     only these services of examples/dreamscape (default: all seven)
  --work-dir DIR     where the workspace, summaries and results go (default: .tmp/demo)
  --help             this text

Environment (all optional; without them everything runs on 127.0.0.1):
  DEMO_REGISTRY            push to <DEMO_REGISTRY>/<service> instead of a local docker-registry
  DEMO_REGISTRY_USERNAME   user for DEMO_REGISTRY
  DEMO_REGISTRY_PASSWORD   password or token for DEMO_REGISTRY (masked)
  DEMO_KUBECONFIG          deploy to the cluster of this kubeconfig instead of a local kube-double
                           (a KUBECONFIG in the environment is never used by itself)
  DEMO_BASE_IMAGE          BASE_IMAGE build-arg (default: a busybox image built locally)
  TRIVY_CACHE_DIR / GRYPE_DB_CACHE_DIR
                           where an installed scanner keeps its database`;

/** Reads the command line and the environment. Mistakes raise an ActionError that names them. */
export function parseDemoOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  repoRoot: string,
): DemoOptions {
  let services: string[] = [...ALL_SERVICES];
  let workDir = resolve(repoRoot, '.tmp', 'demo');
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new ActionError(`${flag ?? arg} needs a value.\n\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--services':
        services = parseServices(value());
        break;
      case '--work-dir': {
        const dir = value();
        workDir = isAbsolute(dir) ? dir : resolve(process.cwd(), dir);
        break;
      }
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new ActionError(`Unknown argument '${arg}'.\n\n${USAGE}`);
    }
  }
  const prefix = nonEmpty(env.DEMO_REGISTRY)?.replace(/\/+$/, '');
  if (prefix !== undefined && !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/.test(prefix))
    throw new ActionError(
      `DEMO_REGISTRY '${prefix}' is not a registry and path such as ghcr.io/my-org or registry.internal:5000/team.`,
    );
  const username = nonEmpty(env.DEMO_REGISTRY_USERNAME);
  const password = nonEmpty(env.DEMO_REGISTRY_PASSWORD);
  if (prefix === undefined && (username !== undefined || password !== undefined))
    throw new ActionError('DEMO_REGISTRY_USERNAME and DEMO_REGISTRY_PASSWORD need DEMO_REGISTRY.');
  const kubeconfig = nonEmpty(env.DEMO_KUBECONFIG);
  return {
    services,
    workDir,
    registry: prefix === undefined ? undefined : { prefix, username, password },
    kubeconfig: kubeconfig === undefined ? undefined : resolve(kubeconfig),
    baseImage: nonEmpty(env.DEMO_BASE_IMAGE),
    ignoredKubeconfig: kubeconfig === undefined ? nonEmpty(env.KUBECONFIG) : undefined,
    help,
  };
}

function parseServices(text: string): string[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const known: readonly string[] = ALL_SERVICES;
  const unknown = names.filter((n) => !known.includes(n));
  if (names.length === 0 || unknown.length > 0)
    throw new ActionError(
      `--services '${text}' names ${unknown.length > 0 ? `unknown services: ${unknown.join(', ')}` : 'no service'}. Accepted: a comma-separated list of ${ALL_SERVICES.join(', ')}.`,
    );
  // services.json order, so the summary reads the same whatever order was typed.
  return ALL_SERVICES.filter((s) => names.includes(s));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

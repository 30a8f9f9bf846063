import {
  defaultAppName,
  InputError,
  readKubeconfig,
  RELEASE_NAME,
  RELEASE_NAME_ACCEPTED,
  readBoolean,
  readDuration,
  readEnum,
  readString,
  readYaml,
  type InputSource,
} from '@dreamscape/core';
import { parseAllowedClusterObjects, type AllowedClusterObject } from '@dreamscape/release';
import { readScanRequirement, type ScanRequirement } from '@dreamscape/scan';

const NAME = RELEASE_NAME;
const NAME_ACCEPTED = RELEASE_NAME_ACCEPTED;

/** Everything action-rollback was asked to do, validated once. */
export interface RollbackInputs {
  readonly environment: string;
  /** One app, or every app recorded in the environment. */
  readonly app: string;
  readonly to: 'previous' | number;
  readonly namespace: string | undefined;
  readonly kubeconfig: string | undefined;
  /** Decoded YAML, or undefined to use the checks recorded with the target release. */
  readonly healthChecks: unknown;
  readonly rolloutTimeoutMs: number;
  readonly verifyWindowMs: number;
  readonly lockTimeoutMs: number;
  readonly lockTtlMs: number;
  readonly reason: string;
  readonly githubToken: string;
  readonly mode: 'rollback' | 'plan';
  /** Check that the target release's images are still in their registries before writing anything. */
  readonly verifyImages: boolean;
  readonly registryUsername: string;
  readonly registryPassword: string;
  /** `require-scan`: the target's images must have passing verdicts, as a deploy's must. */
  readonly scan: ScanRequirement | undefined;
  /** Cluster-scoped objects the target's recorded manifest may apply besides its own Namespace. */
  readonly allowClusterObjects: readonly AllowedClusterObject[];
}

/** Reads and validates the inputs; `env` gives the runner's context. */
export function readInputs(
  src: InputSource,
  env: Readonly<Record<string, string | undefined>>,
): RollbackInputs {
  const environment = readString(src, 'environment', { required: true });
  if (!NAME.test(environment)) throw new InputError('environment', environment, NAME_ACCEPTED);
  const app = readString(src, 'app', { default: defaultAppName(env) });
  if (app !== 'all' && !NAME.test(app)) throw new InputError('app', app, `${NAME_ACCEPTED}, or 'all'`);
  const toText = readString(src, 'to', { default: 'previous' });
  let to: 'previous' | number;
  if (toText === 'previous') to = 'previous';
  else if (/^[1-9]\d{0,8}$/.test(toText)) to = Number(toText);
  else throw new InputError('to', toText, "'previous' or a revision number such as 12");
  const namespace = readString(src, 'namespace') || undefined;
  if (namespace !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(namespace))
    throw new InputError(
      'namespace',
      namespace,
      'a Kubernetes namespace name (lowercase letters, digits, dashes)',
    );
  const workspace = env.GITHUB_WORKSPACE ?? process.cwd();
  const kubeconfig = readKubeconfig(src, env, workspace);
  const reason = readString(src, 'reason');
  if (reason.length > 500) throw new InputError('reason', reason, 'at most 500 characters');
  return {
    environment,
    app,
    to,
    namespace,
    kubeconfig,
    healthChecks: readYaml(src, 'health-checks', 'a YAML list of health checks'),
    rolloutTimeoutMs: readDuration(src, 'rollout-timeout', 300_000, { minMs: 1000, maxMs: 6 * 3_600_000 }),
    verifyWindowMs: readDuration(src, 'verify-window', 30_000, { minMs: 0, maxMs: 6 * 3_600_000 }),
    lockTimeoutMs: readDuration(src, 'lock-timeout', 300_000, { minMs: 0, maxMs: 6 * 3_600_000 }),
    lockTtlMs: readDuration(src, 'lock-ttl', 60_000, { minMs: 3000, maxMs: 3_600_000 }),
    reason,
    githubToken: readString(src, 'github-token'),
    mode: readEnum(src, 'mode', ['rollback', 'plan'] as const, 'rollback'),
    verifyImages: readBoolean(src, 'verify-images', false),
    scan: readBoolean(src, 'require-scan', false) ? readScanRequirement(src) : undefined,
    registryUsername: readString(src, 'registry-username'),
    registryPassword: readString(src, 'registry-password'),
    allowClusterObjects: parseAllowedClusterObjects(readString(src, 'allow-cluster-objects')),
  };
}

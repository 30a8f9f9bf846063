import { ProcessCommandRunner, type HttpClient, type Logger } from '@dreamscape/core';
import { withClusterSession } from '@dreamscape/kube';
import { ReleaseHistory } from '@dreamscape/release';
import {
  parseScanTarget,
  readBaseline,
  type Baseline,
  type ReferrerStore,
  type ScanTarget,
} from '@dreamscape/scan';
import type { BaselineInput } from './inputs.js';

/** What {@link resolveBaseline} needs. */
export interface BaselineDependencies {
  readonly store: ReferrerStore;
  readonly http: HttpClient;
  readonly logger: Logger;
  readonly tempDir: string;
}

/**
 * What runs now, for `fail-on: new` and the new/fixed/known report: the `baseline-image`, or the
 * image of the same name in the release running in `baseline-environment` (its newest promoted
 * release, as action-rollback sees it), with the findings of its newest verdict. Whatever cannot be
 * found or read is no baseline, with a warning: every finding is then judged.
 */
export async function resolveBaseline(
  input: BaselineInput,
  target: ScanTarget,
  deps: BaselineDependencies,
): Promise<Baseline> {
  const baseline =
    input.kind === 'image'
      ? await readBaseline(deps.store, [input.image.reference], 'the baseline image')
      : await fromHistory(input, target, deps);
  if (baseline.status === 'none')
    deps.logger.warning(`No baseline: ${baseline.reason}. Every finding is judged.`);
  else
    deps.logger.info(
      `Baseline: ${baseline.image} (${baseline.source}), ${baseline.findings.length} findings in its verdict of ${baseline.verdictCreatedAt}.`,
    );
  return baseline;
}

async function fromHistory(
  input: Extract<BaselineInput, { kind: 'environment' }>,
  target: ScanTarget,
  deps: BaselineDependencies,
): Promise<Baseline> {
  const where = `${input.app} in ${input.environment} (namespace ${input.namespace})`;
  let running: { readonly revision: number; readonly images: readonly string[] } | undefined;
  try {
    running = await withClusterSession(
      {
        runner: new ProcessCommandRunner({ logger: deps.logger }),
        http: deps.http,
        logger: deps.logger,
        kubeconfig: input.kubeconfig,
        tempDir: deps.tempDir,
        fieldManager: 'dreamscape-scan',
      },
      async ({ api }) => {
        const history = new ReleaseHistory(api, deps.logger, {
          app: input.app,
          environment: input.environment,
          namespace: input.namespace,
        });
        // The release live now is the newest promoted one (list() is newest first).
        const live = (await history.list()).find((s) => s.record.result === 'promoted')?.record;
        return live === undefined
          ? undefined
          : { revision: live.revision, images: Object.values(live.images) };
      },
    );
  } catch (error) {
    return {
      status: 'none',
      reason: `the release history of ${where} could not be read: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (running === undefined) return { status: 'none', reason: `nothing of ${where} has been promoted yet` };
  const source = `the image running in ${input.environment} (revision ${running.revision})`;
  const images = [...new Set(running.images.filter((ref) => sameName(ref, target)))].sort();
  if (images.length === 0)
    return {
      status: 'none',
      reason: `the release running in ${input.environment} (revision ${running.revision}) has no image named ${target.name}`,
    };
  return readBaseline(deps.store, images, source);
}

/** Whether a recorded image reference names the same repository as the scanned image. */
function sameName(reference: string, target: ScanTarget): boolean {
  try {
    return parseScanTarget(reference).name === target.name;
  } catch {
    return false;
  }
}

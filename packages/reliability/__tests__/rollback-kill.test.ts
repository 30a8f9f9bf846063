import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import {
  buildRecords,
  deploy,
  digest,
  historyProblems,
  journalReached,
  liveColorProblems,
  releaseRecords,
  repoRoot,
  rollback,
  serviceColors,
  startCluster,
  type ActionRunResult,
  type ExampleCluster,
} from '@dreamscape/testkit';
import {
  CHAIN_NAMESPACE,
  CHAIN_OVERLAY,
  CHAIN_SERVICES,
  countOutcome,
  newPart,
  renderSummary,
  tallyDir,
  writePart,
} from '../src/index.js';

/** The steps a rollback journals in its release record, in order. */
const STEPS = [
  'started',
  'applied',
  'ready',
  'preview-switched',
  'gates-passed',
  'switching',
  'switched',
  'verified',
  'finished',
] as const;
const CHECKS = CHAIN_SERVICES.map(
  (s) => `- name: ${s}\n  service: ${s}\n  port: http\n  path: /health\n  interval: 100ms\n  successes: 2`,
).join('\n');
/** The release every rollback returns to. */
const TARGET = 'v1';

const part = newPart('rollback kills');
const started = Date.now();
let cluster: ExampleCluster;
let deploys = 0;

async function deployVersion(version: string): Promise<void> {
  deploys++;
  const r = await deploy(
    cluster,
    {
      overlay: CHAIN_OVERLAY,
      images: buildRecords(version, CHAIN_SERVICES),
      'health-checks': CHECKS,
      'verify-window': '300ms',
      // A rollback killed after it finished leaves its lock to expire (60 s): the next deploy waits.
      'lock-timeout': '90s',
    },
    { runId: `deploy-${deploys}` },
  );
  rmSync(r.dir, { recursive: true, force: true });
  if (r.outputs.result !== 'promoted') throw new Error(`deploy ${version} failed:\n${r.stdout}`);
}

/** The newest promoted revision that runs TARGET's images (the first deploy, then each rollback to it). */
function targetRevision(): number {
  const records = releaseRecords(cluster.double, CHAIN_NAMESPACE) as (ReturnType<
    typeof releaseRecords
  >[number] & {
    images: Record<string, string>;
  })[];
  const target = records.find(
    (r) =>
      r.result === 'promoted' && r.images['gateway/gateway']?.endsWith(digest('gateway', TARGET)) === true,
  );
  if (target === undefined) throw new Error(`no promoted revision of ${TARGET} is recorded any more`);
  return target.revision;
}

function newestRevision(): number {
  return releaseRecords(cluster.double, CHAIN_NAMESPACE)[0]?.revision ?? 0;
}

/** Every Service on one color, running TARGET's images, Ready; the history settled; no violation. */
function convergenceProblems(revision: number): string[] {
  const problems = [
    ...liveColorProblems(cluster.double, CHAIN_NAMESPACE, CHAIN_SERVICES),
    ...historyProblems(cluster.double, CHAIN_NAMESPACE, { settled: true }),
    ...cluster.double.violations().map((v) => `violation: ${v.message}`),
  ];
  const color = serviceColors(cluster.double, CHAIN_NAMESPACE).gateway ?? '';
  for (const s of CHAIN_SERVICES) {
    const dep = cluster.double
      .objects('deployments', CHAIN_NAMESPACE)
      .find((d) => (d.metadata as { name: string }).name === `${s}-${color}`) as
      { spec: { template: { spec: { containers: { image: string }[] } } } } | undefined;
    const image = dep?.spec.template.spec.containers[0]?.image;
    if (image !== `ghcr.io/dreamscape/${s}@${digest(s, TARGET)}`)
      problems.push(`${s}-${color} runs ${image ?? 'nothing'}, not ${TARGET}`);
  }
  const records = releaseRecords(cluster.double, CHAIN_NAMESPACE).filter((r) => r.revision >= revision);
  // The killed rollback and its re-run together leave exactly one record: the killed one, completed.
  if (records.length !== 1 || records[0]?.revision !== revision || records[0].result !== 'promoted')
    problems.push(
      `expected one promoted record, revision ${revision}; found ${records.map((r) => `${r.revision} ${r.result}`).join(', ') || 'none'}`,
    );
  return problems;
}

/**
 * Rolls back to TARGET, SIGKILLs the action as soon as `kill()` says so, then runs the very same
 * rollback again (same inputs, same workflow run) and checks that it converged.
 */
async function killAndRerun(
  label: string,
  kill: (revision: number) => boolean,
  afterKill: () => void = () => undefined,
): Promise<{ killed: ActionRunResult; again: ActionRunResult; problems: string[] }> {
  const revision = newestRevision() + 1;
  const inputs = { to: String(targetRevision()), 'verify-window': '300ms', 'rollout-timeout': '30s' };
  const runId = `rollback-${revision}`;
  cluster.double.clearLogs();
  const killed = await rollback(cluster, inputs, {
    runId,
    killWhen: { signal: 'SIGKILL', when: () => kill(revision) },
  });
  afterKill();
  const again = await rollback(cluster, inputs, { runId });
  const problems: string[] = [];
  if (killed.signal !== 'SIGKILL' && killed.exitCode !== 0)
    problems.push(`the killed run ended ${killed.exitCode ?? '?'}: ${killed.errors.join(' | ')}`);
  if (again.errors.length > 0) problems.push(`the re-run failed: ${again.errors.join(' | ')}`);
  if (again.outputs.result !== 'rolled-back' && again.outputs.result !== 'already-current')
    problems.push(`the re-run ended '${again.outputs.result ?? 'without a result'}'`);
  problems.push(...convergenceProblems(revision));
  part.runs++;
  countOutcome(
    part,
    `${killed.signal === 'SIGKILL' ? 'killed' : 'finished'}, re-run ${again.outputs.result ?? 'no-result'}`,
  );
  if (problems.length > 0) {
    part.unconverged++;
    part.failures.push(`${label}: ${problems.join('; ')} (kept ${killed.dir} and ${again.dir})`);
  } else {
    rmSync(killed.dir, { recursive: true, force: true });
    rmSync(again.dir, { recursive: true, force: true });
  }
  return { killed, again, problems };
}

beforeAll(async () => {
  cluster = await startCluster([{ image: '*', ready: '200ms' }]);
  await deployVersion(TARGET);
}, 120_000);

afterAll(async () => {
  await cluster.double.close();
  part.durationMs = Date.now() - started;
  writePart(tallyDir(repoRoot), part);
  process.stdout.write(`${renderSummary([part])}\n`);
});

describe('action-rollback killed with SIGKILL after each journaled step, then run again', () => {
  let version = 0;

  it.each(STEPS)(
    'fast path (the idle color still runs the target), killed after "%s": the same rollback converges',
    async (step) => {
      // Live: a new version; idle: TARGET, Ready at full scale.
      await deployVersion(`f${++version}`);
      const { problems } = await killAndRerun(`fast path, killed after ${step}`, (rev) =>
        journalReached(cluster.double, CHAIN_NAMESPACE, rev, step),
      );
      expect(problems).toEqual([]);
    },
    180_000,
  );

  it.each(STEPS)(
    're-apply path (neither color runs the target), killed after "%s": the same rollback converges',
    async (step) => {
      // Both colors run something else: the recorded manifest must be applied and awaited again.
      await deployVersion(`a${++version}`);
      await deployVersion(`b${version}`);
      const { problems } = await killAndRerun(`re-apply path, killed after ${step}`, (rev) =>
        journalReached(cluster.double, CHAIN_NAMESPACE, rev, step),
      );
      expect(problems).toEqual([]);
    },
    180_000,
  );

  it('killed half switched (the switch patch of one Service hangs): the same rollback finishes the switch', async () => {
    // Fast path: no color is applied. Service auth is patched by the apply that gives it this
    // rollback's provenance (the Services with the colors they select now) and by the provenance
    // apply; the third patch, the switch's, hangs.
    await deployVersion(`h${++version}`);
    const live = serviceColors(cluster.double, CHAIN_NAMESPACE).gateway ?? '';
    cluster.double.setFaults([
      { verbs: ['patch'], resources: ['services'], names: ['auth'], after: 2, hang: true },
    ]);
    let halfSwitched = false;
    const { problems } = await killAndRerun(
      'half switched',
      (rev) => {
        const colors = serviceColors(cluster.double, CHAIN_NAMESPACE);
        halfSwitched = colors.gateway !== live && colors.auth === live;
        return journalReached(cluster.double, CHAIN_NAMESPACE, rev, 'switching') && halfSwitched;
      },
      () => {
        cluster.double.setFaults([]);
      },
    );
    expect(halfSwitched).toBe(true);
    expect(problems).toEqual([]);
  }, 180_000);
});

import type { Logger } from '@dreamscape/core';
import type { Kubectl } from '@dreamscape/kube';
import {
  containersOf,
  releaseObjects,
  shortImage,
  type BlueGreenPlan,
  type Color,
  type LiveColors,
} from '@dreamscape/release';

/** What plan mode reports. */
export interface PlanReport {
  readonly markdown: string;
  readonly candidate: Color;
  readonly changed: boolean;
  /** Problems that would stop a deploy. */
  readonly errors: number;
}

const MAX_DIFF = 60_000;

/**
 * The dry-run report against the cluster: lint findings, which color the release would go to, what
 * each Service would switch from and to, and the server-side diff of everything that would be applied.
 */
export async function renderPlan(o: {
  plan: BlueGreenPlan;
  kubectl: Kubectl;
  namespaceExists: boolean;
  colors: LiveColors;
  logger: Logger;
}): Promise<PlanReport> {
  const { plan, kubectl, logger, colors } = o;
  let diff: string | undefined;
  let changed = true;
  if (o.namespaceExists) {
    const result = await kubectl.diffServerSide(releaseObjects(plan, colors));
    diff = result.diff;
    changed = result.changed;
  }
  logger.info(
    `Plan: ${colors.active === undefined ? 'first deploy' : `live ${colors.active}`} → ${colors.candidate}; ${changed ? 'changes' : 'no changes'}.`,
  );
  return planMarkdown(plan, {
    colors,
    diff,
    changed,
    note: o.namespaceExists
      ? undefined
      : `Namespace \`${plan.namespace}\` does not exist yet: the overlay creates it, so there is nothing to diff against.`,
  });
}

/** The report without a cluster: what the files say (render, lint, the colored objects), no diff. */
export function renderOfflinePlan(plan: BlueGreenPlan): PlanReport {
  return planMarkdown(plan, {
    colors: undefined,
    diff: undefined,
    changed: true,
    note: 'No cluster credentials were given: this plan shows what the files say. Live colors, the server-side dry run and the diff need a kubeconfig.',
  });
}

function planMarkdown(
  plan: BlueGreenPlan,
  o: { colors: LiveColors | undefined; diff: string | undefined; changed: boolean; note: string | undefined },
): PlanReport {
  const candidate: Color = o.colors?.candidate ?? 'blue';
  const errors = plan.findings.filter((f) => f.level === 'error');
  const warnings = plan.findings.filter((f) => f.level === 'warning');
  const where =
    o.colors === undefined
      ? 'the live color is not known without the cluster'
      : o.colors.active === undefined
        ? 'first deploy'
        : `live color **${o.colors.active}**`;
  const lines: string[] = [
    `### 📝 Deploy plan: ${plan.app} → ${plan.environment} (\`${plan.namespace}\`)`,
    '',
    errors.length > 0
      ? `**${errors.length} problem${errors.length === 1 ? '' : 's'} would stop this deploy.**`
      : o.colors === undefined
        ? 'No problem found in the manifests.'
        : `Ready to deploy: ${where}, the release goes to **${candidate}**.`,
    '',
  ];
  if (plan.findings.length > 0) {
    lines.push('| | Object | Finding |', '|---|---|---|');
    for (const f of [...errors, ...warnings])
      lines.push(
        `| ${f.level === 'error' ? '❌' : '⚠️'} | \`${f.object}\` | ${f.message.replace(/\|/g, '\\|')} |`,
      );
    lines.push('');
  }
  lines.push('| Service | Now | After the switch | Images |', '|---|---|---|---|');
  for (const s of plan.services) {
    const d = plan.deployments.find((x) => x.name === s.deployment);
    const images =
      d === undefined
        ? ''
        : containersOf(d.manifest)
            .map((c) => `\`${shortImage(c.image ?? '')}\``)
            .join('<br>');
    const now = o.colors === undefined ? '?' : (o.colors.services.get(s.name) ?? '— (created)');
    lines.push(
      `| ${s.name} | ${now} | ${o.colors === undefined ? 'the idle color' : candidate} | ${images} |`,
    );
  }
  lines.push('');
  if (o.diff !== undefined) {
    const diff = o.diff;
    const shown =
      diff.length > MAX_DIFF
        ? `${diff.slice(0, MAX_DIFF)}\n… (${diff.length - MAX_DIFF} more characters)`
        : diff;
    lines.push(
      `<details><summary>Server-side diff (${o.changed ? `${diff.split('\n').length} lines` : 'no changes'})</summary>`,
      '',
      '```diff',
      shown.trim() === '' ? '(no changes)' : shown.trimEnd(),
      '```',
      '',
      '</details>',
      '',
    );
  }
  if (o.note !== undefined) lines.push(o.note, '');
  return { markdown: lines.join('\n'), candidate, changed: o.changed, errors: errors.length };
}

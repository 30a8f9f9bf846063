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
}

const MAX_DIFF = 60_000;

/**
 * The dry-run report: lint findings, which color the release would go to, what each Service would
 * switch from and to, and the server-side diff of everything that would be applied.
 */
export async function renderPlan(o: {
  plan: BlueGreenPlan;
  kubectl: Kubectl;
  namespaceExists: boolean;
  colors: LiveColors;
  logger: Logger;
}): Promise<PlanReport> {
  const { plan, kubectl, logger } = o;
  const { active, candidate } = o.colors;
  const colors = plan.services.map((s) => o.colors.services.get(s.name) ?? 'missing');

  let diff = '';
  let changed = true;
  if (o.namespaceExists) {
    const result = await kubectl.diffServerSide(releaseObjects(o.plan, o.colors));
    diff = result.diff;
    changed = result.changed;
  }
  logger.info(
    `Plan: ${active === undefined ? 'first deploy' : `live ${active}`} → ${candidate}; ${changed ? 'changes' : 'no changes'}.`,
  );

  const errors = plan.findings.filter((f) => f.level === 'error');
  const warnings = plan.findings.filter((f) => f.level === 'warning');
  const lines: string[] = [
    `### 📝 Deploy plan: ${plan.app} → ${plan.environment} (\`${plan.namespace}\`)`,
    '',
    errors.length > 0
      ? `**${errors.length} problem${errors.length === 1 ? '' : 's'} would stop this deploy.**`
      : `Ready to deploy: ${active === undefined ? 'first deploy' : `live color **${active}**`}, the release goes to **${candidate}**.`,
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
  for (const [i, s] of plan.services.entries()) {
    const d = plan.deployments.find((x) => x.name === s.deployment);
    const images =
      d === undefined
        ? ''
        : containersOf(d.manifest)
            .map((c) => `\`${shortImage(c.image ?? '')}\``)
            .join('<br>');
    const now = colors[i] ?? 'missing';
    lines.push(`| ${s.name} | ${now === 'missing' ? '— (created)' : now} | ${candidate} | ${images} |`);
  }
  lines.push('');
  if (o.namespaceExists) {
    const shown =
      diff.length > MAX_DIFF
        ? `${diff.slice(0, MAX_DIFF)}\n… (${diff.length - MAX_DIFF} more characters)`
        : diff;
    lines.push(
      `<details><summary>Server-side diff (${changed ? `${diff.split('\n').length} lines` : 'no changes'})</summary>`,
      '',
      '```diff',
      shown.trim() === '' ? '(no changes)' : shown.trimEnd(),
      '```',
      '',
      '</details>',
      '',
    );
  } else {
    lines.push(
      `Namespace \`${plan.namespace}\` does not exist yet: the overlay creates it, so there is nothing to diff against.`,
      '',
    );
  }
  return { markdown: lines.join('\n'), candidate, changed };
}

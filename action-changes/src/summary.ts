import type { ServiceDefinition } from './services-file.js';
import { describeReason, type ServiceSelection } from './service-changes.js';

/** What the job summary reports about one run. */
export interface ChangesSummary {
  readonly services: readonly ServiceDefinition[];
  readonly selection: ServiceSelection;
  /** What was compared, e.g. `pull request #12 against its base 1a2b3c4`. */
  readonly compared: string;
  readonly changedFiles: number;
}

const MAX_UNMATCHED = 20;

/** The job summary: one row per service, selected or not, and why. */
export function renderSummary(s: ChangesSummary): string {
  const chosen = s.selection.selected.length;
  const lines = [
    `### Changed services: ${chosen} of ${s.services.length}`,
    '',
    `${s.compared}${s.changedFiles > 0 ? `, ${s.changedFiles} changed file${s.changedFiles === 1 ? '' : 's'}` : ''}.`,
    '',
    '| Service | Build | Why | Image |',
    '|---|---|---|---|',
  ];
  for (const service of s.services) {
    const reason = s.selection.reasons.get(service.name);
    lines.push(
      `| ${service.name} | ${reason === undefined ? '—' : '✅'} | ${reason === undefined ? 'unchanged' : escapeCell(describeReason(reason))} | \`${service.image}\` |`,
    );
  }
  if (s.selection.unmatched.length > 0) {
    lines.push('', `Changed files that concern no service: ${s.selection.unmatched.length}.`);
    const shown = s.selection.unmatched.slice(0, MAX_UNMATCHED).map((f) => `\`${escapeCell(f)}\``);
    lines.push('', shown.join(', ') + (s.selection.unmatched.length > MAX_UNMATCHED ? ', …' : ''));
  }
  return `${lines.join('\n')}\n`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

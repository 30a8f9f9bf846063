import { formatDuration } from '@dreamscape/core';
import type { BuildRecord } from '@dreamscape/image';

/** What the job summary reports about one build. */
export interface BuildSummary {
  readonly record: BuildRecord;
  readonly pushed: boolean;
  /** Compressed size of the image as the registry stores it (config + layers), when known. */
  readonly sizeBytes: number | undefined;
  readonly builderVersion: string;
  readonly durationMs: number;
}

/** The job summary for one build, as Markdown. */
export function renderSummary(s: BuildSummary): string {
  const r = s.record;
  const rows: [string, string][] = [
    ['Image', `\`${r.image}\``],
    ['Digest', `\`${r.digest}\``],
    ['Tags', r.tags.length === 0 ? '—' : r.tags.map((t) => `\`${t}\``).join('<br>')],
    ['Pushed', s.pushed ? 'yes (digest verified in the registry)' : 'no (built only)'],
    ['Size', s.sizeBytes === undefined ? '—' : formatBytes(s.sizeBytes)],
    ['Platforms', r.platforms.length === 0 ? 'native' : r.platforms.join(', ')],
    ['Builder', `${r.builder} (${s.builderVersion})`],
    ['Revision', r.revision === '' ? '—' : `\`${r.revision}\``],
    ['Duration', formatDuration(s.durationMs)],
  ];
  const labels = Object.entries(r.labels);
  return [
    `### 📦 Image built: \`${r.image.split('@')[0] ?? r.image}\``,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    ...(labels.length === 0
      ? []
      : [
          '<details><summary>Labels</summary>',
          '',
          '| Label | Value |',
          '|---|---|',
          ...labels.map(([k, v]) => `| \`${k}\` | ${escapeCell(v)} |`),
          '',
          '</details>',
          '',
        ]),
  ].join('\n');
}

/** `1.4 MB`-style sizes (powers of 1000, as registries show them). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit++;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value.toFixed(1)} ${units[unit] ?? 'TB'}`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

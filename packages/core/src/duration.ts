const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** What {@link parseDuration} accepts, for error messages. */
export const DURATION_FORMAT = 'a duration such as 500ms, 30s, 5m, 1h30m (a bare number is seconds)';

/**
 * Parses `90s`, `5m`, `1h30m`, `250ms` or a bare number of seconds into milliseconds.
 * Returns undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const value = text.trim();
  if (value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = part.exec(value)) !== null) {
    const amount = Number(match[1]);
    const unit = match[2] as keyof typeof UNITS;
    total += amount * UNITS[unit];
    consumed = part.lastIndex;
  }
  if (consumed !== value.length || consumed === 0) return undefined;
  return Math.round(total);
}

/** Formats milliseconds for people: `850ms`, `12.3s`, `4m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${String(minutes).padStart(2, '0')}m`;
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

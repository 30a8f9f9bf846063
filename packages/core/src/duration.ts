const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** What {@link parseDuration} accepts, for error messages. */
export const DURATION_FORMAT = 'a duration such as 500ms, 30s, 5m, 1h30m (a bare number is seconds)';

/**
 * The longest duration anything accepts, even without a bound of its own: 7 days. Beyond 2^31-1 ms
 * (24.8 days) a Node.js timer fires at once instead of waiting, so an absurd value such as a
 * 400-digit number would turn a wait into a busy loop.
 */
export const MAX_DURATION_MS = 7 * 24 * 3_600_000;

/**
 * Parses `90s`, `5m`, `1h30m`, `250ms` or a bare number of seconds into milliseconds.
 * Returns undefined when the text is not a duration, or is longer than {@link MAX_DURATION_MS}
 * (which is how a 400-digit value, Infinity to JavaScript, ends).
 */
export function parseDuration(text: string): number | undefined {
  const ms = durationMs(text);
  return ms === undefined || ms > MAX_DURATION_MS ? undefined : ms;
}

/** Bounds of a duration; `maxMs` is never above {@link MAX_DURATION_MS}. */
export interface DurationBounds {
  readonly minMs?: number;
  readonly maxMs?: number;
}

/** A duration within bounds, or why not ("not a duration", "longer than 10m", "shorter than 100ms"). */
export type DurationCheck =
  { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly reason: string };

/**
 * Parses a duration and checks it against `bounds`. A value too long to be a number (a 400-digit
 * one) is "longer than" the maximum, not a number to wait for.
 */
export function checkDuration(text: string, bounds: DurationBounds = {}): DurationCheck {
  const ms = durationMs(text);
  if (ms === undefined) return { ok: false, reason: 'not a duration' };
  const max = Math.min(bounds.maxMs ?? MAX_DURATION_MS, MAX_DURATION_MS);
  if (ms > max) return { ok: false, reason: `longer than ${formatDurationLimit(max)}` };
  if (bounds.minMs !== undefined && ms < bounds.minMs)
    return { ok: false, reason: `shorter than ${formatDurationLimit(bounds.minMs)}` };
  return { ok: true, ms };
}

/** What {@link checkDuration} accepts within `bounds`, for error messages. */
export function durationAccepted(bounds: DurationBounds = {}): string {
  const max = formatDurationLimit(Math.min(bounds.maxMs ?? MAX_DURATION_MS, MAX_DURATION_MS));
  return bounds.minMs === undefined || bounds.minMs <= 0
    ? `${DURATION_FORMAT}, at most ${max}`
    : `${DURATION_FORMAT}, from ${formatDurationLimit(bounds.minMs)} to ${max}`;
}

/** A limit in its largest whole unit: `100ms`, `30s`, `10m`, `6h`. */
export function formatDurationLimit(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The milliseconds a duration text says, possibly Infinity; undefined when it is not one. */
function durationMs(text: string): number | undefined {
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

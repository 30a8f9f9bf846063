/**
 * Checks a CronJob schedule the way the real server's parser (robfig/cron's standard parser) does,
 * and returns its error text, or undefined for a valid schedule: five fields (minute, hour, day of
 * month, month, day of week) of `*`, `?`, numbers or names, ranges `a-b` and steps `/n`, lists `,`;
 * or a descriptor such as `@daily` or `@every 1h`.
 */
export function cronScheduleError(schedule: string): string | undefined {
  const text = schedule.trim();
  if (text.startsWith('@')) return descriptorError(text);
  const fields = text.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`;
  for (const [i, field] of fields.entries()) {
    const bounds = BOUNDS[i];
    if (bounds === undefined) continue;
    for (const part of field.split(',')) {
      const problem = rangeError(part, bounds);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

interface Bounds {
  readonly min: number;
  readonly max: number;
  readonly names?: Readonly<Record<string, number>>;
}

const MONTHS = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const DAYS = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const BOUNDS: readonly Bounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS },
  { min: 0, max: 6, names: DAYS },
];
const DESCRIPTORS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

function descriptorError(text: string): string | undefined {
  if (DESCRIPTORS.includes(text)) return undefined;
  const every = /^@every\s+(.*)$/.exec(text);
  if (every !== null)
    return /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(every[1] ?? '')
      ? undefined
      : `failed to parse duration ${text}: time: invalid duration ${JSON.stringify(every[1] ?? '')}`;
  return `unrecognized descriptor: ${text}`;
}

function parseNumber(text: string, bounds: Bounds): number | string {
  const named = bounds.names?.[text.toLowerCase()];
  if (named !== undefined) return named;
  if (/^\d+$/.test(text)) return Number(text);
  return `failed to parse int from ${text}: strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`;
}

function rangeError(expression: string, bounds: Bounds): string | undefined {
  const steps = expression.split('/');
  if (steps.length > 2) return `too many slashes: ${expression}`;
  const [range = '', step] = steps;
  const ends = range.split('-');
  if (ends.length > 2) return `too many hyphens: ${expression}`;
  let start: number;
  let end: number;
  if (range === '*' || range === '?') {
    start = bounds.min;
    end = bounds.max;
  } else {
    const first = parseNumber(ends[0] ?? '', bounds);
    if (typeof first === 'string') return first;
    start = first;
    end = first;
    if (ends.length === 2) {
      const second = parseNumber(ends[1] ?? '', bounds);
      if (typeof second === 'string') return second;
      end = second;
    }
  }
  if (step !== undefined) {
    const n = parseNumber(step, { min: 0, max: 0 });
    if (typeof n === 'string') return n;
    if (n <= 0) return `step of range should be a positive number: ${expression}`;
    if (ends.length === 1 && range !== '*' && range !== '?') end = bounds.max;
  }
  if (start < bounds.min) return `beginning of range (${start}) below minimum (${bounds.min}): ${expression}`;
  if (end > bounds.max) return `end of range (${end}) above maximum (${bounds.max}): ${expression}`;
  if (start > end) return `beginning of range (${start}) beyond end of range (${end}): ${expression}`;
  return undefined;
}

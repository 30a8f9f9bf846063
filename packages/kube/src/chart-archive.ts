import { gunzipSync } from 'node:zlib';
import type { ChartFileEntry } from './chart-notices.js';

/** One regular file of a chart archive. */
export interface ChartArchiveFile {
  /** Its path inside the chart, without the chart's own top directory (`templates/service.yaml`). */
  readonly path: string;
  readonly content: Buffer;
}

/** What {@link readChartArchive} reads before it gives up. */
export const CHART_ARCHIVE_LIMITS = {
  /** Bytes of one archive once gunzipped: helm's own limit for a chart. */
  expandedBytes: 100 * 1024 * 1024,
  /** Subchart archives (`charts/*.tgz`) opened inside one another. */
  nesting: 3,
} as const;

const BLOCK = 512;

/**
 * The regular files of a gzipped chart archive (`helm package` output), read in memory: nothing is
 * written to disk, so no entry of a hostile archive (a link, an absolute path, `..`) can reach
 * anything. Links, directories and other entries are skipped, as helm's loader skips them.
 * Subchart archives under `charts/` are opened too and their files listed under
 * `charts/<archive name without .tgz>/`. Returns `undefined` when the bytes are not a readable
 * gzipped tar or expand beyond {@link CHART_ARCHIVE_LIMITS}: helm then says what is wrong.
 */
export function readChartArchive(bytes: Uint8Array, depth = 0): ChartArchiveFile[] | undefined {
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes, { maxOutputLength: CHART_ARCHIVE_LIMITS.expandedBytes });
  } catch {
    return undefined;
  }
  const files: ChartArchiveFile[] = [];
  let longName: string | undefined;
  for (let at = 0; at + BLOCK <= tar.length;) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = octal(header.subarray(124, 136));
    if (size === undefined) return undefined;
    const type = String.fromCharCode(header[156] ?? 0);
    const body = tar.subarray(at + BLOCK, at + BLOCK + size);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      longName = paxPath(body.toString('utf8')) ?? longName;
      continue;
    }
    if (type === 'L') {
      longName = nulTerminated(body);
      continue;
    }
    const name = longName ?? ustarName(header);
    longName = undefined;
    if (type !== '0' && type !== '\0') continue;
    // Every entry sits under the chart's directory (`demo/templates/...`); helm drops that part.
    const path = name.replace(/^\/+/, '').split('/').slice(1).join('/');
    if (path === '') continue;
    files.push({ path, content: Buffer.from(body) });
    const sub = /^charts\/([^/]+)\.tgz$/.exec(path);
    if (sub !== null && depth < CHART_ARCHIVE_LIMITS.nesting) {
      for (const f of readChartArchive(body, depth + 1) ?? [])
        files.push({ path: `charts/${sub[1] ?? ''}/${f.path}`, content: f.content });
    }
  }
  return files;
}

function octal(field: Buffer): number | undefined {
  // Base-256 sizes (the high bit set) are for files over 8 GiB: no chart holds one.
  if (((field[0] ?? 0) & 0x80) !== 0) return undefined;
  const text = nulTerminated(field).trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}

function nulTerminated(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

function ustarName(header: Buffer): string {
  const name = nulTerminated(header.subarray(0, 100));
  const magic = header.subarray(257, 262).toString('latin1');
  const prefix = magic === 'ustar' ? nulTerminated(header.subarray(345, 500)) : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** The `path` record of a PAX extended header (`<length> path=<value>\n` records). */
function paxPath(records: string): string | undefined {
  for (const line of records.split('\n')) {
    const match = /^\d+ path=(.*)$/s.exec(line);
    if (match !== null) return match[1];
  }
  return undefined;
}

/** A subchart archive inside a chart: `charts/<name>.tgz`, at any depth of subcharts. */
const SUBCHART_ARCHIVE = /^((?:charts\/[^/]+\/)*charts\/[^/]+)\.tgz$/;

/**
 * The files of a chart directory with the files of its subchart archives (`charts/*.tgz`, as
 * `helm dependency build` leaves them) added under `charts/<archive name without .tgz>/`; an
 * archive that cannot be read adds nothing (helm says what is wrong with it when it renders).
 */
export function withSubchartArchives(files: readonly ChartFileEntry[]): ChartFileEntry[] {
  const all = [...files];
  for (const file of files) {
    const sub = SUBCHART_ARCHIVE.exec(file.path);
    if (sub === null) continue;
    for (const f of readChartArchive(file.read(), 1) ?? [])
      all.push({ path: `${sub[1] ?? ''}/${f.path}`, read: () => f.content });
  }
  return all;
}

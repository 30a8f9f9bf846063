import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import dockerignore from '@balena/dockerignore';

/**
 * A digest of everything in a build context that a build can see: every directory, file and
 * symbolic link not excluded by the ignore file the builder reads, with its relative path, type,
 * permission bits and content (or link target). Two contexts with the same digest give a builder
 * the same input, wherever they are on disk and on whichever machine.
 *
 * Which ignore file applies depends on the builder and its version (BuildKit prefers
 * `<Dockerfile>.dockerignore` next to the Dockerfile, older builders read only the context's
 * `.dockerignore`, buildah prefers `.containerignore`). Rather than guess, a path is left out only
 * when every plausible choice leaves it out: the digest may cover more than the build sees, never less.
 */

/** Options for {@link hashBuildContext}. */
export interface BuildContextHashOptions {
  /** The context directory. */
  readonly context: string;
  /** The Dockerfile, for the Dockerfile-specific ignore files beside it. */
  readonly dockerfile: string;
  /** `buildx`, `buildah`; decides which ignore files are candidates (any other name: all of them). */
  readonly builder: string;
  /** Files hashed at the same time. Default 8. */
  readonly concurrency?: number;
}

/** What {@link hashBuildContext} found. */
export type BuildContextHash =
  | {
      readonly hashable: true;
      /** `sha256:<hex>` over the sorted entry list. */
      readonly digest: string;
      /** Directories, files, links and other entries covered. */
      readonly entries: number;
      readonly files: number;
      readonly bytes: number;
      /** The ignore files that were read (absolute paths). */
      readonly ignoreFiles: readonly string[];
    }
  | { readonly hashable: false; readonly reason: string };

/** The entry kinds, as they appear in the hashed list. */
type EntryType = 'dir' | 'file' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device';

interface Entry {
  /** POSIX path relative to the context; `.` for the context itself. */
  readonly path: string;
  readonly type: EntryType;
  /** Permission bits, including setuid, setgid and sticky (`mode & 0o7777`). */
  readonly mode: number;
  /** Size in bytes, for files. */
  readonly size: number;
  /** Content digest (files) or hex of the raw link target (symlinks). */
  detail: string | null;
}

/** One way a builder may pick its ignore rules: the first existing file of the list, or none. */
type IgnoreChoice = readonly string[];

interface IgnoreRules {
  ignores(path: string): boolean;
  readonly hasExceptions: boolean;
}

class Unhashable extends Error {}

/**
 * Walks `context` (symbolic links are recorded, never followed), applies the ignore rules and
 * streams every included file through sha256. The entry list is sorted byte-wise by path and
 * hashed line by line as `[path, type, mode, detail]` JSON, so the result depends on nothing but
 * what the build can see. A context that cannot be read completely is reported as not hashable
 * with the reason, rather than hashed in part.
 */
export async function hashBuildContext(options: BuildContextHashOptions): Promise<BuildContextHash> {
  try {
    return await hash(options);
  } catch (error) {
    if (error instanceof Unhashable) return { hashable: false, reason: error.message };
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string')
      return { hashable: false, reason: error instanceof Error ? error.message : String(error) };
    throw error;
  }
}

async function hash(options: BuildContextHashOptions): Promise<BuildContextHash> {
  const root = resolve(options.context);
  const rootInfo = await stat(root).catch((error: unknown) => {
    throw new Unhashable(`the context ${root} cannot be read (${describe(error)})`);
  });
  if (!rootInfo.isDirectory()) throw new Unhashable(`the context ${root} is not a directory`);
  const { rules, files: ignoreFiles } = await ignoreRules(root, resolve(options.dockerfile), options.builder);

  const entries: Entry[] = [{ path: '.', type: 'dir', mode: rootInfo.mode & 0o7777, size: 0, detail: null }];
  await walk(root, '', rules, entries);
  entries.sort((a, b) => Buffer.compare(Buffer.from(a.path, 'utf8'), Buffer.from(b.path, 'utf8')));

  const files = entries.filter((e) => e.type === 'file');
  await forEachLimited(files, options.concurrency ?? 8, async (entry) => {
    entry.detail = await fileDigest(join(root, entry.path));
  });
  const digest = createHash('sha256');
  for (const entry of entries)
    digest.update(`${JSON.stringify([entry.path, entry.type, entry.mode, entry.detail])}\n`);
  return {
    hashable: true,
    digest: `sha256:${digest.digest('hex')}`,
    entries: entries.length,
    files: files.length,
    bytes: files.reduce((n, f) => n + f.size, 0),
    ignoreFiles,
  };
}

async function walk(root: string, relative: string, rules: IgnoreRules, out: Entry[]): Promise<void> {
  const dir = relative === '' ? root : join(root, relative);
  const names = await readdir(dir, { encoding: 'buffer' });
  for (const raw of names) {
    const name = raw.toString('utf8');
    // Ignore patterns match text; a name that is not UTF-8 cannot be matched the way Go does.
    if (!Buffer.from(name, 'utf8').equals(raw))
      throw new Unhashable(`a file name in ${dir} is not valid UTF-8 (${raw.toString('hex')})`);
    const path = relative === '' ? name : `${relative}/${name}`;
    const info = await lstat(join(root, path));
    const ignored = rules.ignores(path);
    const mode = info.mode & 0o7777;
    if (info.isDirectory()) {
      if (!ignored) out.push({ path, type: 'dir', mode, size: 0, detail: null });
      // An exception (`!dir/keep`) can bring back something under an ignored directory.
      if (!ignored || rules.hasExceptions) await walk(root, path, rules, out);
      continue;
    }
    if (ignored) continue;
    if (info.isFile()) out.push({ path, type: 'file', mode, size: info.size, detail: null });
    else if (info.isSymbolicLink()) {
      const target = await readlink(join(root, path), { encoding: 'buffer' });
      out.push({ path, type: 'symlink', mode, size: 0, detail: target.toString('hex') });
    } else {
      const type: EntryType = info.isFIFO()
        ? 'fifo'
        : info.isSocket()
          ? 'socket'
          : info.isCharacterDevice()
            ? 'char-device'
            : 'block-device';
      out.push({ path, type, mode, size: 0, detail: `${info.rdev}` });
    }
  }
}

async function fileDigest(path: string): Promise<string> {
  const digest = createHash('sha256');
  await pipeline(createReadStream(path), digest);
  return `sha256:${digest.digest('hex')}`;
}

/** The ignore-file choices each builder may make, most specific first in each choice. */
function ignoreChoices(root: string, dockerfile: string, builder: string): IgnoreChoice[] {
  const context = (name: string): string => join(root, name);
  const buildkit: IgnoreChoice = [`${dockerfile}.dockerignore`, context('.dockerignore')];
  const classic: IgnoreChoice = [context('.dockerignore')];
  const buildah: IgnoreChoice = [context('.containerignore'), context('.dockerignore')];
  const buildahSpecific: IgnoreChoice = [
    `${dockerfile}.containerignore`,
    `${dockerfile}.dockerignore`,
    ...buildah,
  ];
  if (builder === 'buildx') return [buildkit, classic];
  if (builder === 'buildah') return [buildah, buildahSpecific];
  return [buildkit, classic, buildah, buildahSpecific];
}

/**
 * Rules that ignore a path only when every choice ignores it. A choice whose files all are
 * absent ignores nothing, so then nothing is ignored at all.
 */
async function ignoreRules(
  root: string,
  dockerfile: string,
  builder: string,
): Promise<{ rules: IgnoreRules; files: string[] }> {
  const texts = new Map<string, string | undefined>();
  const read = async (path: string): Promise<string | undefined> => {
    if (texts.has(path)) return texts.get(path);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT')
        throw new Unhashable(`the ignore file ${path} cannot be read (${describe(error)})`);
    }
    texts.set(path, text);
    return text;
  };
  const chosen: (string | undefined)[] = [];
  for (const choice of ignoreChoices(root, dockerfile, builder)) {
    let text: string | undefined;
    for (const path of choice) {
      text = await read(path);
      if (text !== undefined) break;
    }
    chosen.push(text);
  }
  const files = [...texts.entries()].filter(([, t]) => t !== undefined).map(([p]) => p);
  if (chosen.some((t) => t === undefined))
    return { rules: { ignores: () => false, hasExceptions: false }, files };
  const matchers = [...new Set(chosen as string[])].map((text) =>
    dockerignore.default().add(text.split(/\r?\n/)),
  );
  const hasExceptions = chosen.some((text) =>
    (text ?? '').split(/\r?\n/).some((l) => l.trim().startsWith('!')),
  );
  return { rules: { ignores: (path) => matchers.every((m) => m.ignores(path)), hasExceptions }, files };
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

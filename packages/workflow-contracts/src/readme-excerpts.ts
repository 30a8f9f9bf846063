/** A fenced YAML block of a Markdown document that names the file it is taken from. */
export interface Excerpt {
  /** The file named by the block's first line, `# <path>`. */
  readonly path: string;
  /** The block's other lines. */
  readonly lines: readonly string[];
  /** Line number of the opening fence in the document (1-based). */
  readonly line: number;
}

/**
 * The ```yaml blocks of the section `## <heading>` (up to the next `## `) of a Markdown document.
 * Each block must start with a comment naming the file it shows (`# workflows/pipeline.yml`); the
 * block is then an excerpt that {@link excerptMismatch} compares with that file.
 */
export function sectionExcerpts(markdown: string, heading: string): Excerpt[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`no section '## ${heading}'`);
  const excerpts: Excerpt[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('## ')) break;
    if (line.trim() !== '```yaml') continue;
    const open = i;
    const body: string[] = [];
    for (i++; i < lines.length && (lines[i] ?? '').trim() !== '```'; i++) body.push(lines[i] ?? '');
    const [first = '', ...rest] = body;
    const named = /^#\s+(\S+\.ya?ml)\s*$/.exec(first);
    if (named === null)
      throw new Error(`the yaml block at line ${open + 1} does not start with '# <file>.yml'`);
    excerpts.push({ path: named[1] ?? '', lines: rest, line: open + 1 });
  }
  return excerpts;
}

/**
 * Why an excerpt is not a part of the file's text (undefined when it is): its lines, with `# …`
 * lines standing for any number of omitted lines, must appear in the file in order, each run of
 * lines between omissions contiguous.
 */
export function excerptMismatch(excerpt: Excerpt, fileText: string): string | undefined {
  const file = fileText.split('\n');
  const runs: string[][] = [[]];
  for (const line of excerpt.lines) {
    if (/^\s*# …\s*$/.test(line)) runs.push([]);
    else runs[runs.length - 1]?.push(line);
  }
  let from = 0;
  for (const run of runs.filter((r) => r.length > 0)) {
    let found = -1;
    for (let i = from; i + run.length <= file.length && found < 0; i++)
      if (run.every((l, k) => file[i + k] === l)) found = i;
    if (found < 0) return `these lines are not in ${excerpt.path} (after line ${from}):\n${run.join('\n')}`;
    from = found + run.length;
  }
  return undefined;
}

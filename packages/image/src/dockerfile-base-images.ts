import { Add, Arg, Copy, DockerfileParser, Run, type From, type Instruction } from 'dockerfile-ast';
import { parseReference } from './reference.js';

/**
 * The images a build of one target pulls: what its stage chain starts `FROM`, the images that
 * `COPY --from` and `RUN --mount=...,from=` name, and (for BuildKit) the `# syntax=` frontend.
 * Build fingerprints pin each of them by digest, so this errs on the side of "cannot tell": any
 * construct whose image cannot be known from the Dockerfile and the build arguments alone (a
 * platform-dependent `FROM`, a variable in `--from`, an `ADD` of a URL without `--checksum`)
 * makes the whole build unpinnable, and the caller then simply builds.
 */

/** Options for {@link baseImagesOf}. */
export interface BaseImagesOptions {
  /** The stage built; the last one when undefined or empty. Matched case-insensitively. */
  readonly target?: string | undefined;
  /** `--build-arg` pairs, later ones winning, as builders apply them. */
  readonly buildArgs: readonly (readonly [string, string])[];
  /** Count the `# syntax=` frontend image (BuildKit runs it; buildah ignores the directive). */
  readonly includeSyntax: boolean;
}

/** The external images of a target, or why they cannot be known. */
export type BaseImages =
  | {
      readonly pinnable: true;
      /** References after ARG expansion, as the builder will pull them; unique, in first-use order. */
      readonly images: readonly string[];
    }
  | { readonly pinnable: false; readonly reason: string };

/**
 * BuildKit and buildah fill these in per platform, also in global scope without a declaration, so
 * a reference using them names a different image for each platform.
 */
const AUTOMATIC_PLATFORM_ARGS: ReadonlySet<string> = new Set([
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETARCH',
  'TARGETVARIANT',
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDARCH',
  'BUILDVARIANT',
]);

/** What a stage needs from outside itself. */
interface StageNeeds {
  readonly stages: Set<number>;
  /** With the line that names each, to report them in Dockerfile order. */
  readonly images: { readonly image: string; readonly line: number }[];
  readonly problems: string[];
}

class Unpinnable extends Error {}

/**
 * The images that building `options.target` of the Dockerfile `text` pulls, with `FROM ${X}`
 * expanded from the global `ARG` defaults and the build-arg overrides; `scratch` and references to
 * earlier stages are not images. Stages the target does not depend on are left out.
 */
export function baseImagesOf(text: string, options: BaseImagesOptions): BaseImages {
  try {
    return { pinnable: true, images: collect(text, options) };
  } catch (error) {
    if (error instanceof Unpinnable) return { pinnable: false, reason: error.message };
    throw error;
  }
}

function collect(text: string, options: BaseImagesOptions): string[] {
  const dockerfile = DockerfileParser.parse(text);
  const escape = dockerfile.getEscapeCharacter();
  const froms = dockerfile.getFROMs();
  const first = froms[0];
  if (first === undefined) throw new Unpinnable('the Dockerfile has no FROM');
  const firstLine = lineOf(first);
  const instructions = dockerfile.getInstructions();

  const overrides = new Map<string, string>(options.buildArgs.map(([k, v]) => [k, v]));
  // Global scope: ARGs before the first FROM. `undefined` is declared but without a value.
  const globals = new Map<string, string | undefined>();
  for (const instruction of instructions) {
    if (lineOf(instruction) >= firstLine) break;
    if (!(instruction instanceof Arg)) continue;
    for (const property of instruction.getProperties()) {
      const name = property.getName();
      const override = overrides.get(name);
      const fallback = property.getValue();
      if (override !== undefined) globals.set(name, override);
      else if (fallback === null) globals.set(name, undefined);
      else {
        // Inside single quotes Docker does not expand; the parser drops the quotes, so refuse.
        if (fallback.includes('$') && instruction.getTextContent().includes("'"))
          throw new Unpinnable(`the default of ARG ${name} mixes quotes and variables`);
        globals.set(name, expand(fallback, globals, escape, `ARG ${name}`));
      }
    }
  }

  const names = froms.map((f) => f.getBuildStage()?.toLowerCase());
  const wanted =
    options.target === undefined || options.target === '' ? undefined : options.target.toLowerCase();
  const targetIndex = wanted === undefined ? froms.length - 1 : names.indexOf(wanted);
  if (targetIndex < 0) throw new Unpinnable(`the Dockerfile has no stage named '${options.target ?? ''}'`);

  /** An image, or the stage it names, as seen from stage `index`. */
  const classify = (
    value: string,
    index: number,
    where: string,
  ): { stage: number } | { image: string } | null => {
    if (value.toLowerCase() === 'scratch') return null;
    if (/^\d+$/.test(value)) {
      const n = Number(value);
      if (n >= index)
        throw new Unpinnable(`${where} refers to stage ${value}, which is not an earlier stage`);
      return { stage: n };
    }
    const lower = value.toLowerCase();
    const earlier = names.findIndex((n, i) => i < index && n === lower);
    if (earlier >= 0) return { stage: earlier };
    if (names.some((n, i) => i >= index && n === lower))
      throw new Unpinnable(`${where} names the stage '${value}', which is not an earlier stage`);
    try {
      parseReference(value);
    } catch {
      throw new Unpinnable(
        `${where} names '${value}', which is neither an earlier stage nor an image reference`,
      );
    }
    return { image: value };
  };

  const needs: StageNeeds[] = froms.map((from, index) => {
    const need: StageNeeds = { stages: new Set(), images: [], problems: [] };
    const add = (value: string, where: string, at: number): void => {
      try {
        const kind = classify(value, index, where);
        if (kind === null) return;
        if ('stage' in kind) need.stages.add(kind.stage);
        else need.images.push({ image: kind.image, line: at });
      } catch (error) {
        if (!(error instanceof Unpinnable)) throw error;
        need.problems.push(error.message);
      }
    };
    const line = lineOf(from);
    try {
      add(
        expand(from.getImage() ?? '', globals, escape, `FROM on line ${line}`),
        `FROM on line ${line}`,
        line,
      );
    } catch (error) {
      if (!(error instanceof Unpinnable)) throw error;
      need.problems.push(error.message);
    }
    const next = froms[index + 1];
    const end = next === undefined ? Number.POSITIVE_INFINITY : lineOf(next);
    for (const instruction of instructions) {
      const at = lineOf(instruction);
      if (at <= line || at >= end) continue;
      for (const source of externalSources(instruction, at)) {
        if (source.problem !== undefined) need.problems.push(source.problem);
        else add(source.from, source.where, at);
      }
    }
    return need;
  });

  const named: { readonly image: string; readonly line: number }[] = [];
  const problems: string[] = [];
  const seen = new Set<number>();
  const visit = (index: number): void => {
    if (seen.has(index)) return;
    seen.add(index);
    const need = needs[index];
    if (need === undefined) return;
    problems.push(...need.problems);
    for (const stage of need.stages) visit(stage);
    named.push(...need.images);
  };
  visit(targetIndex);
  if (problems.length > 0) throw new Unpinnable(problems.join('; '));
  const images = [...new Set(named.sort((a, b) => a.line - b.line).map((n) => n.image))];

  if (options.includeSyntax) {
    const syntax = dockerfile.getDirectives().find((d) => d.getName().toLowerCase() === 'syntax');
    const value = syntax?.getValue().trim() ?? '';
    if (value !== '') {
      try {
        parseReference(value);
      } catch {
        throw new Unpinnable(`the syntax directive names '${value}', which is not an image reference`);
      }
      if (!images.includes(value)) images.unshift(value);
    }
  }
  return images;
}

/** A `--from` of COPY or RUN --mount, or a reason the instruction cannot be pinned. */
type Source =
  | { readonly from: string; readonly where: string; readonly problem?: undefined }
  | { readonly problem: string };

function externalSources(instruction: Instruction, line: number): Source[] {
  const sources: Source[] = [];
  const fromValue = (value: string, where: string): void => {
    if (value.includes('$'))
      sources.push({ problem: `${where} uses a variable in its source stage or image` });
    else sources.push({ from: value, where });
  };
  if (instruction instanceof Copy) {
    for (const flag of instruction.getFlags())
      if (flag.getName().toLowerCase() === 'from')
        fromValue(flag.getValue() ?? '', `COPY --from on line ${line}`);
  } else if (instruction instanceof Run) {
    for (const flag of instruction.getFlags()) {
      if (flag.getName().toLowerCase() !== 'mount') continue;
      for (const option of flag.getOptions())
        if (option.getName().toLowerCase() === 'from')
          fromValue(option.getValue() ?? '', `RUN --mount from= on line ${line}`);
    }
  } else if (instruction instanceof Add) {
    const checksum = instruction.getFlags().some((f) => f.getName().toLowerCase() === 'checksum');
    const args = instruction.getArguments().map((a) => a.getValue().replace(/^[[\s"]+|[\]\s",]+$/g, ''));
    for (const source of args.slice(0, -1)) {
      if (source.includes('$'))
        sources.push({ problem: `ADD on line ${line} uses a variable in its source, which may be a URL` });
      else if (/^git@|^[a-z][a-z0-9+.-]*:\/\/.*\.git(?:#|$)|^git:\/\//i.test(source))
        sources.push({ problem: `ADD on line ${line} fetches the Git repository ${source}` });
      else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !checksum)
        sources.push({ problem: `ADD on line ${line} downloads ${source} without --checksum` });
    }
  }
  return sources;
}

/**
 * Expands `$X`, `${X}`, `${X:-word}`, `${X-word}`, `${X:+word}` and `${X+word}` from the global
 * ARGs. Anything else a shell-like word may hold (escapes, quotes, other modifiers, variables not
 * declared before the first FROM, the platform arguments) cannot be told for sure: unpinnable.
 */
function expand(
  word: string,
  env: ReadonlyMap<string, string | undefined>,
  escape: string,
  where: string,
): string {
  if (word.includes(escape)) throw new Unpinnable(`${where} uses the escape character`);
  if (/["']/.test(word)) throw new Unpinnable(`${where} uses quotes`);
  let out = '';
  let pos = 0;
  const lookup = (name: string): string | undefined => {
    if (AUTOMATIC_PLATFORM_ARGS.has(name))
      throw new Unpinnable(`${where} uses $${name}, which differs per platform`);
    if (!env.has(name))
      throw new Unpinnable(`${where} uses $${name}, which is not an ARG declared before the first FROM`);
    return env.get(name);
  };
  while (pos < word.length) {
    const c = word.charAt(pos);
    if (c !== '$') {
      out += c;
      pos++;
      continue;
    }
    if (word.charAt(pos + 1) === '{') {
      const close = word.indexOf('}', pos + 2);
      if (close < 0) throw new Unpinnable(`${where} has an unclosed \${`);
      const inner = word.slice(pos + 2, close);
      if (inner.includes('{') || inner.includes('$')) throw new Unpinnable(`${where} nests variables`);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?$/s.exec(inner);
      if (m === null) throw new Unpinnable(`${where} uses the expansion \${${inner}}`);
      const name = m[1] ?? '';
      const operator = m[2];
      const alternative = m[3] ?? '';
      const value = lookup(name);
      if (operator === undefined) out += value ?? '';
      else if (operator === '-') out += value ?? alternative;
      else if (operator === ':-') out += value === undefined || value === '' ? alternative : value;
      else if (operator === '+') out += value === undefined ? '' : alternative;
      else out += value === undefined || value === '' ? '' : alternative;
      pos = close + 1;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(word.slice(pos + 1));
    if (m === null) {
      out += c;
      pos++;
      continue;
    }
    out += lookup(m[0]) ?? '';
    pos += 1 + m[0].length;
  }
  return out;
}

function lineOf(instruction: Instruction | From): number {
  return instruction.getRange().start.line + 1;
}

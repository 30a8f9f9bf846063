import { readFile, stat } from 'node:fs/promises';
import { ActionError } from '@dreamscape/core';
import { Arg, DockerfileParser, Run, type Instruction } from 'dockerfile-ast';

/** One `FROM` of a Dockerfile. */
export interface DockerfileStage {
  /** Position among the stages, from 0 (what `COPY --from=0` refers to). */
  readonly index: number;
  /** The `AS name`, lowercased as builders treat it; undefined for an unnamed stage. */
  readonly name: string | undefined;
  /** The image (or earlier stage) it starts from, as written (`${BASE_IMAGE}` unexpanded). */
  readonly from: string;
  /** 1-based line of the `FROM`. */
  readonly line: number;
}

/** One `ARG` declaration. */
export interface DockerfileArg {
  readonly name: string;
  /** The default value, or undefined when the ARG declares none. */
  readonly defaultValue: string | undefined;
  /** The stage it is declared in, or undefined for an ARG before the first FROM (global scope). */
  readonly stage: number | undefined;
  readonly line: number;
}

/** A `RUN --mount=type=secret,...` of the Dockerfile. */
export interface DockerfileSecretMount {
  readonly id: string;
  /** `required=true`: the build fails when the secret is not given. */
  readonly required: boolean;
  readonly stage: number;
  readonly line: number;
}

/** What the pre-checks learned from a Dockerfile. */
export interface DockerfileInfo {
  /** Where it was read from (or the name given to {@link parseDockerfile}). */
  readonly path: string;
  readonly stages: readonly DockerfileStage[];
  readonly args: readonly DockerfileArg[];
  readonly secretMounts: readonly DockerfileSecretMount[];
}

/**
 * Build arguments every builder accepts without a matching ARG: the proxy variables Docker
 * predefines, BuildKit's platform arguments and its own `BUILDKIT_*` switches.
 */
const PREDEFINED_ARGS: ReadonlySet<string> = new Set([
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETARCH',
  'TARGETVARIANT',
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDARCH',
  'BUILDVARIANT',
  'SOURCE_DATE_EPOCH',
]);

/**
 * Parses Dockerfile text. Throws an {@link ActionError} when it is empty or has no `FROM`, or when
 * a `FROM` names no image, because every builder would refuse it only after a slow start.
 */
export function parseDockerfile(text: string, path = 'Dockerfile'): DockerfileInfo {
  const dockerfile = DockerfileParser.parse(text);
  const instructions = dockerfile.getInstructions();
  if (instructions.length === 0)
    throw new ActionError(`The Dockerfile ${path} is empty: it has no instructions.`, {
      hint: 'Point the `dockerfile` input at the Dockerfile that builds this image.',
    });
  const froms = dockerfile.getFROMs();
  const first = instructions[0];
  if (froms.length === 0 || first === undefined)
    throw new ActionError(`The Dockerfile ${path} has no FROM instruction, so it builds nothing.`, {
      hint: 'A Dockerfile starts with `FROM <image>` (optionally after ARG lines).',
    });
  const firstFromLine = lineOf(froms[0] ?? first);
  const stray = instructions.find((i) => lineOf(i) < firstFromLine && i.getKeyword() !== 'ARG');
  if (stray !== undefined)
    throw new ActionError(
      `The Dockerfile ${path} has ${stray.getKeyword()} on line ${lineOf(stray)}, before the first FROM; only ARG may come before it.`,
    );

  const stages: DockerfileStage[] = froms.map((from, index) => {
    const image = from.getImage();
    if (image === null || image === '')
      throw new ActionError(`The Dockerfile ${path} has a FROM without an image on line ${lineOf(from)}.`);
    const name = from.getBuildStage();
    return { index, name: name === null ? undefined : name.toLowerCase(), from: image, line: lineOf(from) };
  });
  const stageAt = (line: number): number | undefined => {
    let found: number | undefined;
    for (const s of stages) if (s.line <= line) found = s.index;
    return found;
  };

  const args: DockerfileArg[] = [];
  const secretMounts: DockerfileSecretMount[] = [];
  for (const instruction of instructions) {
    const line = lineOf(instruction);
    if (instruction instanceof Arg) {
      const property = instruction.getProperty();
      if (property === null) continue;
      const value = property.getValue();
      args.push({
        name: property.getName(),
        defaultValue: value === null ? undefined : value,
        stage: stageAt(line),
        line,
      });
    } else if (instruction instanceof Run) {
      for (const flag of instruction.getFlags()) {
        if (flag.getName() !== 'mount') continue;
        const mount = parseMountOptions(flag.getValue() ?? '');
        if (mount.get('type') !== 'secret') continue;
        const id = mount.get('id') ?? basename(mount.get('target') ?? mount.get('dst') ?? '');
        if (id === '') continue;
        secretMounts.push({
          id,
          required: mount.get('required') === 'true',
          stage: stageAt(line) ?? 0,
          line,
        });
      }
    }
  }
  return { path, stages, args, secretMounts };
}

/**
 * Reads and parses a Dockerfile. Throws an {@link ActionError} when it does not exist, is not a
 * file, or is empty.
 */
export async function readDockerfile(path: string): Promise<DockerfileInfo> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile())
      throw new ActionError(`The Dockerfile ${path} is not a file.`, {
        hint: 'Point the `dockerfile` input at the Dockerfile itself, not at its folder.',
      });
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof ActionError) throw error;
    throw new ActionError(`The Dockerfile ${path} does not exist.`, {
      hint: 'Check the `dockerfile` input: it is relative to the repository root unless absolute.',
      cause: error,
    });
  }
  return parseDockerfile(text, path);
}

/**
 * The stage a `target` names (case-insensitively, as builders match it). Throws an
 * {@link ActionError} listing the stages when there is no such stage; without a target, the last
 * stage is built.
 */
export function resolveTarget(info: DockerfileInfo, target: string | undefined): DockerfileStage {
  const last = info.stages[info.stages.length - 1];
  if (last === undefined) throw new ActionError(`The Dockerfile ${info.path} has no stages.`);
  if (target === undefined || target === '') return last;
  const wanted = target.toLowerCase();
  const stage = info.stages.find((s) => s.name === wanted);
  if (stage !== undefined) return stage;
  throw new ActionError(
    `The build target '${target}' is not a stage of ${info.path}. Its stages are: ${describeStages(info)}.`,
    {
      hint: 'Set the `target` input to one of the named stages (`FROM image AS name`), or leave it empty to build the last stage.',
    },
  );
}

/** The stages as a person reads them: `deps (0), build (1), runtime (2)`; unnamed ones by index. */
export function describeStages(info: DockerfileInfo): string {
  return info.stages
    .map((s) => (s.name === undefined ? `#${s.index} (unnamed, FROM ${s.from})` : `${s.name} (${s.index})`))
    .join(', ');
}

/**
 * The build-arg names that no ARG declares and that no builder predefines. Builders ignore such
 * arguments (buildah and buildx only warn), which usually means a typo; the caller warns.
 */
export function unknownBuildArgs(info: DockerfileInfo, names: readonly string[]): string[] {
  const declared = new Set(info.args.map((a) => a.name));
  return names.filter((n) => !declared.has(n) && !PREDEFINED_ARGS.has(n) && !n.startsWith('BUILDKIT_'));
}

/** `type=secret,id=x,required=true` into its keys; a bare key (`readonly`) reads as `true`. */
function parseMountOptions(text: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (key !== '') options.set(key, eq < 0 ? 'true' : part.slice(eq + 1).trim());
  }
  return options;
}

function basename(path: string): string {
  return (
    path
      .split('/')
      .filter((p) => p !== '')
      .pop() ?? ''
  );
}

function lineOf(instruction: Instruction): number {
  return instruction.getRange().start.line + 1;
}

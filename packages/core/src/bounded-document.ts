import { load as loadYaml, YAMLException } from 'js-yaml';
import { ActionError } from './errors.js';

/**
 * How big a YAML or JSON document from a user may be. A document is checked as its reader sees it:
 * an alias (`*name`) counts as everything it refers to, which is what makes a "billion laughs"
 * document of a few hundred bytes stand for 10^9 values.
 */
export interface DocumentLimits {
  /** Size of the text in UTF-8 bytes, checked before parsing. */
  readonly maxBytes: number;
  /** Sequences and mappings nested in one another (a flat list of scalars is 1), aliases expanded. */
  readonly maxDepth: number;
  /** Alias nodes (`*name`) in a YAML document. JSON has none. */
  readonly maxAliases: number;
  /** Values (scalars, sequences, mappings; keys not counted) once every alias is expanded. */
  readonly maxNodes: number;
}

/**
 * Limits for a document given in an action input (`health-checks`, `images`). The runner passes an
 * input as one environment variable, which Linux caps at 128 KiB, so 100 KiB is not a new limit on
 * anything that could be passed before.
 */
export const INPUT_DOCUMENT_LIMITS: DocumentLimits = {
  maxBytes: 100 * 1024,
  maxDepth: 32,
  maxAliases: 64,
  maxNodes: 10_000,
};

/** Limits for a document read from a file of the repository (a services file, a waivers file). */
export const FILE_DOCUMENT_LIMITS: DocumentLimits = {
  maxBytes: 1024 * 1024,
  maxDepth: 32,
  maxAliases: 256,
  maxNodes: 100_000,
};

/** What stopped a document: a syntax error, one of the limits, or an alias inside what it names. */
export type DocumentProblem = 'syntax' | 'cycle' | keyof DocumentLimits;

/**
 * A document that cannot be used. `problem` reads on its own after a colon ("too many aliases: …"),
 * so callers can put it into an error that names their input or file; `message` is
 * `<source>: <problem>`. Nothing of the parsed value is ever serialized into it.
 */
export class DocumentError extends ActionError {
  readonly source: string;
  readonly kind: DocumentProblem;
  readonly problem: string;

  constructor(
    source: string,
    kind: DocumentProblem,
    problem: string,
    options: { readonly limits?: DocumentLimits; readonly cause?: unknown } = {},
  ) {
    super(`${source}: ${problem}`, {
      hint:
        kind === 'syntax' || options.limits === undefined
          ? undefined
          : `Accepted: ${describeDocumentLimits(options.limits)}.`,
      cause: options.cause,
    });
    this.name = 'DocumentError';
    this.source = source;
    this.kind = kind;
    this.problem = problem;
  }
}

/** The limits in words, for error hints and documentation. */
export function describeDocumentLimits(limits: DocumentLimits): string {
  return `at most ${formatBytes(limits.maxBytes)}, ${limits.maxDepth} levels of nesting, ${limits.maxAliases} aliases and ${limits.maxNodes} values with aliases expanded`;
}

/**
 * Parses one YAML document (YAML 1.2 core schema, so no `!!js/*` tags) within `limits`. Throws a
 * {@link DocumentError} naming `source` (e.g. "Input 'health-checks'") and the limit exceeded.
 * The size is checked before parsing, aliases and nesting while parsing, and the expanded size
 * (what a reader walking the value would visit) right after, in time proportional to the text.
 */
export function parseYamlDocument(
  text: string,
  source: string,
  limits: DocumentLimits = FILE_DOCUMENT_LIMITS,
): unknown {
  checkBytes(text, source, limits);
  let value: unknown;
  try {
    // js-yaml counts nesting its own way (a block mapping one level less than a flow list): its
    // limit, two above ours, only keeps the parser's recursion short; ours is checked exactly after.
    value = loadYaml(text, { maxAliases: limits.maxAliases, maxDepth: limits.maxDepth + 2 });
  } catch (error) {
    throw yamlError(error, source, limits);
  }
  checkShape(value, source, limits);
  return value;
}

/**
 * Parses JSON within `limits`: size before parsing, nesting by a scan of the text (so that a
 * deeply nested document is refused before it is built), the number of values after.
 */
export function parseJsonDocument(
  text: string,
  source: string,
  limits: DocumentLimits = FILE_DOCUMENT_LIMITS,
): unknown {
  checkBytes(text, source, limits);
  const tooDeep = jsonNestingBeyond(text, limits.maxDepth);
  if (tooDeep >= 0)
    throw new DocumentError(source, 'maxDepth', depthProblem(limits, `at character ${tooDeep + 1}`), {
      limits,
    });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DocumentError(
      source,
      'syntax',
      `JSON error: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
  checkShape(value, source, limits);
  return value;
}

function checkBytes(text: string, source: string, limits: DocumentLimits): void {
  // Every UTF-16 unit is at most 3 UTF-8 bytes: most texts need no count.
  if (text.length * 3 <= limits.maxBytes) return;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes)
    throw new DocumentError(
      source,
      'maxBytes',
      `too large: ${bytes} bytes, more than the limit of ${formatBytes(limits.maxBytes)}`,
      { limits },
    );
}

function yamlError(error: unknown, source: string, limits: DocumentLimits): DocumentError {
  if (!(error instanceof YAMLException))
    return new DocumentError(source, 'syntax', `YAML error: ${String(error)}`, { cause: error });
  const at = error.mark === undefined ? '' : ` at line ${error.mark.line + 1}`;
  // js-yaml reports its own limits as exceptions; they are ours, said in our words.
  if (error.reason.startsWith('aliases exceeded'))
    return new DocumentError(
      source,
      'maxAliases',
      `too many aliases: more than the limit of ${limits.maxAliases} (*name)${at}`,
      { limits, cause: error },
    );
  if (error.reason.startsWith('nesting exceeded'))
    return new DocumentError(source, 'maxDepth', depthProblem(limits, at.trim()), { limits, cause: error });
  return new DocumentError(source, 'syntax', `YAML error: ${error.reason}${at}`, { cause: error });
}

function depthProblem(limits: DocumentLimits, where: string): string {
  return `nested too deeply: more than the limit of ${limits.maxDepth} levels${where === '' ? '' : ` (${where})`}`;
}

/**
 * Walks the value once per distinct collection (a collection an alias reuses is counted from
 * memory), adding up what a reader would visit. Refuses a cycle: `&a [*a]` is a list that holds
 * itself, which would send any reader round for ever.
 */
function checkShape(root: unknown, source: string, limits: DocumentLimits): void {
  const measured = new Map<object, { readonly nodes: number; readonly depth: number }>();
  const open = new Set<object>();
  const visit = (value: unknown): { readonly nodes: number; readonly depth: number } => {
    const children = childrenOf(value);
    if (children === undefined) return { nodes: 1, depth: 0 };
    const collection = value as object;
    const known = measured.get(collection);
    if (known !== undefined) return known;
    if (open.has(collection))
      throw new DocumentError(
        source,
        'cycle',
        'an alias inside the collection it refers to (a collection that holds itself)',
        { limits },
      );
    open.add(collection);
    let nodes = 1;
    let depth = 0;
    for (const child of children) {
      const inner = visit(child);
      nodes += inner.nodes;
      depth = Math.max(depth, inner.depth);
      if (nodes > limits.maxNodes)
        throw new DocumentError(
          source,
          'maxNodes',
          `too many values: more than the limit of ${limits.maxNodes} with aliases expanded`,
          { limits },
        );
    }
    depth += 1;
    if (depth > limits.maxDepth)
      throw new DocumentError(source, 'maxDepth', depthProblem(limits, 'aliases expanded'), { limits });
    open.delete(collection);
    const result = { nodes, depth };
    measured.set(collection, result);
    return result;
  };
  visit(root);
}

/** The values a collection holds, or undefined for a scalar (a Date is one). */
function childrenOf(value: unknown): Iterable<unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) return value as unknown[];
  if (value instanceof Map || value instanceof Set) return value.values() as Iterable<unknown>;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  return Object.values(value as Record<string, unknown>);
}

/** The index of the first `[` or `{` beyond `max` levels, outside strings; -1 when there is none. */
function jsonNestingBeyond(text: string, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

import { loadAll, dump, CORE_SCHEMA, mergeTag, YAMLException } from 'js-yaml';
import { ActionError } from '@dreamscape/core';
import { isKubeObject, type KubeObject } from './kube-object.js';

/** The loader schema: YAML 1.2 core plus `<<` merge keys, which Kubernetes' own YAML reader accepts. */
const LOAD_SCHEMA = CORE_SCHEMA.withTags(mergeTag);

/** A manifest that is not valid YAML or not a Kubernetes object. */
export class ManifestError extends ActionError {
  /** Where the text came from (a file path, `kustomize build <dir>`, …). */
  readonly source: string;
  /** 1-based document number within the source, counting empty documents too. */
  readonly documentIndex: number | undefined;

  constructor(
    message: string,
    source: string,
    documentIndex: number | undefined,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'ManifestError';
    this.source = source;
    this.documentIndex = documentIndex;
  }
}

const DOCUMENT_MARKER = /^---(?:\s|$)/;

/** The 1-based number of the document that contains 0-based `line`. */
function documentAtLine(text: string, line: number): number {
  const lines = text.split(/\r?\n/);
  let documents = 0;
  let sawContent = false;
  for (let i = 0; i <= line && i < lines.length; i++) {
    const current = lines[i] ?? '';
    if (DOCUMENT_MARKER.test(current)) {
      // A leading marker opens the first document instead of starting a second one.
      if (sawContent || documents > 0) documents++;
      else documents = 1;
      sawContent = true;
      continue;
    }
    if (current.trim() !== '' && !current.trimStart().startsWith('#') && !current.startsWith('%')) {
      if (documents === 0) documents = 1;
      sawContent = true;
    }
  }
  return Math.max(1, documents);
}

/** What {@link parseManifests} accepts beyond valid YAML. */
export interface ManifestLimits {
  /** Alias nodes (`*name`) in the whole text. */
  readonly maxAliases: number;
}

/**
 * The default: no alias at all. Every manifest parsed is kustomize output or a recorded copy of it,
 * and kustomize never writes anchors; a record, though, is a Secret anyone who may write Secrets in
 * the namespace can edit, and a few hundred bytes of aliases stand for more values than fit in memory
 * once serialized or hashed.
 */
export const MANIFEST_LIMITS: ManifestLimits = { maxAliases: 0 };

/**
 * Parses multi-document YAML (or JSON) into Kubernetes objects. Empty documents are skipped; a
 * `List` is not expanded (callers that want that do it). Fails with the source and the document
 * number on invalid YAML, on more aliases than `limits` allow or on a document without
 * `apiVersion`, `kind` or `metadata.name`.
 */
export function parseManifests(
  text: string,
  source: string,
  limits: ManifestLimits = MANIFEST_LIMITS,
): KubeObject[] {
  let documents: unknown[];
  try {
    documents = loadAll(text, { schema: LOAD_SCHEMA, filename: source, maxAliases: limits.maxAliases });
  } catch (error) {
    if (error instanceof YAMLException) {
      const index = error.mark === undefined ? undefined : documentAtLine(text, error.mark.line);
      const where = index === undefined ? source : `${source}, document ${index}`;
      if (error.reason.startsWith('aliases exceeded'))
        throw new ManifestError(
          `${where} uses ${limits.maxAliases === 0 ? 'a YAML alias (*name)' : `more than ${limits.maxAliases} YAML aliases (*name)`}${markText(error)}: refused, since kustomize output never has one and an alias can stand for more values than memory holds.`,
          source,
          index,
          { cause: error, hint: 'Render the manifest again with kustomize; do not edit it by hand.' },
        );
      throw new ManifestError(`Invalid YAML in ${where}: ${error.reason}${markText(error)}`, source, index, {
        cause: error,
      });
    }
    throw error;
  }
  const objects: KubeObject[] = [];
  documents.forEach((doc, i) => {
    if (doc === null || doc === undefined) return;
    if (!isKubeObject(doc)) {
      const missing = missingFields(doc);
      throw new ManifestError(
        `${source}, document ${i + 1} is not a Kubernetes object: ${missing}.`,
        source,
        i + 1,
        { hint: 'Every document needs apiVersion, kind and metadata.name.' },
      );
    }
    objects.push(doc);
  });
  return objects;
}

function markText(error: YAMLException): string {
  const mark = error.mark;
  return mark === undefined ? '' : ` (line ${mark.line + 1}, column ${mark.column + 1})`;
}

function missingFields(doc: unknown): string {
  if (typeof doc !== 'object' || Array.isArray(doc) || doc === null) {
    return `it is ${Array.isArray(doc) ? 'a list' : `a ${typeof doc} value`}, not a mapping`;
  }
  const d = doc as Record<string, unknown>;
  const missing: string[] = [];
  if (typeof d['apiVersion'] !== 'string' || d['apiVersion'] === '') missing.push('apiVersion');
  if (typeof d['kind'] !== 'string' || d['kind'] === '') missing.push('kind');
  const meta = d['metadata'];
  const name =
    typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)['name'] : undefined;
  if (typeof name !== 'string' || name === '') missing.push('metadata.name');
  const kind = typeof d['kind'] === 'string' ? ` (kind ${d['kind']})` : '';
  return `missing ${missing.join(', ')}${kind}`;
}

/**
 * Formats objects as multi-document YAML, every document starting with `---`. Strings that another
 * YAML reader could take for a boolean, number or null (`yes`, `0755`, `null`) are quoted.
 */
export function formatManifests(objects: readonly KubeObject[]): string {
  return objects.map((o) => `---\n${dump(o, { noRefs: true, lineWidth: -1 })}`).join('');
}

/** Formats objects as a stream of JSON documents, the safest input for `kubectl -f -`. */
export function formatJsonStream(objects: readonly KubeObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join('\n') + (objects.length > 0 ? '\n' : '');
}

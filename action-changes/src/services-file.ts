import { posix } from 'node:path';
import {
  ActionError,
  DocumentError,
  FILE_DOCUMENT_LIMITS,
  messageOf,
  parseYamlDocument,
  previewValue,
} from '@dreamscape/core';
import { compilePathPattern, type PathPattern } from './path-glob.js';

/**
 * One service of a services file, with every path made relative to the repository root (POSIX),
 * ready for action-build's `context`, `dockerfile`, `target` and `image` inputs.
 */
export interface ServiceDefinition {
  readonly name: string;
  /** Build context directory, `.` for the repository root. */
  readonly context: string;
  /** Dockerfile path; `<context>/Dockerfile` when the file does not say. */
  readonly dockerfile: string;
  /** Stage to build; '' for the last stage. */
  readonly target: string;
  /** Image repository without tag. */
  readonly image: string;
  /** Further paths whose changes concern this service (shared libraries, generated code). */
  readonly paths: readonly PathPattern[];
}

/** Options for {@link parseServicesFile}. */
export interface ServicesFileOptions {
  /** The file's path relative to the repository root: the services' paths are relative to its directory. */
  readonly path: string;
  /** Owner for the default image `ghcr.io/<owner>/<name>` (GITHUB_REPOSITORY_OWNER). */
  readonly owner?: string | undefined;
  /** The input that named the file, for errors about the file as a whole. Default `services-file`. */
  readonly input?: string;
}

/** A service name: also an artifact name, a matrix value and usually a Kubernetes name. */
export const SERVICE_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

/**
 * Reads a services file (JSON or YAML): `{ registry?, services: [{ name, context, dockerfile?,
 * target?, image?, paths? }] }`. Keys other than those are allowed (the file may also feed other
 * tools: ports, manifests) and ignored. The image defaults to `<registry>/<name>`, else
 * `ghcr.io/<owner>/<name>`. Errors name the file, the service and the field. The document is read
 * within {@link FILE_DOCUMENT_LIMITS} (size, nesting, aliases): a pull request's services file is
 * untrusted, and an alias bomb in it is refused in milliseconds, naming the input and the limit.
 */
export function parseServicesFile(text: string, options: ServicesFileOptions): ServiceDefinition[] {
  const file = options.path;
  const input = options.input ?? 'services-file';
  let doc: unknown;
  try {
    doc = parseYamlDocument(text, `Input '${input}': the services file ${file}`, FILE_DOCUMENT_LIMITS);
  } catch (error) {
    if (!(error instanceof DocumentError)) throw error;
    throw new ActionError(
      error.kind === 'syntax'
        ? `Input '${input}': the services file ${file} is not valid JSON or YAML: ${error.problem}`
        : error.message,
      { hint: error.hint, cause: error },
    );
  }
  if (!isRecord(doc) || !Array.isArray(doc.services))
    throw new ActionError(
      `The services file ${file} must hold an object with a 'services' list, e.g. {"services": [{"name": "api", "context": "services/api"}]}.`,
    );
  const registry = optionalString(doc.registry, `${file}: 'registry'`).replace(/\/+$/, '');
  const baseDir = posix.dirname(toPosix(file));
  const seen = new Set<string>();
  const services: ServiceDefinition[] = [];
  for (const [index, entry] of doc.services.entries()) {
    const where = `${file}: services[${index}]`;
    if (!isRecord(entry)) throw new ActionError(`${where} must be an object with a name and a context.`);
    const name = optionalString(entry.name, `${where}.name`);
    if (!SERVICE_NAME.test(name))
      throw new ActionError(
        `${where}.name ${previewValue(entry.name ?? '', 80)} is not a valid service name: lowercase letters, digits, '.', '_' and '-', starting and ending with a letter or digit, at most 64 characters.`,
      );
    if (seen.has(name)) throw new ActionError(`${file}: the service '${name}' is defined twice.`);
    seen.add(name);
    const at = `${file}: service '${name}'`;
    const contextText = optionalString(entry.context, `${at}: 'context'`);
    if (contextText === '') throw new ActionError(`${at} has no 'context' (its build context directory).`);
    const context = inRepository(baseDir, contextText, `${at}: 'context'`);
    const dockerfileText = optionalString(entry.dockerfile, `${at}: 'dockerfile'`);
    const dockerfile =
      dockerfileText === ''
        ? posix.join(context, 'Dockerfile')
        : inRepository(baseDir, dockerfileText, `${at}: 'dockerfile'`);
    const imageText = optionalString(entry.image, `${at}: 'image'`);
    const image = imageText !== '' ? imageText : defaultImage(name, registry, options.owner, at);
    const paths = pathList(entry.paths, `${at}: 'paths'`).map((p) => {
      const relative = inRepository(baseDir, p, `${at}: 'paths'`);
      try {
        return compilePathPattern(relative);
      } catch (error) {
        throw new ActionError(`${at}: 'paths': ${messageOf(error)}.`, { cause: error });
      }
    });
    services.push({
      name,
      context,
      dockerfile,
      target: optionalString(entry.target, `${at}: 'target'`),
      image,
      paths,
    });
  }
  if (services.length === 0) throw new ActionError(`The services file ${file} lists no services.`);
  return services;
}

function defaultImage(name: string, registry: string, owner: string | undefined, at: string): string {
  if (registry !== '') return `${registry}/${name}`;
  if (owner !== undefined && owner !== '') return `ghcr.io/${owner.toLowerCase()}/${name}`;
  throw new ActionError(`${at} has no 'image', and the file has no 'registry' to derive one from.`);
}

/**
 * A path of the file made relative to the repository root. Absolute paths and paths that climb out
 * of the repository are refused: the build and the change detection only see the checkout.
 */
function inRepository(baseDir: string, value: string, where: string): string {
  const text = toPosix(value.trim());
  if (posix.isAbsolute(text))
    throw new ActionError(`${where} '${value}' must be relative to the services file.`);
  const joined = posix.normalize(posix.join(baseDir, text)).replace(/\/+$/, '');
  if (joined === '..' || joined.startsWith('../'))
    throw new ActionError(`${where} '${value}' leads outside the repository.`);
  return joined === '' ? '.' : joined;
}

function pathList(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.trim() === ''))
    throw new ActionError(`${where} must be a list of path patterns, e.g. ["libs/shared/**"].`);
  return value as string[];
}

function optionalString(value: unknown, where: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string')
    throw new ActionError(`${where} must be a string, got ${previewValue(value, 80)}.`);
  return value.trim();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toPosix(path: string): string {
  return path.replace(/\\/g, '/');
}

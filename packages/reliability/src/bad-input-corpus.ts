import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The actions a case can drive. */
export const CORPUS_ACTIONS = ['build', 'scan', 'deploy', 'rollback', 'changes'] as const;
export type CorpusAction = (typeof CORPUS_ACTIONS)[number];

/** One hostile or malformed input, as the corpus file writes it. */
export interface BadInputCase {
  readonly action: CorpusAction;
  readonly name: string;
  /** Inputs that replace the action's good ones. */
  readonly inputs: Readonly<Record<string, string>>;
  /** The input the error must name. */
  readonly input: string;
  /** A regular expression the error must match. */
  readonly error: string;
  /** Run in a temporary workspace with these files and symbolic links (name → target). */
  readonly workspace?: {
    readonly files?: Readonly<Record<string, string>>;
    readonly links?: Readonly<Record<string, string>>;
  };
}

/** What the placeholders of a case stand for. */
export interface CorpusPlaces {
  /** A file no case may create (`{{marker}}`). */
  readonly marker: string;
  /** A directory outside every workspace (`{{outside}}`). */
  readonly outside: string;
}

/** Reads and checks the corpus file. */
export function loadCorpus(path: string): BadInputCase[] {
  const document = JSON.parse(readFileSync(path, 'utf8')) as { cases?: unknown };
  if (!Array.isArray(document.cases)) throw new Error(`${path}: no "cases" list`);
  return document.cases.map((raw: unknown, i) => {
    const c = raw as Partial<BadInputCase>;
    const where = `${path}: case ${i} (${String(c.name)})`;
    if (!CORPUS_ACTIONS.includes(c.action as CorpusAction)) throw new Error(`${where}: unknown action`);
    if (typeof c.name !== 'string' || typeof c.input !== 'string' || typeof c.error !== 'string')
      throw new Error(`${where}: needs name, input and error`);
    if (typeof c.inputs !== 'object' || Object.keys(c.inputs).length === 0)
      throw new Error(`${where}: needs inputs`);
    new RegExp(c.error);
    return c as BadInputCase;
  });
}

/**
 * Reads every corpus file of a directory (`*.json`, in name order), each written like the one
 * {@link loadCorpus} reads; a case's action and name must be unique across the files.
 */
export function loadCorpusDir(dir: string): BadInputCase[] {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort();
  if (files.length === 0) throw new Error(`${dir}: no corpus file (*.json)`);
  const cases = files.flatMap((name) => loadCorpus(join(dir, name)));
  const seen = new Set<string>();
  for (const c of cases) {
    const key = `${c.action}: ${c.name}`;
    if (seen.has(key)) throw new Error(`${dir}: the case "${key}" is written twice`);
    seen.add(key);
  }
  return cases;
}

/** Replaces `{{marker}}`, `{{outside}}` and `{{long}}` in a value. */
export function expand(value: string, places: CorpusPlaces): string {
  return value
    .replaceAll('{{marker}}', places.marker)
    .replaceAll('{{outside}}', places.outside)
    .replaceAll('{{long}}', 'x'.repeat(501));
}

/** The case's inputs with the placeholders filled in. */
export function caseInputs(c: BadInputCase, places: CorpusPlaces): Record<string, string> {
  return Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, expand(v, places)]));
}

/**
 * A directory outside every workspace holding what a link may point at: a valid overlay
 * (`overlay/`, one ConfigMap), a `Dockerfile` and a `waivers.yaml`.
 */
export function makeOutsideDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ds-outside-'));
  mkdirSync(join(dir, 'overlay'));
  writeFileSync(
    join(dir, 'overlay', 'kustomization.yaml'),
    'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: reliability\nconfigMapGenerator:\n  - name: read-from-outside\n    literals: [OUTSIDE=yes]\n',
  );
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\n');
  writeFileSync(
    join(dir, 'waivers.yaml'),
    '- id: CVE-2019-18224\n  reason: outside\n  owner: "@nobody"\n  expires: 2999-01-01\n',
  );
  return dir;
}

/** A temporary workspace holding the case's files and links, or undefined when it has none. */
export function makeCaseWorkspace(c: BadInputCase, places: CorpusPlaces): string | undefined {
  if (c.workspace === undefined) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ds-workspace-'));
  for (const [name, content] of Object.entries(c.workspace.files ?? {})) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), expand(content, places));
  }
  for (const [name, target] of Object.entries(c.workspace.links ?? {})) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    symlinkSync(expand(target, places), join(dir, name));
  }
  return dir;
}

/**
 * What is wrong with how an action refused a case: it must fail (exit 1) with an error that names
 * the input and matches the case, without a stack trace or an internal error.
 */
export function refusalProblems(
  c: BadInputCase,
  run: { readonly exitCode: number | null; readonly errors: readonly string[] },
): string[] {
  const problems: string[] = [];
  const message = run.errors.join('\n');
  if (run.exitCode !== 1) problems.push(`exit code ${String(run.exitCode)}, expected 1`);
  if (message === '') problems.push('no error message');
  else {
    if (!message.includes(`'${c.input}'`))
      problems.push(`the error does not name the input '${c.input}': ${message}`);
    if (!new RegExp(c.error, 's').test(message))
      problems.push(`the error does not match /${c.error}/: ${message}`);
    if (
      /\n\s+at \S+ \(?\S+:\d+:\d+\)?|\b(TypeError|ReferenceError|RangeError)\b|Cannot read properties/.test(
        message,
      )
    )
      problems.push(`an internal error instead of a clear message: ${message}`);
  }
  return problems;
}

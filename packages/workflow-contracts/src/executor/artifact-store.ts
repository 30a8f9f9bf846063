import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { filterPattern } from './event-triggers.js';
import type { ActionCall, ActionResult } from './run-record.js';

/** Files of one artifact, by path inside it. */
export type ArtifactFiles = ReadonlyMap<string, Buffer>;

/**
 * Stand-ins of `actions/upload-artifact` and `actions/download-artifact` (v4 and later) over one
 * store shared by the runs of a test, so that a job's upload reaches a later job (or a later run's
 * `run-id` download) as files on disk.
 */
export interface ArtifactStore {
  readonly upload: (call: ActionCall) => ActionResult;
  readonly download: (call: ActionCall) => ActionResult;
  /** Adds an artifact to the run `runId` (another run's, for a download with `run-id`). */
  add(runId: string, name: string, files: Readonly<Record<string, string>>): void;
  /** The artifacts of a run, by name. */
  artifacts(runId: string): ReadonlyMap<string, ArtifactFiles>;
}

function resolvePath(call: ActionCall, path: string): string {
  return isAbsolute(path) ? path : join(call.workspace, path);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** A new, empty store. The run a call belongs to is its GITHUB_RUN_ID. */
export function createArtifactStore(): ArtifactStore {
  const runs = new Map<string, Map<string, Map<string, Buffer>>>();
  const of = (runId: string): Map<string, Map<string, Buffer>> => {
    let run = runs.get(runId);
    if (run === undefined) {
      run = new Map();
      runs.set(runId, run);
    }
    return run;
  };
  return {
    add(runId, name, files) {
      of(runId).set(name, new Map(Object.entries(files).map(([p, text]) => [p, Buffer.from(text)])));
    },
    artifacts(runId) {
      return of(runId);
    },
    upload(call) {
      const name = call.with.name || 'artifact';
      const run = of(call.env.GITHUB_RUN_ID ?? '');
      if (run.has(name) && call.with.overwrite !== 'true')
        return {
          outcome: 'failure',
          error: `an artifact named ${name} already exists in this run (overwrite: false)`,
        };
      const files = new Map<string, Buffer>();
      for (const line of (call.with.path ?? '')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')) {
        const full = resolvePath(call, line);
        if (existsSync(full) && statSync(full).isDirectory()) {
          for (const f of walk(full)) files.set(relative(full, f), readFileSync(f));
        } else if (existsSync(full)) {
          files.set(basename(full), readFileSync(full));
        } else if (basename(full).includes('*') && existsSync(dirname(full))) {
          const re = filterPattern(basename(full));
          for (const f of readdirSync(dirname(full)).filter((n) => re.test(n)))
            files.set(f, readFileSync(join(dirname(full), f)));
        }
      }
      const missing = call.with['if-no-files-found'] ?? 'warn';
      if (files.size === 0 && missing === 'error')
        return {
          outcome: 'failure',
          error: `No files were found with the provided path: ${call.with.path ?? ''}. No artifacts will be uploaded.`,
        };
      if (files.size > 0) run.set(name, files);
      return { outputs: { 'artifact-id': String(run.size), 'artifact-url': '' } };
    },
    download(call) {
      const runId = call.with['run-id'] || (call.env.GITHUB_RUN_ID ?? '');
      const run = of(runId);
      const target = resolvePath(call, call.with.path || '.');
      const name = call.with.name ?? '';
      const write = (dir: string, files: ArtifactFiles): void => {
        for (const [p, content] of files) {
          mkdirSync(dirname(join(dir, p)), { recursive: true });
          writeFileSync(join(dir, p), content);
        }
      };
      if (name !== '') {
        const files = run.get(name);
        if (files === undefined) return { outcome: 'failure', error: `Artifact not found for name: ${name}` };
        write(target, files);
        return { outputs: { 'download-path': target } };
      }
      const pattern = call.with.pattern ?? '';
      const re = pattern === '' ? undefined : filterPattern(pattern);
      const merge = call.with['merge-multiple'] === 'true';
      for (const [artifact, files] of run)
        if (re === undefined || re.test(artifact)) write(merge ? target : join(target, artifact), files);
      return { outputs: { 'download-path': target } };
    },
  };
}

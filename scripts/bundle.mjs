#!/usr/bin/env node
// Bundles every action-*/src/index.ts into action-*/dist/{index.js,package.json} with ncc.
// With --check, bundles into a temporary directory instead and fails when the committed dist/
// differs from a fresh bundle (so a stale or hand-edited bundle never ships).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
const check = process.argv.includes('--check');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));

const actions = readdirSync(root)
  .filter((d) => d.startsWith('action-') && existsSync(join(root, d, 'src', 'index.ts')))
  .filter((d) => only.length === 0 || only.includes(d))
  .sort();

let stale = 0;
for (const action of actions) {
  const dir = join(root, action);
  const out = check ? mkdtempSync(join(tmpdir(), `${action}-dist-`)) : join(dir, 'dist');
  // A stale chunk from an earlier build must not survive next to the fresh bundle.
  if (!check) rmSync(out, { recursive: true, force: true });
  const started = Date.now();
  execFileSync(
    process.execPath,
    // --no-cache: ncc's build cache is shared by every clone of the user (~/.cache/ncc), and a
    // cached build of the same sources elsewhere resolves the packages to that clone's files, so a
    // bundle made (or checked) here could hold another clone's code.
    [
      ncc,
      'build',
      'src/index.ts',
      '-o',
      out,
      '--minify',
      '--no-source-map-register',
      '--no-cache',
      '--quiet',
    ],
    {
      cwd: dir,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const files = readdirSync(out).sort();
  if (check) {
    const committed = existsSync(join(dir, 'dist')) ? readdirSync(join(dir, 'dist')).sort() : [];
    const differs =
      JSON.stringify(files) !== JSON.stringify(committed) ||
      files.some((f) => !readFileSync(join(out, f)).equals(readFileSync(join(dir, 'dist', f))));
    rmSync(out, { recursive: true, force: true });
    if (differs) {
      stale++;
      console.error(
        `✗ ${action}/dist differs from a fresh bundle: run \`npm run bundle\` and commit ${action}/dist.`,
      );
    } else {
      console.log(`✓ ${action}/dist matches a fresh bundle (${files.join(', ')})`);
    }
  } else {
    console.log(`bundled ${action} → ${action}/dist (${files.join(', ')}) in ${Date.now() - started}ms`);
  }
}
if (actions.length === 0) console.log('no actions to bundle');
if (stale > 0) process.exit(1);

/**
 * `npm run bench`: runs every `bench:*` script of the root package.json one after the other, takes
 * each one's last line (`name: key=value ...`), and writes `bench/results.json` and
 * `bench/results.md`. Ratios are against a baseline measured in the same run; absolute figures
 * (seconds, milliseconds, MB) depend on the machine and are marked so.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
const only = process.argv.slice(2);
const scripts = Object.keys(pkg.scripts)
  .filter((s) => s.startsWith('bench:'))
  .filter((s) => only.length === 0 || only.includes(s));

/** Targets the figures are held to, where an issue names one. */
const TARGETS: Readonly<Record<string, { readonly max: number } | { readonly min: number }>> = {
  'build.ratio': { max: 0.2 },
  'build.startup_ms': { max: 150 },
  'deploy.ratio': { max: 0.35 },
  'deploy.rollback_s': { max: 1.5 },
  'deploy.kubectl_per_service': { max: 5 },
  'gateway.rps': { min: 2000 },
  'canary.violations': { max: 0 },
  'rollback.fast_s': { max: 1 },
  'scan.seconds': { max: 3 },
  'scan.peak_mb': { max: 500 },
  'verdicts.added_s': { max: 0.5 },
};

interface Result {
  readonly script: string;
  readonly name: string;
  readonly figures: Record<string, number>;
  readonly line: string;
  readonly seconds: number;
  readonly ok: boolean;
}

function run(script: string): Promise<{ code: number | null; output: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
      process.stderr.write(d);
    });
    child.on('close', (code) => {
      resolve({ code, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

const results: Result[] = [];
for (const script of scripts) {
  console.log(`\n━━ ${script}`);
  const { code, output, seconds } = await run(script);
  const last =
    output
      .trim()
      .split('\n')
      .reverse()
      .find((l) => /^[\w-]+: \w+=/.test(l.trim())) ?? '';
  const name = last.split(':')[0] ?? script;
  const figures: Record<string, number> = {};
  for (const m of last.matchAll(/(\w+)=([-\d.]+)/g)) figures[m[1] ?? ''] = Number(m[2]);
  results.push({ script, name, figures, line: last, seconds, ok: code === 0 && last !== '' });
}

const machine = {
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? '',
  memoryGb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
};
writeFileSync(
  join(root, 'bench', 'results.json'),
  `${JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2)}\n`,
);

const rows: string[] = [];
for (const r of results) {
  for (const [key, value] of Object.entries(r.figures)) {
    const target = TARGETS[`${r.name}.${key}`];
    const kind = /ratio|growth|per_service|findings|deploys|steps|violations|images/.test(key)
      ? 'ratio/count'
      : 'absolute (machine-dependent)';
    const verdict =
      target === undefined
        ? ''
        : 'max' in target
          ? value <= target.max
            ? `✅ ≤ ${target.max}`
            : `❌ > ${target.max}`
          : value >= target.min
            ? `✅ ≥ ${target.min}`
            : `❌ < ${target.min}`;
    rows.push(`| ${r.name} | ${key} | ${value} | ${kind} | ${verdict} |`);
  }
  if (!r.ok) rows.push(`| ${r.name} | (failed) | | | ❌ \`${r.script}\` exited without its result line |`);
}
const md = [
  `# Benchmark results`,
  '',
  `${new Date().toISOString()} — ${machine.cpus} × ${machine.cpu}, ${machine.memoryGb} GiB, Node ${machine.node}.`,
  'Ratios compare against a baseline measured in the same run; absolute figures depend on the machine and its load.',
  '',
  '| Benchmark | Figure | Value | Kind | Target |',
  '|---|---|---|---|---|',
  ...rows,
  '',
  ...results.map((r) => `- \`${r.script}\` (${r.seconds.toFixed(0)} s): \`${r.line}\``),
  '',
].join('\n');
writeFileSync(join(root, 'bench', 'results.md'), md);
console.log(`\n${md}`);
console.log('Wrote bench/results.json and bench/results.md.');
if (results.some((r) => !r.ok)) process.exit(1);

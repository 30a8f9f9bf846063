import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { load } from 'js-yaml';
import { parseFaultRules } from './faults.js';
import { parseBehaviours } from './image-behaviours.js';
import { startKubeDouble, type BehaviourEntry, type KubeDouble } from './kube-double.js';

const USAGE = `usage: kube-double serve --kubeconfig FILE [--port N] [--behaviours FILE] [--time-scale X] [--seed N]

Starts a Kubernetes API server double on 127.0.0.1, writes a kubeconfig for it to FILE, prints one
JSON line {"url": ..., "kubeconfig": ..., "gateway": ..., "metrics": ...} when ready, and runs until SIGTERM or SIGINT.

  --kubeconfig FILE    where to write the kubeconfig (required)
  --port N             port on 127.0.0.1 (default: a free one)
  --behaviours FILE    image behaviours, YAML or JSON (see docs/kube-double.md)
  --faults FILE        fault rules, YAML or JSON
  --time-scale X       simulated seconds per real second for controller delays (default 1)
  --seed N             seed for faults, generated names and latency draws (default 1)
  --namespace NS       the kubeconfig context's namespace (default: default)
  --monitor-exclude G  a Service name glob the invariant monitor ignores (repeatable)
  --nodes N            how many Ready nodes the cluster has (default 3)`;

/** What the command line asked for. */
export interface ServeArguments {
  readonly kubeconfig: string;
  readonly port: number;
  readonly behavioursFile?: string;
  readonly faultsFile?: string;
  readonly timeScale: number;
  readonly seed: number;
  readonly namespace: string;
  readonly monitorExclude: readonly string[];
  readonly nodes: number;
}

/** Parses `serve` arguments; throws an Error with the usage on mistakes. */
export function parseServeArguments(argv: readonly string[]): ServeArguments {
  const [command, ...rest] = argv;
  if (command !== 'serve')
    throw new Error(command === undefined ? USAGE : `unknown command "${command}"\n${USAGE}`);
  const values = new Map<string, string[]>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (m === null) throw new Error(`unexpected argument "${arg}"\n${USAGE}`);
    const name = m[1] ?? '';
    let value = m[2];
    if (value === undefined) {
      value = rest[i + 1];
      i++;
    }
    if (value === undefined) throw new Error(`--${name} needs a value\n${USAGE}`);
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  const known = [
    'kubeconfig',
    'port',
    'behaviours',
    'faults',
    'time-scale',
    'seed',
    'namespace',
    'monitor-exclude',
    'nodes',
  ];
  for (const name of values.keys())
    if (!known.includes(name)) throw new Error(`unknown option --${name}\n${USAGE}`);
  const one = (name: string): string | undefined => values.get(name)?.at(-1);
  const number = (name: string, fallback: number, check: (n: number) => boolean): number => {
    const text = one(name);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || !check(n)) throw new Error(`--${name}: invalid value "${text}"`);
    return n;
  };
  const kubeconfig = one('kubeconfig');
  if (kubeconfig === undefined) throw new Error(`--kubeconfig is required\n${USAGE}`);
  const behavioursFile = one('behaviours');
  const faultsFile = one('faults');
  return {
    kubeconfig: resolve(kubeconfig),
    port: number('port', 0, (n) => Number.isInteger(n) && n >= 0 && n < 65536),
    ...(behavioursFile === undefined ? {} : { behavioursFile: resolve(behavioursFile) }),
    ...(faultsFile === undefined ? {} : { faultsFile: resolve(faultsFile) }),
    timeScale: number('time-scale', 1, (n) => n > 0),
    seed: number('seed', 1, (n) => Number.isInteger(n)),
    namespace: one('namespace') ?? 'default',
    monitorExclude: values.get('monitor-exclude') ?? [],
    nodes: number('nodes', 3, (n) => Number.isInteger(n) && n >= 1 && n <= 100),
  };
}

/**
 * Runs `kube-double serve ...` until SIGTERM or SIGINT; returns the exit code. `out` and `err`
 * default to the process streams.
 */
export async function runServeCommand(
  argv: readonly string[],
  io: { out: (line: string) => void; err: (line: string) => void } = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  },
): Promise<number> {
  let args: ServeArguments;
  let double: KubeDouble;
  try {
    args = parseServeArguments(argv);
    const behaviours: unknown =
      args.behavioursFile === undefined ? [] : load(readFileSync(args.behavioursFile, 'utf8'));
    parseBehaviours(behaviours);
    const faults =
      args.faultsFile === undefined ? [] : parseFaultRules(load(readFileSync(args.faultsFile, 'utf8')));
    double = await startKubeDouble({
      port: args.port,
      kubeconfigPath: args.kubeconfig,
      behaviours: behaviours as BehaviourEntry[],
      faults,
      timeScale: args.timeScale,
      seed: args.seed,
      namespace: args.namespace,
      monitorExclude: args.monitorExclude,
      nodes: args.nodes,
    });
  } catch (error) {
    io.err(`kube-double: ${(error as Error).message}`);
    return 2;
  }
  io.out(
    JSON.stringify({
      url: double.url,
      kubeconfig: args.kubeconfig,
      gateway: double.gateway.url,
      metrics: double.gateway.metricsUrl,
    }),
  );
  await new Promise<void>((resolveSignal) => {
    // `npx` does not pass SIGTERM on to the program it runs: when the process that started the
    // double goes away (its parent changes), the double stops too instead of lingering.
    const parent = process.ppid;
    const orphaned = setInterval(() => {
      if (process.ppid !== parent) stop();
    }, 250);
    const stop = (): void => {
      clearInterval(orphaned);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolveSignal();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await double.close();
  return 0;
}
